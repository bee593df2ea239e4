/*
 * UEFI memory map, runtime-services tables, ExitBootServices and
 * SetVirtualAddressMap (see efirt.h, docs/firmware-image.md).
 *
 * Invariants:
 * - fw->map is sorted by PhysicalStart, covers [0, mem_size) without gaps
 *   or overlaps, and adjacent descriptors never have the same type,
 *   attributes and virtual placement (they are coalesced).
 * - The map key changes at every successful AllocatePages / FreePages, so
 *   a key the loader got before any of them is stale.
 * - Tables are read and written byte by byte, little-endian, at the spec's
 *   offsets; the CRC32s are zlib's crc32().
 * - A failing call changes nothing and leaves its reason in fw->error.
 */
#include "efirt_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

/* ---- names ---- */
const char *efi_status_name(efi_status s)
{
    static char buf[40];
    switch (s) {
    case EFI_SUCCESS:
        return "EFI_SUCCESS";
    case EFI_INVALID_PARAMETER:
        return "EFI_INVALID_PARAMETER";
    case EFI_UNSUPPORTED:
        return "EFI_UNSUPPORTED";
    case EFI_BUFFER_TOO_SMALL:
        return "EFI_BUFFER_TOO_SMALL";
    case EFI_OUT_OF_RESOURCES:
        return "EFI_OUT_OF_RESOURCES";
    case EFI_NOT_FOUND:
        return "EFI_NOT_FOUND";
    case EFI_NO_MAPPING:
        return "EFI_NO_MAPPING";
    default:
        snprintf(buf, sizeof buf, "EFI_STATUS 0x%016llx", (unsigned long long)s);
        return buf;
    }
}

const char *efi_memory_type_name(uint32_t type)
{
    static const char *const names[EfiMaxMemoryType] = {
        "EfiReservedMemoryType",
        "EfiLoaderCode",
        "EfiLoaderData",
        "EfiBootServicesCode",
        "EfiBootServicesData",
        "EfiRuntimeServicesCode",
        "EfiRuntimeServicesData",
        "EfiConventionalMemory",
        "EfiUnusableMemory",
        "EfiACPIReclaimMemory",
        "EfiACPIMemoryNVS",
        "EfiMemoryMappedIO",
        "EfiMemoryMappedIOPortSpace",
        "EfiPalCode",
        "EfiPersistentMemory",
        "EfiUnacceptedMemoryType",
    };
    if (type < EfiMaxMemoryType)
        return names[type];
    if (type >= 0x80000000u)
        return "OS-defined";
    if (type >= EFI_MEMORY_TYPE_OEM_MIN)
        return "OEM-defined";
    return "invalid";
}

const char *const efirt_rt_names[EFI_RT_NSERVICES] = {
    "GetTime",
    "SetTime",
    "GetWakeupTime",
    "SetWakeupTime",
    "SetVirtualAddressMap",
    "ConvertPointer",
    "GetVariable",
    "GetNextVariableName",
    "SetVariable",
    "GetNextHighMonotonicCount",
    "ResetSystem",
    "UpdateCapsule",
    "QueryCapsuleCapabilities",
    "QueryVariableInfo",
};

static const char *const rt_symbols[EFI_RT_NSERVICES] = {
    "efi_rt_get_time",
    "efi_rt_set_time",
    "efi_rt_get_wakeup_time",
    "efi_rt_set_wakeup_time",
    "efi_rt_set_virtual_address_map",
    "efi_rt_convert_pointer",
    "efi_rt_get_variable",
    "efi_rt_get_next_variable_name",
    "efi_rt_set_variable",
    "efi_rt_get_next_high_monotonic_count",
    "efi_rt_reset_system",
    "efi_rt_update_capsule",
    "efi_rt_query_capsule_capabilities",
    "efi_rt_query_variable_info",
};

const char *efi_rt_service_name(int i)
{
    return i >= 0 && i < EFI_RT_NSERVICES ? efirt_rt_names[i] : "?";
}

const char *efi_rt_service_symbol(int i)
{
    return i >= 0 && i < EFI_RT_NSERVICES ? rt_symbols[i] : "?";
}

