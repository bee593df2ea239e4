/* Hostile code in the backend: what it can reach (bb_probe.c, attack-matrix). */
#ifndef BLK_BB_PROBE_H
#define BLK_BB_PROBE_H

#include <stdint.h>

#include <xen/xen.h>

#include "sas.h"

/* Tries the other frontend `victim`'s memory (and its region of the disk from 512-byte sector
 * `victim_sector`) and the hypervisor's; each answer goes to the simulator. Then, its disk
 * commands done, aims the HBA's DMA at bus address `dma_victim` (bb_rogue_dma). */
void bb_probe(struct sas_hba *hba, uint8_t target, const struct sas_target_info *disk,
              domid_t victim, uint64_t victim_sector, uint64_t dma_victim);

/* blkback.c's rogue driver: the HBA reads a page of the disk into bus address `victim`. */
void bb_rogue_dma(uint64_t victim);

#endif
