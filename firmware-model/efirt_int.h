/*
 * Internal to the UEFI memory-map and runtime-table model
 * (firmware-model/efirt.c: names, the memory map, boot services, the
 * tables; efirt_svam.c: ConvertPointer and SetVirtualAddressMap;
 * efirt_check.c: the hypervisor's check of the tables). Users include
 * efirt.h.
 */
#ifndef HOPSIM_FIRMWARE_MODEL_EFIRT_INT_H
#define HOPSIM_FIRMWARE_MODEL_EFIRT_INT_H

#include "efirt.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- little-endian access ---- */
static inline uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static inline void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static inline void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* Defined in efirt.c. */
extern const char *const efirt_rt_names[EFI_RT_NSERVICES];
void efirt_fail(struct efirt *fw, const char *fmt, ...);
uint64_t efirt_md_end(const struct efi_memory_descriptor *d);
void efirt_table_crc(uint8_t *hdr);

#endif
