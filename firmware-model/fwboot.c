/*
 * Firmware boot of the runtime image (see fwboot.h).
 *
 * The firmware first validates the flash layout -- descriptor, volumes,
 * FFS headers and checksums -- from its memory-mapped view (a host copy of
 * the flash: those few headers are not what dominates boot time), and
 * refuses to go on if anything is off. It then reads the payload through
 * hardware sequencing, 64 bytes a cycle, which is where boot time goes,
 * and measures the bytes it read: measuring what was read, not what the
 * volume header claims, closes the time-of-check/time-of-use hole.
 */
#include "fwboot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha2.h>

#include "flashimg.h"
#include "spi_ctrl.h"
#include "spi_flash.h"

void fwboot_hex(const uint8_t *digest, char *out)
{
    for (int i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", digest[i]);
}

static void sha256(const void *a, size_t na, const void *b, size_t nb, uint8_t *out)
{
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    sha256_update(&ctx, na, a);
    if (b)
        sha256_update(&ctx, nb, b);
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, out);
}

/* Find the payload: validate the whole image first, trust nothing unverified. */
static int locate(struct spictrl *c, const char *name, struct flashimg_payload *p, char *err,
                  size_t errlen)
{
    struct spiflash *f = spictrl_flash(c);
    size_t size = spiflash_size(f);
    uint8_t *copy = malloc(size);
    struct flashimg fi;
    int rc = -1;
    if (!copy) {
        snprintf(err, errlen, "out of memory reading the flash");
        return -1;
    }
    spiflash_peek(f, 0, copy, size);
    /* flashimg_open keeps what it verified even when it fails: always close */
    if (flashimg_open(&fi, copy, size, err, errlen) == 0) {
        if (flashimg_payload(&fi, name, p) < 0)
            snprintf(err, errlen, "no valid file '%s' in the flash's firmware volumes", name);
        else
            rc = 0;
    }
    flashimg_close(&fi);
    free(copy);
    return rc;
}

int fwboot_runtime_image(struct spictrl *c, const char *name, simtime_t start, uint8_t *pcr0,
                         uint8_t **image, size_t *len, struct fwboot_result *r, char *err,
                         size_t errlen)
{
    struct flashimg_payload p;
    if (locate(c, name, &p, err, errlen) < 0)
        return -1;
    uint8_t *buf = malloc(p.length ? p.length : 1);
    if (!buf) {
        snprintf(err, errlen, "out of memory for the runtime image");
        return -1;
    }
    memset(r, 0, sizeof(*r));
    r->start = start;
    r->offset = (uint32_t)p.offset;
    r->length = p.length;
    r->done = spictrl_read_image(c, (uint32_t)p.offset, p.length, buf, start);
    const struct spictrl_refusal *ref = spictrl_last_refusal(c);
    if (ref && ref->why != SPICTRL_OK) {
        snprintf(err, errlen, "reading '%s' from flash was refused: %s", name, ref->text);
        free(buf);
        return -1;
    }
    sha256(buf, p.length, NULL, 0, r->sha256);
    sha256(pcr0, 32, r->sha256, 32, pcr0); /* PCR extend: SHA-256(old || measurement) */
    memcpy(r->pcr0, pcr0, 32);
    *image = buf;
    *len = p.length;
    return 0;
}
