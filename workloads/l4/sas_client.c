/*
 * The SAS driver interface (blk/sas.h) in a VMM on the microkernel: the
 * real HBA belongs to the driver server (drvsrv.c), so every call that
 * reaches the device is IPC to it (the protocol in l4sys.h). The emulated
 * HBA (hvm/emu_sas.c) links against this instead of blk/sas.c, unchanged.
 *
 * - sas_probe: OPEN (the targets, a slot, the software interrupt that
 *   says "completions are ready", attached here).
 * - sas_cmd_submit: each SG page not yet mapped to the server goes first,
 *   as a flexpage map (one page per MAP call; a page stays mapped -- the
 *   bounce pages are reused, like persistent grants); then SUBMIT. The
 *   server rings the doorbell per command, so sas_kick has nothing left.
 * - the software interrupt: l4_sas_irq() FETCHes the completions, runs
 *   each command's done() and then the batch hook, as the real driver's
 *   interrupt handler does.
 */
#include "../blk/sas.h"
#include "dma.h"
#include "guest.h"
#include "l4sys.h"
#include "sas_client.h"
#include "trace.h"
#include "vmm.h"

#define CL_SLOTS 64

struct sas_hba {
    uint32_t server;
    unsigned slot, irq, ntargets;
    struct sas_target_info tgt[SAS_DRV_MAX_TARGETS];
    struct sas_cmd cmds[CL_SLOTS];
    struct sas_sg sg[CL_SLOTS][SAS_MAX_SG];
    int16_t free_stack[CL_SLOTS];
    unsigned nfree;
    uint8_t *mapped; /* one bit per page of this task's RAM: mapped to the server */
    sas_batch_fn batch;
    void *batch_arg;
    int dead;
    unsigned long submitted, completed, maps;
};

static struct sas_hba cl;
static struct l4_utcb cu; /* this file's calls: the VMM's loop keeps its own UTCB */

/* A call to the server: 0 and the reply in cu.msg, or a negative error. */
static long srv_call(void)
{
    cu.dest = cu.from = cl.server;
    cu.timeout = L4_NEVER;
    long r = l4_sys(L4_SYS_IPC, &cu);
    if (r) {
        if (!cl.dead)
            printf("sas_client: the driver server is unreachable: %ld\n", r);
        cl.dead = 1;
        return -XEN_EIO;
    }
    return (long)cu.msg.mr[0];
}

int sas_probe(unsigned qsize, struct sas_hba **out)
{
    (void)qsize; /* the server's queues are its own */
    int rc = dma_init();
    if (rc)
        return rc;
    const char *name = arg_str("server", "");
    cl.server = l4_task_thread(name);
    if (!cl.server) {
        printf("sas_client: no driver server task '%s'\n", name);
        return -XEN_ENODEV;
    }
    memset(&cu.msg, 0, sizeof(cu.msg));
    cu.msg.label = SRV_OPEN;
    long r = srv_call();
    if (r)
        return (int)r;
    cl.slot = (unsigned)cu.msg.mr[1];
    cl.irq = (unsigned)cu.msg.mr[2];
    cl.ntargets = (unsigned)cu.msg.mr[3];
    if (cl.ntargets > SAS_DRV_MAX_TARGETS)
        cl.ntargets = SAS_DRV_MAX_TARGETS;
    for (unsigned t = 0; t < cl.ntargets; t++) {
        cl.tgt[t].blocks = cu.msg.mr[4 + 2 * t];
        cl.tgt[t].blksz = (uint32_t)cu.msg.mr[5 + 2 * t];
        cl.tgt[t].type = (uint32_t)(cu.msg.mr[5 + 2 * t] >> 32);
    }
    struct l4_utcb a = {.dest = cl.irq};
    if (l4_sys(L4_SYS_IRQ_ATTACH, &a)) {
        printf("sas_client: cannot attach interrupt %u\n", cl.irq);
        return -XEN_EIO;
    }
    cl.mapped = page_zalloc((start_info->nr_pages / 8 + PAGE_SIZE - 1) / PAGE_SIZE);
    if (!cl.mapped)
        return -XEN_ENOMEM;
    for (unsigned i = 0; i < CL_SLOTS; i++) {
        cl.cmds[i].slot = (int16_t)i;
        cl.cmds[i].sg = cl.sg[i];
        cl.free_stack[i] = (int16_t)(CL_SLOTS - 1 - i);
    }
    cl.nfree = CL_SLOTS;
    printf("sas_client: driver server 0x%x, client %u, %u target(s), completions on "
           "interrupt %u\n",
           cl.server, cl.slot, cl.ntargets, cl.irq);
    *out = &cl;
    return 0;
}

unsigned l4_sas_irq_number(void)
{
    return cl.irq;
}

unsigned sas_ntargets(const struct sas_hba *h)
{
    return h->ntargets;
}

