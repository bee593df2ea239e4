/*
 * Physical interrupt set-up and end-of-interrupt (see physdev.h). Thin
 * wrappers: every result is the hypercall's own (0 or -XEN_E*).
 */
#include "physdev.h"

#include "console.h"
#include "pci.h"

static int map_pirq(int type, int index, unsigned bus, unsigned devfn, int *pirq)
{
    struct physdev_map_pirq map = {
        .domid = DOMID_SELF,
        .type = type,
        .index = index,
        .pirq = -1,
        .bus = (int)bus,
        .devfn = (int)devfn,
        .entry_nr = 0,
    };
    int rc = HYPERVISOR_physdev_op(PHYSDEVOP_map_pirq, &map);
    if (!rc)
        *pirq = map.pirq;
    return rc;
}

int physdev_map_pirq_msi(unsigned bus, unsigned devfn, int *pirq)
{
    return map_pirq(MAP_PIRQ_TYPE_MSI, -1, bus, devfn, pirq);
}

int physdev_map_pirq_gsi(int gsi, int *pirq)
{
    return map_pirq(MAP_PIRQ_TYPE_GSI, gsi, 0, 0, pirq);
}

int physdev_unmap_pirq(int pirq)
{
    struct physdev_unmap_pirq op = {.domid = DOMID_SELF, .pirq = pirq};
    return HYPERVISOR_physdev_op(PHYSDEVOP_unmap_pirq, &op);
}

int physdev_eoi(int pirq)
{
    struct physdev_eoi eoi = {.irq = (uint32_t)pirq};
    return HYPERVISOR_physdev_op(PHYSDEVOP_eoi, &eoi);
}

int evtchn_bind_pirq(uint32_t pirq, evtchn_port_t *port)
{
    struct evtchn_bind_pirq op = {.pirq = pirq, .flags = 0};
    int rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_pirq, &op);
    if (!rc)
        *port = op.port;
    return rc;
}

int pci_irq_setup(struct pci_irq *irq, const char *who, unsigned slot, evtchn_handler_t fn,
                  void *data)
{
    *irq = (struct pci_irq){.kind = "MSI"};
    int rc = physdev_map_pirq_msi(0, PCI_DEVFN(slot, 0), &irq->pirq);
    if (rc == -XEN_ENOSYS || rc == -XEN_EINVAL) {
        uint8_t gsi = pci_cfg_read8(slot, PCI_CFG_INTERRUPT_LINE);
        if (gsi == 0xff) {
            printf("%s: MSI refused (%d) and no INTx line\n", who, rc);
            return rc;
        }
        uint16_t cmd = pci_cfg_read16(slot, PCI_CFG_COMMAND);
        if (cmd & PCI_CMD_INTX_DISABLE)
            pci_cfg_write16(slot, PCI_CFG_COMMAND, cmd & ~PCI_CMD_INTX_DISABLE);
        rc = physdev_map_pirq_gsi(gsi, &irq->pirq);
        irq->kind = "INTx";
    }
    if (rc) {
        printf("%s: PHYSDEVOP_map_pirq (%s) failed: %d\n", who, irq->kind, rc);
        return rc;
    }
    irq->mapped = 1;
    rc = evtchn_bind_pirq((uint32_t)irq->pirq, &irq->port);
    if (rc) {
        printf("%s: EVTCHNOP_bind_pirq(%d) failed: %d\n", who, irq->pirq, rc);
        return rc;
    }
    irq->bound = 1;
    rc = evtchn_attach(irq->port, fn, data);
    if (rc)
        printf("%s: cannot attach event channel %u: %d\n", who, irq->port, rc);
    return rc;
}

void pci_irq_release(struct pci_irq *irq)
{
    if (irq->bound)
        evtchn_unbind(irq->port);
    if (irq->mapped)
        physdev_unmap_pirq(irq->pirq);
    irq->bound = irq->mapped = 0;
}
