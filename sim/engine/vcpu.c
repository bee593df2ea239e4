/*
 * vCPUs on Unicorn: an x86-64 engine per vCPU, except that the domUs of
 * one code image share one (engine.h, vcpu_share.c), all driven from one
 * host thread (deterministic). With vcpu_share.c the only file that calls
 * Unicorn (blockprice.c reads code through vcpu_code).
 *
 * Cycle accounting: a UC_HOOK_BLOCK hook charges each block its price
 * (blockprice.c: decoded once per code image, cached by (pc, size)), from
 * a direct-mapped front cache on its fast path. When the next block would
 * exceed the slice budget, the hook stops the engine before the block
 * executes and does not charge it (a nonzero uc_emu_start count would
 * install a per-instruction hook).
 *
 * Traps: `syscall` (Xen's x86-64 PV hypercall instruction) stops the
 * engine with RIP after the syscall; `hlt` returns with RIP after it;
 * unmapped or protected accesses, invalid instructions and CPU exceptions
 * are guest faults. OUT to HOPSIM_TRACE_PORT is a trace mark, handled
 * synchronously and never stopping the engine.
 *
 * Memory (Unicorn 2.1's virtual TLB): every engine runs with
 * UC_TLB_VIRTUAL and a UC_HOOK_TLB_FILL hook that translates identity
 * (guest virtual == pseudo-physical, as hopsim models no guest paging) and
 * sets the page's permissions: RAM pages are readable and writable, and
 * executable only when they hold the image's code or the hypercall page;
 * everything above RAM is readable and writable but never executable. A
 * fetch from a data page, a write to a read-only grant mapping or any
 * access to a grant-window slot nothing is mapped in is refused by the
 * hook and ends the slice as a guest fault (the slot test is gnttab.c's).
 * Marking only code executable keeps stores on Unicorn's fast path: with
 * the default TLB every entry is executable and each store must check for
 * translated code on its page. The invalid-memory hook, which also forces
 * the slow path on the pages it covers, is bounded to the addresses above
 * RAM: accesses to holes there are reported with their address.
 */
#include "blockprice.h"
#include "engine.h"

#include <stdlib.h>
#include <string.h>

#include <unicorn/unicorn.h>

/*
 * Execute-in-place what-if: code fetched from memory-mapped SPI flash
 * through a direct-mapped instruction cache; every miss is a line fill
 * charged at one memory-mapped read of 64 bytes.
 */
static void xip_fetch(struct vcpu *v, uint64_t pc, uint32_t size)
{
    for (uint64_t line = pc / 64; line <= (pc + (size ? size - 1 : 0)) / 64; line++) {
        uint64_t *tag = &v->icache[line % XIP_ICACHE_LINES];
        if (*tag == line + 1)
            continue;
        *tag = line + 1;
        v->slice_mcycles += v->xip_fill_mc;
        v->xip_fills++;
    }
}

/* A block the fast path does not take: not in the front cache, privileged, the slice's end,
 * or an XIP fetch to charge. */
static __attribute__((noinline)) void hook_block_full(uc_engine *uc, struct vcpu *v, uint64_t pc,
                                                      uint32_t size)
{
    struct blk_cost *f = &v->front[front_index(pc)];
    const struct blk_cost *e = f;
    if (f->pc != pc || f->size != size + 1) {
        e = block_cost(v, pc, size);
        if (!e->priv_off)
            *f = *e;
    }
    if (__builtin_expect(e->priv_off != 0, 0) && privop_fault(v, pc, pc + e->priv_off - 1)) {
        uc_emu_stop(uc);
        return;
    }
    if (v->slice_mcycles + e->mcycles > v->budget_mcycles && v->slice_mcycles > 0 &&
        !v->privop_stepping) {
        v->trap = TRAP_BUDGET;
        v->stop_pc = pc;
        uc_emu_stop(uc);
        return;
    }
    v->slice_mcycles += e->mcycles;
    v->insns += e->ninsn;
    if (v->icache)
        xip_fetch(v, pc, size);
}

/*
 * The hot path: runs once per executed block. A block in the front cache
 * (so it holds no privileged instruction) that keeps the slice below
 * fast_limit is charged with one entry read and two adds; everything else
 * takes hook_block_full, which decides exactly as before.
 */
