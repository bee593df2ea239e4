/*
 * Block prices for the vCPU's block hook (blockprice.c): the per-image
 * caches, their front cache, and the Capstone decoder behind them.
 * Internal to sim/engine/.
 */
#ifndef HOPSIM_BLOCKPRICE_H
#define HOPSIM_BLOCKPRICE_H

#include "machine.h"

/* Block prices of one code image (see blockprice.c). */
struct code_cache {
    struct code_cache *next;
    unsigned char key[32];
    int refs;
    struct blk_cost *bcache; /* all priced blocks: open addressing on (pc, size) */
    uint32_t bcache_cap, bcache_used;
    /* direct-mapped front cache of copies of the blocks without a privileged instruction:
     * the block hook's fast path reads one entry (vcpu->front) */
    struct blk_cost front[BCACHE_L1];
};

/* The decoder, shared by every vCPU: 0, or -1 if Capstone cannot start. */
int blockprice_init(void);
void blockprice_fini(void);

/* The price in 1/1000 cycles of the size bytes of code at pc under cp, decoded as a block
 * (up to the first instruction Capstone cannot decode): *ninsn instructions (at least 1),
 * *priv_off 1 + the offset of its first privileged instruction (0: none). Needs
 * blockprice_init. */
uint32_t block_price_code(const uint8_t *code, uint32_t size, uint64_t pc,
                          const struct cost_profile *cp, uint32_t *ninsn, uint32_t *priv_off);
/* One instruction of code (avail bytes, at pc): its length, cost class and whether a PV
 * kernel may not run it; false where Capstone cannot decode it. */
bool blockprice_decode(const uint8_t *code, size_t avail, uint64_t pc, uint32_t *len,
                       enum cost_id *cls, bool *priv);
/* Tests: decode every instruction with Capstone instead of looking it up by its bytes. */
void blockprice_memo_disable(bool off);

/* The price of the block at pc of size bytes, decoding it on its first use. */
const struct blk_cost *block_cost(struct vcpu *v, uint64_t pc, uint32_t size);

/* The cache for d's code: an existing one with the same key, or a new one. NULL: no memory. */
struct code_cache *code_cache_get(const struct domain *d);
void code_cache_put(struct code_cache *c);

/* The front cache's slot for a block at pc. */
static inline uint32_t front_index(uint64_t pc)
{
    return (uint32_t)((pc * 0x9E3779B97F4A7C15ull) >> 40) & (BCACHE_L1 - 1);
}

/* A PV guest's block is about to run the privileged instruction at `at`: true with the fault
 * set up (v->trap, v->fault, the instructions to step before it), false where it is legal. */
bool privop_fault(struct vcpu *v, uint64_t pc, uint64_t at);

#endif