uint32_t efi_table_crc32(const uint8_t *table, uint32_t header_size)
{
    static const uint8_t zero[4];
    uLong c = crc32(0L, Z_NULL, 0);
    if (header_size <= EFI_HDR_CRC32)
        return (uint32_t)crc32(c, table, header_size);
    c = crc32(c, table, EFI_HDR_CRC32);
    uint32_t n = header_size - EFI_HDR_CRC32 < 4 ? header_size - EFI_HDR_CRC32 : 4;
    c = crc32(c, zero, n);
    if (header_size > EFI_HDR_CRC32 + 4)
        c = crc32(c, table + EFI_HDR_CRC32 + 4, header_size - EFI_HDR_CRC32 - 4);
    return (uint32_t)c;
}

/* ---- memory descriptors in a caller's buffer ---- */
void efi_md_get(const void *buf, size_t i, uint64_t desc_size, struct efi_memory_descriptor *md)
{
    const uint8_t *p = (const uint8_t *)buf + i * desc_size;
    md->type = le32(p);
    md->pad = le32(p + 4);
    md->physical_start = le64(p + 8);
    md->virtual_start = le64(p + 16);
    md->number_of_pages = le64(p + 24);
    md->attribute = le64(p + 32);
}

void efi_md_put(void *buf, size_t i, uint64_t desc_size, const struct efi_memory_descriptor *md)
{
    uint8_t *p = (uint8_t *)buf + i * desc_size;
    memset(p, 0, desc_size);
    put32(p, md->type);
    put64(p + 8, md->physical_start);
    put64(p + 16, md->virtual_start);
    put64(p + 24, md->number_of_pages);
    put64(p + 32, md->attribute);
}

/* ---- the map ---- */
void efirt_fail(struct efirt *fw, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fw->error, sizeof fw->error, fmt, ap);
    va_end(ap);
}

uint64_t efirt_md_end(const struct efi_memory_descriptor *d)
{
    return d->physical_start + d->number_of_pages * EFI_PAGE_SIZE;
}

static bool is_runtime_type(uint32_t type)
{
    return type == EfiRuntimeServicesCode || type == EfiRuntimeServicesData;
}

static uint64_t attributes_for(uint32_t type)
{
    return EFIRT_RAM_ATTRIBUTES | (is_runtime_type(type) ? EFI_MEMORY_RUNTIME : 0);
}

static bool mergeable(const struct efi_memory_descriptor *a, const struct efi_memory_descriptor *b)
{
    if (a->type != b->type || a->attribute != b->attribute)
        return false;
    if (!a->virtual_start && !b->virtual_start)
        return true;
    return b->virtual_start == a->virtual_start + a->number_of_pages * EFI_PAGE_SIZE;
}

/* Make [start, start + pages) one descriptor of `type`; splits and coalesces. -1: no memory. */
static int set_range(struct efirt *fw, uint64_t start, uint64_t pages, uint32_t type)
{
    uint64_t end = start + pages * EFI_PAGE_SIZE;
    struct efi_memory_descriptor *out = calloc(fw->nmap + 2, sizeof(*out));
    struct efi_memory_descriptor nd = {.type = type,
                                       .physical_start = start,
                                       .number_of_pages = pages,
                                       .attribute = attributes_for(type)};
    size_t n = 0;
    bool placed = false;
    if (!out)
        return -1;
    for (size_t i = 0; i < fw->nmap; i++) {
        struct efi_memory_descriptor d = fw->map[i];
        uint64_t ds = d.physical_start, de = efirt_md_end(&d);
        if (de <= start || ds >= end) {
            if (ds >= end && !placed) {
                out[n++] = nd;
                placed = true;
            }
            out[n++] = d;
            continue;
        }
        if (ds < start) {
            out[n] = d;
            out[n++].number_of_pages = (start - ds) / EFI_PAGE_SIZE;
        }
        if (!placed) {
            out[n++] = nd;
            placed = true;
        }
        if (de > end) {
            struct efi_memory_descriptor t = d;
            t.physical_start = end;
            if (t.virtual_start)
                t.virtual_start += end - ds;
            t.number_of_pages = (de - end) / EFI_PAGE_SIZE;
            out[n++] = t;
        }
    }
    if (!placed)
        out[n++] = nd;
    /* coalesce */
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m && mergeable(&out[m - 1], &out[i]))
            out[m - 1].number_of_pages += out[i].number_of_pages;
        else
            out[m++] = out[i];
    }
    free(fw->map);
    fw->map = out;
    fw->nmap = m;
    fw->cap = m;
    return 0;
}