static void hook_block(uc_engine *uc, uint64_t pc, uint32_t size, void *opaque)
{
    struct vcpu *v = ((const struct engine *)opaque)->cur;
    const struct blk_cost *e = &v->front[front_index(pc)];
    uint64_t s = v->slice_mcycles + e->mcycles;
    if (__builtin_expect(e->pc == pc && e->size == size + 1 && s < v->fast_limit, 1)) {
        v->slice_mcycles = s;
        v->insns += e->ninsn;
        return;
    }
    hook_block_full(uc, v, pc, size);
}

/* The fast path's bound for a slice of this budget: the budget itself (a block that ends
 * exactly at it still runs), none for an XIP vCPU (every block fetches through its cache). */
static void set_budget(struct vcpu *v, uint64_t budget_mcycles)
{
    v->slice_mcycles = 0;
    v->budget_mcycles = budget_mcycles;
    v->fast_limit = v->icache ? 0 : budget_mcycles == UINT64_MAX ? UINT64_MAX : budget_mcycles + 1;
}

static void hook_syscall(uc_engine *uc, void *opaque)
{
    struct vcpu *v = ((const struct engine *)opaque)->cur;
    uint64_t rip = 0;
    uc_reg_read(uc, UC_X86_REG_RIP, &rip);
    v->hc_rip = rip;
    v->trap = TRAP_HYPERCALL;
    if (sched_fast_trap(v))
        return; /* handled, and the guest goes on: Unicorn moves RIP past the syscall */
    uc_emu_stop(uc);
}

/* Trace marks: defined in mark.c, synchronous. */
void mark_handle(struct vcpu *v, uint32_t code, uint64_t req, uint64_t arg);

static void hook_out(uc_engine *uc, uint32_t port, int size, uint32_t value, void *opaque)
{
    struct vcpu *v = ((const struct engine *)opaque)->cur;
    if (port != HOPSIM_TRACE_PORT || size != 4) {
        platform_port_write(v, (uint16_t)port, size, value);
        return;
    }
    uint64_t req = 0, arg = 0;
    uc_reg_read(uc, UC_X86_REG_RDI, &req);
    uc_reg_read(uc, UC_X86_REG_RSI, &arg);
    mark_handle(v, value, req, arg);
}

static uint32_t hook_in(uc_engine *uc, uint32_t port, int size, void *opaque)
{
    (void)uc;
    return platform_port_read(((const struct engine *)opaque)->cur, (uint16_t)port, size);
}

static uint64_t mmio_read_cb(uc_engine *uc, uint64_t off, unsigned size, void *opaque)
{
    struct mmio_binding *b = opaque;
    (void)uc;
    return platform_mmio(b->v, b->ops, b->opaque, b->place, off, size, 0, false);
}

static void mmio_write_cb(uc_engine *uc, uint64_t off, unsigned size, uint64_t value, void *opaque)
{
    struct mmio_binding *b = opaque;
    (void)uc;
    platform_mmio(b->v, b->ops, b->opaque, b->place, off, size, value, true);
}

int vcpu_mmio_map(struct vcpu *v, uint64_t gpa, uint64_t size, const struct mmio_ops *ops,
                  void *opaque, uint16_t place)
{
    if (v->nmmio == MAX_MMIO_BINDINGS || v->eng->shared)
        return -1;
    struct mmio_binding *b = malloc(sizeof(*b));
    if (!b)
        return -1;
    *b = (struct mmio_binding){.v = v, .ops = ops, .opaque = opaque, .place = place};
    if (uc_mmio_map((uc_engine *)v->uc, gpa, size, mmio_read_cb, b, mmio_write_cb, b) !=
        UC_ERR_OK) {
        free(b);
        return -1;
    }
    v->mmio[v->nmmio++] = b;
    return 0;
}

static const char *access_name(uc_mem_type t)
{
    switch (t) {
    case UC_MEM_READ_UNMAPPED:
        return "read of unmapped address";
    case UC_MEM_WRITE_UNMAPPED:
        return "write to unmapped address";
    case UC_MEM_FETCH_UNMAPPED:
        return "fetch from unmapped address";
    case UC_MEM_WRITE_PROT:
        return "write to read-only page";
    case UC_MEM_READ_PROT:
        return "read of protected page";
    case UC_MEM_FETCH_PROT:
        return "fetch from non-executable page";
    default:
        return "invalid memory access";
    }
}

