/*
 * Physical interrupt set-up and end-of-interrupt (see physdev.h). Thin
 * wrappers: every result is the hypercall's own (0 or -XEN_E*).
 */
#include "physdev.h"

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
