/*
 * blk_native.elf, the `native` architecture: the test program, the native
 * block layer and the SAS driver in one kernel, driving the HBA directly
 * (hops H1, H4, H5, H8). Arguments: target=N (disk, 0), sas_qsize=N (256),
 * sas_coal_us=N and sas_coal_depth=N (reply coalescing, 0: off), and the
 * test program's (fio.c).
 */
#include "fio.h"
#include "native_blk.h"

ARG_INT(sas_qsize, 1, 65536, "SAS HBA queue entries (clamped to the HBA's maximum)");
ARG_INT(target, 0, 255, "the disk (SAS target) to open");
ARG_INT(sas_coal_us, 0, SAS_COAL_TIMEOUT_MAX, "HBA reply coalescing timeout, us (0: off)");
ARG_INT(sas_coal_depth, 0, SAS_COAL_DEPTH_MAX, "HBA reply coalescing depth (0: the timeout alone)");

int app_main(void)
{
    struct sas_hba *h;
    int rc = sas_probe((unsigned)arg_int("sas_qsize", SAS_DEFAULT_QSIZE), &h);
    if (rc) {
        printf("blk_native: no usable SAS HBA: %d\n", rc);
        return 1;
    }
    rc = sas_set_coalescing(h, (unsigned)arg_int("sas_coal_us", 0),
                            (unsigned)arg_int("sas_coal_depth", 0));
    if (rc) {
        printf("blk_native: reply coalescing refused: %d\n", rc);
        return 1;
    }
    long target = arg_int("target", 0);
    struct blkdev *d = target >= 0 ? native_blk_open(h, (unsigned)target) : NULL;
    if (!d)
        return 1;
    rc = fio_run(d);
    blkdev_close(d);
    return rc;
}
