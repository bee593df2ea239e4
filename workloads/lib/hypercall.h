/*
 * Hypercall wrappers: Xen's x86-64 PV ABI through the hypercall page.
 *
 * The simulator fills `hypercall_page` (start.S) with Xen's stubs; call
 * number nr lives at hypercall_page + nr*32. Arguments go in %rdi, %rsi,
 * %rdx, %r10, %r8; the result comes back in %rax (0 or a negative Xen
 * errno, see <xen/errno.h>). The stubs preserve %rcx and %r11 around the
 * syscall, but we still treat every argument register, %rcx, %r9 and %r11
 * as clobbered (Xen debug builds scribble on unused argument registers).
 *
 * An upcall (event callback) can be delivered when a hypercall returns;
 * the callback preserves all registers, so nothing more is needed here.
 */
#ifndef GUEST_HYPERCALL_H
#define GUEST_HYPERCALL_H

#include "xenif.h"

extern char hypercall_page[4096];

#define HC_STR_(x) #x
#define HC_STR(x) HC_STR_(x)

/* hc_<name>(a1..a5): raw call of __HYPERVISOR_<name>. */
#define HC_DEFINE_(name, nr)                                                                       \
    static inline long hc_##name(unsigned long a1, unsigned long a2, unsigned long a3,             \
                                 unsigned long a4, unsigned long a5)                               \
    {                                                                                              \
        register unsigned long rdi __asm__("rdi") = a1;                                            \
        register unsigned long rsi __asm__("rsi") = a2;                                            \
        register unsigned long rdx __asm__("rdx") = a3;                                            \
        register unsigned long r10 __asm__("r10") = a4;                                            \
        register unsigned long r8 __asm__("r8") = a5;                                              \
        long ret;                                                                                  \
        __asm__ __volatile__("call hypercall_page + (" HC_STR(nr) " * 32)"                         \
                             : "=a"(ret), "+r"(rdi), "+r"(rsi), "+r"(rdx), "+r"(r10), "+r"(r8)     \
                             :                                                                     \
                             : "rcx", "r9", "r11", "memory", "cc");                                \
        return ret;                                                                                \
    }
#define HC_DEFINE(name) HC_DEFINE_(name, __HYPERVISOR_##name)

HC_DEFINE(sched_op)
HC_DEFINE(event_channel_op)
HC_DEFINE(grant_table_op)
HC_DEFINE(memory_op)
HC_DEFINE(vcpu_op)
HC_DEFINE(callback_op)
HC_DEFINE(console_io)
HC_DEFINE(xen_version)
HC_DEFINE(set_timer_op)
HC_DEFINE(set_trap_table)

static inline int HYPERVISOR_sched_op(int cmd, void *arg)
{
    return (int)hc_sched_op((unsigned long)cmd, (unsigned long)arg, 0, 0, 0);
}

static inline int HYPERVISOR_event_channel_op(int cmd, void *arg)
{
    return (int)hc_event_channel_op((unsigned long)cmd, (unsigned long)arg, 0, 0, 0);
}

static inline int HYPERVISOR_grant_table_op(unsigned cmd, void *uop, unsigned count)
{
    return (int)hc_grant_table_op(cmd, (unsigned long)uop, count, 0, 0);
}

static inline long HYPERVISOR_memory_op(unsigned cmd, void *arg)
{
    return hc_memory_op(cmd, (unsigned long)arg, 0, 0, 0);
}

static inline int HYPERVISOR_vcpu_op(int cmd, unsigned vcpuid, void *extra)
{
    return (int)hc_vcpu_op((unsigned long)cmd, vcpuid, (unsigned long)extra, 0, 0);
}

static inline int HYPERVISOR_callback_op(int cmd, const void *arg)
{
    return (int)hc_callback_op((unsigned long)cmd, (unsigned long)arg, 0, 0, 0);
}

static inline int HYPERVISOR_console_io(int cmd, int count, const char *str)
{
    return (int)hc_console_io((unsigned long)cmd, (unsigned long)count, (unsigned long)str, 0, 0);
}

static inline int HYPERVISOR_xen_version(int cmd, void *arg)
{
    return (int)hc_xen_version((unsigned long)cmd, (unsigned long)arg, 0, 0, 0);
}

/* Exception handlers: entries up to one with address 0 (NULL: clear the table). */
static inline int HYPERVISOR_set_trap_table(const struct trap_info *traps)
{
    return (int)hc_set_trap_table((unsigned long)traps, 0, 0, 0, 0);
}

static inline long HYPERVISOR_set_timer_op(uint64_t timeout_abs_ns)
{
    return hc_set_timer_op(timeout_abs_ns, 0, 0, 0, 0);
}

#endif
