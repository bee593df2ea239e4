/*
 * CPU-level primitives for guest code: compiler and memory barriers, the
 * xen_mb/xen_rmb/xen_wmb trio that <xen/io/ring.h> expects, atomic bit
 * operations on event-channel words, and small helpers.
 *
 * Assumptions: x86-64, TSO memory model (loads are not reordered with
 * loads, stores not with stores), so rmb/wmb only need to stop the
 * compiler; mb is a real mfence. Only baseline x86-64 instructions
 * (Unicorn 2.0.1 rejects x86-64-v2 and later).
 */
#ifndef GUEST_ARCH_H
#define GUEST_ARCH_H

#include <stddef.h>
#include <stdint.h>

#define barrier() __asm__ __volatile__("" ::: "memory")
#define mb() __asm__ __volatile__("mfence" ::: "memory")
#define rmb() barrier()
#define wmb() barrier()

/* Required by <xen/io/ring.h>: define before including it (xenif.h does). */
#define xen_mb() mb()
#define xen_rmb() rmb()
#define xen_wmb() wmb()

#define READ_ONCE(x) (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define ALIGN_UP(x, a) (((x) + (a)-1) & ~((__typeof__(x))(a)-1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))

#define PAGE_SHIFT 12
#define PAGE_SIZE 4096ul
#define BITS_PER_LONG 64

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define __noreturn __attribute__((noreturn))
#define __unused __attribute__((unused))

static inline unsigned long virt_to_pfn(const void *p)
{
    return (unsigned long)p >> PAGE_SHIFT;
}

static inline void *pfn_to_virt(unsigned long pfn)
{
    return (void *)(pfn << PAGE_SHIFT);
}

/*
 * Index of the lowest set bit; x must be nonzero. Plain bsf: gcc's
 * __builtin_ctzl emits `rep bsf` (the tzcnt encoding), keep to baseline.
 */
static inline unsigned ctz_ulong(unsigned long x)
{
    unsigned long r;
    __asm__("bsfq %1, %0" : "=r"(r) : "rm"(x) : "cc");
    return (unsigned)r;
}

/* Atomic bit operations on arrays of unsigned long (lock-prefixed). */
static inline int test_bit_ul(unsigned nr, const volatile unsigned long *addr)
{
    return (int)((addr[nr / BITS_PER_LONG] >> (nr % BITS_PER_LONG)) & 1);
}

static inline void set_bit_ul(unsigned nr, volatile unsigned long *addr)
{
    __atomic_fetch_or(&addr[nr / BITS_PER_LONG], 1ul << (nr % BITS_PER_LONG), __ATOMIC_SEQ_CST);
}

static inline void clear_bit_ul(unsigned nr, volatile unsigned long *addr)
{
    __atomic_fetch_and(&addr[nr / BITS_PER_LONG], ~(1ul << (nr % BITS_PER_LONG)), __ATOMIC_SEQ_CST);
}

static inline int test_and_clear_bit_ul(unsigned nr, volatile unsigned long *addr)
{
    unsigned long m = 1ul << (nr % BITS_PER_LONG);
    return (__atomic_fetch_and(&addr[nr / BITS_PER_LONG], ~m, __ATOMIC_SEQ_CST) & m) != 0;
}

static inline unsigned long xchg_ulong(volatile unsigned long *p, unsigned long v)
{
    return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
}

#endif
