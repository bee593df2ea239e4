/*
 * blk_front.elf, a domU of the xen-dom0 architecture: the test program
 * over blkfront. Arguments: devid=N (default: our lowest-numbered vbd),
 * persistent=0|1 (offer feature-persistent, 1), queues=N (rings to ask
 * for, 1: the backend's multi-queue-max-queues caps it), and the test program's
 * (fio.c). The connection is closed (Closing, Closed) even when the job
 * could not run, so the backend can finish.
 */
#include "blkfront.h"
#include "fio.h"

ARG_INT(devid, -1, INT32_MAX, "the vbd to open (-1: the first)");
ARG_BOOL(persistent, "offer persistent grants (feature-persistent)");
ARG_INT(queues, 1, BLKIF_MAX_QUEUES,
        "rings to ask for (multi-queue-num-queues; the backend's multi-queue-max-queues caps it)");
ARG_BOOL(vanish, "power off without closing the vbd (tests the toolstack's clean-up)");

int app_main(void)
{
    struct blkdev *d = blkfront_open((int)arg_int("devid", -1), arg_int("persistent", 1) != 0,
                                     (unsigned)arg_int("queues", 1));
    if (!d)
        return 1;
    int rc = fio_run(d);
    if (arg_int("vanish", 0)) {
        /* a guest that powers off without closing its vbd (tests the toolstack's clean-up) */
        printf("blkfront: vanish=1: powering off with the device still connected\n");
        return rc;
    }
    blkdev_close(d);
    return rc;
}
