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

#endif
