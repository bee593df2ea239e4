/*
 * vmm.elf, the user-level VMM of one VM under `l4-vmm` (docs/l4.md): a
 * task on the microkernel that is its VM's exception handler. Every exit
 * of the VM's vCPU -- an MMIO or port access of the unmodified native
 * kernel -- arrives here as IPC; the VMM emulates the SAS HBA with the same
 * device emulation hvm-emul's device model uses (hvm/emu_sas.c), answers
 * the exit by its reply (which resumes the vCPU), and drives the VM's
 * interrupt line through the kernel. The emulation reaches the real HBA
 * through the driver server's IPC interface (sas_client.c).
 *
 * This file is the VMM's side of what ioserv.c is for a Xen device model
 * (the functions of hvm/ioserv.h the emulation calls): PCI configuration
 * space (CONFIG_ADDRESS is latched here: the kernel hands every exit over),
 * BAR0, guest RAM (the kernel maps the VM's memory into its VMM), INTx.
 *
 * It emulates one device, `dev`: the SAS HBA (the block driver server's
 * client, sas_client.c) or the e1000 (the network server's, vmm_e1000.c).
 *
 * Arguments: vm=NAME (its VM), server=NAME (the driver server), dev=sas|e1000,
 * mac=N (e1000: the last byte of the VM's MAC 00:16:3e:00:00:N),
 * guest_pages=N (the VM's RAM), fault_after=N (the emulation faults at its
 * N-th command: the VMM task crashes), compromise_after=N victim=NAME (hostile
 * code in this VMM: after its N-th exit it tries to reach the VM NAME's
 * memory, the other clients' disk data, the kernel and DMA -- attack-matrix).
 */
#include "../hvm/emu_sas.h"
#include "../hvm/ioserv.h"
#include "guest.h"
#include "l4sys.h"
#include "pci.h"
#include "sas_client.h"
#include "vmm.h"
#include "vmm_e1000.h"

#define SAS_SLOT 4
#define E1000_SLOT 3 /* where QEMU's PC machine puts its first e1000 */
#define MAX_FNS 4
#define BAR_BASE 0xc8000000u /* where hvmloader would put BARs: high in the MMIO hole */

ARG_STR(vm, "the VM (its domain name) whose exits this VMM handles");
ARG_STR(server, "the driver-server task (its domain name) that owns the real devices");
ARG_INT(guest_pages, 1, 1 << 24, "the VM's RAM, in 4 KiB pages");
ARG_INT(fault_after, 0, 1000000, "the device emulation faults at its N-th command (0: never)");
ARG_ENUM(dev, "sas|e1000", "the device it emulates: the SAS HBA or the e1000");
ARG_INT(mac, 1, 255, "e1000: the last byte of the VM's MAC address 00:16:3e:00:00:N");
ARG_INT(compromise_after, 0, 1000000,
        "hostile code in this VMM probes what it can reach after its N-th exit (0: never)");
ARG_STR(victim, "the other VM (its domain name) the hostile code aims at");

static struct {
    uint32_t vm;
    uint8_t *ram;
    unsigned long pages;
    uint32_t cf8;
    struct emu_fn *fns[MAX_FNS];
    unsigned nfns;
    unsigned long served;
} vmm;

static struct l4_utcb u;
static long compromise_after;
static uint64_t posted[256]; /* completions posted to the VM since its INTx line was low */
static unsigned nposted;

void l4_vmm_posted(uint64_t req)
{
    /* the line is already high: the interrupt the VM has pending carries this one too */
    for (unsigned i = 0; i < vmm.nfns; i++)
        if (vmm.fns[i]->intx) {
            trace_hop(HOP_H7, req);
            return;
        }
    if (nposted < sizeof(posted) / sizeof(posted[0]))
        posted[nposted++] = req;
}

int ioserv_add(struct emu_fn *f)
{
    if (vmm.nfns == MAX_FNS || f->slot > 31 || f->bar_size < 4096 ||
        (f->bar_size & (f->bar_size - 1)))
        return -XEN_EINVAL;
    vmm.fns[vmm.nfns++] = f;
    return 0;
}

int ioserv_start(domid_t guest, unsigned long guest_pages)
{
    (void)guest;
    (void)guest_pages;
    return -XEN_ENOSYS; /* the VMM's loop is app_main's */
}

void *ioserv_guest(struct emu_fn *f, uint64_t gpa, uint64_t len)
{
    (void)f; /* a VMM serves one VM */
    uint64_t end = (uint64_t)vmm.pages << PAGE_SHIFT;
    if (!vmm.ram || len > end || gpa > end - len)
        return NULL;
    return vmm.ram + gpa;
}

