/*
 * Block prices: what the vCPU's block hook charges (vcpu.c). On a miss in
 * the hook's front cache a block is looked up in its code image's
 * open-addressing cache keyed by (pc, size); the first time, it is
 * decoded with Capstone and each instruction classified (ALU, load,
 * store, branch, mul, div, SIMD, string) and priced from the cost
 * profile. No per-instruction hook runs on the hot path.
 *
 * Code pages are assumed immutable after load (W^X, vcpu.c): a block is
 * priced once by (pc, size). A block's price depends only on its bytes
 * and the cost profile, so vCPUs whose domains hold the same code at the
 * same addresses (64 domUs booted from one frontend image) share one
 * cache: it is keyed by a SHA-256 over the cost profile's values and
 * every executable page (number and contents), taken when the vCPU is
 * created. Each block is then decoded once per image instead of once per
 * vCPU, and the hot path touches one cache for all of them instead of
 * one each.
 *
 * Decoding: Capstone (4.x, detail on, as classifying needs each operand's
 * access) costs about 0.5 us per instruction, and a run decodes every block
 * it executes once: 12,451 instructions in a one-frame net-stream run, of
 * which only 5,133 have distinct bytes (the same `push rbp`, `ret`,
 * `mov rax,[rbp-8]` recur in every function). An instruction's class and
 * privilege depend only on its bytes, never on its address, so a
 * process-wide memo keyed by the bytes answers the repeats. The memo needs
 * the instruction's length before it can look it up; it tries, shortest
 * first, the lengths memoized instructions that start with the same two
 * bytes have, and the first hit is the instruction because x86 decoding
 * reads the bytes strictly in order and stops at the instruction's end: if
 * Capstone decoded bytes B as one complete instruction, any stream that
 * starts with B decodes to that instruction. The exception is a legacy
 * prefix (F0, F2, F3, 2E, 36, 3E, 26, 64, 65, 66, 67): Capstone looks at the
 * byte after it to interpret it, so an instruction that starts with one is
 * always decoded and never memoized. tests/unit/test_blockprice.c decodes
 * the guest images at every byte offset, and random bytes, both ways.
 *
 * The decoder also names a privileged instruction a PV guest was about to
 * run (privop_fault).
 */
#include "blockprice.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <capstone/capstone.h>
#include <nettle/sha2.h>

static csh g_cs;
static cs_insn *g_insn; /* the one instruction cs_disasm_iter decodes into */
static int g_cs_refs;

static struct code_cache *g_code_caches; /* every cache in use, in this process */

/* One decoded instruction, by its bytes (see the header comment). */
struct insn_memo {
    uint8_t len; /* 0: an empty slot */
    uint8_t cls; /* enum cost_id */
    uint8_t priv;
    uint8_t bytes[15];
};
static struct {
    struct insn_memo *slot;
    uint32_t cap, used; /* cap: a power of two */
    bool off;           /* tests: decode every instruction */
    /* which lengths to try: one[b] for the 1-byte instruction b, lens[lens_index(b0, b1)]
     * bit l for instructions of l >= 2 bytes that start with b0 b1 (or collide with them) */
    bool one[256];
    uint16_t lens[4096];
} g_memo;

int blockprice_init(void)
{
    if (g_cs_refs++ > 0)
        return 0;
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &g_cs) != CS_ERR_OK) {
        g_cs_refs--;
        return -1;
    }
    cs_option(g_cs, CS_OPT_DETAIL, CS_OPT_ON);
    if (!(g_insn = cs_malloc(g_cs))) {
        cs_close(&g_cs);
        g_cs_refs--;
        return -1;
    }
    return 0;
}

void blockprice_fini(void)
{
    if (--g_cs_refs > 0)
        return;
    cs_free(g_insn, 1);
    g_insn = NULL;
    cs_close(&g_cs);
    free(g_memo.slot);
    memset(&g_memo, 0, sizeof(g_memo));
}

