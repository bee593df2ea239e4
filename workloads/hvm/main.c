/*
 * devmodel.elf, the device model of an HVM guest (`hvm-emul`): runs in
 * dom0, owns the real devices through their native drivers, and emulates
 * for the guest the same device models' register interfaces over Xen's
 * ioreq-server protocol (ioserv.c): a SAS HBA when it owns a real one
 * (emu_sas.c), an e1000 when it owns a real NIC (emu_e1000.c hosted by
 * dm_e1000.c), both when it owns both. Arguments: guest=DOMID (the HVM
 * domain), guest_pages=N (its RAM in pages), guests=N (HVM domains
 * guest .. guest+N-1, each with its own emulation -- QEMU's process per
 * domain, a hosted VMM's process per VM -- and its own partition of the
 * disk; the HBA only), compromise_after=N (hostile code in the first
 * guest's emulation, dm_probe.c), dm_restrict (Xen's device-model
 * deprivileging, dmproc.h). It powers off when every guest is gone
 * (@releaseDomain).
 */
#include <hopsim/sas_hba.h>

#include "dm_e1000.h"
#include "dm_probe.h"
#include "emu_e1000.h"
#include "emu_sas.h"
#include "guest.h"
#include "ioserv.h"
#include "pci.h"

#define SAS_SLOT 4
#define E1000_SLOT 3 /* where QEMU's PC machine puts its first e1000 */

ARG_INT(guest, 1, 0x7fef, "the HVM domain whose devices this device model emulates");
ARG_INT(guest_pages, 1, 1 << 24, "the HVM domain's RAM, in 4 KiB pages");
ARG_INT(fault_after, 0, 1000000, "the device emulation faults at its N-th command (0: never)");
ARG_ENUM(role, "dom0|host", "dom0 (Xen's device model) or host (a hosted VMM's host OS)");
ARG_INT(guests, 1, 4, "HVM domains served, domids guest .. guest+guests-1 (the HBA only)");
ARG_INT(compromise_after, 0, 1000000,
        "hostile code in the first guest's emulation probes after its N-th command (0: never)");
ARG_INT(dm_restrict, 0, 1,
        "dom0: each emulation runs deprivileged (own uid, privcmd restricted to its domain)");

/* The emulation process of guest `dom`: its uid and its privcmd (dmproc.h). */
static struct dm_proc proc_for(domid_t dom, int hosted, int deprivileged)
{
    struct dm_proc p = {.guest = dom, .dumpable = 1, .privcmd_dom = DOMID_INVALID};
    if (hosted) {
        p.uid = DMP_USER; /* every VM's process runs as the user who started it */
    } else if (deprivileged) {
        p.uid = DMP_QEMU_RANGE_BASE + dom;
        p.has_privcmd = 1;
        p.privcmd_dom = dom;
    } else {
        p.uid = DMP_ROOT; /* libxl's default: QEMU as root */
        p.has_privcmd = 1;
    }
    return p;
}

int app_main(void)
{
    domid_t guest = (domid_t)arg_int("guest", 1);
    long pages = arg_int("guest_pages", 0), n = arg_int("guests", 1);
    long compromise = arg_int("compromise_after", 0);
    int hosted = !strcmp(arg_str("role", "dom0"), "host");
    struct emu_fn *sas = NULL;
    if (pages <= 0) {
        printf("devmodel: guest_pages=N is required\n");
        return 1;
    }
    int has_sas = pci_find_device(SAS_PCI_VENDOR, SAS_PCI_DEVICE) >= 0;
    int has_nic = pci_find_device(EMU_E1K_VENDOR, EMU_E1K_DEVICE) >= 0;
    if (!has_sas && !has_nic) {
        printf("devmodel: no real device (SAS HBA or e1000) to carry the guest's I/O\n");
        return 1;
    }
    if (n > 1 && (has_nic || !has_sas)) {
        printf("devmodel: guests=%ld: only the emulated HBA serves several guests\n", n);
        return 1;
    }
    emu_sas_fault(arg_int("fault_after", 0), hosted);
    emu_sas_partition((unsigned)n);
    if (compromise && n > 1) {
        struct dm_proc self = proc_for(guest, hosted, (int)arg_int("dm_restrict", 0));
        struct dm_proc victim =
            proc_for((domid_t)(guest + 1), hosted, (int)arg_int("dm_restrict", 0));
        dm_probe_setup(&self, &victim, 1, hosted);
        emu_sas_compromise(compromise, dm_probe);
    }
    if (xs_watch("@releaseDomain", "release") < 0)
        return 1;
    for (long i = 0; i < n; i++) {
        domid_t dom = (domid_t)(guest + i);
        if (has_sas && emu_sas_init(SAS_SLOT, &sas))
            return 1;
        /* the emulated NIC's address: the toolstack's default for the guest's first NIC */
        const uint8_t mac[6] = {0x00, 0x16, 0x3e, 0x00, 0x00, (uint8_t)dom};
        if (has_nic && dm_e1000_init(E1000_SLOT, mac))
            return 1;
        if (ioserv_start(dom, (unsigned long)pages))
            return 1;
        printf("devmodel: serving d%u\n", dom);
    }
    while (ioserv_guest_alive())
        xs_wait_watch("release", NULL, 0);
    if (n > 1)
        printf("devmodel: d%u..d%u are gone after %lu ioreqs\n", guest, (unsigned)(guest + n - 1),
               ioserv_count());
    else
        printf("devmodel: d%u is gone after %lu ioreqs\n", guest, ioserv_count());
    emu_sas_report();
    dm_e1000_report();
    return 0;
}
