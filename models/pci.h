/*
 * PCI bus 0 with configuration mechanism #1 (ports 0xCF8/0xCFC), type-0
 * function headers, memory BARs with the sizing protocol and an MSI
 * capability. Implemented in models/pci.c.
 *
 * The bus knows nothing about memory maps: whenever a BAR's decoded
 * address or its function's Memory Space Enable changes, it calls the
 * platform's bar_update callback, and the platform maps or unmaps the
 * BAR's mmio_ops in the owning domain's vCPUs. Interrupt delivery (MSI or
 * INTx through the function's GSI) is the platform's too: it asks
 * pci_msi() / pci_intx_disabled() when a device raises its irq_line.
 */
#ifndef HOPSIM_PCI_H
#define HOPSIM_PCI_H

#include <stdbool.h>
#include <stdint.h>

#include "device.h"

#define PCI_SLOTS 32
#define PCI_BARS 6
#define PCI_CFG_SIZE 256

/* I/O ports of configuration mechanism #1 */
#define PCI_CONFIG_ADDRESS 0xCF8
#define PCI_CONFIG_DATA 0xCFC
#define PCI_CONFIG_ENABLE 0x80000000u

/* type-0 header offsets */
#define PCI_VENDOR_ID 0x00
#define PCI_DEVICE_ID 0x02
#define PCI_COMMAND 0x04
#define PCI_STATUS 0x06
#define PCI_REVISION_ID 0x08
#define PCI_CLASS_PROG 0x09 /* prog-if 0x09, subclass 0x0a, class 0x0b */
#define PCI_CACHE_LINE_SIZE 0x0c
#define PCI_LATENCY_TIMER 0x0d
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0 0x10
#define PCI_SUBSYSTEM_VENDOR_ID 0x2c
#define PCI_SUBSYSTEM_ID 0x2e
#define PCI_ROM_ADDRESS 0x30
#define PCI_CAPABILITY_LIST 0x34
#define PCI_INTERRUPT_LINE 0x3c
#define PCI_INTERRUPT_PIN 0x3d

#define PCI_COMMAND_MEMORY (1u << 1)        /* Memory Space Enable */
#define PCI_COMMAND_MASTER (1u << 2)        /* Bus Master Enable */
#define PCI_COMMAND_INTX_DISABLE (1u << 10) /* INTx Disable */
#define PCI_STATUS_INTERRUPT (1u << 3)      /* INTx asserted */
#define PCI_STATUS_CAP_LIST (1u << 4)       /* capabilities pointer valid */
#define PCI_BAR_MEM_TYPE_64 0x4             /* BAR bits 2:1 = 10b */
#define PCI_BAR_MEM_PREFETCH 0x8

/* MSI capability (placed at PCI_MSI_CAP_OFFSET), 64-bit address capable */
#define PCI_CAP_ID_MSI 0x05
#define PCI_MSI_CAP_OFFSET 0x50
#define PCI_MSI_FLAGS 0x02 /* message control, from the capability */
#define PCI_MSI_ADDR_LO 0x04
#define PCI_MSI_ADDR_HI 0x08
#define PCI_MSI_DATA 0x0c
#define PCI_MSI_FLAGS_ENABLE (1u << 0)
#define PCI_MSI_FLAGS_64BIT (1u << 7)

/* pci_func_add_bar flags */
#define PCI_BAR_64 (1u << 0)       /* 64-bit memory BAR: takes this BAR and the next */
#define PCI_BAR_PREFETCH (1u << 1) /* prefetchable */

struct pci_bus;
struct pci_func;

/*
 * Called when BAR `bar` of `f` changes its decoded address or enable:
 * `enabled` is Memory Space Enable && address != 0 (an unassigned BAR is
 * never decoded). During sizing or a half-written 64-bit BAR the address
 * may be nonsense (all ones): the platform maps only what fits its space.
 */
typedef void (*pci_bar_update_fn)(void *opaque, struct pci_func *f, int bar, uint64_t addr,
                                  uint64_t size, bool enabled);