/*
 * uc_emu_start's end address, which no engine uses: each runs with
 * Unicorn's exit list enabled and empty (engine_open), as a slice ends by a
 * trap or the budget. With a plain end address Unicorn would look its page
 * up as code at the end of every run to drop the blocks translated there: a
 * TLB fill after each flush of a shared engine's TLB, and a translation
 * lookup per run on every engine.
 */
#define RUN_UNTIL UINT64_MAX

/* An engine of d is about to hold a translation of the grant-window page at va: an unmap of
 * that slot must flush (sim/xen/domain.c). */
static void window_tlb_note(struct domain *d, uint64_t va)
{
    uint64_t slot = (va - HOPSIM_GNT_WINDOW_BASE) >> PAGE_SHIFT;
    if (d->gnt_tlb[slot])
        return;
    d->gnt_tlb[slot] = 1;
    if (d->gnt_tlb_n < GNT_TLB_LIST)
        d->gnt_tlb_list[d->gnt_tlb_n] = (uint16_t)slot;
    if (d->gnt_tlb_n <= GNT_TLB_LIST)
        d->gnt_tlb_n++;
}

/*
 * MACHINE_ALIAS (engine.h): where every engine sees the whole machine
 * memory (one region over the memfd's shared mapping, vcpu_create): the
 * grant window's mapped slots translate into it, and on a shared engine
 * every RAM page. Not a canonical x86-64 address, and refused to the
 * guest as an address of its own (hook_tlb_fill).
 */

/* Identity translation with the page's permissions; see the header comment. */
static bool hook_tlb_fill(uc_engine *uc, uint64_t va, uc_mem_type type, uc_tlb_entry *e,
                          void *opaque)
{
    (void)uc;
    const struct engine *eng = opaque;
    struct vcpu *v = eng->cur;
    struct domain *d = v->d;
    uint64_t pfn = va >> PAGE_SHIFT, paddr = va;
    uint32_t perms;
    bool window = false;
    if (pfn < d->nr_pages)
    /* W^X: the image's code pages are read + execute, everything else read + write, so
       a guest cannot modify translated code (nor hit Unicorn's self-modifying-code path);
       an unpopulated page (ballooned out, sim/xen/memory.c) is no memory at all */
    {
        /* a whole, never ballooned RAM is the build's contiguous frames: no p2m load (with
           many domains that entry is a cache miss on most fills) */
        uint64_t mfn = d->p2m_linear ? d->first_mfn + pfn : d->p2m[pfn];
        perms = mfn == P2M_INVALID         ? 0
                : domain_page_exec(d, pfn) ? UC_PROT_READ | UC_PROT_EXEC
                                           : UC_PROT_READ | UC_PROT_WRITE;
        /* a shared engine (engine.h): code from the image's copy, data from the domain's frame */
        if (eng->shared && perms)
            paddr =
                (va & (PAGE_SIZE - 1)) + ((perms & UC_PROT_EXEC) && engine_code_page(eng, pfn)
                                              ? CODE_ALIAS + ((pfn - eng->code_first) << PAGE_SHIFT)
                                              : MACHINE_ALIAS + (mfn << PAGE_SHIFT));
    } else if (va >= HOPSIM_GNT_WINDOW_BASE &&
               va < HOPSIM_GNT_WINDOW_BASE + HOPSIM_GNT_WINDOW_PAGES * PAGE_SIZE) {
        /* a mapped slot: the granter's frame in the machine-memory alias (sim/xen/domain.c) */
        uint64_t slot = (va - HOPSIM_GNT_WINDOW_BASE) >> PAGE_SHIFT;
        window = true;
        switch (d->gnt_slot[slot]) {
        case GNT_SLOT_RW:
            perms = UC_PROT_READ | UC_PROT_WRITE;
            break;
        case GNT_SLOT_RO:
            perms = UC_PROT_READ;
            break;
        default:
            perms = 0;
        }
        if (perms)
            paddr = MACHINE_ALIAS + ((uint64_t)(d->gnt_mfn[slot] - 1) << PAGE_SHIFT) +
                    (va & (PAGE_SIZE - 1));
    } else if (va >= MACHINE_ALIAS && va - MACHINE_ALIAS < d->m->nr_mfns * PAGE_SIZE)
        perms = 0; /* the alias is reached through grant slots only: as unmapped as it was */
    else if (eng->shared && va >= MACHINE_ALIAS)
        perms = 0; /* the code copy, like the alias, is no guest address */
    else {
        perms = UC_PROT_READ | UC_PROT_WRITE;
        /* a shared engine maps nothing of a domain's above RAM: a page it would is translated
           here; any other address stays identity, unmapped, for the invalid-memory hook */
        if (eng->shared)
            engine_vmap_lookup(v, va, &paddr);
    }
    /*
     * Outside a slice the only fills are Unicorn's own: uc_mem_map_ptr and
     * uc_mem_unmap invalidate translated code on the range with a code
     * lookup (a FETCH fill). Refusing it would leave the engine's
     * invalid_error set, and Unicorn 2.1 then fails this engine's next
     * uc_mem_map_ptr with UC_ERR_NOMEM until it runs again -- which a
     * domain's other vCPUs, mapped into while they wait, may not do. The
     * entry does not outlive the change: both calls flush the TLB.
     */
    if (!v->in_slice && type == UC_MEM_FETCH) {
        if (window)
            window_tlb_note(d, va);
        e->paddr = paddr;
        e->perms = perms | UC_PROT_EXEC;
        return true;
    }
    uint32_t need = type == UC_MEM_FETCH   ? UC_PROT_EXEC
                    : type == UC_MEM_WRITE ? UC_PROT_WRITE
                                           : UC_PROT_READ;
    if (!(perms & need)) {
        /* the first refusal is the guest's access: remembered for the message */
        if (v->refused)
            return false;
        v->refused_addr = va;
        v->refused_type = (int)type;
        v->refused_perms = perms;
        v->refused = true;
        return false;
    }
    if (window)
        window_tlb_note(d, va);
    d->m->tlb_fills++;
    e->paddr = paddr;
    e->perms = perms;
    return true;
}