/* Is [start, end) inside memory and entirely of `type`? */
static bool range_is(const struct efirt *fw, uint64_t start, uint64_t end, uint32_t type)
{
    if (start >= end || end > fw->mem_size)
        return false;
    for (size_t i = 0; i < fw->nmap; i++) {
        const struct efi_memory_descriptor *d = &fw->map[i];
        if (efirt_md_end(d) <= start || d->physical_start >= end)
            continue;
        if (d->type != type)
            return false;
    }
    return true;
}

/* Does [start, end) overlap free memory? */
static bool range_has_free(const struct efirt *fw, uint64_t start, uint64_t end)
{
    for (size_t i = 0; i < fw->nmap; i++) {
        const struct efi_memory_descriptor *d = &fw->map[i];
        if (efirt_md_end(d) > start && d->physical_start < end && d->type == EfiConventionalMemory)
            return true;
    }
    return false;
}

const struct efi_memory_descriptor *efirt_map(const struct efirt *fw, size_t *n)
{
    *n = fw->nmap;
    return fw->map;
}

int efirt_type_at(const struct efirt *fw, uint64_t addr)
{
    for (size_t i = 0; i < fw->nmap; i++)
        if (addr >= fw->map[i].physical_start && addr < efirt_md_end(&fw->map[i]))
            return (int)fw->map[i].type;
    return -1;
}

const char *efirt_error(const struct efirt *fw)
{
    return fw->error;
}

static bool boot_services_gone(struct efirt *fw, const char *call)
{
    if (!fw->at_runtime)
        return false;
    efirt_fail(
        fw, "%s: boot services are gone: ExitBootServices succeeded, only runtime services remain",
        call);
    return true;
}

/* ---- boot services ---- */
static bool allocatable_type(uint32_t type)
{
    if (type >= EFI_MEMORY_TYPE_OEM_MIN)
        return true; /* OEM and OS loader types */
    return type < EfiMaxMemoryType && type != EfiConventionalMemory &&
           type != EfiPersistentMemory && type != EfiUnacceptedMemoryType;
}