void ioserv_set_intx(struct emu_fn *f, int level)
{
    if (f->intx == level)
        return;
    f->intx = level;
    /* a rising edge: the completions posted since the line was last low travel through the
     * kernel to the VM now (H7); while it is high, l4_vmm_posted marks them at once */
    for (unsigned i = 0; level && i < nposted; i++)
        trace_hop(HOP_H7, posted[i]);
    nposted = 0;
    struct l4_utcb q = {.dest = vmm.vm};
    q.msg.mr[0] = f->slot;
    q.msg.mr[1] = 0;
    q.msg.mr[2] = (uint64_t)level;
    long rc = l4_sys(L4_SYS_VCPU_IRQ, &q);
    if (rc)
        printf("vmm: driving INTx of slot %u: %ld\n", f->slot, rc);
}

int ioserv_guest_alive(void)
{
    return vmm.vm != 0;
}

void ioserv_kill_guest(struct emu_fn *f)
{
    (void)f;
    struct l4_utcb q = {.dest = vmm.vm};
    l4_sys(L4_SYS_VM_KILL, &q);
}

uint32_t ioserv_ring(struct emu_fn *f)
{
    (void)f;
    return 0; /* the VMM marks H7 itself (l4_vmm_posted, ioserv_set_intx) */
}

unsigned long ioserv_count(void)
{
    return vmm.served;
}

/* ---- configuration space (type-0 header, BAR0, INTx pin A) ---- */

static void cfg_put(uint8_t *c, unsigned off, unsigned size, uint32_t v)
{
    for (unsigned i = 0; i < size; i++)
        c[off + i] = (uint8_t)(v >> (8 * i));
}

static uint32_t cfg_get(const uint8_t *c, unsigned off, unsigned size)
{
    uint32_t v = 0;
    for (unsigned i = 0; i < size; i++)
        v |= (uint32_t)c[off + i] << (8 * i);
    return v;
}

static void cfg_init(struct emu_fn *f)
{
    uint8_t *c = f->cfg;
    cfg_put(c, PCI_CFG_VENDOR, 2, f->vendor);
    cfg_put(c, PCI_CFG_DEVICE, 2, f->device);
    cfg_put(c, 0x08, 4, f->class_code << 8);
    cfg_put(c, 0x0e, 1, 0);
    f->bar = BAR_BASE + f->slot * 0x100000u;
    cfg_put(c, PCI_CFG_BAR0, 4, f->bar);
    /* the GSI Xen's hvm_pci_intx_gsi() gives pin A of this slot: the kernel routes it alike */
    cfg_put(c, PCI_CFG_INTERRUPT_LINE, 1,
            (uint32_t)((((f->slot << 2) + (f->slot >> 3)) & 31) + 16));
    cfg_put(c, 0x3d, 1, 1);
}

static void cfg_write(struct emu_fn *f, unsigned off, unsigned size, uint32_t v)
{
    if (off + size > sizeof(f->cfg))
        return;
    if (off == PCI_CFG_COMMAND && size >= 2) {
        cfg_put(f->cfg, off, 2, v & (PCI_CMD_MEMORY | PCI_CMD_MASTER | PCI_CMD_INTX_DISABLE));
    } else if (off == PCI_CFG_BAR0 && size == 4) {
        f->bar = v & ~(f->bar_size - 1) & ~0xfu; /* a sizing write reads back the size mask */
        cfg_put(f->cfg, off, 4, f->bar);
        if (f->bar == (~(f->bar_size - 1) & ~0xfu))
            f->bar = 0;
    } else if (off == PCI_CFG_INTERRUPT_LINE && size == 1) {
        f->cfg[off] = (uint8_t)v;
    }
}

static struct emu_fn *fn_by_cf8(uint32_t cf8)
{
    if (!(cf8 & 0x80000000u) || ((cf8 >> 16) & 0xff) || ((cf8 >> 8) & 7))
        return NULL;
    for (unsigned i = 0; i < vmm.nfns; i++)
        if (vmm.fns[i]->slot == ((cf8 >> 11) & 31))
            return vmm.fns[i];
    return NULL;
}

static struct emu_fn *fn_by_addr(uint64_t a)
{
    for (unsigned i = 0; i < vmm.nfns; i++) {
        struct emu_fn *f = vmm.fns[i];
        if (f->bar && a >= f->bar && a - f->bar < f->bar_size)
            return f;
    }
    return NULL;
}

