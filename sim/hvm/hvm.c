/*
 * HVM exits and the ioreq round trip (see hvm.h; Xen: arch/x86/hvm/emulate.c
 * hvmemul_do_io, hvm/io.c handle_mmio / handle_pio, common/ioreq.c
 * ioreq_send and handle_hvm_io_completion).
 *
 * Instruction completion: Xen re-runs x86_emulate on the instruction once
 * the ioreq is answered. hopsim decodes the faulting instruction with
 * Capstone and supports what drivers use for registers: MOV, MOVZX,
 * MOVSX/MOVSXD loads into a general register, any store (the engine
 * handed over the stored value), IN and OUT of 1, 2 or 4 bytes. Anything
 * else is an emulation failure and crashes the domain, as Xen's
 * hvm_emulate_one does ("emulation failed"). String port I/O is not
 * trapped.
 *
 * Cycle accounting: the block holding the exiting instruction was charged
 * whole when it started; the instructions after the exit in that block are
 * charged again when the vCPU resumes past it (they form a new block), an
 * overcount of at most one block per exit.
 */
#include "hvm.h"
#include "l4sys.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <capstone/capstone.h>
#include <unicorn/unicorn.h>

static const int gpr_uc[16] = {UC_X86_REG_RAX, UC_X86_REG_RCX, UC_X86_REG_RDX, UC_X86_REG_RBX,
                               UC_X86_REG_RSP, UC_X86_REG_RBP, UC_X86_REG_RSI, UC_X86_REG_RDI,
                               UC_X86_REG_R8,  UC_X86_REG_R9,  UC_X86_REG_R10, UC_X86_REG_R11,
                               UC_X86_REG_R12, UC_X86_REG_R13, UC_X86_REG_R14, UC_X86_REG_R15};

static const char *const gpr_names[4][16] = {
    {"al", "cl", "dl", "bl", "spl", "bpl", "sil", "dil", "r8b", "r9b", "r10b", "r11b", "r12b",
     "r13b", "r14b", "r15b"},
    {"ax", "cx", "dx", "bx", "sp", "bp", "si", "di", "r8w", "r9w", "r10w", "r11w", "r12w", "r13w",
     "r14w", "r15w"},
    {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "r8d", "r9d", "r10d", "r11d", "r12d",
     "r13d", "r14d", "r15d"},
    {"rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi", "r8", "r9", "r10", "r11", "r12", "r13",
     "r14", "r15"},
};

/* Register index (0..15) and its width in bytes, from its Capstone name; -1 if not a GPR. */
static int gpr_lookup(const char *name, unsigned *width)
{
    for (int w = 0; w < 4; w++)
        for (int i = 0; i < 16; i++)
            if (!strcmp(name, gpr_names[w][i])) {
                *width = 1u << w;
                return i;
            }
    return -1;
}

