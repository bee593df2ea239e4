/*
 * privop: a PV guest kernel executing one privileged instruction (arg op).
 * In x86-64 PV the kernel runs in ring 3, so the CPU raises #GP and, with no
 * trap table registered, Xen crashes the domain: the simulator must do the
 * same and name the instruction (tests/scenario/privop.sh). If the
 * instruction ran, the guest check below fails and the domain powers off.
 */
#include "guest.h"

ARG_ENUM(op, "cli|sti|wrmsr|rdmsr|cr0|cr3|swapgs|smc|none",
         "the privileged instruction to execute (smc: overwrite own code)");

static int __attribute__((noinline)) patched(void)
{
    return 1;
}

int app_main(void)
{
    const char *op = arg_str("op", "none");
    printf("privop: executing %s\n", op);
    if (!strcmp(op, "cli"))
        __asm__ __volatile__("cli" ::: "memory");
    else if (!strcmp(op, "sti"))
        __asm__ __volatile__("sti" ::: "memory");
    else if (!strcmp(op, "wrmsr"))
        __asm__ __volatile__("wrmsr" ::"c"(0xc0000080u), "a"(0), "d"(0) : "memory");
    else if (!strcmp(op, "rdmsr")) {
        uint32_t lo, hi;
        __asm__ __volatile__("rdmsr" : "=a"(lo), "=d"(hi) : "c"(0xc0000080u));
        (void)lo;
        (void)hi;
    } else if (!strcmp(op, "cr0")) {
        unsigned long v = 0x80050033ul;
        __asm__ __volatile__("mov %0, %%cr0" ::"r"(v) : "memory");
    } else if (!strcmp(op, "cr3")) {
        unsigned long v = 0x1000ul;
        __asm__ __volatile__("mov %0, %%cr3" ::"r"(v) : "memory");
    } else if (!strcmp(op, "swapgs"))
        __asm__ __volatile__("swapgs" ::: "memory");
    else if (!strcmp(op, "smc")) {
        /* self-modifying code: code pages are not writable (W^X), the store faults */
        volatile uint8_t *code = (volatile uint8_t *)(uintptr_t)patched;
        code[0] = 0xc3;
        GCHECK(patched() == 1);
    } else {
        GCHECK(1); /* no instruction: the domain runs on and powers off */
        return 0;
    }
    GCHECK(!"the privileged instruction ran in a PV kernel");
    return 0;
}
