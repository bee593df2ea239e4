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
#include "efirt.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

/* ---- little-endian access ---- */
static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
    return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

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

static const char *const rt_names[EFI_RT_NSERVICES] = {
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
    return i >= 0 && i < EFI_RT_NSERVICES ? rt_names[i] : "?";
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
static void fail(struct efirt *fw, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fw->error, sizeof fw->error, fmt, ap);
    va_end(ap);
}

static uint64_t md_end(const struct efi_memory_descriptor *d)
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
        uint64_t ds = d.physical_start, de = md_end(&d);
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
        if (md_end(d) <= start || d->physical_start >= end)
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
        if (md_end(d) > start && d->physical_start < end && d->type == EfiConventionalMemory)
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
        if (addr >= fw->map[i].physical_start && addr < md_end(&fw->map[i]))
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
    fail(fw, "%s: boot services are gone: ExitBootServices succeeded, only runtime services remain",
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
        fail(fw, "AllocatePages: MemoryType %u (%s) cannot be allocated", type,
             efi_memory_type_name(type));
        return EFI_INVALID_PARAMETER;
    }
    if (!addr || !pages || pages > fw->mem_size / EFI_PAGE_SIZE) {
        fail(fw, "AllocatePages(%s, %llu pages): %s", efi_memory_type_name(type),
             (unsigned long long)pages, addr ? "bad page count" : "Memory is NULL");
        return addr ? EFI_OUT_OF_RESOURCES : EFI_INVALID_PARAMETER;
    }
    uint64_t len = pages * EFI_PAGE_SIZE, start = 0;
    switch (how) {
    case AllocateAddress:
        start = *addr;
        if (start % EFI_PAGE_SIZE) {
            fail(fw, "AllocatePages(%s, 0x%llx): address not 4 KiB aligned",
                 efi_memory_type_name(type), (unsigned long long)start);
            return EFI_INVALID_PARAMETER;
        }
        if (start > fw->mem_size || len > fw->mem_size - start ||
            !range_is(fw, start, start + len, EfiConventionalMemory)) {
            int t = efirt_type_at(fw, start);
            fail(fw, "AllocatePages(%s, 0x%llx, %llu pages): range not free (%s at 0x%llx)",
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
            uint64_t top = md_end(d) < limit ? md_end(d) : limit & ~(EFI_PAGE_SIZE - 1);
            uint64_t bottom = d->physical_start ? d->physical_start : EFI_PAGE_SIZE; /* not NULL */
            if (top >= bottom && top - bottom >= len) {
                start = top - len;
                found = true;
            }
        }
        if (!found) {
            fail(fw, "AllocatePages(%s, %llu pages): no free run that large",
                 efi_memory_type_name(type), (unsigned long long)pages);
            return EFI_OUT_OF_RESOURCES;
        }
        break;
    }
    default:
        fail(fw, "AllocatePages: Type %d is not an EFI_ALLOCATE_TYPE", (int)how);
        return EFI_INVALID_PARAMETER;
    }
    if (set_range(fw, start, pages, type) < 0) {
        fail(fw, "AllocatePages: out of host memory for the map");
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
        fail(fw, "FreePages(0x%llx, %llu pages): not page aligned or no pages",
             (unsigned long long)addr, (unsigned long long)pages);
        return EFI_INVALID_PARAMETER;
    }
    uint64_t len = pages * EFI_PAGE_SIZE;
    if (addr > fw->mem_size || len > fw->mem_size - addr || range_has_free(fw, addr, addr + len)) {
        fail(fw, "FreePages(0x%llx, %llu pages): not allocated by AllocatePages",
             (unsigned long long)addr, (unsigned long long)pages);
        return EFI_NOT_FOUND;
    }
    if (set_range(fw, addr, pages, EfiConventionalMemory) < 0) {
        fail(fw, "FreePages: out of host memory for the map");
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
        fail(fw, "GetMemoryMap: a NULL output pointer");
        return EFI_INVALID_PARAMETER;
    }
    uint64_t need = fw->nmap * (uint64_t)EFIRT_DESCRIPTOR_SIZE;
    *desc_size = EFIRT_DESCRIPTOR_SIZE;
    *desc_version = EFI_MEMORY_DESCRIPTOR_VERSION;
    if (*map_size < need || !buf) {
        fail(fw, "GetMemoryMap: the buffer holds %llu bytes, the map needs %llu",
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

static void table_crc(uint8_t *hdr)
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
    table_crc(hdr);
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
        fail(fw,
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
            fail(fw, "ExitBootServices: out of host memory for the map");
            return EFI_OUT_OF_RESOURCES;
        }
        i = 0; /* the map was rebuilt */
    }
    if (fw->systab) {
        uint8_t *st = fw->mem + fw->systab;
        for (unsigned off = EFI_ST_CONSOLE_IN_HANDLE; off <= EFI_ST_STD_ERR; off += 8)
            put64(st + off, 0);
        put64(st + EFI_ST_BOOT_SERVICES, 0);
        table_crc(st);
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
        fail(fw, "firmware memory: %llu bytes is not a whole number (>= 2) of 4 KiB pages",
             (unsigned long long)mem_size);
        return -1;
    }
    fw->map = calloc(1, sizeof(*fw->map));
    if (!fw->map) {
        fail(fw, "out of host memory for the map");
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
        fail(fw, "FirmwareVendor: %zu characters, at most 64", vlen);
        return EFI_INVALID_PARAMETER;
    }
    uint64_t at = page;
    efi_status s = efirt_allocate_pages(fw, AllocateAddress, EfiRuntimeServicesData, 1, &at);
    if (s != EFI_SUCCESS) {
        char why[sizeof fw->error];
        snprintf(why, sizeof why, "%s", fw->error);
        fail(fw, "runtime services table page: %s", why);
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

/* ---- runtime: virtual memory services ---- */
efi_status efirt_convert_pointer(struct efirt *fw, uint64_t disposition, uint64_t *address)
{
    if (!fw->in_svam) {
        fail(fw, "ConvertPointer: only callable during SetVirtualAddressMap");
        return EFI_UNSUPPORTED;
    }
    if (!address) {
        fail(fw, "ConvertPointer: Address is NULL");
        return EFI_INVALID_PARAMETER;
    }
    if (!*address) {
        if (disposition & EFI_OPTIONAL_PTR)
            return EFI_SUCCESS;
        fail(fw, "ConvertPointer: *Address is NULL and EFI_OPTIONAL_PTR is not set");
        return EFI_INVALID_PARAMETER;
    }
    for (size_t i = 0; i < fw->nvmap; i++) {
        const struct efi_memory_descriptor *d = &fw->vmap[i];
        if (*address >= d->physical_start && *address < md_end(d)) {
            *address = *address - d->physical_start + d->virtual_start;
            return EFI_SUCCESS;
        }
    }
    fail(fw, "ConvertPointer: 0x%llx is not in any runtime region of the memory map",
         (unsigned long long)*address);
    return EFI_NOT_FOUND;
}

/* One pointer field to convert: where it is and what it is called. */
struct conv {
    uint8_t *at;
    const char *name;
    uint64_t disposition;
    uint64_t value;
};

efi_status efirt_set_virtual_address_map(struct efirt *fw, uint64_t map_size, uint64_t desc_size,
                                         uint32_t desc_version, const void *virtual_map)
{
    if (!fw->at_runtime) {
        fail(fw, "SetVirtualAddressMap: the firmware is not at runtime (ExitBootServices has not "
                 "succeeded)");
        return EFI_UNSUPPORTED;
    }
    if (fw->virtual_mode) {
        fail(fw, "SetVirtualAddressMap: already in virtual address mode (a virtual address map "
                 "may only be applied once)");
        return EFI_UNSUPPORTED;
    }
    if (desc_version != EFI_MEMORY_DESCRIPTOR_VERSION) {
        fail(fw, "SetVirtualAddressMap: DescriptorVersion: expected %u, found %u",
             EFI_MEMORY_DESCRIPTOR_VERSION, desc_version);
        return EFI_INVALID_PARAMETER;
    }
    if (desc_size < EFI_MEMORY_DESCRIPTOR_SIZE || desc_size % 8) {
        fail(fw,
             "SetVirtualAddressMap: DescriptorSize: expected a multiple of 8 of at least %u, "
             "found %llu",
             EFI_MEMORY_DESCRIPTOR_SIZE, (unsigned long long)desc_size);
        return EFI_INVALID_PARAMETER;
    }
    if (map_size % desc_size || (map_size && !virtual_map)) {
        fail(fw,
             "SetVirtualAddressMap: MemoryMapSize %llu is not a whole number of %llu-byte "
             "descriptors",
             (unsigned long long)map_size, (unsigned long long)desc_size);
        return EFI_INVALID_PARAMETER;
    }
    size_t n = map_size / desc_size, nv = 0;
    struct efi_memory_descriptor *v = calloc(n ? n : 1, sizeof(*v));
    struct conv c[3 + EFI_RT_NSERVICES];
    int nc = 0;
    uint8_t *st = fw->systab ? fw->mem + fw->systab : NULL;
    uint8_t *rs = fw->runtime_services ? fw->mem + fw->runtime_services : NULL;
    efi_status s = EFI_SUCCESS;
    if (!v) {
        fail(fw, "SetVirtualAddressMap: out of host memory");
        return EFI_OUT_OF_RESOURCES;
    }
    for (size_t i = 0; i < n; i++) {
        struct efi_memory_descriptor d;
        efi_md_get(virtual_map, i, desc_size, &d);
        if (!(d.attribute & EFI_MEMORY_RUNTIME))
            continue; /* not a runtime region: nothing to map */
        if (d.virtual_start % EFI_PAGE_SIZE) {
            fail(fw,
                 "SetVirtualAddressMap: descriptor %zu: VirtualStart 0x%llx is not 4 KiB "
                 "aligned",
                 i, (unsigned long long)d.virtual_start);
            s = EFI_INVALID_PARAMETER;
            goto out;
        }
        bool known = false;
        for (size_t j = 0; j < fw->nmap && !known; j++)
            known = (fw->map[j].attribute & EFI_MEMORY_RUNTIME) &&
                    fw->map[j].physical_start == d.physical_start &&
                    fw->map[j].number_of_pages == d.number_of_pages;
        if (!known) {
            fail(fw,
                 "SetVirtualAddressMap: descriptor %zu: a virtual address was supplied for "
                 "0x%llx-0x%llx, which is not a runtime region of the memory map",
                 i, (unsigned long long)d.physical_start, (unsigned long long)(md_end(&d) - 1));
            s = EFI_NOT_FOUND;
            goto out;
        }
        v[nv++] = d;
    }
    for (size_t j = 0; j < fw->nmap; j++) {
        const struct efi_memory_descriptor *r = &fw->map[j];
        if (!(r->attribute & EFI_MEMORY_RUNTIME))
            continue;
        bool mapped = false;
        for (size_t i = 0; i < nv && !mapped; i++)
            mapped = v[i].physical_start == r->physical_start;
        if (!mapped) {
            fail(fw,
                 "SetVirtualAddressMap: no virtual address was supplied for the runtime region "
                 "0x%llx-0x%llx (%s)",
                 (unsigned long long)r->physical_start, (unsigned long long)(md_end(r) - 1),
                 efi_memory_type_name(r->type));
            s = EFI_NO_MAPPING;
            goto out;
        }
    }
    /* convert every pointer first, write nothing unless all convert */
    if (st) {
        c[nc++] = (struct conv){st + EFI_ST_FIRMWARE_VENDOR, "FirmwareVendor", EFI_OPTIONAL_PTR, 0};
        c[nc++] = (struct conv){st + EFI_ST_RUNTIME_SERVICES, "RuntimeServices", 0, 0};
        c[nc++] = (struct conv){st + EFI_ST_CONFIGURATION_TABLE, "ConfigurationTable",
                                EFI_OPTIONAL_PTR, 0};
    }
    for (int i = 0; rs && i < EFI_RT_NSERVICES; i++)
        if (i != EFI_RT_SET_VIRTUAL_ADDRESS_MAP && i != EFI_RT_CONVERT_POINTER)
            c[nc++] = (struct conv){rs + EFI_RT_OFFSET(i), rt_names[i], 0, 0};
    fw->in_svam = true;
    fw->vmap = v;
    fw->nvmap = nv;
    for (int i = 0; i < nc; i++) {
        c[i].value = le64(c[i].at);
        uint64_t was = c[i].value;
        s = efirt_convert_pointer(fw, c[i].disposition, &c[i].value);
        if (s != EFI_SUCCESS) {
            fail(fw,
                 "SetVirtualAddressMap: ConvertPointer(%s = 0x%llx): not in any runtime "
                 "region",
                 c[i].name, (unsigned long long)was);
            goto out;
        }
    }
    for (int i = 0; i < nc; i++)
        put64(c[i].at, c[i].value);
    if (rs)
        table_crc(rs);
    if (st)
        table_crc(st);
    for (size_t j = 0; j < fw->nmap; j++)
        for (size_t i = 0; i < nv; i++)
            if ((fw->map[j].attribute & EFI_MEMORY_RUNTIME) &&
                v[i].physical_start == fw->map[j].physical_start)
                fw->map[j].virtual_start = v[i].virtual_start;
    fw->virtual_mode = true;
    fw->error[0] = 0;
out:
    fw->in_svam = false;
    fw->vmap = NULL;
    fw->nvmap = 0;
    free(v);
    return s;
}

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
                     (unsigned long long)rs_pa, rt_names[i], (unsigned long long)f,
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