/* HVM device accesses (sim/hvm/hvm.h). */
bool hvm_pio_exit(struct vcpu *v, uint64_t rip);
bool hvm_mmio_exit(struct vcpu *v, uint64_t addr, int size, bool write, uint64_t value);

static bool hook_invalid(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                         void *opaque)
{
    struct vcpu *v = ((const struct engine *)opaque)->cur;
    /* an HVM guest's access to an emulated device: exits before the instruction executes (RIP
     * is exact, vcpu_hvm_setup) */
    if (v->d->hvm && (type == UC_MEM_READ_UNMAPPED || type == UC_MEM_WRITE_UNMAPPED) &&
        hvm_mmio_exit(v, addr, size, type == UC_MEM_WRITE_UNMAPPED, (uint64_t)value)) {
        v->trap = TRAP_IO;
        return false;
    }
    uint64_t rip = 0;
    uc_reg_read(uc, UC_X86_REG_RIP, &rip);
    snprintf(v->fault, sizeof(v->fault), "%s 0x%llx (%d bytes) near rip 0x%llx (%s)",
             access_name(type), (unsigned long long)addr, size, (unsigned long long)rip,
             domain_symbol(v->d, rip));
    v->trap = TRAP_FAULT;
    return false;
}

/* An HVM guest's IN/OUT: stops before it executes (a code hook may stop there cleanly). */
static void hook_pio(uc_engine *uc, uint64_t addr, uint32_t size, void *opaque)
{
    struct vcpu *v = opaque;
    (void)size;
    if (!hvm_pio_exit(v, addr))
        return; /* a trace mark: runs as usual */
    v->trap = TRAP_IO;
    uc_emu_stop(uc);
}

/* Never called: its presence makes Unicorn keep RIP exact at every memory access. */
static void hook_mem_sync(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                          void *opaque)
{
    (void)uc;
    (void)type;
    (void)addr;
    (void)size;
    (void)value;
    (void)opaque;
}

int vcpu_hvm_setup(struct vcpu *v, const uint64_t *pio_sites, size_t n)
{
    uc_engine *uc = (uc_engine *)v->uc;
    uc_hook h;
    /* an address no guest reaches: the hook never runs, but it makes the translator sync RIP
     * before each memory access, so an exit's RIP is the faulting instruction */
    const uint64_t never = 0xfffffffffffff000ull;
    if (uc_hook_add(uc, &h, UC_HOOK_MEM_READ | UC_HOOK_MEM_WRITE, (void *)hook_mem_sync, v, never,
                    never) != UC_ERR_OK)
        return -1;
    v->exact_rip = true;
    for (size_t i = 0; i < n; i++)
        if (uc_hook_add(uc, &h, UC_HOOK_CODE, (void *)hook_pio, v, pio_sites[i], pio_sites[i]) !=
            UC_ERR_OK)
            return -1;
    return 0;
}

