/*
 * backend.elf, the backend domain: blkback over the native SAS driver and
 * netback over the native e1000 driver, in one image. Under xen-dom0 it is
 * dom0 (loaded from disk); under uefi-rt the same image is the runtime
 * service "hopsim-rt" in the platform flash. Each backend starts if its
 * device is in this domain; the domain powers off when every frontend
 * connected to it has closed. Arguments: blkback.c's and netback.c's.
 */
#include "guest.h"
#include "smp.h"

#include "../blk/blkback.h"
#include "../net/netback.h"
#include "backend.h"

ARG_INT(vcpus, 1, SMP_MAX_CPUS, "vCPUs to bring up (default: every vCPU the domain has)");

volatile int backend_wake;
static evtchn_port_t wake_recv, wake_send;

static void wake_handler(evtchn_port_t port, void *data)
{
    (void)port;
    (void)data;
}

void backend_kick(void)
{
    backend_wake = 1;
    if (smp_id() != 0 && wake_send)
        evtchn_send(wake_send);
}

/* vCPUs up, and the loopback channel other vCPUs wake vCPU 0 with. */
static int smp_setup(void)
{
    unsigned n = smp_init((unsigned)arg_int("vcpus", SMP_MAX_CPUS));
    if (n == 1)
        return 0;
    int rc = evtchn_alloc_unbound(xen_domid, &wake_recv);
    rc = rc ? rc : evtchn_bind_interdomain(xen_domid, wake_recv, &wake_send);
    rc = rc ? rc : evtchn_attach(wake_recv, wake_handler, NULL);
    if (rc)
        printf("backend: wake channel: %d\n", rc);
    printf("backend: %u vCPUs\n", n);
    return rc;
}

int app_main(void)
{
    if (smp_setup())
        return 1;
    int blk = blkback_init(), net = netback_init();
    if (blk < 0 || net < 0 || (blk && net)) {
        printf("backend: %s\n", blk < 0 || net < 0 ? "set-up failed" : "no device to serve");
        return 1;
    }
    for (;;) {
        int bc = 0, nc = 0, n = 0;
        backend_wake = 0;
        if (!blk) {
            blkback_poll();
            n += blkback_vbds(&bc);
        }
        if (!net) {
            netback_poll();
            n += netback_vifs(&nc);
        }
        if (n > 0 && bc + nc == n)
            break;
        WAIT_UNTIL(backend_wake || xs_poll_watch(NULL, NULL, 0));
    }
    if (!blk)
        blkback_fini();
    if (!net)
        netback_fini();
    return 0;
}
