/*
 * Hostile code in the first guest's device emulation (attack-matrix's
 * device-emulation compromise row under hvm-emul and hosted; devmodel
 * compromise_after=N): see dm_probe.c.
 */
#ifndef HVM_DM_PROBE_H
#define HVM_DM_PROBE_H

#include "dmproc.h"

/*
 * The compromised emulation process `self`, the other guest's emulation
 * process `victim` (its index among the emulated HBAs: `victim_idx`), and
 * whether the OS is a hosted VMM's host (else dom0 under Xen).
 */
void dm_probe_setup(const struct dm_proc *self, const struct dm_proc *victim, unsigned victim_idx,
                    int hosted);
/* The attempts (emu_sas_compromise's hook). */
void dm_probe(void);

#endif
