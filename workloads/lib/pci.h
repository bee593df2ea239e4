/*
 * PCI configuration space from a guest: mechanism #1 (CONFIG_ADDRESS 0xCF8,
 * CONFIG_DATA 0xCFC), bus 0, function 0 of each slot. Only the domain that
 * owns a device sees it; every other domain reads all ones, so an empty
 * slot and a foreign device look alike (vendor 0xffff).
 *
 * Firmware has assigned the BARs and enabled Memory Space and Bus Master;
 * pci_enable_device() still makes sure of both, as a driver's probe does.
 * Memory BARs are decoded from their type bits (32-bit, or 64-bit with the
 * high half in the next BAR). BAR sizing is not done: a write of all ones
 * would move the BAR under a running device, and the driver knows its size.
 */
#ifndef GUEST_PCI_H
#define GUEST_PCI_H

#include <stdint.h>

#define PCI_CFG_VENDOR 0x00
#define PCI_CFG_DEVICE 0x02
#define PCI_CFG_COMMAND 0x04
#define PCI_CFG_BAR0 0x10
#define PCI_CFG_INTERRUPT_LINE 0x3c

#define PCI_CMD_MEMORY (1u << 1)
#define PCI_CMD_MASTER (1u << 2)
#define PCI_CMD_INTX_DISABLE (1u << 10)

#define PCI_BAR_IO 0x1u
#define PCI_BAR_TYPE_MASK 0x6u
#define PCI_BAR_TYPE_64 0x4u
#define PCI_BAR_MEM_MASK (~0xfull)

#define PCI_SLOTS 32
#define PCI_DEVFN(slot, fn) (((slot) << 3) | (fn))

uint32_t pci_cfg_read32(unsigned slot, unsigned reg);
uint16_t pci_cfg_read16(unsigned slot, unsigned reg);
uint8_t pci_cfg_read8(unsigned slot, unsigned reg);
void pci_cfg_write32(unsigned slot, unsigned reg, uint32_t val);
void pci_cfg_write16(unsigned slot, unsigned reg, uint16_t val);

/* Lowest slot of bus 0 whose function 0 is vendor:device, or -1. */
int pci_find_device(uint16_t vendor, uint16_t device);
/*
 * Guest-physical address of memory BAR `bar` (0 on success), or -XEN_ENODEV
 * for an I/O BAR, an unassigned BAR, or a 64-bit BAR in the last slot.
 */
int pci_bar_mem(unsigned slot, unsigned bar, uint64_t *addr);
/* Sets Memory Space and Bus Master Enable if firmware left them off. */
void pci_enable_device(unsigned slot);

#endif