int vcpu_code(struct vcpu *v, uint64_t addr, void *buf, size_t len)
{
    if (v->eng->shared)
        return engine_read(v, addr, buf, len);
    return uc_mem_read((uc_engine *)v->uc, addr, buf, len) == UC_ERR_OK ? 0 : -1;
}

static void hook_intr(uc_engine *uc, uint32_t intno, void *opaque)
{
    struct vcpu *v = ((const struct engine *)opaque)->cur;
    uint64_t rip = 0;
    uc_reg_read(uc, UC_X86_REG_RIP, &rip);
    snprintf(v->fault, sizeof(v->fault), "CPU exception %u at rip 0x%llx (%s)", intno,
             (unsigned long long)rip, domain_symbol(v->d, rip));
    v->trap = TRAP_FAULT;
    uc_emu_stop(uc);
}

static bool hook_insn_invalid(uc_engine *uc, void *opaque)
{
    struct vcpu *v = ((const struct engine *)opaque)->cur;
    uint64_t rip = 0;
    uc_reg_read(uc, UC_X86_REG_RIP, &rip);
    snprintf(v->fault, sizeof(v->fault), "invalid instruction at rip 0x%llx (%s)",
             (unsigned long long)rip, domain_symbol(v->d, rip));
    v->trap = TRAP_FAULT;
    return false;
}

/* The hooks get the engine: they run for its current vCPU. */
static int add_hooks(struct engine *eng, const struct domain *d)
{
    uc_engine *uc = eng->uc;
    uc_hook h;
    uc_err e = uc_hook_add(uc, &h, UC_HOOK_BLOCK, (void *)hook_block, eng, 1, 0);
    if (!e)
        e = uc_hook_add(uc, &h, UC_HOOK_INSN, (void *)hook_syscall, eng, 1, 0, UC_X86_INS_SYSCALL);
    if (!e)
        e = uc_hook_add(uc, &h, UC_HOOK_INSN, (void *)hook_out, eng, 1, 0, UC_X86_INS_OUT);
    if (!e)
        e = uc_hook_add(uc, &h, UC_HOOK_INSN, (void *)hook_in, eng, 1, 0, UC_X86_INS_IN);
    if (!e)
        e = uc_hook_add(uc, &h, UC_HOOK_TLB_FILL, (void *)hook_tlb_fill, eng, 1, 0);
    if (!e)
        e = uc_hook_add(uc, &h, UC_HOOK_MEM_INVALID, (void *)hook_invalid, eng,
                        d->nr_pages * PAGE_SIZE, UINT64_MAX);
    if (!e)
        e = uc_hook_add(uc, &h, UC_HOOK_INTR, (void *)hook_intr, eng, 1, 0);
    if (!e)
        e = uc_hook_add(uc, &h, UC_HOOK_INSN_INVALID, (void *)hook_insn_invalid, eng, 1, 0);
    return e ? -1 : 0;
}

/*
 * The engine's translated-code buffer: Unicorn's default reserves more than
 * a small guest ever fills and keeps about 2 MiB of it resident. Sized at 16
 * host bytes per byte of the image's code (TCG's x86-64-on-x86-64 output is
 * a few times the guest code, and only what runs is translated), at least
 * 1 MiB, rounded up to a power of two. Should it fill, Unicorn flushes the
 * translations and starts again: slower, never wrong.
 */
static uint32_t code_buffer_bytes(const struct domain *d)
{
    uint64_t want = d->code_bytes * 16, size = 1u << 20;
    while (size < want && size < (256u << 20))
        size <<= 1;
    return (uint32_t)size;
}

/* A fresh engine for d: its code buffer, the virtual TLB, the machine-memory alias, and RAM at
 * physical 0 (an engine of its own) or the image's code copy (a shared engine). */