const struct sas_target_info *sas_target(const struct sas_hba *h, unsigned t)
{
    if (t >= h->ntargets || !h->tgt[t].blocks || h->tgt[t].type == SAS_TGT_NONE)
        return NULL;
    return &h->tgt[t];
}

struct sas_cmd *sas_cmd_alloc(struct sas_hba *h)
{
    if (!h->nfree || h->dead)
        return NULL;
    struct sas_cmd *c = &h->cmds[h->free_stack[--h->nfree]];
    c->in_flight = 0;
    return c;
}

void sas_cmd_free(struct sas_hba *h, struct sas_cmd *c)
{
    c->in_flight = 0;
    h->free_stack[h->nfree++] = c->slot;
}

unsigned sas_free_slots(const struct sas_hba *h)
{
    return h->dead ? 0 : h->nfree;
}

/* The address of our own page at bus address `bus` (RAM is one machine-contiguous run). */
static uint64_t bus_page(uint64_t bus)
{
    unsigned long mfn = bus >> PAGE_SHIFT, pfn = mfn - dma_p2m[0];
    return pfn < dma_nr_pages && dma_p2m[pfn] == mfn ? (uint64_t)pfn << PAGE_SHIFT : DMA_BAD_ADDR;
}

/* This task's page at bus address `bus` mapped to the server: 0 or an error. */
static long map_page(uint64_t bus)
{
    uint64_t gpa = bus_page(bus);
    unsigned long pfn = gpa >> PAGE_SHIFT;
    if (gpa == DMA_BAD_ADDR)
        return -XEN_EFAULT;
    if (cl.mapped[pfn / 8] & (1u << (pfn % 8)))
        return 0;
    memset(&cu.msg, 0, sizeof(cu.msg));
    cu.msg.label = SRV_MAP;
    cu.msg.item = L4_ITEM_MAP;
    cu.msg.fpage = (struct l4_fpage){.base = gpa, .order = 0, .rights = L4_R | L4_W};
    cu.msg.send_base = SRV_CLIENT_BASE(cl.slot) + gpa;
    long r = srv_call();
    if (!r) {
        cl.mapped[pfn / 8] |= (uint8_t)(1u << (pfn % 8));
        cl.maps++;
    }
    return r;
}

int sas_cmd_submit(struct sas_hba *h, struct sas_cmd *c)
{
    long r = h->dead ? -XEN_EIO : 0;
    for (unsigned i = 0; !r && i < c->nsg; i++)
        r = map_page(c->sg[i].addr);
    if (!r) {
        memset(&cu.msg, 0, sizeof(cu.msg));
        cu.msg.label = SRV_SUBMIT;
        cu.msg.nmr = 3 + c->nsg;
        cu.msg.mr[0] = c->tag;
        cu.msg.mr[1] = c->lba;
        cu.msg.mr[2] = c->nblocks | (uint64_t)c->opcode << 32 | (uint64_t)c->target << 40 |
                       (uint64_t)c->nsg << 48;
        for (unsigned i = 0; i < c->nsg; i++)
            cu.msg.mr[3 + i] = bus_page(c->sg[i].addr) | (c->sg[i].len - 1);
        r = srv_call();
    }
    if (r) {
        sas_cmd_free(h, c); /* as the real driver gives back a refused command's slot */
        return (int)r;
    }
    c->in_flight = 1;
    h->submitted++;
    return 0;
}

void sas_kick(struct sas_hba *h)
{
    (void)h; /* the server rang the doorbell with each command */
}

void sas_set_batch_hook(struct sas_hba *h, sas_batch_fn fn, void *arg)
{
    h->batch = fn;
    h->batch_arg = arg;
}

int sas_irq_affinity(struct sas_hba *h, unsigned cpu)
{
    (void)h;
    (void)cpu;
    return -XEN_ENOSYS;
}

unsigned sas_irq_port(const struct sas_hba *h)
{
    return h->irq;
}

void l4_sas_close(void)
{
    sas_shutdown(&cl);
}

void sas_shutdown(struct sas_hba *h)
{
    if (!h->server || h->dead)
        return;
    struct l4_utcb c = {.dest = h->server, .from = L4_NILTHREAD, .timeout = L4_NEVER};
    c.msg.label = SRV_CLOSE;
    l4_sys(L4_SYS_IPC, &c);
    h->dead = 1;
    printf("sas_client: %lu commands through the driver server, %lu completed, %lu pages "
           "mapped to it\n",
           h->submitted, h->completed, h->maps);
}

static struct sas_cmd *by_tag(uint64_t tag)
{
    for (unsigned i = 0; i < CL_SLOTS; i++)
        if (cl.cmds[i].in_flight && cl.cmds[i].tag == tag)
            return &cl.cmds[i];
    return NULL;
}