efi_status efirt_allocate_pages(struct efirt *fw, enum efi_allocate_type how, uint32_t type,
                                uint64_t pages, uint64_t *addr)
{
    if (boot_services_gone(fw, "AllocatePages"))
        return EFI_UNSUPPORTED;
    if (!allocatable_type(type)) {
        efirt_fail(fw, "AllocatePages: MemoryType %u (%s) cannot be allocated", type,
                   efi_memory_type_name(type));
        return EFI_INVALID_PARAMETER;
    }
    if (!addr || !pages || pages > fw->mem_size / EFI_PAGE_SIZE) {
        efirt_fail(fw, "AllocatePages(%s, %llu pages): %s", efi_memory_type_name(type),
                   (unsigned long long)pages, addr ? "bad page count" : "Memory is NULL");
        return addr ? EFI_OUT_OF_RESOURCES : EFI_INVALID_PARAMETER;
    }
    uint64_t len = pages * EFI_PAGE_SIZE, start = 0;
    switch (how) {
    case AllocateAddress:
        start = *addr;
        if (start % EFI_PAGE_SIZE) {
            efirt_fail(fw, "AllocatePages(%s, 0x%llx): address not 4 KiB aligned",
                       efi_memory_type_name(type), (unsigned long long)start);
            return EFI_INVALID_PARAMETER;
        }
        if (start > fw->mem_size || len > fw->mem_size - start ||
            !range_is(fw, start, start + len, EfiConventionalMemory)) {
            int t = efirt_type_at(fw, start);
            efirt_fail(
                fw, "AllocatePages(%s, 0x%llx, %llu pages): range not free (%s at 0x%llx)",
                efi_memory_type_name(type), (unsigned long long)start, (unsigned long long)pages,
                t < 0 ? "outside memory" : efi_memory_type_name(t), (unsigned long long)start);
            return EFI_NOT_FOUND;
        }
        break;
    case AllocateAnyPages:
    case AllocateMaxAddress: {
        uint64_t limit =
            how == AllocateAnyPages || *addr >= fw->mem_size ? fw->mem_size : *addr + 1;
        bool found = false;
        for (size_t i = fw->nmap; i-- > 0 && !found;) {
            const struct efi_memory_descriptor *d = &fw->map[i];
            if (d->type != EfiConventionalMemory)
                continue;
            uint64_t top = efirt_md_end(d) < limit ? efirt_md_end(d) : limit & ~(EFI_PAGE_SIZE - 1);
            uint64_t bottom = d->physical_start ? d->physical_start : EFI_PAGE_SIZE; /* not NULL */
            if (top >= bottom && top - bottom >= len) {
                start = top - len;
                found = true;
            }
        }
        if (!found) {
            efirt_fail(fw, "AllocatePages(%s, %llu pages): no free run that large",
                       efi_memory_type_name(type), (unsigned long long)pages);
            return EFI_OUT_OF_RESOURCES;
        }
        break;
    }
    default:
        efirt_fail(fw, "AllocatePages: Type %d is not an EFI_ALLOCATE_TYPE", (int)how);
        return EFI_INVALID_PARAMETER;
    }
    if (set_range(fw, start, pages, type) < 0) {
        efirt_fail(fw, "AllocatePages: out of host memory for the map");
        return EFI_OUT_OF_RESOURCES;
    }
    fw->map_key++;
    *addr = start;
    fw->error[0] = 0;
    return EFI_SUCCESS;
}

efi_status efirt_free_pages(struct efirt *fw, uint64_t addr, uint64_t pages)
{
    if (boot_services_gone(fw, "FreePages"))
        return EFI_UNSUPPORTED;
    if (addr % EFI_PAGE_SIZE || !pages) {
        efirt_fail(fw, "FreePages(0x%llx, %llu pages): not page aligned or no pages",
                   (unsigned long long)addr, (unsigned long long)pages);
        return EFI_INVALID_PARAMETER;
    }
    uint64_t len = pages * EFI_PAGE_SIZE;
    if (addr > fw->mem_size || len > fw->mem_size - addr || range_has_free(fw, addr, addr + len)) {
        efirt_fail(fw, "FreePages(0x%llx, %llu pages): not allocated by AllocatePages",
                   (unsigned long long)addr, (unsigned long long)pages);
        return EFI_NOT_FOUND;
    }
    if (set_range(fw, addr, pages, EfiConventionalMemory) < 0) {
        efirt_fail(fw, "FreePages: out of host memory for the map");
        return EFI_OUT_OF_RESOURCES;
    }
    fw->map_key++;
    fw->error[0] = 0;
    return EFI_SUCCESS;
}

efi_status efirt_get_memory_map(struct efirt *fw, uint64_t *map_size, void *buf, uint64_t *map_key,
                                uint64_t *desc_size, uint32_t *desc_version)
{
    if (boot_services_gone(fw, "GetMemoryMap"))
        return EFI_UNSUPPORTED;
    if (!map_size || !map_key || !desc_size || !desc_version) {
        efirt_fail(fw, "GetMemoryMap: a NULL output pointer");
        return EFI_INVALID_PARAMETER;
    }
    uint64_t need = fw->nmap * (uint64_t)EFIRT_DESCRIPTOR_SIZE;
    *desc_size = EFIRT_DESCRIPTOR_SIZE;
    *desc_version = EFI_MEMORY_DESCRIPTOR_VERSION;
    if (*map_size < need || !buf) {
        efirt_fail(fw, "GetMemoryMap: the buffer holds %llu bytes, the map needs %llu",
                   (unsigned long long)*map_size, (unsigned long long)need);
        *map_size = need;
        return EFI_BUFFER_TOO_SMALL;
    }
    for (size_t i = 0; i < fw->nmap; i++)
        efi_md_put(buf, i, EFIRT_DESCRIPTOR_SIZE, &fw->map[i]);
    *map_size = need;
    *map_key = fw->map_key;
    fw->error[0] = 0;
    return EFI_SUCCESS;
}

