/*
 * The device model's e1000 (hvm-emul, hosted): the emulated NIC of
 * emu_e1000.c hosted by the ioreq server (ioserv.c) and carried by the
 * device model's real NIC through the native e1000 driver (net/e1000drv.c,
 * the same driver backend.elf runs).
 */
#ifndef HVM_DM_E1000_H
#define HVM_DM_E1000_H

#include "ioserv.h"

/*
 * Probe the real NIC and register the emulated one in `slot`, its EEPROM
 * holding `mac`: 0 or a negative Xen errno (printed).
 */
int dm_e1000_init(unsigned slot, const uint8_t mac[6]);
void dm_e1000_report(void);

#endif