static uint64_t size_mask(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

/* x86-64 register write: 32-bit writes zero-extend, 8- and 16-bit ones merge. */
static void gpr_write(struct vcpu *v, int reg, unsigned width, uint64_t val)
{
    int r = gpr_uc[reg];
    if (width >= 4) {
        vcpu_set_reg(v, r, width == 4 ? (uint32_t)val : val);
        return;
    }
    uint64_t old = vcpu_reg(v, r), m = size_mask(width);
    vcpu_set_reg(v, r, (old & ~m) | (val & m));
}

/* ---- the port-I/O sites of the image ---- */

static int site_cmp(const void *a, const void *b)
{
    const struct hvm_pio_site *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Linear sweep of the image's executable bytes: every IN/OUT that is not a trace mark. */
static int scan_pio_sites(struct hvm_domain *h, char *err, size_t errlen)
{
    struct domain *d = h->d;
    const uint8_t *code = guest_ram(d, d->text_start, d->text_end - d->text_start);
    csh cs;
    if (!code || d->text_end <= d->text_start) {
        snprintf(err, errlen, "%s: an HVM image needs executable segments inside RAM", d->name);
        return -1;
    }
    if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK) {
        snprintf(err, errlen, "%s: cannot open the Capstone decoder", d->name);
        return -1;
    }
    cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
    cs_option(cs, CS_OPT_SKIPDATA, CS_OPT_ON);
    cs_insn *in = cs_malloc(cs);
    size_t left = d->text_end - d->text_start, cap = 0;
    uint64_t addr = d->text_start;
    const uint8_t *p = code;
    while (in && cs_disasm_iter(cs, &p, &left, &addr, in)) {
        if (in->id != X86_INS_IN && in->id != X86_INS_OUT)
            continue;
        const cs_x86 *x = &in->detail->x86;
        struct hvm_pio_site s = {
            .addr = in->address, .len = (uint8_t)in->size, .port = -1, .in = in->id == X86_INS_IN};
        for (int i = 0; i < x->op_count; i++) {
            if (x->operands[i].type == X86_OP_IMM)
                s.port = (int)(x->operands[i].imm & 0xffff);
            else if (x->operands[i].type == X86_OP_REG && x->operands[i].reg != X86_REG_DX)
                s.size = x->operands[i].size;
        }
        if (s.port == HOPSIM_TRACE_PORT || !s.size)
            continue; /* trace marks run as usual */
        if (h->nsites == cap) {
            cap = cap ? cap * 2 : 32;
            struct hvm_pio_site *n = realloc(h->sites, cap * sizeof(*n));
            if (!n)
                break;
            h->sites = n;
        }
        h->sites[h->nsites++] = s;
    }
    cs_free(in, 1);
    cs_close(&cs);
    qsort(h->sites, h->nsites, sizeof(*h->sites), site_cmp);
    return 0;
}

int hvm_domain_init(struct domain *d, char *err, size_t errlen)
{
    struct hvm_domain *h = calloc(1, sizeof(*h));
    if (!h) {
        snprintf(err, errlen, "%s: out of memory", d->name);
        return -1;
    }
    d->hvmd = h;
    h->d = d;
    h->paused = !d->l4_vmm; /* a VM on the microkernel runs at once: its first exit waits */
    if (scan_pio_sites(h, err, errlen) < 0)
        return -1;
    uint64_t *addrs = calloc(h->nsites ? h->nsites : 1, sizeof(*addrs));
    if (!addrs) {
        snprintf(err, errlen, "%s: out of memory", d->name);
        return -1;
    }
    for (size_t i = 0; i < h->nsites; i++)
        addrs[i] = h->sites[i].addr;
    int rc = 0;
    for (int i = 0; i < d->nvcpus && rc == 0; i++)
        rc = vcpu_hvm_setup(d->vcpus[i], addrs, h->nsites);
    free(addrs);
    if (rc < 0)
        snprintf(err, errlen, "%s: cannot install the HVM exit hooks (Unicorn)", d->name);
    return rc;
}

void hvm_domain_fini(struct domain *d)
{
    if (!d->hvmd)
        return;
    free(d->hvmd->sites);
    free(d->hvmd);
    d->hvmd = NULL;
}

void hvm_unpause(struct domain *d, simtime_t when)
{
    struct hvm_domain *h = d->hvmd;
    if (!h || !h->paused)
        return;
    h->paused = false;
    sched_wake(d->vcpus[0], when);
}

/* ---- exits (engine callbacks: only record the access) ---- */

bool hvm_pio_exit(struct vcpu *v, uint64_t rip)
{
    struct hvm_domain *h = v->d->hvmd;
    struct hvm_pio_site key = {.addr = rip};
    const struct hvm_pio_site *s = bsearch(&key, h->sites, h->nsites, sizeof(key), site_cmp);
    if (!s)
        return false;
    uint16_t port = s->port >= 0 ? (uint16_t)s->port : (uint16_t)vcpu_reg(v, UC_X86_REG_RDX);
    if (port == HOPSIM_TRACE_PORT)
        return false;
    v->io = (struct hvm_io){.kind = HVM_IO_PIO,
                            .dir = s->in ? IOREQ_READ : IOREQ_WRITE,
                            .size = s->size,
                            .len = s->len,
                            .addr = port,
                            .data = s->in ? 0 : vcpu_reg(v, UC_X86_REG_RAX) & size_mask(s->size)};
    return true;
}

bool hvm_mmio_exit(struct vcpu *v, uint64_t addr, int size, bool write, uint64_t value)
{
    if (addr < HOPSIM_MMIO_BASE || addr >= HOPSIM_GNT_WINDOW_BASE || size <= 0 || size > 8)
        return false;
    v->io = (struct hvm_io){.kind = HVM_IO_MMIO,
                            .dir = write ? IOREQ_WRITE : IOREQ_READ,
                            .size = (uint8_t)size,
                            .addr = addr,
                            .data = write ? value & size_mask((unsigned)size) : 0};
    return true;
}

/* ---- completion ---- */

/*
 * Decode the MMIO instruction at RIP: its length, and for a read the
 * destination register, its width and the extension. -1 if not emulable.
 */
struct mmio_insn {
    unsigned len, width;
    int reg;
    bool sign;
    char text[48];
};

static int decode_mmio(struct vcpu *v, struct mmio_insn *mi)
{
    uint8_t buf[16];
    uint64_t rip = vcpu_reg(v, UC_X86_REG_RIP);
    csh cs;
    int rc = -1;
    memset(mi, 0, sizeof(*mi));
    mi->reg = -1;
    if (vcpu_code(v, rip, buf, sizeof(buf)) < 0 || cs_open(CS_ARCH_X86, CS_MODE_64, &cs))
        return -1;
    cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
    cs_insn *in = NULL;
    if (cs_disasm(cs, buf, sizeof(buf), rip, 1, &in) == 1) {
        snprintf(mi->text, sizeof(mi->text), "%.15s %.31s", in->mnemonic, in->op_str);
        mi->len = in->size;
        const cs_x86 *x = &in->detail->x86;
        bool load = (in->id == X86_INS_MOV || in->id == X86_INS_MOVZX || in->id == X86_INS_MOVSX ||
                     in->id == X86_INS_MOVSXD) &&
                    x->op_count == 2 && x->operands[0].type == X86_OP_REG &&
                    x->operands[1].type == X86_OP_MEM;
        if (v->io.dir == IOREQ_WRITE) {
            rc = 0;
        } else if (load) {
            mi->reg = gpr_lookup(cs_reg_name(cs, x->operands[0].reg), &mi->width);
            mi->sign = in->id == X86_INS_MOVSX || in->id == X86_INS_MOVSXD;
            rc = mi->reg >= 0 ? 0 : -1;
        }
        cs_free(in, 1);
    }
    cs_close(&cs);
    return rc;
}

/* Finish the exited instruction with `val` (reads); RIP moves past it. 0, or -1 (crashed). */
int hvm_complete_io(struct vcpu *v, uint64_t val)
{
    struct hvm_io *io = &v->io;
    uint64_t rip = vcpu_reg(v, UC_X86_REG_RIP);
    val &= size_mask(io->size);
    if (io->kind == HVM_IO_PIO) {
        if (io->dir == IOREQ_READ)
            gpr_write(v, 0, io->size, val); /* %al / %ax / %eax */
        vcpu_set_reg(v, UC_X86_REG_RIP, rip + io->len);
        return 0;
    }
    struct mmio_insn mi;
    if (decode_mmio(v, &mi) < 0) {
        char why[200];
        snprintf(why, sizeof(why), "emulation failed: MMIO %s of 0x%llx by '%s' at rip 0x%llx",
                 io->dir == IOREQ_READ ? "read" : "write", (unsigned long long)io->addr,
                 mi.text[0] ? mi.text : "?", (unsigned long long)rip);
        domain_kill(v->d, SHUTDOWN_crash, why);
        return -1;
    }
    if (io->dir == IOREQ_READ) {
        if (mi.sign && io->size < 8) {
            uint64_t sb = 1ull << (8 * io->size - 1);
            val = (val ^ sb) - sb;
        }
        gpr_write(v, mi.reg, mi.width, val);
    }
    vcpu_set_reg(v, UC_X86_REG_RIP, rip + mi.len);
    return 0;
}

/* ---- routing ---- */

static bool range_hit(const struct hvm_domain *h, uint32_t type, uint64_t a)
{
    for (int i = 0; i < h->nranges; i++)
        if (h->ranges[i].type == type && a >= h->ranges[i].start && a <= h->ranges[i].end)
            return true;
    return false;
}

const char *hvm_io_name(const struct hvm_io *io)
{
    if (io->kind == HVM_IO_PIO)
        return io->dir == IOREQ_READ ? "in" : "out";
    return io->dir == IOREQ_READ ? "mmio read" : "mmio write";
}

/* Which ioreq an access becomes: 0 when it is handled here (value in *val). */
static int route(struct vcpu *v, uint8_t *type, uint64_t *addr, uint64_t *val)
{
    struct domain *d = v->d;
    struct hvm_domain *h = d->hvmd;
    struct hvm_io *io = &v->io;
    bool srv = h->server && h->enabled;
    *val = ~0ull;
    if (io->kind == HVM_IO_PIO && io->addr == 0xcf8 && io->size == 4) {
        /* Xen's hvm_access_cf8 latches CONFIG_ADDRESS itself */
        if (io->dir == IOREQ_WRITE)
            d->pci_cf8 = (uint32_t)io->data;
        *val = d->pci_cf8;
        return 0;
    }
    if (io->kind == HVM_IO_PIO && io->addr >= 0xcfc && io->addr <= 0xcff) {
        uint32_t cf8 = d->pci_cf8;
        uint32_t sbdf = (cf8 >> 8) & 0xffff; /* bus, device, function; segment 0 */
        if (srv && (cf8 & 0x80000000u) && range_hit(h, XEN_DMOP_IO_RANGE_PCI, sbdf)) {
            *type = IOREQ_TYPE_PCI_CONFIG;
            *addr = (uint64_t)sbdf << 32 | ((cf8 & 0xfc) + (io->addr - 0xcfc));
            return 1;
        }
    } else if (io->kind == HVM_IO_PIO) {
        if (srv && range_hit(h, XEN_DMOP_IO_RANGE_PORT, io->addr)) {
            *type = IOREQ_TYPE_PIO;
            *addr = io->addr;
            return 1;
        }
    } else if (srv && range_hit(h, XEN_DMOP_IO_RANGE_MEMORY, io->addr)) {
        *type = IOREQ_TYPE_COPY;
        *addr = io->addr;
        return 1;
    }
    h->null_accesses++; /* no server claims it: Xen's null handler */
    return 0;
}

enum hc_action hvm_exit(struct vcpu *v, simtime_t now, simtime_t *cost)
{
    struct domain *d = v->d;
    struct machine *m = d->m;
    struct hvm_domain *h = d->hvmd;
    struct hvm_io *io = &v->io;
    simtime_t c = machine_cost(m, C_VMEXIT) + machine_cost(m, C_VMEXIT_HANDLING);
    h->exits++;
    span_cpu(m, v->pcpu, SPAN_VMEXIT, v->ctx_req, now, now + c, hvm_io_name(io), (int64_t)io->addr);
    *cost = c;
    if (d->l4_vmm) /* on the microkernel: every exit is a call to the VM's user-level VMM */
        return l4sys_exit(v, now, cost);
    uint8_t type = 0;
    uint64_t addr = 0, val;
    if (!route(v, &type, &addr, &val))
        return hvm_complete_io(v, val) < 0 ? HC_DEAD : HC_CONTINUE;
    ioreq_t *p = &h->page->vcpu_ioreq[v->id];
    if (p->state != STATE_IOREQ_NONE) {
        domain_kill(d, SHUTDOWN_crash, "ioreq slot not idle at an exit (device model protocol)");
        return HC_DEAD;
    }
    *p = (ioreq_t){.addr = addr,
                   .data = io->dir == IOREQ_WRITE ? io->data : 0,
                   .count = 1,
                   .size = io->size,
                   .vp_eport = h->port[v->id],
                   .dir = io->dir,
                   .type = type};
    __atomic_thread_fence(__ATOMIC_RELEASE);
    p->state = STATE_IOREQ_READY;
    io->pending = true;
    io->start = now;
    io->req = v->ctx_req;
    h->ioreqs++;
    /* a request the guest's driver handed to the device now travels through the hypervisor */
    trace_hop_advance(m->tr, d->place, HOP_H2, HOP_H3, m->pcpus[v->pcpu].place, now);
    simtime_t send = machine_cost(m, C_EVTCHN_SEND);
    span_cpu(m, v->pcpu, SPAN_EVTCHN_SEND, v->ctx_req, now + c, now + c + send, "ioreq",
             h->port[v->id]);
    *cost += send;
    const struct evtchn *ch = &d->evtchn[h->port[v->id]];
    struct domain *dm = machine_domain(m, h->dm);
    if (ch->state == ECS_INTERDOMAIN && dm && !dm->dead)
        evtchn_set_pending(dm, ch->remote_port, now + *cost, v->ctx_req);
    /* else nobody will answer: the vCPU waits, as in Xen's hvm_wait_for_io */
    return HC_BLOCK;
}

void hvm_ioreq_notify(struct domain *d, uint32_t port, simtime_t when)
{
    struct hvm_domain *h = d->hvmd;
    if (!h || !h->page || d->dead)
        return;
    for (int i = 0; i < d->nvcpus; i++) {
        struct vcpu *v = d->vcpus[i];
        ioreq_t *p = &h->page->vcpu_ioreq[i];
        if (h->port[i] != port || !v->io.pending)
            continue;
        if (p->state != STATE_IORESP_READY)
            return; /* not answered yet: keep waiting */
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        uint64_t val = p->data;
        p->state = STATE_IOREQ_NONE;
        v->io.pending = false;
        span_cpu(d->m, v->pcpu, SPAN_IOREQ, v->io.req, v->io.start, when, hvm_io_name(&v->io),
                 (int64_t)v->io.addr);
        if (hvm_complete_io(v, val) == 0)
            sched_wake(v, when);
        return;
    }
}