static struct engine *engine_open(struct domain *d, const struct code_cache *cc, bool shared)
{
    struct engine *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    if (uc_open(UC_ARCH_X86, UC_MODE_64, &e->uc) != UC_ERR_OK) {
        free(e);
        return NULL;
    }
    uc_engine *uc = e->uc;
    bool ok = uc_ctl_exits_enable(uc) == UC_ERR_OK && /* and none: see RUN_UNTIL */
              uc_ctl_set_tcg_buffer_size(uc, code_buffer_bytes(d)) == UC_ERR_OK &&
              uc_ctl_tlb_mode(uc, UC_TLB_VIRTUAL) == UC_ERR_OK &&
              /* a shared engine also runs code there: pages made executable after it copied
                 the image (the fill hook sets each page's permissions) */
              uc_mem_map_ptr(uc, MACHINE_ALIAS, d->m->nr_mfns * PAGE_SIZE,
                             shared ? UC_PROT_ALL : UC_PROT_READ | UC_PROT_WRITE,
                             d->m->mem) == UC_ERR_OK &&
              (shared ? engine_share_setup(e, d, cc) == 0
                      : uc_mem_map_ptr(uc, 0, d->nr_pages * PAGE_SIZE, UC_PROT_ALL, d->ram) ==
                            UC_ERR_OK) &&
              add_hooks(e, d) == 0;
    if (!ok) {
        if (e->reset)
            uc_context_free(e->reset);
        uc_close(uc);
        free(e->code);
        free(e->code_has);
        free(e);
        return NULL;
    }
    if (shared) {
        e->next = d->m->shared_engines;
        d->m->shared_engines = e;
    }
    return e;
}

int vcpu_create(struct domain *d, int id, char *err, size_t errlen)
{
    struct vcpu *v = calloc(1, sizeof(*v));
    if (!v)
        goto fail;
    v->d = d;
    v->id = id;
    v->state = VCPU_DOWN;
    if (blockprice_init() < 0) {
        snprintf(err, errlen, "%s: cannot initialise the Capstone decoder", d->name);
        free(v);
        return -1;
    }
    if (!(v->cc = code_cache_get(d)))
        goto fail_cs;
    v->front = v->cc->front;
    bool shared = engine_shareable(d);
    struct engine *e = shared ? engine_find_shared(d->m, v->cc, d->nr_pages) : NULL;
    if (!e && !(e = engine_open(d, v->cc, shared)))
        goto fail_cc;
    v->eng = e;
    v->uc = (struct uc_struct *)e->uc;
    if (!shared)
        e->cur = v;
    else if (engine_join(e, v) < 0) {
        engine_leave(e, v);
        goto fail_cc;
    }
    d->vcpus[id] = v;
    return 0;
fail_cc:
    code_cache_put(v->cc);
fail_cs:
    blockprice_fini();
fail:
    snprintf(err, errlen, "%s: cannot create vCPU %d (Unicorn)", d->name, id);
    free(v);
    return -1;
}

void vcpu_destroy(struct vcpu *v)
{
    if (!v)
        return;
    if (v->eng && v->eng->shared)
        engine_leave(v->eng, v);
    else if (v->eng) {
        uc_close(v->eng->uc);
        free(v->eng);
    }
    blockprice_fini();
    for (int i = 0; i < v->nmmio; i++)
        free(v->mmio[i]);
    free(v->icache);
    code_cache_put(v->cc);
    free(v);
}

static const char *refused_name(const struct vcpu *v)
{
    if (!v->refused_perms && v->refused_addr < v->d->nr_pages * PAGE_SIZE)
        return v->refused_type == UC_MEM_WRITE   ? "write to unpopulated RAM page"
               : v->refused_type == UC_MEM_FETCH ? "fetch from unpopulated RAM page"
                                                 : "read of unpopulated RAM page";
    if (!v->refused_perms && v->refused_addr >= MACHINE_ALIAS)
        return v->refused_type == UC_MEM_WRITE   ? "write to unmapped address"
               : v->refused_type == UC_MEM_FETCH ? "fetch from unmapped address"
                                                 : "read of unmapped address";
    if (!v->refused_perms)
        return v->refused_type == UC_MEM_WRITE   ? "write to unmapped grant slot"
               : v->refused_type == UC_MEM_FETCH ? "fetch from unmapped grant slot"
                                                 : "read of unmapped grant slot";
    if (v->refused_type == UC_MEM_FETCH)
        return "fetch from non-executable page";
    return v->refused_type == UC_MEM_WRITE ? "write to read-only page" : "read of protected page";
}

void vcpu_continue_slice(struct vcpu *v, uint64_t budget_mcycles)
{
    set_budget(v, budget_mcycles);
    v->trap = TRAP_NONE;
    v->refused = false;
    v->slices++;
}

