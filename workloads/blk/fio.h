/*
 * The block test program (the patent's "function test program"), fio-like,
 * written against struct blkdev so it runs unchanged over the native block
 * layer and over blkfront. See fio.c for the arguments.
 */
#ifndef BLK_FIO_H
#define BLK_FIO_H

#include "blkdev.h"

/*
 * Run the job the domain's arguments describe on d, print the summary.
 * Checks are GCHECK marks; returns nonzero only if the job could not run
 * (bad arguments, no memory).
 */
int fio_run(struct blkdev *d);

#endif
