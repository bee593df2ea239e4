/*
 * devmodel.elf, the device model of an HVM guest (`hvm-emul`): runs in
 * dom0, owns the real devices through their native drivers, and emulates
 * for the guest the same device models' register interfaces over Xen's
 * ioreq-server protocol (ioserv.c). Arguments: guest=DOMID (the HVM
 * domain), guest_pages=N (its RAM in pages). It powers off when the guest
 * is gone (@releaseDomain).
 */
#include "emu_sas.h"
#include "guest.h"
#include "ioserv.h"

#define SAS_SLOT 4

ARG_INT(guest, 1, 0x7fef, "the HVM domain whose devices this device model emulates");
ARG_INT(guest_pages, 1, 1 << 24, "the HVM domain's RAM, in 4 KiB pages");
ARG_INT(fault_after, 0, 1000000, "the device emulation faults at its N-th command (0: never)");
ARG_ENUM(role, "dom0|host", "dom0 (Xen's device model) or host (a hosted VMM's host OS)");

int app_main(void)
{
    domid_t guest = (domid_t)arg_int("guest", 1);
    long pages = arg_int("guest_pages", 0);
    struct emu_fn *sas = NULL;
    if (pages <= 0) {
        printf("devmodel: guest_pages=N is required\n");
        return 1;
    }
    emu_sas_fault(arg_int("fault_after", 0), !strcmp(arg_str("role", "dom0"), "host"));
    int rc = emu_sas_init(SAS_SLOT, &sas);
    if (rc)
        return 1;
    if (xs_watch("@releaseDomain", "release") < 0 || ioserv_start(guest, (unsigned long)pages))
        return 1;
    printf("devmodel: serving d%u\n", guest);
    while (ioserv_guest_alive())
        xs_wait_watch("release", NULL, 0);
    printf("devmodel: d%u is gone after %lu ioreqs\n", guest, ioserv_count());
    emu_sas_report();
    return 0;
}
