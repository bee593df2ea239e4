/*
 * The emulated SAS HBA a device model offers an HVM guest (emu_sas.c),
 * carried out by the device model's real SAS driver.
 */
#ifndef HVM_EMU_SAS_H
#define HVM_EMU_SAS_H

#include "ioserv.h"

struct sas_hba;

#define EMU_SAS_MAX 4

/*
 * An emulated HBA in `slot` for the next guest (the first call probes the
 * real HBA, which every emulated one shares), registered with ioserv_add:
 * 0 or a Xen errno.
 */
int emu_sas_init(unsigned slot, struct emu_fn **out);
/*
 * Split every target into n equal partitions, guest i (0-based, in the
 * order of emu_sas_init) seeing the i-th from its block 0 -- each VM's disk
 * image -- and refused (LBA out of range) past it. Default 1: the whole disk.
 */
void emu_sas_partition(unsigned n);
/* Guest idx's partition of `target`: its first block on the real disk and its size. */
int emu_sas_part(unsigned idx, unsigned target, uint64_t *base, uint64_t *blocks);
struct sas_hba *emu_sas_hba(void);
struct emu_fn *emu_sas_fn(unsigned idx);
/* Hostile code: `probe` runs once, after the first guest's emulation issued its n-th command. */
void emu_sas_compromise(long n, void (*probe)(void));
void emu_sas_report(void);
/*
 * Fault injection: at its n-th command (0: never) the emulation faults. In
 * dom0 that is a fault in dom0's kernel: the domain crashes. In a hosted
 * VMM's host it is the emulating process dying: the host reaps it, which
 * ends its VM (XEN_DMOP_remote_shutdown, crash), and runs on.
 */
void emu_sas_fault(long n, int as_process); /* the first guest's emulation */

#endif
