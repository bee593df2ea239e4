/*
 * Hostile code in the first guest's device emulation (devmodel
 * compromise_after=N): after that emulation has issued its N-th command it
 * tries, through the interfaces its operating system really gives such a
 * process (dmproc.c), to reach what a compromised device model would want,
 * and hands each answer to the simulator (trace_probe):
 *
 *   memory  the other guest's RAM.
 *           hvm-emul: a frame of it mapped through /dev/xen/privcmd, as QEMU
 *           maps its own guest's (IOCTL_PRIVCMD_MMAPBATCH_V2 ->
 *           XENMEM_add_to_physmap_batch), read and written back: privcmd's
 *           restriction, then the hypervisor, decide.
 *           hosted: PTRACE_ATTACH to the other VM's process, then
 *           PTRACE_PEEKDATA / POKEDATA of a word of the VM's RAM that process
 *           maps: the kernel's ptrace check decides.
 *   disk    the other guest's disk image: open(2) (the inode's owner and
 *           mode decide), then its first block read through the host block
 *           layer -- the real HBA's completion status -- and written back
 *           unchanged.
 *   kernel  hvm-emul: a frame of the hypervisor's (DOMID_XEN) mapped through
 *           privcmd. hosted: the host kernel's memory through /dev/mem
 *           (root:kmem 0640), and code into it with init_module
 *           (CAP_SYS_MODULE).
 *   DMA     the real HBA's registers, reached from user space through its
 *           sysfs resource0 (root 0600): refused, the answer is reported;
 *           allowed, the HBA is aimed at the machine frame after the device
 *           model's own RAM, and the platform counts a write that lands
 *           outside what the device's owner may reach (IOMMU or not: the
 *           hardware domain's tables map all RAM).
 */
#include "dm_probe.h"

#include "../blk/sas.h"
#include "dma.h"
#include "emu_sas.h"
#include "guest.h"
#include "trace.h"

static struct {
    struct dm_proc self, victim;
    unsigned victim_idx;
    int hosted;
    void *page;
    uint64_t bus;
} pb;

/* the other VM's disk image, its sysfs BAR, the host's /dev/mem */
static const struct dm_file image_root = {"/var/lib/xen/images/vm2.img", DMP_ROOT, DMP_ROOT, 0600};
static const struct dm_file image_user = {"/home/user/vms/vm2/disk.img", DMP_USER, DMP_USER, 0600};
static const struct dm_file resource0 = {"/sys/bus/pci/devices/0000:00:04.0/resource0", DMP_ROOT,
                                         DMP_ROOT, 0600};
#define KMEM_GID 15u
static const struct dm_file dev_mem = {"/dev/mem", DMP_ROOT, KMEM_GID, 0640};

void dm_probe_setup(const struct dm_proc *self, const struct dm_proc *victim, unsigned victim_idx,
                    int hosted)
{
    pb.self = *self;
    pb.victim = *victim;
    pb.victim_idx = victim_idx;
    pb.hosted = hosted;
}

static void mem_probe(void)
{
    long rc;
    volatile uint64_t *w = NULL;
    if (pb.hosted) {
        rc = dmp_ptrace_attach(&pb.self, &pb.victim);
        printf("emu: compromised: PTRACE_ATTACH to the VM process of d%u: %ld\n", pb.victim.guest,
               rc);
        /* PEEKDATA/POKEDATA in the victim process: the VM's RAM it maps */
        if (!rc && !(w = ioserv_guest(emu_sas_fn(pb.victim_idx), 0x100000, sizeof(*w))))
            rc = -XEN_EFAULT;
    } else {
        void *va = NULL;
        rc = dmp_privcmd_map(&pb.self, pb.victim.guest, 0x100, &va);
        printf("emu: compromised: privcmd mapping of a frame of d%u: %ld\n", pb.victim.guest, rc);
        w = va;
    }
    if (!rc)
        *w = *w; /* read it, write it back */
    trace_probe(PROBE_MEM, PROBE_READ, rc);
    trace_probe(PROBE_MEM, PROBE_WRITE, rc);
}

static void kernel_probe(void)
{
    if (pb.hosted) {
        long rd = dmp_open(&pb.self, &dev_mem, 0);
        long wr = dmp_capable(&pb.self, DMP_CAP_SYS_MODULE);
        printf("emu: compromised: open(%s): %ld; init_module: %ld\n", dev_mem.path, rd, wr);
        trace_probe(PROBE_KERNEL, PROBE_READ, rd);
        trace_probe(PROBE_KERNEL, PROBE_WRITE, wr);
        return;
    }
    void *va = NULL;
    long rc = dmp_privcmd_map(&pb.self, DOMID_XEN, 0, &va);
    printf("emu: compromised: privcmd mapping of a hypervisor frame (DOMID_XEN): %ld\n", rc);
    if (!rc)
        *(volatile uint64_t *)va = *(volatile uint64_t *)va;
    trace_probe(PROBE_KERNEL, PROBE_READ, rc);
    trace_probe(PROBE_KERNEL, PROBE_WRITE, rc);
}

