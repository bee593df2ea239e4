/*
 * The firmware's part of booting the runtime-service domain: locate the
 * runtime image in the platform flash, read it out through the SPI
 * controller (real SPI time for the configured clock and read mode),
 * measure the copy that will run (SHA-256, extended into a PCR-0-style
 * register with an event log line), and hand it over for loading into
 * EfiRuntimeServicesCode memory.
 */
#ifndef HOPSIM_FWBOOT_H
#define HOPSIM_FWBOOT_H

#include <stddef.h>
#include <stdint.h>

#include "efirt.h"
#include "simtime.h"

struct spictrl;

struct fwboot_result {
    simtime_t start, done; /* the boot: fwboot_runtime_image sets done to the end of the SPI
                              read; the loader (sim/domain.c) moves it to when the image is
                              loaded and the domain may run, keeping the read's end in
                              rt.read_done */
    uint32_t offset, length;
    uint8_t sha256[32]; /* of the bytes read, i.e. of what runs */
    uint8_t pcr0[32];   /* PCR0 after extending with sha256 */
    uint8_t opcode;     /* the read command used */
    double clock_hz;    /* its effective clock */
    /* the UEFI hand-off that follows the read (efirt.h), filled in by the loader */
    struct efirt_handoff rt;
};

/*
 * Boot `name` from the flash behind `c`, starting at `start`, extending
 * *pcr0 (32 bytes, zero at power-on). On success *image is a malloc'd copy
 * of the payload (the caller frees it). -1 with err when the flash image
 * is corrupt (nothing is trusted), the file is missing, or a read was
 * refused.
 */
int fwboot_runtime_image(struct spictrl *c, const char *name, simtime_t start, uint8_t *pcr0,
                         uint8_t **image, size_t *len, struct fwboot_result *r, char *err,
                         size_t errlen);

/* Lowercase hex of 32 bytes into out[65]. */
void fwboot_hex(const uint8_t *digest, char *out);

#endif
