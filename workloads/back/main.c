/*
 * backend.elf, the backend domain: blkback over the native SAS driver and
 * netback over the native e1000 driver, in one image. Under xen-dom0 it is
 * dom0 (loaded from disk); under uefi-rt the same image is the runtime
 * service "hopsim-rt" in the platform flash. Each backend starts if its
 * device is in this domain; the domain powers off when every frontend
 * connected to it has closed. Arguments: blkback.c's and netback.c's.
 */
#include "guest.h"

#include "../blk/blkback.h"
#include "../net/netback.h"
#include "backend.h"

volatile int backend_wake;

int app_main(void)
{
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