void l4_sas_irq(void)
{
    unsigned more = 1;
    while (more && !cl.dead) {
        memset(&cu.msg, 0, sizeof(cu.msg));
        cu.msg.label = SRV_FETCH;
        if (srv_call())
            break;
        unsigned n = (unsigned)cu.msg.mr[1] & 0xffff;
        more = (unsigned)(cu.msg.mr[1] >> 16) & 1;
        struct l4_msg got = cu.msg; /* done() may call the server again */
        for (unsigned i = 0; i < n && i < SRV_FETCH_MAX; i++) {
            uint64_t tag = got.mr[2 + 2 * i];
            int status = (int)(int64_t)got.mr[3 + 2 * i];
            struct sas_cmd *c = by_tag(tag);
            if (!c) {
                printf("sas_client: completion for unknown tag 0x%llx\n", (unsigned long long)tag);
                continue;
            }
            cl.completed++;
            l4_vmm_posted(tag);
            c->in_flight = 0;
            c->done(c, status);
            sas_cmd_free(&cl, c);
        }
    }
    if (cl.batch)
        cl.batch(cl.batch_arg);
}

/* One SUBMIT of a block of target 0 at `lba` whose SG entry names page `page` (as the client
 * addresses it), bypassing the checks this file makes: the server's answer. */
static long probe_submit(uint64_t lba, uint8_t opcode, uint64_t page)
{
    memset(&cu.msg, 0, sizeof(cu.msg));
    cu.msg.label = SRV_SUBMIT;
    cu.msg.nmr = 4;
    cu.msg.mr[0] = HOPSIM_NOREQ;
    cu.msg.mr[1] = lba;
    uint32_t n = cl.tgt[0].blksz ? (uint32_t)(PAGE_SIZE / cl.tgt[0].blksz) : 1;
    cu.msg.mr[2] = n | (uint64_t)opcode << 32 | 1ull << 48;
    cu.msg.mr[3] = page | (PAGE_SIZE - 1);
    return srv_call();
}

/*
 * The compromised VMM's attempts. What it holds: its own task, the VM
 * whose exception handler it is, its session with the driver server. What
 * it tries, each through the only interface it has -- the kernel's system
 * calls and the server's protocol:
 *   memory  the other VM's RAM mapped into this task (L4_SYS_VM_MEM naming
 *           the other VM's vCPU: the kernel maps a VM's RAM only to its own
 *           exception handler)
 *   disk    the blocks past the end of its own partition -- the next
 *           client's -- read and written through the driver server
 *   kernel  the kernel's own task-death interrupt raised (forged), and the
 *           other VM killed (L4_SYS_VM_KILL)
 *   DMA     a command whose SG entry names a page it never mapped to the
 *           server (a bus address of its choosing)
 */
void l4_sas_probe(const char *victim)
{
    printf("vmm: compromised: probing what this VMM can reach (victim %s)\n", victim);
    uint32_t vt = l4_task_thread(victim);
    /* room for a VM of this VM's size, so that only the kernel's rights can refuse it */
    unsigned long room = (unsigned long)arg_int("guest_pages", 1);
    struct l4_utcb q = {.dest = vt,
                        .window = {.base = (uint64_t)physmap_hole_alloc(room) << PAGE_SHIFT}};
    q.msg.mr[0] = room;
    long r = vt ? l4_sys(L4_SYS_VM_MEM, &q) : -L4_ENOPARTNER;
    if (r == 0) { /* mapped: read a word of it, write it back */
        volatile uint64_t *w = (volatile uint64_t *)(uintptr_t)q.window.base;
        *w = *w;
    }
    trace_probe(PROBE_MEM, PROBE_READ, r);
    trace_probe(PROBE_MEM, PROBE_WRITE, r);
    uint64_t bus;
    uint8_t *page = dma_alloc(1, &bus);
    long m = page ? map_page(bus) : -XEN_ENOMEM;
    uint64_t past = cl.tgt[0].blocks; /* the first block after this client's partition */
    trace_probe(PROBE_DISK, PROBE_READ, m ? m : probe_submit(past, SAS_OP_READ, bus_page(bus)));
    trace_probe(PROBE_DISK, PROBE_WRITE, m ? m : probe_submit(past, SAS_OP_WRITE, bus_page(bus)));
    struct l4_utcb t = {.dest = L4_IRQ_TASK_DEATH};
    trace_probe(PROBE_KERNEL, PROBE_WRITE, l4_sys(L4_SYS_IRQ_TRIGGER, &t));
    struct l4_utcb k = {.dest = vt};
    trace_probe(PROBE_KERNEL, PROBE_WRITE, vt ? l4_sys(L4_SYS_VM_KILL, &k) : -L4_ENOPARTNER);
    /* a page of this task's address space it never mapped to the server: the server has no
     * bus address for it, and the client has no way to name a bus address directly */
    uint64_t never = (uint64_t)(start_info->nr_pages - 1) << PAGE_SHIFT;
    trace_probe(PROBE_DMA, PROBE_WRITE, probe_submit(0, SAS_OP_READ, never));
    if (page)
        dma_free(page, 1);
}