void vcpu_run_slice(struct vcpu *v, uint64_t budget_mcycles)
{
    uc_engine *uc = (uc_engine *)v->uc;
    if (v->eng->shared)
        engine_activate(v->eng, v);
    uint64_t rip = vcpu_reg(v, UC_X86_REG_RIP);
    set_budget(v, budget_mcycles);
    v->trap = TRAP_NONE;
    v->refused = false;
    v->slices++;
    v->d->m->engine_runs++;
    v->in_slice = true;
    uc_err e = uc_emu_start(uc, rip, RUN_UNTIL, 0, 0);
    if (v->trap == TRAP_PRIVOP && v->privop_steps) {
        /* run the block's instructions before the privileged one, then stop at it */
        uint64_t pc = vcpu_reg(v, UC_X86_REG_RIP);
        v->trap = TRAP_NONE;
        v->privop_stepping = true;
        /* the block was translated without Unicorn's instruction counter: translate anew */
        uc_ctl_remove_cache(uc, pc, v->privop_at + 1);
        e = uc_emu_start(uc, pc, RUN_UNTIL, 0, v->privop_steps);
        uc_ctl_remove_cache(uc, pc, v->privop_at + 1);
        v->privop_stepping = false;
        if (e == UC_ERR_OK && v->trap == TRAP_NONE) /* stopped at it, or lost it: a fault */
            v->trap = vcpu_reg(v, UC_X86_REG_RIP) == v->privop_at ? TRAP_PRIVOP : TRAP_FAULT;
    }
    v->in_slice = false;
    /*
     * A budget stop leaves the block it stopped before unexecuted. With the
     * RIP-syncing memory hook of an HVM vCPU, Unicorn's RIP is then the
     * last memory access's PC inside the previous block, not that block's
     * start (seen on a byte-store loop: the store ran again with the
     * loop's counter already advanced): resume at the block.
     */
    if (v->trap == TRAP_BUDGET && v->exact_rip && vcpu_reg(v, UC_X86_REG_RIP) != v->stop_pc)
        vcpu_set_reg(v, UC_X86_REG_RIP, v->stop_pc);
    if (v->trap != TRAP_NONE)
        return;
    if (e == UC_ERR_EXCEPTION && v->refused) {
        uint64_t r = vcpu_reg(v, UC_X86_REG_RIP);
        snprintf(v->fault, sizeof(v->fault), "%s 0x%llx near rip 0x%llx (%s)", refused_name(v),
                 (unsigned long long)v->refused_addr, (unsigned long long)r,
                 domain_symbol(v->d, r));
        v->trap = TRAP_FAULT;
        return;
    }
    if (e != UC_ERR_OK) {
        uint64_t r = vcpu_reg(v, UC_X86_REG_RIP);
        snprintf(v->fault, sizeof(v->fault), "%s at rip 0x%llx (%s)", uc_strerror(e),
                 (unsigned long long)r, domain_symbol(v->d, r));
        v->trap = TRAP_FAULT;
        return;
    }
    /* Returned on its own: the only way is hlt (RIP is after it). */
    v->trap = TRAP_HALT;
}

/* On a shared engine, a vCPU that is not the current one has its registers in its context. */
uint64_t vcpu_reg(struct vcpu *v, int reg)
{
    uint64_t val = 0;
    if (v->eng->cur == v)
        uc_reg_read((uc_engine *)v->uc, reg, &val);
    else
        uc_context_reg_read(v->ctx, reg, &val);
    return val;
}

void vcpu_set_reg(struct vcpu *v, int reg, uint64_t val)
{
    if (v->eng->cur == v)
        uc_reg_write((uc_engine *)v->uc, reg, &val);
    else
        uc_context_reg_write(v->ctx, reg, &val);
}

int vcpu_map(struct vcpu *v, uint64_t gpa, uint64_t len, void *host, bool writable)
{
    uint32_t prot = UC_PROT_READ | (writable ? UC_PROT_WRITE : 0);
    if (v->eng->shared)
        return writable ? engine_vmap_add(v, gpa, len, host) : -1;
    return uc_mem_map_ptr((uc_engine *)v->uc, gpa, len, prot, host) == UC_ERR_OK ? 0 : -1;
}