int efirt_on_before_exit_boot_services(struct efirt *fw, efirt_notify_fn fn, void *opaque)
{
    if (fw->nbefore_ebs >= EFIRT_MAX_NOTIFY || fw->ebs_called)
        return -1;
    fw->before_ebs[fw->nbefore_ebs].fn = fn;
    fw->before_ebs[fw->nbefore_ebs].opaque = opaque;
    fw->nbefore_ebs++;
    return 0;
}

void efirt_table_crc(uint8_t *hdr)
{
    put32(hdr + EFI_HDR_CRC32, 0);
    put32(hdr + EFI_HDR_CRC32, efi_table_crc32(hdr, le32(hdr + EFI_HDR_HEADER_SIZE)));
}

static void write_header(uint8_t *hdr, uint64_t signature, uint32_t size)
{
    put64(hdr + EFI_HDR_SIGNATURE, signature);
    put32(hdr + EFI_HDR_REVISION, EFI_2_100_SYSTEM_TABLE_REVISION);
    put32(hdr + EFI_HDR_HEADER_SIZE, size);
    put32(hdr + EFI_HDR_RESERVED, 0);
    efirt_table_crc(hdr);
}

efi_status efirt_exit_boot_services(struct efirt *fw, uint64_t map_key)
{
    if (boot_services_gone(fw, "ExitBootServices"))
        return EFI_UNSUPPORTED;
    if (!fw->ebs_called) {
        /* EFI_EVENT_GROUP_BEFORE_EXIT_BOOT_SERVICES: once, before the key check */
        fw->ebs_called = true;
        for (int i = 0; i < fw->nbefore_ebs; i++)
            fw->before_ebs[i].fn(fw, fw->before_ebs[i].opaque);
        fw->nbefore_ebs = 0;
    }
    if (map_key != fw->map_key) {
        efirt_fail(fw,
                   "ExitBootServices: MapKey %llu is stale, the memory map changed since (now key "
                   "%llu): GetMemoryMap again and retry",
                   (unsigned long long)map_key, (unsigned long long)fw->map_key);
        return EFI_INVALID_PARAMETER;
    }
    /* boot-services memory becomes free memory */
    for (size_t i = 0; i < fw->nmap;) {
        struct efi_memory_descriptor d = fw->map[i];
        if (d.type != EfiBootServicesCode && d.type != EfiBootServicesData) {
            i++;
            continue;
        }
        if (set_range(fw, d.physical_start, d.number_of_pages, EfiConventionalMemory) < 0) {
            efirt_fail(fw, "ExitBootServices: out of host memory for the map");
            return EFI_OUT_OF_RESOURCES;
        }
        i = 0; /* the map was rebuilt */
    }
    if (fw->systab) {
        uint8_t *st = fw->mem + fw->systab;
        for (unsigned off = EFI_ST_CONSOLE_IN_HANDLE; off <= EFI_ST_STD_ERR; off += 8)
            put64(st + off, 0);
        put64(st + EFI_ST_BOOT_SERVICES, 0);
        efirt_table_crc(st);
    }
    fw->boot_services = 0;
    fw->at_runtime = true;
    fw->error[0] = 0;
    return EFI_SUCCESS;
}

