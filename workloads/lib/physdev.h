/*
 * Physical interrupts for a driver domain, Xen PV style: PHYSDEVOP_map_pirq
 * gives a pirq for a device's MSI (or for a GSI, the INTx fallback),
 * EVTCHNOP_bind_pirq binds an event channel to it, and PHYSDEVOP_eoi ends
 * each interrupt once the driver has serviced it.
 *
 * Hypercall numbers and structures are Xen's (<xen/physdev.h>,
 * <xen/event_channel.h>); __HYPERVISOR_physdev_op is 33 for the interface
 * version the build uses. Results: 0 or a negative Xen errno.
 */
#ifndef GUEST_PHYSDEV_H
#define GUEST_PHYSDEV_H

#include "events.h"
#include "hypercall.h"

#include <xen/physdev.h>

HC_DEFINE(physdev_op)

static inline int HYPERVISOR_physdev_op(int cmd, void *arg)
{
    return (int)hc_physdev_op((unsigned long)cmd, (unsigned long)arg, 0, 0, 0);
}

/* MSI of the device at bus/devfn (entry 0): *pirq on success. */
int physdev_map_pirq_msi(unsigned bus, unsigned devfn, int *pirq);
/* A GSI (the INTx line from the Interrupt Line register): *pirq on success. */
int physdev_map_pirq_gsi(int gsi, int *pirq);
int physdev_unmap_pirq(int pirq);
/* PHYSDEVOP_eoi: the interrupt behind pirq has been serviced. */
int physdev_eoi(int pirq);
/* EVTCHNOP_bind_pirq (not shared): *port on success. */
int evtchn_bind_pirq(uint32_t pirq, evtchn_port_t *port);

/* A PCI device's interrupt, as a driver holds it. */
struct pci_irq {
    int pirq;
    evtchn_port_t port;
    const char *kind; /* "MSI" or "INTx" */
    int mapped, bound;
};

/*
 * A driver's interrupt set-up for the device in `slot` of bus 0: MSI
 * through PHYSDEVOP_map_pirq, or -- when the platform refuses MSI -- the
 * Interrupt Line's GSI (INTx, re-enabled in the command register), then
 * EVTCHNOP_bind_pirq and the handler attached. 0, or the failing call's
 * error with a message prefixed by `who`; what was done is undone by
 * pci_irq_release.
 */
int pci_irq_setup(struct pci_irq *irq, const char *who, unsigned slot, evtchn_handler_t fn,
                  void *data);
void pci_irq_release(struct pci_irq *irq);

#endif
