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
    events_wake_program();
}

void backend_kick(void)
{
    backend_wake = 1;
    if (smp_id() != 0 && wake_send)
        evtchn_send(wake_send);
    else
        events_wake_program();
}

/* vCPUs up, and the loopback channel other vCPUs wake vCPU 0 with. */
static int smp_setup(void)
{
    unsigned n = smp_init((unsigned)arg_int("vcpus", SMP_MAX_CPUS));
    if (n == 1)
        return 0;
    int rc = evtchn_alloc_unbound(xen_domid, &wake_recv);
    rc = rc ? rc : evtchn_bind_interdomain(xen_domid, wake_recv, &wake_send);
    if (!rc)
        evtchn_program_port(wake_recv);
    rc = rc ? rc : evtchn_attach(wake_recv, wake_handler, NULL);
    if (rc)
        printf("backend: wake channel: %d\n", rc);
    printf("backend: %u vCPUs\n", n);
    return rc;
}

int app_main(void)
{
    events_program_priority(); /* the main loop is xenwatch: see events.h */
    if (smp_setup())
        return 1;
    int blk = blkback_init(), net = netback_init();
    if (blk < 0 || net < 0 || (blk && net)) {
        printf("backend: %s\n", blk < 0 || net < 0 ? "set-up failed" : "no device to serve");
        return 1;
    }
    /*
     * The xenwatch loop: one watch event at a time, handled by what its path
     * names (xenwatch_thread -> the watch's callback); everything is scanned
     * on the first pass, after a kick from a handler (a broken or drained
     * ring) and when the event queue overflowed.
     */
    static char path[256];
    unsigned long dropped = 0;
    int full = 1;
    for (;;) {
        int bc = 0, nc = 0, n = 0;
        if (full)
            backend_wake = 0;
        if (!blk) {
            blkback_poll(full ? NULL : path);
            n += blkback_vbds(&bc);
        }
        if (!net) {
            netback_poll(full ? NULL : path);
            n += netback_vifs(&nc);
        }
        if (n > 0 && bc + nc == n)
            break;
        WAIT_UNTIL(backend_wake || xs_poll_watch(NULL, path, sizeof(path)));
        full = backend_wake || xs_watch_dropped != dropped;
        dropped = xs_watch_dropped;
    }
    printf("backend: xenwatch: woken %lu times, %lu handler runs deferred behind it\n",
           events_prog_wakes, events_deferred);
    printf("backend: xenwatch: woken %lu times, %lu handler runs deferred behind it\n",
           events_prog_wakes, events_deferred);
    if (!blk)
        blkback_fini();
    if (!net)
        netback_fini();
    return 0;
}
