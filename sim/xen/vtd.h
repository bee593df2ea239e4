/*
 * The hypervisor's VT-d driver (as Xen's drivers/passthrough/vtd/): it
 * owns the DMA remapping unit (models/iommu.c), builds each device-owning
 * domain's second-level tables in machine memory, points the owner's
 * devices' context entries at them, keeps grant mappings DMA-reachable
 * while they exist, and invalidates on unmap and on domain death.
 *
 * PV domains are mapped 1:1 (bus frame = machine frame), as Xen does for
 * PV: a PV driver puts machine addresses (mfn_list, a grant map's
 * dev_bus_addr) into its device's descriptors.
 *  - The hardware domain (dom0, and the privileged runtime-service domain)
 *    gets Xen's default non-strict mapping (iommu_hwdom_strict off:
 *    arch_iommu_hwdom_init maps all RAM but Xen's own frames), so its
 *    devices reach every domain's memory.
 *  - Any other domain (a driver domain) gets its own RAM, plus each page it
 *    maps with GNTTABOP_map_grant_ref while the mapping lasts (Xen's
 *    map_grant_ref / unmap_grant_ref with iommu_legacy_map/unmap, readable
 *    or writable as the grant). An unmap clears the entry and waits for a
 *    page-selective IOTLB invalidation, charged to the hypercall.
 */
#ifndef HOPSIM_VTD_H
#define HOPSIM_VTD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "simtime.h"

struct machine;
struct domain;
struct plat_dev;

/* Frames to reserve in machine memory for the tables of a run. */
uint64_t vtd_frames_needed(uint64_t machine_frames, int ndomains);
/* After the devices are assigned: build the tables and enable translation. 0 or -1. */
int vtd_init(struct machine *m, char *err, size_t errlen);
void vtd_destroy(struct machine *m);
/* pd was passed through to a new owner: its tables and the device's context. */
void vtd_assign(struct plat_dev *pd);
/* Grant map (writable or read-only) / unmap of mfn by d. Unmap returns the invalidation time. */
void vtd_grant_map(struct domain *d, uint64_t mfn, bool writable);
simtime_t vtd_grant_unmap(struct domain *d, uint64_t mfn);
/* Frame mfn entered (present) or left d's memory: its own-memory entry follows. */
void vtd_own_page(struct domain *d, uint64_t mfn, bool present);
/* A domain died: its devices' contexts are cleared and the caches invalidated. */
void vtd_domain_dead(struct domain *d);
/* DMA of one page at most by pd's device: host pointer or NULL (fault recorded). */
void *vtd_dma(struct plat_dev *pd, uint64_t bus, uint64_t len, bool write);
/* The run's counters and fault records. */
void vtd_report(const struct machine *m, FILE *out);
uint64_t vtd_faults(const struct machine *m);
/* DMA writes that landed in a frame the device's owner neither holds nor has mapped by grant. */
uint64_t vtd_foreign_writes(const struct machine *m);

#endif
