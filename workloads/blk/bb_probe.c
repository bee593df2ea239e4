/*
 * Hostile code in the backend (attack-matrix's device-emulation compromise
 * row, `compromise_after=N`): after its N-th read, blkback -- wherever it
 * runs: dom0 (xen-dom0), the driver domain (xen-idd), the runtime service
 * (uefi-rt) -- tries to reach what a compromised backend would want, each
 * through the interfaces the placement gives it, and hands each answer to
 * the simulator (trace_probe):
 *
 *   memory  another frontend's RAM, mapped the way a dom0 device model maps
 *           its guest's (XENMEM_add_to_physmap_batch, XENMAPSPACE_gmfn_foreign:
 *           Linux privcmd's IOCTL_PRIVCMD_MMAPBATCH_V2), then read and
 *           written back; the hypervisor decides (a privileged domain only)
 *   disk    the other frontend's region of the disk (`victim_sector`), read
 *           through the HBA this backend owns and written back unchanged
 *   kernel  a frame of the hypervisor's own heap mapped the same way
 *           (foreign domain DOMID_XEN)
 *   DMA     measured by the platform, not here: once its disk commands are
 *           done (one command with no request's tag at a time), the rogue DMA
 *           of blkback.c (the HBA aimed at a page of the frontend's that was
 *           never granted), whose landing or IOMMU fault the machine counts
 */
#include "bb_probe.h"

#include <xen/memory.h>

#include "dma.h"
#include "guest.h"
#include "trace.h"

static struct {
    struct sas_hba *hba;
    void *page;
    uint64_t bus, dma_victim;
} pr;

/* One foreign page mapped into a hole of ours, read and written back: the hypervisor's answer. */
static long map_foreign(domid_t dom, xen_ulong_t gfn)
{
    void *va;
    long rc = physmap_map_foreign(dom, gfn, &va);
    if (!rc) {
        volatile uint64_t *w = va;
        *w = *w;
    }
    return rc;
}

static void disk_done(struct sas_cmd *c, int status);

static int disk_cmd(uint8_t target, uint64_t lba, uint32_t nblocks, uint8_t opcode)
{
    struct sas_cmd *c = sas_cmd_alloc(pr.hba);
    if (!c)
        return -XEN_EBUSY;
    c->tag = HOPSIM_NOREQ; /* no request of any frontend */
    c->target = target;
    c->done = disk_done;
    c->done_hop = 0;
    c->arg = NULL;
    c->lba = lba;
    c->nblocks = nblocks;
    c->opcode = opcode;
    sas_sg_set(&c->sg[0], pr.bus, PAGE_SIZE);
    c->nsg = 1;
    int rc = sas_cmd_submit(pr.hba, c);
    if (rc)
        sas_cmd_free(pr.hba, c);
    else
        sas_kick(pr.hba);
    return rc;
}

/* The read came back: report it, and write the same data back (the victim's data unchanged). */
static void disk_done(struct sas_cmd *c, int status)
{
    unsigned access = c->opcode == SAS_OP_READ ? PROBE_READ : PROBE_WRITE;
    trace_probe(PROBE_DISK, access, status == SAS_ST_OK ? 0 : -XEN_EIO);
    printf("blkback: compromised: %s of the victim's block %llu: %s\n",
           access == PROBE_READ ? "read" : "write", (unsigned long long)c->lba,
           sas_status_name(status));
    if (access == PROBE_READ && status == SAS_ST_OK) {
        int rc = disk_cmd(c->target, c->lba, c->nblocks, SAS_OP_WRITE);
        if (!rc)
            return;
        trace_probe(PROBE_DISK, PROBE_WRITE, rc);
    }
    bb_rogue_dma(pr.dma_victim);
}

void bb_probe(struct sas_hba *hba, uint8_t target, const struct sas_target_info *disk,
              domid_t victim, uint64_t victim_sector, uint64_t dma_victim)
{
    printf("blkback: compromised: probing what the backend can reach (victim dom%u)\n", victim);
    long rc = map_foreign(victim, 0x100);
    trace_probe(PROBE_MEM, PROBE_READ, rc);
    trace_probe(PROBE_MEM, PROBE_WRITE, rc);
    rc = map_foreign(DOMID_XEN, 0);
    trace_probe(PROBE_KERNEL, PROBE_READ, rc);
    trace_probe(PROBE_KERNEL, PROBE_WRITE, rc);
    pr.hba = hba;
    pr.dma_victim = dma_victim;
    if (!pr.page)
        pr.page = dma_alloc(1, &pr.bus);
    uint32_t n = (uint32_t)(PAGE_SIZE / disk->blksz);
    rc =
        pr.page ? disk_cmd(target, victim_sector * 512 / disk->blksz, n, SAS_OP_READ) : -XEN_ENOMEM;
    if (rc) {
        trace_probe(PROBE_DISK, PROBE_READ, rc);
        trace_probe(PROBE_DISK, PROBE_WRITE, rc);
        bb_rogue_dma(dma_victim);
    }
}
