/*
 * The thin native block layer: a struct blkdev over one target of the SAS
 * driver, for the `native` architecture (application and driver in one
 * kernel, no hypervisor hop).
 */
#ifndef BLK_NATIVE_BLK_H
#define BLK_NATIVE_BLK_H

#include "blkdev.h"
#include "sas.h"

/* The block device for `target` of h: NULL (and a message) if there is no such target. */
struct blkdev *native_blk_open(struct sas_hba *h, unsigned target);

#endif