void blockprice_memo_disable(bool off)
{
    g_memo.off = off;
}

static bool insn_in_group(const cs_insn *in, uint8_t grp)
{
    for (int i = 0; i < in->detail->groups_count; i++)
        if (in->detail->groups[i] == grp)
            return true;
    return false;
}

/* Cost class of one decoded instruction. */
static enum cost_id insn_class(const cs_insn *in)
{
    const cs_x86 *x = &in->detail->x86;
    switch (in->id) {
    case X86_INS_MUL:
    case X86_INS_IMUL:
        return C_INSN_MUL;
    case X86_INS_DIV:
    case X86_INS_IDIV:
        return C_INSN_DIV;
    default:
        break;
    }
    if (x->prefix[0] == X86_PREFIX_REP || x->prefix[0] == X86_PREFIX_REPNE)
        return C_INSN_STRING;
    if (insn_in_group(in, X86_GRP_JUMP) || insn_in_group(in, X86_GRP_CALL) ||
        insn_in_group(in, X86_GRP_RET))
        return C_INSN_BRANCH;
    bool store = false, load = false;
    for (int i = 0; i < x->op_count; i++) {
        if (x->operands[i].type != X86_OP_MEM || in->id == X86_INS_LEA)
            continue;
        if (x->operands[i].access & CS_AC_WRITE)
            store = true;
        if (x->operands[i].access & CS_AC_READ)
            load = true;
    }
    if (in->id == X86_INS_PUSH)
        store = true;
    if (in->id == X86_INS_POP)
        load = true;
    if (store)
        return C_INSN_STORE;
    if (load)
        return C_INSN_LOAD;
    if (insn_in_group(in, X86_GRP_SSE1) || insn_in_group(in, X86_GRP_SSE2) ||
        insn_in_group(in, X86_GRP_SSE3) || insn_in_group(in, X86_GRP_SSSE3) ||
        insn_in_group(in, X86_GRP_SSE41) || insn_in_group(in, X86_GRP_SSE42))
        return C_INSN_SIMD;
    return C_INSN_ALU;
}

/*
 * Instructions a PV guest kernel may not execute: it runs in ring 3 (x86-64
 * PV), so the CPU raises #GP for them and Xen's emulate_privileged_op hands
 * the fault to the guest's trap table (hopsim has none: the domain crashes).
 * `hlt` is left to the halt path and port I/O to the I/O hooks (the trace
 * port and I/O-privileged drivers).
 */
static bool insn_privileged(const cs_insn *in)
{
    switch (in->id) {
    case X86_INS_CLI:
    case X86_INS_STI:
    case X86_INS_WRMSR:
    case X86_INS_RDMSR:
    case X86_INS_SWAPGS:
    case X86_INS_SYSRET:
    case X86_INS_LGDT:
    case X86_INS_LIDT:
    case X86_INS_LLDT:
    case X86_INS_LTR:
    case X86_INS_LMSW:
    case X86_INS_CLTS:
    case X86_INS_INVLPG:
    case X86_INS_INVD:
    case X86_INS_WBINVD:
        return true;
    case X86_INS_MOV:
        if (!in->detail)
            return false;
        for (uint8_t i = 0; i < in->detail->x86.op_count; i++) {
            const cs_x86_op *op = &in->detail->x86.operands[i];
            if (op->type == X86_OP_REG && ((op->reg >= X86_REG_CR0 && op->reg <= X86_REG_CR15) ||
                                           (op->reg >= X86_REG_DR0 && op->reg <= X86_REG_DR15)))
                return true;
        }
        return false;
    default:
        return false;
    }
}

static bool legacy_prefix(uint8_t b)
{
    switch (b) {
    case 0xf0:
    case 0xf2:
    case 0xf3: /* lock, repne, rep */
    case 0x2e:
    case 0x36:
    case 0x3e:
    case 0x26:
    case 0x64:
    case 0x65: /* segments */
    case 0x66:
    case 0x67: /* operand and address size */
        return true;
    default:
        return false;
    }
}