int efirt_init(struct efirt *fw, uint8_t *mem, uint64_t mem_size)
{
    memset(fw, 0, sizeof(*fw));
    fw->mem = mem;
    fw->mem_size = mem_size;
    fw->map_key = 1;
    if (!mem || mem_size % EFI_PAGE_SIZE || mem_size < 2 * EFI_PAGE_SIZE) {
        efirt_fail(fw, "firmware memory: %llu bytes is not a whole number (>= 2) of 4 KiB pages",
                   (unsigned long long)mem_size);
        return -1;
    }
    fw->map = calloc(1, sizeof(*fw->map));
    if (!fw->map) {
        efirt_fail(fw, "out of host memory for the map");
        return -1;
    }
    fw->nmap = fw->cap = 1;
    fw->map[0] = (struct efi_memory_descriptor){.type = EfiConventionalMemory,
                                                .number_of_pages = mem_size / EFI_PAGE_SIZE,
                                                .attribute = EFIRT_RAM_ATTRIBUTES};
    /* the firmware core's own page, where EDK2 keeps gBS */
    uint64_t bs = 0;
    if (efirt_allocate_pages(fw, AllocateAnyPages, EfiBootServicesCode, 1, &bs) != EFI_SUCCESS)
        return -1;
    memset(mem + bs, 0, EFI_PAGE_SIZE);
    write_header(mem + bs, EFI_BOOT_SERVICES_SIGNATURE, EFI_BOOT_SERVICES_SIZE);
    fw->boot_services = bs;
    return 0;
}

void efirt_free(struct efirt *fw)
{
    free(fw->map);
    fw->map = NULL;
    fw->nmap = fw->cap = 0;
}

efi_status efirt_install_tables(struct efirt *fw, uint64_t page,
                                const uint64_t fn[EFI_RT_NSERVICES], const char *vendor,
                                uint32_t firmware_revision)
{
    if (boot_services_gone(fw, "InstallTables"))
        return EFI_UNSUPPORTED;
    size_t vlen = vendor ? strlen(vendor) : 0;
    if (vlen > 64) {
        efirt_fail(fw, "FirmwareVendor: %zu characters, at most 64", vlen);
        return EFI_INVALID_PARAMETER;
    }
    uint64_t at = page;
    efi_status s = efirt_allocate_pages(fw, AllocateAddress, EfiRuntimeServicesData, 1, &at);
    if (s != EFI_SUCCESS) {
        char why[sizeof fw->error];
        snprintf(why, sizeof why, "%s", fw->error);
        efirt_fail(fw, "runtime services table page: %s", why);
        return s;
    }
    uint8_t *p = fw->mem + page;
    memset(p, 0, EFI_PAGE_SIZE);
    for (size_t i = 0; i <= vlen; i++) { /* UCS-2, NUL-terminated */
        p[EFIRT_VENDOR_OFFSET + 2 * i] = i < vlen ? (uint8_t)vendor[i] : 0;
        p[EFIRT_VENDOR_OFFSET + 2 * i + 1] = 0;
    }
    uint8_t *rs = p + EFIRT_RS_OFFSET;
    for (int i = 0; i < EFI_RT_NSERVICES; i++)
        put64(rs + EFI_RT_OFFSET(i), fn[i]);
    write_header(rs, EFI_RUNTIME_SERVICES_SIGNATURE, EFI_RUNTIME_SERVICES_SIZE);
    uint8_t *st = p + EFIRT_ST_OFFSET;
    put64(st + EFI_ST_FIRMWARE_VENDOR, page + EFIRT_VENDOR_OFFSET);
    put32(st + EFI_ST_FIRMWARE_REVISION, firmware_revision);
    put64(st + EFI_ST_RUNTIME_SERVICES, page + EFIRT_RS_OFFSET);
    put64(st + EFI_ST_BOOT_SERVICES, fw->boot_services);
    put64(st + EFI_ST_NUMBER_OF_TABLE_ENTRIES, 0);
    put64(st + EFI_ST_CONFIGURATION_TABLE, 0);
    write_header(st, EFI_SYSTEM_TABLE_SIGNATURE, EFI_SYSTEM_TABLE_SIZE);
    fw->systab = page + EFIRT_ST_OFFSET;
    fw->runtime_services = page + EFIRT_RS_OFFSET;
    fw->vendor = page + EFIRT_VENDOR_OFFSET;
    fw->error[0] = 0;
    return EFI_SUCCESS;
}
