/*
 * The platform side of a register-level device test: a 1 MiB window of
 * host memory standing in for RAM at bus address MEM_BASE (DMA outside it
 * fails, as a bad bus address does), and an interrupt line that records
 * when it was raised and lowered. Included by one test file each (the
 * definitions are static).
 */
#ifndef HOPSIM_TEST_FAKE_PLATFORM_H
#define HOPSIM_TEST_FAKE_PLATFORM_H

#include <check.h>
#include <stdbool.h>
#include <stdint.h>

#include "simtime.h"

#define MEM_BASE 0x10000000ull
#define MEM_SIZE (1u << 20)

static uint8_t *mem;
static int nraise, nlower;
static simtime_t raise_when[64], lower_when;

/* dma_ops.map: device models must split transfers at pages. */
static void *fake_map(void *opaque, uint64_t busaddr, uint64_t len, bool write)
{
    (void)opaque, (void)write;
    ck_assert_msg((busaddr & 4095) + len <= 4096, "DMA range crosses a page");
    if (busaddr < MEM_BASE || busaddr + len > MEM_BASE + MEM_SIZE)
        return NULL;
    return mem + (busaddr - MEM_BASE);
}

static void on_raise(void *opaque, simtime_t when)
{
    (void)opaque;
    if (nraise < 64)
        raise_when[nraise] = when;
    nraise++;
}

static void on_lower(void *opaque, simtime_t when)
{
    (void)opaque;
    lower_when = when;
    nlower++;
}

#endif
