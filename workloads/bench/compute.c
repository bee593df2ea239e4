/*
 * Compute-bound guest code for the benchmarks and for checking cycle
 * accounting. Three kernels, all pure functions of their input:
 *  - compute_kernel: a ones'-complement (IP-style) checksum over a 4 KiB
 *    buffer, unrolled 8 ways -- the shape of real compute loops (long
 *    basic blocks of loads and adds);
 *  - tight_kernel: a rotate-xor loop whose basic block is ~10
 *    instructions -- the worst case for per-block accounting;
 *  - store_kernel: eight word stores per iteration -- the store-heavy shape
 *    of fills and copies, which Unicorn's store path decides.
 * bench_core calls them directly in a raw Unicorn engine and in a hopsim
 * vCPU; as a program the image runs both and checks them.
 */
#include "args.h"
#include "console.h"
#include "runtime.h"
#include "trace.h"

static uint64_t data[512];

__attribute__((noinline, optimize("no-tree-vectorize"))) uint64_t compute_kernel(uint64_t iters)
{
    uint64_t sum = 0;
    for (uint64_t it = 0; it < iters; it++) {
        const uint64_t *p = data;
        uint64_t a = 0, b = 0, c = 0, d = 0;
        for (int i = 0; i < 512; i += 8) {
            a += p[i] + p[i + 4];
            b += p[i + 1] + p[i + 5];
            c += p[i + 2] + p[i + 6];
            d += p[i + 3] + p[i + 7];
        }
        sum += (a ^ b) + (c ^ d) + it;
        sum = (sum & 0xffffffff) + (sum >> 32);
    }
    return sum;
}

__attribute__((noinline)) uint64_t tight_kernel(uint64_t iters)
{
    uint64_t sum = 0x9e3779b97f4a7c15ull;
    const unsigned char *bytes = (const unsigned char *)data;
    for (uint64_t i = 0; i < iters; i++) {
        sum ^= bytes[i & 4095] + i;
        sum = (sum << 7) | (sum >> 57);
    }
    return sum;
}

ARG_INT(iters, 0, INT64_MAX, "iterations of the kernel");

/* Store-heavy: eight word stores per iteration over the buffer (a fill or copy loop). */
__attribute__((noinline, optimize("no-tree-vectorize", "no-tree-loop-distribute-patterns")))
uint64_t
store_kernel(uint64_t iters)
{
    uint64_t v = 0x9e3779b97f4a7c15ull;
    for (uint64_t it = 0; it < iters; it++) {
        uint64_t *q = data + (it & 63) * 8;
        q[0] = v;
        q[1] = v + 1;
        q[2] = v + 2;
        q[3] = v + 3;
        q[4] = v + 4;
        q[5] = v + 5;
        q[6] = v + 6;
        q[7] = v + 7;
        v = (v << 1) | (v >> 63);
    }
    return v ^ data[0] ^ data[511];
}

int app_main(void)
{
    long iters = arg_int("iters", 1000);
    for (int i = 0; i < 512; i++)
        data[i] = (uint64_t)i * 0x0101010101010101ull;
    uint64_t c1 = compute_kernel((uint64_t)iters), c2 = compute_kernel((uint64_t)iters);
    uint64_t t1 = tight_kernel((uint64_t)iters), t2 = tight_kernel((uint64_t)iters);
    GCHECK(c1 == c2);
    GCHECK(t1 == t2);
    uint64_t s1 = store_kernel((uint64_t)iters), s2 = store_kernel((uint64_t)iters);
    GCHECK(s1 == s2);
    printf("compute_kernel(%ld) = %lx, tight_kernel(%ld) = %lx\n", iters, (unsigned long)c1, iters,
           (unsigned long)t1);
    return 0;
}
