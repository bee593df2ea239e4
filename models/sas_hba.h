/*
 * The SAS HBA device model (models/sas_hba.c): implements the register
 * interface of include/hopsim/sas_hba.h on a PCI function of its own, with
 * up to SAS_HBA_MAX_TARGETS disks (models/disk.h) behind it.
 *
 * The platform creates it with a dev_env (event queue, trace, cost
 * profile, DMA translation, interrupt line), maps BAR0 through the PCI
 * bus's bar_update callback (pci_bar_mmio() gives the register callbacks)
 * and delivers env->irq as MSI or INTx according to the function's
 * configuration (pci_msi(), pci_intx_disabled(), the function's GSI).
 */
#ifndef HOPSIM_MODELS_SAS_HBA_H
#define HOPSIM_MODELS_SAS_HBA_H

#include <stddef.h>

#include "device.h"
#include "disk.h"
#include "pci.h"
#include "hopsim/sas_hba.h"

#define SAS_HBA_MAX_QUEUE 1024 /* CAP bits 0-15 */
#define SAS_HBA_MAX_TARGETS 8  /* CAP bits 16-23 */
#define SAS_HBA_CONTEXTS 1024  /* commands in the device at once; fetching waits beyond */
#define SAS_HBA_PCI_REVISION 1

struct sas_hba;

/* What the HBA did over the run (the run's report). */
struct sas_hba_counters {
    uint64_t completions; /* CQEs posted */
    uint64_t interrupts;  /* interrupts raised (MSI messages or INTx assertions) */
    uint64_t held;        /* completions whose interrupt reply coalescing held back */
    uint32_t coal_us,
        coal_depth; /* the coalescing registers as last written (a reset is no write) */
};

/*
 * A HBA on `bus` at `slot`, INTA# routed to `gsi`. The env is copied.
 * NULL with a message in err if the slot is taken.
 */
struct sas_hba *sas_hba_create(const struct dev_env *env, struct pci_bus *bus, unsigned slot,
                               uint8_t gsi, char *err, size_t errlen);
/* Cancels pending events, closes the attached disks, removes the PCI function. */
void sas_hba_destroy(struct sas_hba *h);
/* Attach a disk as the next target; the HBA owns it from now on. Target index, or -1 if full. */
int sas_hba_attach(struct sas_hba *h, struct disk *d);
struct pci_func *sas_hba_pci(const struct sas_hba *h);
void sas_hba_get_counters(const struct sas_hba *h, struct sas_hba_counters *out);
/* The register callbacks of BAR0 (also reachable through pci_bar_mmio). */
const struct mmio_ops *sas_hba_mmio_ops(void);

#endif