/* A shared engine holds translations of the domain it last ran only. */
void vcpu_flush_tlb(struct vcpu *v)
{
    if (!v->eng->shared || v->eng->tlb_dom == v->d)
        uc_ctl_flush_tlb((uc_engine *)v->uc);
}

/*
 * What the guest could read: an empty grant-window slot is no memory (the
 * fill hook refuses it), a mapped one is the granter's frame; nor is an
 * unpopulated RAM page.
 */
int vcpu_read(struct vcpu *v, uint64_t gpa, void *buf, size_t len)
{
    const struct domain *d = v->d;
    const uint64_t wb = HOPSIM_GNT_WINDOW_BASE, we = wb + HOPSIM_GNT_WINDOW_PAGES * PAGE_SIZE;
    if (len && gpa < we && gpa + len > wb) {
        if (gpa < wb || gpa + len > we)
            return -1; /* straddles an edge of the window */
        for (uint8_t *out = buf; len;) {
            uint64_t slot = (gpa - wb) >> PAGE_SHIFT, off = gpa & (PAGE_SIZE - 1);
            size_t n = len < PAGE_SIZE - off ? len : PAGE_SIZE - off;
            if (d->gnt_slot[slot] == GNT_SLOT_NONE)
                return -1;
            memcpy(out, (uint8_t *)machine_frame(d->m, d->gnt_mfn[slot] - 1) + off, n);
            out += n;
            gpa += n;
            len -= n;
        }
        return 0;
    }
    uint64_t ram = d->nr_pages * PAGE_SIZE;
    if (len && gpa < ram && !guest_ram(v->d, gpa, (gpa + len > ram ? ram : gpa + len) - gpa))
        return -1;
    if (len && gpa >= MACHINE_ALIAS)
        return -1;
    if (v->eng->shared)
        return engine_read(v, gpa, buf, len);
    return uc_mem_read((uc_engine *)v->uc, gpa, buf, len) == UC_ERR_OK ? 0 : -1;
}

int vcpu_unmap(struct vcpu *v, uint64_t gpa, uint64_t len)
{
    if (v->eng->shared)
        return engine_vmap_remove(v, gpa, len);
    return uc_mem_unmap((uc_engine *)v->uc, gpa, len) == UC_ERR_OK ? 0 : -1;
}

simtime_t vcpu_now(const struct vcpu *v)
{
    return v->slice_start + machine_cycles(v->d->m, (double)v->slice_mcycles / 1000.0);
}

/* Xen x86-64 selectors (FLAT_KERNEL_CS64 / FLAT_KERNEL_SS64). */
#define XEN_CS64 0xe033
#define XEN_SS64 0xe02b
#define RFLAGS_IF 0x200ull

/*
 * Xen's create_bounce_frame for the event callback: below the 16-byte
 * aligned stack top push ss, rsp, rflags, cs, rip, r11, rcx; mask
 * upcalls; saved IF = !old mask; jump to the callback.
 */
bool vcpu_deliver_upcall(struct vcpu *v)
{
    struct domain *d = v->d;
    if (!d->shinfo || !v->event_callback)
        return false;
    struct vcpu_info *vi = &d->shinfo->vcpu_info[v->id];
    if (!vi->evtchn_upcall_pending || vi->evtchn_upcall_mask)
        return false;
    uint64_t rsp = vcpu_reg(v, UC_X86_REG_RSP);
    uint64_t top = rsp & ~15ull;
    uint64_t *frame = guest_ram(d, top - 56, 56);
    if (!frame) {
        domain_kill(d, SHUTDOWN_crash, "event callback frame outside RAM (bad stack pointer)");
        return false;
    }
    uint64_t rflags = (vcpu_reg(v, UC_X86_REG_RFLAGS) & ~RFLAGS_IF) | RFLAGS_IF;
    frame[0] = vcpu_reg(v, UC_X86_REG_RCX);
    frame[1] = vcpu_reg(v, UC_X86_REG_R11);
    frame[2] = vcpu_reg(v, UC_X86_REG_RIP);
    frame[3] = XEN_CS64;
    frame[4] = rflags;
    frame[5] = rsp;
    frame[6] = XEN_SS64;
    vi->evtchn_upcall_mask = 1;
    vcpu_set_reg(v, UC_X86_REG_RSP, top - 56);
    vcpu_set_reg(v, UC_X86_REG_RIP, v->event_callback);
    return true;
}
