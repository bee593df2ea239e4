/*
 * blk_back.elf, dom0 of the xen-dom0 architecture: blkback and the native
 * SAS driver, serving every vbd connected to this domain (blkback.c has
 * the arguments). Powers off when all its frontends have closed.
 */
#include "guest.h"

#include "blkback.h"

int app_main(void)
{
    return blkback_main();
}