static void dma_done(struct sas_cmd *c, int status)
{
    printf("emu: compromised: the HBA's DMA to bus address 0x%llx: %s\n",
           (unsigned long long)c->sg[0].addr, sas_status_name(status));
}

/* The HBA aimed at the machine frame after our own RAM: whose it is, the platform says. */
static void dma_probe(void)
{
    long rc = dmp_open(&pb.self, &resource0, 1);
    printf("emu: compromised: open(%s, O_RDWR): %ld\n", resource0.path, rc);
    struct sas_hba *h = emu_sas_hba();
    struct sas_cmd *c = NULL;
    const struct sas_target_info *ti = sas_target(h, 0);
    if (!rc && (!dma_p2m || !ti || !(c = sas_cmd_alloc(h))))
        rc = -XEN_EBUSY;
    if (rc) {
        trace_probe(PROBE_DMA, PROBE_WRITE, rc);
        return;
    }
    uint64_t target = ((uint64_t)dma_p2m[dma_nr_pages - 1] + 1) << PAGE_SHIFT;
    c->tag = HOPSIM_NOREQ;
    c->target = 0;
    c->done = dma_done;
    c->done_hop = 0;
    c->arg = NULL;
    c->lba = 0;
    c->nblocks = (uint32_t)(PAGE_SIZE / ti->blksz);
    c->opcode = SAS_OP_READ; /* the device writes memory */
    sas_sg_set(&c->sg[0], target, PAGE_SIZE);
    c->nsg = 1;
    if (sas_cmd_submit(h, c))
        sas_cmd_free(h, c);
    else
        sas_kick(h);
}

static void disk_done(struct sas_cmd *c, int status);

static int disk_cmd(uint64_t lba, uint32_t nblocks, uint8_t opcode)
{
    struct sas_hba *h = emu_sas_hba();
    struct sas_cmd *c = sas_cmd_alloc(h);
    if (!c)
        return -XEN_EBUSY;
    c->tag = HOPSIM_NOREQ; /* no request of any guest */
    c->target = 0;
    c->done = disk_done;
    c->done_hop = 0;
    c->arg = NULL;
    c->lba = lba;
    c->nblocks = nblocks;
    c->opcode = opcode;
    sas_sg_set(&c->sg[0], pb.bus, PAGE_SIZE);
    c->nsg = 1;
    int rc = sas_cmd_submit(h, c);
    if (rc)
        sas_cmd_free(h, c);
    else
        sas_kick(h);
    return rc;
}

/* The read came back: report it and write the same data back; then the DMA attempt. */
static void disk_done(struct sas_cmd *c, int status)
{
    unsigned access = c->opcode == SAS_OP_READ ? PROBE_READ : PROBE_WRITE;
    trace_probe(PROBE_DISK, access, status == SAS_ST_OK ? 0 : -XEN_EIO);
    printf("emu: compromised: %s of block %llu, the other VM's disk: %s\n",
           access == PROBE_READ ? "read" : "write", (unsigned long long)c->lba,
           sas_status_name(status));
    if (access == PROBE_READ && status == SAS_ST_OK) {
        int rc = disk_cmd(c->lba, c->nblocks, SAS_OP_WRITE);
        if (!rc)
            return;
        trace_probe(PROBE_DISK, PROBE_WRITE, rc);
    }
    dma_probe();
}

void dm_probe(void)
{
    printf("emu: compromised: the emulation for d%u probes what its process can reach (victim "
           "d%u)\n",
           pb.self.guest, pb.victim.guest);
    mem_probe();
    kernel_probe();
    const struct dm_file *img = pb.hosted ? &image_user : &image_root;
    long rd = dmp_open(&pb.self, img, 0), wr = dmp_open(&pb.self, img, 1);
    printf("emu: compromised: open(%s): %ld, O_RDWR: %ld\n", img->path, rd, wr);
    uint64_t base = 0, blocks = 0;
    const struct sas_target_info *ti = sas_target(emu_sas_hba(), 0);
    if (!rd && (!ti || emu_sas_part(pb.victim_idx, 0, &base, &blocks)))
        rd = -XEN_ENODEV;
    if (!rd && !pb.page && !(pb.page = dma_alloc(1, &pb.bus)))
        rd = -XEN_ENOMEM;
    if (!rd)
        rd = disk_cmd(base, (uint32_t)(PAGE_SIZE / ti->blksz), SAS_OP_READ);
    if (!rd)
        return; /* disk_done goes on */
    trace_probe(PROBE_DISK, PROBE_READ, rd);
    trace_probe(PROBE_DISK, PROBE_WRITE, wr ? wr : rd);
    dma_probe();
}
