/*
 * The hypervisor's check of the firmware's tables (efirt.h,
 * docs/firmware-image.md): each table header's signature, size and CRC32,
 * and every pointer in the system table and runtime-services table
 * translated through the memory map into a runtime region.
 */
#include "efirt_int.h"

#include <stdio.h>
#include <string.h>

/* ---- the hypervisor's check ---- */
static void sig_text(uint64_t sig, char out[9])
{
    for (int i = 0; i < 8; i++) {
        char ch = (char)(sig >> (8 * i));
        out[i] = ch >= 0x20 && ch < 0x7f ? ch : '.';
    }
    out[8] = 0;
}

int efirt_check_header(const uint8_t *hdr, uint64_t avail, uint64_t signature, uint32_t size,
                       char *why, size_t whylen)
{
    if (avail < EFI_TABLE_HEADER_SIZE) {
        snprintf(why, whylen, "only %llu bytes of memory left, the header needs %u",
                 (unsigned long long)avail, EFI_TABLE_HEADER_SIZE);
        return -1;
    }
    uint64_t sig = le64(hdr + EFI_HDR_SIGNATURE);
    if (sig != signature) {
        char want[9], got[9];
        sig_text(signature, want);
        sig_text(sig, got);
        snprintf(why, whylen, "Signature: expected 0x%016llx \"%s\", found 0x%016llx \"%s\"",
                 (unsigned long long)signature, want, (unsigned long long)sig, got);
        return -1;
    }
    uint32_t rev = le32(hdr + EFI_HDR_REVISION);
    if (rev >> 16 < 2) {
        snprintf(why, whylen, "Revision: expected major version >= 2, found 0x%08x (%u.%u)", rev,
                 rev >> 16, rev & 0xffff);
        return -1;
    }
    uint32_t hs = le32(hdr + EFI_HDR_HEADER_SIZE);
    if (hs != size) {
        snprintf(why, whylen, "HeaderSize: expected %u (the whole 2.x table), found %u", size, hs);
        return -1;
    }
    if (avail < hs) {
        snprintf(why, whylen, "HeaderSize %u runs past the end of memory (%llu bytes left)", hs,
                 (unsigned long long)avail);
        return -1;
    }
    uint32_t res = le32(hdr + EFI_HDR_RESERVED);
    if (res) {
        snprintf(why, whylen, "Reserved: expected 0, found 0x%08x", res);
        return -1;
    }
    uint32_t crc = le32(hdr + EFI_HDR_CRC32), want = efi_table_crc32(hdr, hs);
    if (crc != want) {
        snprintf(why, whylen,
                 "CRC32: expected 0x%08x (over the %u-byte table with the field zero), found "
                 "0x%08x",
                 want, hs, crc);
        return -1;
    }
    return 0;
}

/* Physical address and memory type of p: through the runtime regions' mappings if virtual. */
static int translate(uint64_t p, const struct efi_memory_descriptor *map, size_t n, bool virtual,
                     uint64_t *pa, uint32_t *type)
{
    for (size_t i = 0; i < n; i++) {
        const struct efi_memory_descriptor *d = &map[i];
        if (virtual && !(d->attribute & EFI_MEMORY_RUNTIME))
            continue; /* only runtime regions are mapped in virtual mode */
        uint64_t base = virtual ? d->virtual_start : d->physical_start;
        if (p >= base && p - base < d->number_of_pages * EFI_PAGE_SIZE) {
            *pa = d->physical_start + (p - base);
            *type = d->type;
            return 0;
        }
    }
    return -1;
}

/* " in memory of type X" / " outside the memory map" / " in no runtime region" */
static const char *where(char *buf, size_t len, int r, uint32_t type, bool virtual)
{
    if (r < 0)
        snprintf(buf, len, "%s", virtual ? "in no runtime region" : "outside the memory map");
    else
        snprintf(buf, len, "in %s memory", efi_memory_type_name(type));
    return buf;
}

int efirt_check_tables(const uint8_t *mem, uint64_t mem_size, uint64_t systab,
                       const struct efi_memory_descriptor *map, size_t n, bool virtual,
                       struct efirt_tables *out, char *why, size_t whylen)
{
    char sub[200], w[64];
    uint64_t pa = 0;
    uint32_t type = 0;
    memset(out, 0, sizeof(*out));
    int r = translate(systab, map, n, false, &pa, &type);
    if (r < 0 || type != EfiRuntimeServicesData || systab >= mem_size) {
        snprintf(why, whylen, "EFI_SYSTEM_TABLE at 0x%llx: %s, expected EfiRuntimeServicesData",
                 (unsigned long long)systab,
                 systab >= mem_size ? "outside memory" : where(w, sizeof w, r, type, false));
        return -1;
    }
    const uint8_t *st = mem + systab;
    if (efirt_check_header(st, mem_size - systab, EFI_SYSTEM_TABLE_SIGNATURE, EFI_SYSTEM_TABLE_SIZE,
                           sub, sizeof sub) < 0) {
        snprintf(why, whylen, "EFI_SYSTEM_TABLE at 0x%llx: %s", (unsigned long long)systab, sub);
        return -1;
    }
    uint64_t rsp = le64(st + EFI_ST_RUNTIME_SERVICES);
    r = translate(rsp, map, n, virtual, &pa, &type);
    if (r < 0 || type != EfiRuntimeServicesData || pa >= mem_size) {
        snprintf(why, whylen,
                 "EFI_SYSTEM_TABLE at 0x%llx: RuntimeServices 0x%llx is %s, expected "
                 "EfiRuntimeServicesData",
                 (unsigned long long)systab, (unsigned long long)rsp,
                 pa >= mem_size ? "outside memory" : where(w, sizeof w, r, type, virtual));
        return -1;
    }
    uint64_t rs_pa = pa;
    const uint8_t *rs = mem + rs_pa;
    if (efirt_check_header(rs, mem_size - rs_pa, EFI_RUNTIME_SERVICES_SIGNATURE,
                           EFI_RUNTIME_SERVICES_SIZE, sub, sizeof sub) < 0) {
        snprintf(why, whylen, "EFI_RUNTIME_SERVICES at 0x%llx: %s", (unsigned long long)rs_pa, sub);
        return -1;
    }
    for (int i = 0; i < EFI_RT_NSERVICES; i++) {
        uint64_t f = le64(rs + EFI_RT_OFFSET(i));
        /* SetVirtualAddressMap and ConvertPointer stay physical (UEFI 2.10 §8.4.1) */
        bool virt = virtual && i != EFI_RT_SET_VIRTUAL_ADDRESS_MAP && i != EFI_RT_CONVERT_POINTER;
        r = translate(f, map, n, virt, &pa, &type);
        if (r < 0 || type != EfiRuntimeServicesCode) {
            snprintf(why, whylen,
                     "EFI_RUNTIME_SERVICES at 0x%llx: %s 0x%llx is %s, expected "
                     "EfiRuntimeServicesCode",
                     (unsigned long long)rs_pa, efirt_rt_names[i], (unsigned long long)f,
                     where(w, sizeof w, r, type, virt));
            return -1;
        }
        out->fn[i] = f;
    }
    out->runtime_services = rs_pa;
    out->st_crc32 = le32(st + EFI_HDR_CRC32);
    out->rs_crc32 = le32(rs + EFI_HDR_CRC32);
    out->revision = le32(rs + EFI_HDR_REVISION);
    return 0;
}