static uint64_t ones(unsigned size)
{
    return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

/* One exit: the value a read returns (ignored for writes). */
static uint64_t serve(uint64_t w, uint64_t addr, uint64_t data)
{
    unsigned size = L4_EXIT_SIZE(w), write = L4_EXIT_WRITE(w);
    vmm.served++;
    if (L4_EXIT_KIND(w) == L4_EXIT_PIO) {
        if (addr == 0xcf8 && size == 4) {
            if (write)
                vmm.cf8 = (uint32_t)data;
            return vmm.cf8;
        }
        struct emu_fn *f = addr >= 0xcfc && addr <= 0xcff ? fn_by_cf8(vmm.cf8) : NULL;
        unsigned off = (vmm.cf8 & 0xfc) + (unsigned)(addr - 0xcfc);
        if (!f || off + size > sizeof(f->cfg))
            return ones(size); /* nothing decodes it */
        if (write) {
            cfg_write(f, off, size, (uint32_t)data);
            return 0;
        }
        return cfg_get(f->cfg, off, size);
    }
    struct emu_fn *f = fn_by_addr(addr);
    if (!f)
        return ones(size);
    if (write) {
        f->ops->write(f, addr - f->bar, size, data);
        return 0;
    }
    return f->ops->read(f, addr - f->bar, size);
}

/* The VM's RAM into this task, above our own (the kernel maps it: we are its pager). */
static int map_vm_ram(unsigned long pages)
{
    unsigned long base = physmap_hole_alloc(pages);
    struct l4_utcb q = {.dest = vmm.vm, .window = {.base = (uint64_t)base << PAGE_SHIFT}};
    q.msg.mr[0] = pages;
    long rc = l4_sys(L4_SYS_VM_MEM, &q);
    if (rc)
        return (int)rc;
    vmm.ram = pfn_to_virt(base);
    vmm.pages = q.msg.mr[0] >> PAGE_SHIFT;
    return 0;
}

int app_main(void)
{
    const char *vm = arg_str("vm", "");
    struct emu_fn *sas = NULL;
    vmm.vm = l4_task_thread(vm);
    if (!vmm.vm) {
        printf("vmm: no VM '%s'\n", vm);
        return 1;
    }
    int rc = map_vm_ram((unsigned long)arg_int("guest_pages", 0));
    if (rc) {
        printf("vmm: cannot map the VM's memory: %d\n", rc);
        return 1;
    }
    int nic = !strcmp(arg_str("dev", "sas"), "e1000");
    const uint8_t mac[6] = {0x00, 0x16, 0x3e, 0x00, 0x00, (uint8_t)arg_int("mac", 1)};
    emu_sas_fault(arg_int("fault_after", 0), 0); /* a fault here is this task's crash */
    compromise_after = arg_int("compromise_after", 0);
    if (nic ? l4_e1k_init(E1000_SLOT, mac, arg_str("server", "")) : emu_sas_init(SAS_SLOT, &sas))
        return 1;
    for (unsigned i = 0; i < vmm.nfns; i++)
        cfg_init(vmm.fns[i]);
    unsigned irq = nic ? l4_e1k_irq_number() : l4_sas_irq_number();
    printf("vmm: %s's exits come to thread 0x%x; %s emulated in slot %u\n", vm, vmm.vm,
           vmm.fns[0]->name, vmm.fns[0]->slot);
    u.dest = L4_NILTHREAD;
    for (;;) {
        u.from = L4_ANY;
        u.timeout = L4_NEVER;
        long r = l4_sys(L4_SYS_IPC, &u);
        u.dest = L4_NILTHREAD;
        if (r < 0)
            continue;
        if (l4_is_irq(u.from)) {
            if (u.msg.mr[0] == irq && nic)
                l4_e1k_irq();
            else if (u.msg.mr[0] == irq)
                l4_sas_irq();
            continue;
        }
        if (u.from != vmm.vm || u.msg.label != L4_LABEL_EXCEPTION)
            continue; /* the server's PING, or a stranger: no reply */
        uint64_t w = u.msg.mr[0];
        if (L4_EXIT_KIND(w) == L4_EXIT_SHUTDOWN) {
            printf("vmm: %s ended (reason %llu) after %lu exits\n", vm,
                   (unsigned long long)u.msg.mr[1], vmm.served);
            break;
        }
        uint64_t val = serve(w, u.msg.mr[1], u.msg.mr[2]);
        if (!nic && vmm.served == (unsigned long)compromise_after)
            l4_sas_probe(arg_str("victim", ""));
        memset(&u.msg, 0, sizeof(u.msg));
        u.msg.nmr = 1;
        u.msg.mr[0] = val;
        u.dest = vmm.vm; /* the reply resumes the vCPU; then wait again */
    }
    vmm.vm = 0;
    if (nic) {
        l4_e1k_close();
    } else {
        emu_sas_report();
        l4_sas_close();
    }
    return 0;
}