/* Called on every change of the command register (device models resume DMA on Bus Master). */
typedef void (*pci_command_fn)(void *opaque, uint16_t old_cmd, uint16_t new_cmd);

struct pci_bus *pci_bus_create(pci_bar_update_fn bar_update, void *opaque);
/* Frees the bus and every function left on it (no callbacks). */
void pci_bus_destroy(struct pci_bus *b);

/* Port I/O: CONFIG_ADDRESS (4-byte only) and CONFIG_DATA (1/2/4 bytes within the dword). */
uint32_t pci_io_read(struct pci_bus *b, uint16_t port, unsigned size);
void pci_io_write(struct pci_bus *b, uint16_t port, unsigned size, uint32_t value);

/*
 * A single-function device (function 0) at `slot`. class = base << 16 |
 * sub << 8 | prog-if. gsi: the interrupt line (INTA#); 0xff for no INTx.
 * NULL if the slot is out of range or taken.
 */
struct pci_func *pci_func_create(struct pci_bus *b, unsigned slot, uint16_t vendor, uint16_t device,
                                 uint32_t class_code, uint8_t rev, uint8_t gsi);
/* Removes and frees a function (no callbacks: teardown only). */
void pci_func_destroy(struct pci_func *f);
/* A memory BAR of `size` bytes (power of two, >= 16; <= 2 GiB unless 64-bit). 0 or -1. */
int pci_func_add_bar(struct pci_func *f, int bar, uint64_t size, unsigned flags,
                     const struct mmio_ops *ops, void *opaque);
void pci_func_set_subsystem(struct pci_func *f, uint16_t vendor, uint16_t id);
/* Adds the MSI capability (64-bit address, one vector) to the capability list. */
void pci_func_enable_msi_cap(struct pci_func *f);
/* Takes it off again (a platform whose interrupt remapping refuses MSI): INTx only. */
void pci_func_disable_msi_cap(struct pci_func *f);
void pci_func_set_command_hook(struct pci_func *f, pci_command_fn fn, void *opaque);
/* The device tells its function whether it is asserting INTx (sets Interrupt Status). */
void pci_func_set_intx(struct pci_func *f, bool asserted);
/* The platform's own pointer for this function (e.g. the owning domain). */
void pci_func_set_user(struct pci_func *f, void *user);
void *pci_func_user(const struct pci_func *f);

/* Direct configuration access (what CONFIG_DATA reaches). Size 1, 2 or 4, naturally aligned. */
uint32_t pci_cfg_read(struct pci_func *f, unsigned off, unsigned size);
void pci_cfg_write(struct pci_func *f, unsigned off, unsigned size, uint32_t value);

/* Queries for the platform and device models. */
unsigned pci_func_slot(const struct pci_func *f);
uint8_t pci_func_gsi(const struct pci_func *f);
bool pci_mem_enabled(const struct pci_func *f);
bool pci_bus_master(const struct pci_func *f);
bool pci_intx_disabled(const struct pci_func *f);
/* True if MSI is enabled; address and data go to the non-NULL pointers. */
bool pci_msi(const struct pci_func *f, uint64_t *addr, uint32_t *data);
uint64_t pci_bar_addr(const struct pci_func *f, int bar);
uint64_t pci_bar_size(const struct pci_func *f, int bar); /* 0: no BAR there */
/* The BAR's register callbacks (NULL if none); its opaque goes to *opaque. */
const struct mmio_ops *pci_bar_mmio(const struct pci_func *f, int bar, void **opaque);
/* Look a function up by slot (NULL if empty). */
struct pci_func *pci_bus_func(struct pci_bus *b, unsigned slot);

/*
 * What firmware does at boot: give every BAR a naturally aligned address
 * in [base, limit) (largest first; 32-bit BARs below 4 GiB), then set
 * Memory Space + Bus Master Enable. 0, or -1 if the BARs do not fit.
 */
int pci_bus_assign_bars(struct pci_bus *b, uint64_t base, uint64_t limit);

#endif
