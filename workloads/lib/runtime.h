/*
 * Runtime start-up and shutdown: what guest_start() sets up before calling
 * the program's app_main(), and how a program ends.
 *
 * Order: console, arguments, shared_info (XENMEM_add_to_physmap into the
 * physmap hole), events (all ports masked, upcall registered), page
 * allocator, grant table, xenbus (which learns our domid from xenstore),
 * then event delivery on and app_main(). Its return value 0 ends the
 * domain with SHUTDOWN_poweroff, anything else with SHUTDOWN_crash.
 */
#ifndef GUEST_RUNTIME_H
#define GUEST_RUNTIME_H

#include "arch.h"
#include "xenif.h"

extern start_info_t *start_info;
extern domid_t xen_domid; /* our domain id (xenstore "domid") */

/* Each program defines it. */
int app_main(void);

void guest_start(start_info_t *si, unsigned long boot_rsp) __noreturn;
/* Flush the console and shut down: status 0 -> poweroff, else crash. */
void guest_exit(int status) __noreturn;
void panic(const char *fmt, ...) __noreturn __attribute__((format(printf, 1, 2)));

static inline int is_privileged(void)
{
    return (start_info->flags & SIF_PRIVILEGED) != 0;
}

/* n consecutive guest frames in the physmap hole [nr_pages, HOPSIM_MMIO_BASE>>12). */
unsigned long physmap_hole_alloc(unsigned long n);
/* XENMEM_add_to_physmap(DOMID_SELF, space, idx, gpfn): 0 or -errno. */
long physmap_add(unsigned space, unsigned long idx, unsigned long gpfn);
/*
 * Frame `gfn` of domain `dom` mapped into one frame of our physmap hole
 * (XENMEM_add_to_physmap_batch, XENMAPSPACE_gmfn_foreign, as a dom0 device
 * model maps its guest's memory): 0 with *va set, or the hypervisor's -errno.
 */
long physmap_map_foreign(domid_t dom, xen_ulong_t gfn, void **va);

#endif
