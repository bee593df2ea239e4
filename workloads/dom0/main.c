/*
 * dom0.elf, the control domain of xen-idd: the hardware domain whose
 * toolstack builds the other domains, assigns the PCI devices to the driver
 * domain and writes the split-device directories. hopsim's toolstack acts
 * for it from the simulator (sim/machine/toolstack.c: "the toolstack acts
 * as dom0 without a ring"); this kernel is what runs in dom0 meanwhile.
 *
 * It does what a dom0 with no device of its own does: it looks at PCI bus 0
 * (every function has been assigned to the driver domain, as xl's
 * pci-assignable-add hands them to pciback, so it sees none and says so),
 * then waits, as xl's domain-death watch does, on @releaseDomain until no
 * other domain is left, and powers off.
 */
#include "guest.h"
#include "pci.h"

static int others_alive(void)
{
    static char names[2048];
    int n = xs_directory(XBT_NIL, "/local/domain", names, sizeof(names));
    int alive = 0;
    const char *p = names;
    for (int i = 0; i < n; i++, p += strlen(p) + 1) {
        char *end;
        long id = strtol(p, &end, 10);
        if (*end || id == xen_domid)
            continue;
        if (xs_is_domain_introduced((unsigned)id) == 1)
            alive++;
    }
    return alive;
}

int app_main(void)
{
    int seen = 0;
    for (unsigned slot = 0; slot < PCI_SLOTS; slot++)
        if (pci_cfg_read16(slot, PCI_CFG_VENDOR) != 0xffff)
            seen++;
    printf("dom0: %d PCI function%s visible on bus 0\n", seen, seen == 1 ? "" : "s");
    int rc = xs_watch("@releaseDomain", "release");
    if (rc < 0) {
        printf("dom0: cannot watch @releaseDomain: %d\n", rc);
        return 1;
    }
    while (others_alive() > 0)
        xs_wait_watch("release", NULL, 0);
    xs_unwatch("@releaseDomain", "release");
    printf("dom0: every other domain has been released\n");
    return 0;
}
