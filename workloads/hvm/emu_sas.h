/*
 * The emulated SAS HBA a device model offers an HVM guest (emu_sas.c),
 * carried out by the device model's real SAS driver.
 */
#ifndef HVM_EMU_SAS_H
#define HVM_EMU_SAS_H

#include "ioserv.h"

/* Probe the real HBA and register the emulated one in `slot`: 0 or a Xen errno. */
int emu_sas_init(unsigned slot, struct emu_fn **out);
void emu_sas_report(void);
/*
 * Fault injection: at its n-th command (0: never) the emulation faults. In
 * dom0 that is a fault in dom0's kernel: the domain crashes. In a hosted
 * VMM's host it is the emulating process dying: the host reaps it, which
 * ends its VM (XEN_DMOP_remote_shutdown, crash), and runs on.
 */
void emu_sas_fault(long n, int as_process);

#endif