/* FNV-1a over the bytes so far, one byte at a time; the slot mixes in the length. */
static uint64_t memo_step(uint64_t h, uint8_t b)
{
    return (h ^ b) * 0x100000001b3ull;
}

static uint32_t memo_slot(uint64_t h, uint32_t len, uint32_t cap)
{
    return (uint32_t)(((h ^ len) * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

static const struct insn_memo *memo_find(uint64_t h, uint32_t len, const uint8_t *code)
{
    for (uint32_t i = memo_slot(h, len, g_memo.cap);; i = (i + 1) & (g_memo.cap - 1)) {
        const struct insn_memo *e = &g_memo.slot[i];
        if (!e->len)
            return NULL;
        if (e->len == len && !memcmp(e->bytes, code, len))
            return e;
    }
}

static bool memo_grow(void)
{
    uint32_t ncap = g_memo.cap ? g_memo.cap * 2 : 8192;
    struct insn_memo *n = calloc(ncap, sizeof(*n));
    if (!n)
        return false;
    for (uint32_t i = 0; i < g_memo.cap; i++) {
        const struct insn_memo *e = &g_memo.slot[i];
        if (!e->len)
            continue;
        uint64_t h = 0xcbf29ce484222325ull;
        for (uint32_t k = 0; k < e->len; k++)
            h = memo_step(h, e->bytes[k]);
        uint32_t j = memo_slot(h, e->len, ncap);
        while (n[j].len)
            j = (j + 1) & (ncap - 1);
        n[j] = *e;
    }
    free(g_memo.slot);
    g_memo.slot = n;
    g_memo.cap = ncap;
    return true;
}

static uint32_t lens_index(const uint8_t *code)
{
    return ((uint32_t)(code[0] << 8 | code[1]) * 0x9E3779B1u) >> 20;
}

/* Remember a decoded instruction (not found by memo_find); without memory, it is not. */
static void memo_add(const uint8_t *code, uint32_t len, enum cost_id cls, bool priv)
{
    if ((g_memo.used + 1) * 4 > g_memo.cap * 3 && !memo_grow())
        return;
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint32_t k = 0; k < len; k++)
        h = memo_step(h, code[k]);
    uint32_t j = memo_slot(h, len, g_memo.cap);
    while (g_memo.slot[j].len)
        j = (j + 1) & (g_memo.cap - 1);
    struct insn_memo *e = &g_memo.slot[j];
    e->len = (uint8_t)len;
    e->cls = (uint8_t)cls;
    e->priv = priv;
    memcpy(e->bytes, code, len);
    g_memo.used++;
    if (len == 1)
        g_memo.one[code[0]] = true;
    else
        g_memo.lens[lens_index(code)] |= (uint16_t)(1u << len);
}

/* The instruction at code (avail bytes, at address pc): its length, class and whether it
 * is privileged. False where Capstone cannot decode it (cs_disasm stops there). */
bool blockprice_decode(const uint8_t *code, size_t avail, uint64_t pc, uint32_t *len,
                       enum cost_id *cls, bool *priv)
{
    bool memo = !g_memo.off && !legacy_prefix(code[0]);
    if (memo && g_memo.cap) {
        /* the lengths to try, shortest first: the first hit is the instruction */
        uint32_t max = avail < 15 ? (uint32_t)avail : 15;
        uint32_t want = (g_memo.one[code[0]] ? 2u : 0u) |
                        (max >= 2 ? g_memo.lens[lens_index(code)] & ((2u << max) - 1) : 0u);
        uint64_t h = 0xcbf29ce484222325ull;
        for (uint32_t l = 1; want >> l; l++) {
            h = memo_step(h, code[l - 1]);
            if (!(want >> l & 1))
                continue;
            const struct insn_memo *e = memo_find(h, l, code);
            if (e) {
                *len = l;
                *cls = (enum cost_id)e->cls;
                *priv = e->priv;
                return true;
            }
        }
    }
    const uint8_t *p = code;
    size_t left = avail;
    uint64_t addr = pc;
    if (!cs_disasm_iter(g_cs, &p, &left, &addr, g_insn))
        return false;
    *len = g_insn->size;
    *cls = insn_class(g_insn);
    *priv = insn_privileged(g_insn);
    if (memo && *len <= 15)
        memo_add(code, *len, *cls, *priv);
    return true;
}

uint32_t block_price_code(const uint8_t *code, uint32_t size, uint64_t pc,
                          const struct cost_profile *cp, uint32_t *ninsn, uint32_t *priv_off)
{
    *priv_off = 0;
    double cyc = 0;
    uint32_t n = 0, off = 0, len;
    enum cost_id cls;
    bool priv;
    while (off < size && blockprice_decode(code + off, size - off, pc + off, &len, &cls, &priv)) {
        cyc += cp->value[cls];
        if (!*priv_off && priv)
            *priv_off = off + 1;
        off += len;
        n++;
    }
    if (n == 0)
        cyc = cp->value[C_INSN_ALU];
    *ninsn = n ? n : 1;
    double mc = cyc * 1000.0 + 0.5;
    return mc > UINT32_MAX ? UINT32_MAX : (uint32_t)mc;
}

/* Decode the block once and price it; returns 1/1000 cycles, *ninsn instructions,
 * *priv_off 1 + the offset of its first privileged instruction (0: none). */
static uint32_t block_price(struct vcpu *v, uint64_t pc, uint32_t size, uint32_t *ninsn,
                            uint32_t *priv_off)
{
    *priv_off = 0;
    uint8_t buf[4096];
    if (size > sizeof(buf))
        size = sizeof(buf);
    *ninsn = 1;
    v->decoded_blocks++;
    if (vcpu_code(v, pc, buf, size) < 0)
        return 1000;
    return block_price_code(buf, size, pc, v->d->m->cost, ninsn, priv_off);
}

/* Entries store size + 1 so that 0 marks an empty slot (Unicorn may report size 0). */
static uint32_t bcache_hash(uint64_t pc, uint32_t size, uint32_t cap)
{
    uint64_t h = (pc ^ ((uint64_t)size << 48)) * 0x9E3779B97F4A7C15ull;
    return (uint32_t)(h >> 32) & (cap - 1);
}

static bool bcache_grow(struct code_cache *c)
{
    uint32_t ncap = c->bcache_cap ? c->bcache_cap * 2 : 1024;
    struct blk_cost *n = calloc(ncap, sizeof(*n));
    if (!n)
        return false;
    for (uint32_t i = 0; i < c->bcache_cap; i++) {
        struct blk_cost *e = &c->bcache[i];
        if (!e->size)
            continue;
        uint32_t h = bcache_hash(e->pc, e->size - 1, ncap);
        while (n[h].size)
            h = (h + 1) & (ncap - 1);
        n[h] = *e;
    }
    free(c->bcache);
    c->bcache = n;
    c->bcache_cap = ncap;
    return true;
}

const struct blk_cost *block_cost(struct vcpu *v, uint64_t pc, uint32_t size)
{
    struct code_cache *c = v->cc;
    uint32_t h = bcache_hash(pc, size, c->bcache_cap);
    for (;;) {
        struct blk_cost *e = &c->bcache[h];
        if (e->size == size + 1 && e->pc == pc)
            return e;
        if (!e->size)
            break;
        h = (h + 1) & (c->bcache_cap - 1);
    }
    uint32_t ninsn, priv_off;
    uint32_t mc = block_price(v, pc, size, &ninsn, &priv_off);
    if ((c->bcache_used + 1) * 4 > c->bcache_cap * 3) {
        bool grown = bcache_grow(c);
        assert(grown);
        (void)grown;
        h = bcache_hash(pc, size, c->bcache_cap);
        while (c->bcache[h].size)
            h = (h + 1) & (c->bcache_cap - 1);
    }
    c->bcache[h] = (struct blk_cost){
        .pc = pc, .size = size + 1, .mcycles = mc, .ninsn = ninsn, .priv_off = priv_off};
    c->bcache_used++;
    return &c->bcache[h];
}

/* The identity of d's code under the machine's cost profile (see the header comment). */
static void code_key(const struct domain *d, unsigned char key[32])
{
    struct sha256_ctx ctx;
    const struct cost_profile *cp = d->m->cost;
    sha256_init(&ctx);
    sha256_update(&ctx, sizeof(cp->value), (const uint8_t *)cp->value);
    for (uint64_t pfn = 0; pfn < d->nr_pages; pfn++)
        if (domain_page_exec(d, pfn)) {
            sha256_update(&ctx, sizeof(pfn), (const uint8_t *)&pfn);
            sha256_update(&ctx, PAGE_SIZE, d->ram + pfn * PAGE_SIZE);
        }
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, key);
}

/* The cache for d's code: an existing one with the same key, or a new one. NULL: no memory. */
struct code_cache *code_cache_get(const struct domain *d)
{
    if (d->vcpus[0] && d->vcpus[0]->cc) { /* a domain's vCPUs run one image */
        d->vcpus[0]->cc->refs++;
        return d->vcpus[0]->cc;
    }
    unsigned char key[32];
    code_key(d, key);
    for (struct code_cache *c = g_code_caches; c; c = c->next)
        if (!memcmp(c->key, key, sizeof(key))) {
            c->refs++;
            return c;
        }
    struct code_cache *c = calloc(1, sizeof(*c));
    if (!c || !bcache_grow(c)) {
        free(c);
        return NULL;
    }
    memcpy(c->key, key, sizeof(key));
    c->refs = 1;
    c->next = g_code_caches;
    g_code_caches = c;
    return c;
}

void code_cache_put(struct code_cache *c)
{
    if (!c || --c->refs > 0)
        return;
    for (struct code_cache **p = &g_code_caches; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    free(c->bcache);
    free(c);
}

/*
 * A PV guest's block about to run a privileged instruction at `at`: #GP in
 * ring 3 (sim/xen/traps.c bounces it to the guest's handler or crashes the
 * domain). The instructions of the block before it run first, counted
 * (vcpu_run_slice), so the handler sees the state at the instruction.
 * Native kernels, HVM guests and the runtime service (hypervisor privilege)
 * run ring-0 code legitimately.
 */
bool privop_fault(struct vcpu *v, uint64_t pc, uint64_t at)
{
    const struct domain *d = v->d;
    if (d->native || d->rt || d->hvm || v->privop_stepping)
        return false;
    uint8_t buf[4096];
    uint64_t len = at - pc + 16 <= sizeof buf ? at - pc + 16 : sizeof buf;
    cs_insn *in = NULL;
    size_t n = vcpu_code(v, pc, buf, len) == 0 ? cs_disasm(g_cs, buf, len, pc, 0, &in) : 0;
    size_t k = 0;
    while (k < n && in[k].address < at)
        k++;
    bool found = k < n && in[k].address == at;
    snprintf(v->fault, sizeof(v->fault),
             "privileged instruction '%.8s%s%.24s' at rip 0x%llx (%.32s): #GP in a PV kernel "
             "(ring 3), no trap table",
             found ? in[k].mnemonic : "?", found && in[k].op_str[0] ? " " : "",
             found ? in[k].op_str : "", (unsigned long long)at, domain_symbol(d, at));
    if (n)
        cs_free(in, n);
    v->privop_at = at;
    v->privop_steps = (uint32_t)k;
    v->trap = TRAP_PRIVOP;
    return true;
}
