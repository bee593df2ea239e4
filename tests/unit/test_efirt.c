/*
 * Unit tests for the UEFI hand-off model (firmware-model/efirt.c): the
 * memory map and its key, the EFI_SYSTEM_TABLE / EFI_RUNTIME_SERVICES
 * layout and CRC32s, the hypervisor's table check (one corrupted byte per
 * header field, each with its exact reason), ExitBootServices with a stale
 * key and the loader's retry, boot services refused afterwards, and
 * SetVirtualAddressMap's status codes and pointer conversion (identity and
 * a non-identity map). The last test looks at the EFI_UNSUPPORTED stub the
 * guest runtime links into every image (workloads/lib/efi_rt.c).
 *
 * The fixture is a 4 MiB "physical memory" with a fake runtime image:
 * 8 pages of EfiRuntimeServicesCode at 0x100000 and 2 pages of
 * EfiRuntimeServicesData at 0x108000, the tables in the page below
 * (0xff000), service i at 0x100000 + 0x40 * i.
 */
#include <check.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "efirt.h"

#define MEM_SIZE (4ull << 20)
#define CODE 0x100000ull
#define CODE_PAGES 8
#define DATA 0x108000ull
#define DATA_PAGES 2
#define TABLES 0xff000ull
#define ST (TABLES + EFIRT_ST_OFFSET)
#define RS (TABLES + EFIRT_RS_OFFSET)
#define KNOWN_RS_CRC32 0x9500b4e8u /* the fixture's table, by a bitwise CRC-32 (not zlib) */

static uint8_t *mem;
static struct efirt fw;
static uint64_t fn[EFI_RT_NSERVICES];
static char why[512], want[512];

static uint64_t rd64(uint64_t pa)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | mem[pa + (uint64_t)i];
    return v;
}

static uint32_t rd32(uint64_t pa)
{
    return (uint32_t)mem[pa] | (uint32_t)mem[pa + 1] << 8 | (uint32_t)mem[pa + 2] << 16 |
           (uint32_t)mem[pa + 3] << 24;
}

static void setup(void)
{
    mem = calloc(1, MEM_SIZE);
    ck_assert_ptr_nonnull(mem);
    ck_assert_int_eq(efirt_init(&fw, mem, MEM_SIZE), 0);
    uint64_t a = CODE;
    ck_assert_uint_eq(
        efirt_allocate_pages(&fw, AllocateAddress, EfiRuntimeServicesCode, CODE_PAGES, &a),
        EFI_SUCCESS);
    a = DATA;
    ck_assert_uint_eq(
        efirt_allocate_pages(&fw, AllocateAddress, EfiRuntimeServicesData, DATA_PAGES, &a),
        EFI_SUCCESS);
    for (int i = 0; i < EFI_RT_NSERVICES; i++)
        fn[i] = CODE + 0x40ull * (uint64_t)i;
    ck_assert_uint_eq(efirt_install_tables(&fw, TABLES, fn, "hopsim", 0x10000), EFI_SUCCESS);
}

static void teardown(void)
{
    efirt_free(&fw);
    free(mem);
}

/* The firmware's own map (physical mode check). */
static int check_phys(void)
{
    size_t n;
    const struct efi_memory_descriptor *m = efirt_map(&fw, &n);
    struct efirt_tables t;
    return efirt_check_tables(mem, MEM_SIZE, ST, m, n, false, &t, why, sizeof why);
}

/* GetMemoryMap into a fresh buffer; returns the key, *n descriptors in *out (malloc'd). */
static uint64_t get_map(struct efi_memory_descriptor **out, size_t *n)
{
    uint64_t size = 0, key = 0, dsize = 0;
    uint32_t dver = 0;
    ck_assert_uint_eq(efirt_get_memory_map(&fw, &size, NULL, &key, &dsize, &dver),
                      EFI_BUFFER_TOO_SMALL);
    uint8_t *buf = malloc(size);
    ck_assert_uint_eq(efirt_get_memory_map(&fw, &size, buf, &key, &dsize, &dver), EFI_SUCCESS);
    ck_assert_uint_eq(dsize, 48);
    ck_assert_uint_eq(dver, 1);
    *n = size / dsize;
    *out = calloc(*n, sizeof(**out));
    for (size_t i = 0; i < *n; i++)
        efi_md_get(buf, i, dsize, &(*out)[i]);
    free(buf);
    return key;
}

static void exit_boot_services(void)
{
    struct efi_memory_descriptor *m;
    size_t n;
    uint64_t key = get_map(&m, &n);
    free(m);
    ck_assert_uint_eq(efirt_exit_boot_services(&fw, key), EFI_SUCCESS);
}

/* The runtime descriptors at offset `off` (VirtualStart = PhysicalStart + off), stride 48. */
static size_t runtime_vmap(uint8_t *buf, struct efi_memory_descriptor *rt, uint64_t off)
{
    size_t n, k = 0;
    const struct efi_memory_descriptor *m = efirt_map(&fw, &n);
    for (size_t i = 0; i < n; i++) {
        if (!(m[i].attribute & EFI_MEMORY_RUNTIME))
            continue;
        struct efi_memory_descriptor d = m[i];
        d.virtual_start = d.physical_start + off;
        efi_md_put(buf, k, EFIRT_DESCRIPTOR_SIZE, &d);
        if (rt)
            rt[k] = d;
        k++;
    }
    return k;
}

START_TEST(runtime_services_table_layout_and_crc32)
{
    ck_assert_uint_eq(rd64(ST + EFI_ST_RUNTIME_SERVICES), RS);
    ck_assert_uint_eq(rd64(RS), EFI_RUNTIME_SERVICES_SIGNATURE);
    ck_assert_int_eq(memcmp(mem + RS, "RUNTSERV", 8), 0);
    ck_assert_uint_eq(rd32(RS + EFI_HDR_REVISION), (2u << 16) | 100u);
    ck_assert_uint_eq(rd32(RS + EFI_HDR_HEADER_SIZE), 136);
    ck_assert_uint_eq(rd32(RS + EFI_HDR_RESERVED), 0);
    for (int i = 0; i < EFI_RT_NSERVICES; i++)
        ck_assert_uint_eq(rd64(RS + 24 + 8 * (uint64_t)i), fn[i]);
    /* CRC32 = zlib's crc32 over HeaderSize bytes with the CRC32 field zero */
    uint8_t copy[136];
    memcpy(copy, mem + RS, sizeof copy);
    memset(copy + 16, 0, 4);
    uint32_t z = (uint32_t)crc32(crc32(0L, Z_NULL, 0), copy, sizeof copy);
    ck_assert_uint_eq(rd32(RS + EFI_HDR_CRC32), z);
    ck_assert_uint_eq(z, KNOWN_RS_CRC32);
    ck_assert_uint_eq(efi_table_crc32(mem + RS, 136), KNOWN_RS_CRC32);
    /* the system table: "IBI SYST", 120 bytes, vendor string, boot services, its own CRC */
    ck_assert_int_eq(memcmp(mem + ST, "IBI SYST", 8), 0);
    ck_assert_uint_eq(rd32(ST + EFI_HDR_HEADER_SIZE), 120);
    ck_assert_uint_eq(rd64(ST + EFI_ST_BOOT_SERVICES), fw.boot_services);
    ck_assert_int_eq(memcmp(mem + rd64(ST + EFI_ST_FIRMWARE_VENDOR), "h\0o\0p\0s\0i\0m\0\0", 14),
                     0);
    ck_assert_uint_eq(rd32(ST + EFI_ST_FIRMWARE_REVISION), 0x10000);
    memcpy(copy, mem + ST, 120);
    memset(copy + 16, 0, 4);
    ck_assert_uint_eq(rd32(ST + EFI_HDR_CRC32), (uint32_t)crc32(0L, copy, 120));
    ck_assert_int_eq(memcmp(mem + fw.boot_services, "BOOTSERV", 8), 0);
    ck_assert_int_eq(check_phys(), 0);
}
END_TEST

/* Corrupt byte `off` of the table at `table` (xor), expect `reason`, restore. */
static void corrupt(uint64_t table, unsigned off, uint8_t x, const char *reason)
{
    mem[table + off] ^= x;
    ck_assert_int_eq(check_phys(), -1);
    ck_assert_str_eq(why, reason);
    mem[table + off] ^= x;
    ck_assert_int_eq(check_phys(), 0);
}

START_TEST(header_corruption_detected_with_its_reason)
{
    uint32_t crc = rd32(RS + EFI_HDR_CRC32);
    corrupt(RS, 0, 0x01,
            "EFI_RUNTIME_SERVICES at 0xff080: Signature: expected 0x56524553544e5552 "
            "\"RUNTSERV\", found 0x56524553544e5553 \"SUNTSERV\"");
    corrupt(RS, 7, 0x20,
            "EFI_RUNTIME_SERVICES at 0xff080: Signature: expected 0x56524553544e5552 "
            "\"RUNTSERV\", found 0x76524553544e5552 \"RUNTSERv\"");
    /* Revision: the major version's low byte 2 -> 1 */
    corrupt(RS, EFI_HDR_REVISION + 2, 0x03,
            "EFI_RUNTIME_SERVICES at 0xff080: Revision: expected major version >= 2, found "
            "0x00010064 (1.100)");
    /* a minor-version byte is only caught by the CRC */
    mem[RS + EFI_HDR_REVISION] ^= 1;
    uint32_t w = efi_table_crc32(mem + RS, 136);
    mem[RS + EFI_HDR_REVISION] ^= 1;
    snprintf(want, sizeof want,
             "EFI_RUNTIME_SERVICES at 0xff080: CRC32: expected 0x%08x (over the 136-byte table "
             "with the field zero), found 0x%08x",
             w, crc);
    corrupt(RS, EFI_HDR_REVISION, 0x01, want);
    corrupt(RS, EFI_HDR_HEADER_SIZE, 0x08,
            "EFI_RUNTIME_SERVICES at 0xff080: HeaderSize: expected 136 (the whole 2.x table), "
            "found 128");
    corrupt(RS, EFI_HDR_HEADER_SIZE + 1, 0x01,
            "EFI_RUNTIME_SERVICES at 0xff080: HeaderSize: expected 136 (the whole 2.x table), "
            "found 392");
    snprintf(want, sizeof want,
             "EFI_RUNTIME_SERVICES at 0xff080: CRC32: expected 0x%08x (over the 136-byte table "
             "with the field zero), found 0x%08x",
             crc, crc ^ 0x00800000u);
    corrupt(RS, EFI_HDR_CRC32 + 2, 0x80, want);
    corrupt(RS, EFI_HDR_RESERVED + 3, 0x40,
            "EFI_RUNTIME_SERVICES at 0xff080: Reserved: expected 0, found 0x40000000");
    /* a service pointer (inside the CRC, still in runtime code): the CRC catches it */
    mem[RS + EFI_RT_OFFSET(EFI_RT_GET_VARIABLE)] ^= 0x08;
    snprintf(want, sizeof want,
             "EFI_RUNTIME_SERVICES at 0xff080: CRC32: expected 0x%08x (over the 136-byte table "
             "with the field zero), found 0x%08x",
             efi_table_crc32(mem + RS, 136), crc);
    mem[RS + EFI_RT_OFFSET(EFI_RT_GET_VARIABLE)] ^= 0x08;
    corrupt(RS, EFI_RT_OFFSET(EFI_RT_GET_VARIABLE), 0x08, want);
    /* the system table is checked first, the same way */
    corrupt(ST, 0, 0x02,
            "EFI_SYSTEM_TABLE at 0xff000: Signature: expected 0x5453595320494249 \"IBI SYST\", "
            "found 0x545359532049424b \"KBI SYST\"");
    corrupt(ST, EFI_HDR_HEADER_SIZE, 0x01,
            "EFI_SYSTEM_TABLE at 0xff000: HeaderSize: expected 120 (the whole 2.x table), found "
            "121");
}
END_TEST

START_TEST(check_rejects_pointers_outside_runtime_memory)
{
    /* a service pointer into runtime data (CRC fixed up: only the region check can tell) */
    uint64_t p = DATA + 0x10;
    for (int i = 0; i < 8; i++)
        mem[RS + EFI_RT_OFFSET(EFI_RT_SET_WAKEUP_TIME) + (unsigned)i] = (uint8_t)(p >> (8 * i));
    uint32_t c = efi_table_crc32(mem + RS, 136);
    for (int i = 0; i < 4; i++)
        mem[RS + EFI_HDR_CRC32 + (unsigned)i] = (uint8_t)(c >> (8 * i));
    ck_assert_int_eq(check_phys(), -1);
    ck_assert_str_eq(why, "EFI_RUNTIME_SERVICES at 0xff080: SetWakeupTime 0x108010 is in "
                          "EfiRuntimeServicesData memory, expected EfiRuntimeServicesCode");
    /* the system table's RuntimeServices pointing at conventional memory */
    struct efirt_tables t;
    size_t n;
    const struct efi_memory_descriptor *m = efirt_map(&fw, &n);
    ck_assert_int_eq(efirt_check_tables(mem, MEM_SIZE, CODE, m, n, false, &t, why, sizeof why), -1);
    ck_assert_str_eq(why, "EFI_SYSTEM_TABLE at 0x100000: in EfiRuntimeServicesCode memory, "
                          "expected EfiRuntimeServicesData");
}
END_TEST

START_TEST(memory_map_types_and_attributes)
{
    struct efi_memory_descriptor *m;
    size_t n;
    uint64_t size = 1, key, dsize;
    uint32_t dver;
    uint8_t small[48];
    ck_assert_uint_eq(efirt_get_memory_map(&fw, &size, small, &key, &dsize, &dver),
                      EFI_BUFFER_TOO_SMALL);
    ck_assert_uint_eq(dsize, 48);
    ck_assert_uint_eq(sizeof(struct efi_memory_descriptor), 40);
    get_map(&m, &n);
    ck_assert_uint_eq(size, n * 48);
    /* sorted, no gaps, covers memory */
    uint64_t at = 0;
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_eq(m[i].physical_start, at);
        ck_assert_uint_eq(m[i].virtual_start, 0);
        at += m[i].number_of_pages * EFI_PAGE_SIZE;
    }
    ck_assert_uint_eq(at, MEM_SIZE);
    /* [0, tables) free; tables RT data; image code; image data; free; BS code page at the top */
    ck_assert_uint_eq(n, 6);
    uint32_t types[6] = {EfiConventionalMemory,  EfiRuntimeServicesData, EfiRuntimeServicesCode,
                         EfiRuntimeServicesData, EfiConventionalMemory,  EfiBootServicesCode};
    uint64_t starts[6] = {
        0, TABLES, CODE, DATA, DATA + DATA_PAGES * EFI_PAGE_SIZE, MEM_SIZE - EFI_PAGE_SIZE};
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_eq(m[i].type, types[i]);
        ck_assert_uint_eq(m[i].physical_start, starts[i]);
        bool rt = types[i] == EfiRuntimeServicesCode || types[i] == EfiRuntimeServicesData;
        ck_assert_uint_eq(m[i].attribute, EFI_MEMORY_UC | EFI_MEMORY_WC | EFI_MEMORY_WT |
                                              EFI_MEMORY_WB | (rt ? EFI_MEMORY_RUNTIME : 0));
    }
    ck_assert_uint_eq(m[2].number_of_pages, CODE_PAGES);
    ck_assert_uint_eq(m[3].number_of_pages, DATA_PAGES);
    ck_assert_uint_eq(EFI_MEMORY_RUNTIME, 0x8000000000000000ull);
    ck_assert_str_eq(efi_memory_type_name(m[2].type), "EfiRuntimeServicesCode");
    ck_assert_int_eq(efirt_type_at(&fw, CODE + 0x7fff), EfiRuntimeServicesCode);
    ck_assert_int_eq(efirt_type_at(&fw, MEM_SIZE), -1);
    free(m);
}
END_TEST

START_TEST(map_key_changes_at_every_allocation_and_free)
{
    struct efi_memory_descriptor *m;
    size_t n;
    uint64_t k0 = get_map(&m, &n), a = 0;
    free(m);
    ck_assert_uint_eq(efirt_allocate_pages(&fw, AllocateAnyPages, EfiBootServicesData, 3, &a),
                      EFI_SUCCESS);
    ck_assert_uint_eq(a, MEM_SIZE - 4 * EFI_PAGE_SIZE); /* top down, below the BS code page */
    uint64_t k1 = get_map(&m, &n);
    free(m);
    ck_assert_uint_ne(k1, k0);
    ck_assert_uint_eq(efirt_free_pages(&fw, a, 3), EFI_SUCCESS);
    uint64_t k2 = get_map(&m, &n);
    free(m);
    ck_assert_uint_ne(k2, k1);
    ck_assert_uint_ne(k2, k0);
    /* failed calls change nothing */
    ck_assert_uint_eq(efirt_free_pages(&fw, a, 3), EFI_NOT_FOUND);
    uint64_t b = CODE;
    ck_assert_uint_eq(efirt_allocate_pages(&fw, AllocateAddress, EfiLoaderData, 1, &b),
                      EFI_NOT_FOUND);
    ck_assert_str_eq(efirt_error(&fw), "AllocatePages(EfiLoaderData, 0x100000, 1 pages): range "
                                       "not free (EfiRuntimeServicesCode at 0x100000)");
    ck_assert_uint_eq(get_map(&m, &n), k2);
    free(m);
    /* other errors */
    ck_assert_uint_eq(efirt_allocate_pages(&fw, AllocateAnyPages, EfiConventionalMemory, 1, &b),
                      EFI_INVALID_PARAMETER);
    ck_assert_uint_eq(efirt_allocate_pages(&fw, AllocateAnyPages, EfiLoaderData, 2000, &b),
                      EFI_OUT_OF_RESOURCES);
    b = 0x80000 - 1;
    ck_assert_uint_eq(efirt_allocate_pages(&fw, AllocateMaxAddress, EfiLoaderData, 2, &b),
                      EFI_SUCCESS);
    ck_assert_uint_eq(b, 0x80000 - 2 * EFI_PAGE_SIZE);
}
END_TEST

START_TEST(exit_boot_services_stale_key_then_retry)
{
    struct efi_memory_descriptor *m;
    size_t n;
    uint64_t stale = get_map(&m, &n), a = 0;
    free(m);
    /* the map changes after the loader read it */
    ck_assert_uint_eq(efirt_allocate_pages(&fw, AllocateAnyPages, EfiBootServicesData, 1, &a),
                      EFI_SUCCESS);
    ck_assert_uint_eq(efirt_exit_boot_services(&fw, stale), EFI_INVALID_PARAMETER);
    snprintf(want, sizeof want,
             "ExitBootServices: MapKey %llu is stale, the memory map changed since (now key "
             "%llu): GetMemoryMap again and retry",
             (unsigned long long)stale, (unsigned long long)stale + 1);
    ck_assert_str_eq(efirt_error(&fw), want);
    ck_assert(!fw.at_runtime);
    /* GetMemoryMap again, then it succeeds */
    uint64_t key = get_map(&m, &n);
    free(m);
    ck_assert_uint_eq(efirt_exit_boot_services(&fw, key), EFI_SUCCESS);
    ck_assert(fw.at_runtime);
    /* boot-services memory is now free; runtime regions untouched */
    const struct efi_memory_descriptor *mm = efirt_map(&fw, &n);
    for (size_t i = 0; i < n; i++)
        ck_assert(mm[i].type != EfiBootServicesCode && mm[i].type != EfiBootServicesData);
    ck_assert_int_eq(efirt_type_at(&fw, MEM_SIZE - 1), EfiConventionalMemory);
    ck_assert_int_eq(efirt_type_at(&fw, a), EfiConventionalMemory);
    ck_assert_uint_eq(n, 5); /* the top free run coalesced */
    ck_assert_int_eq(efirt_type_at(&fw, CODE), EfiRuntimeServicesCode);
    /* the system table lost BootServices, with a new valid CRC; the runtime table is intact */
    ck_assert_uint_eq(rd64(ST + EFI_ST_BOOT_SERVICES), 0);
    ck_assert_int_eq(check_phys(), 0);
}
END_TEST

static int notified;
static uint64_t notify_page;
static void before_ebs(struct efirt *f, void *opaque)
{
    (void)opaque;
    notified++;
    ck_assert_uint_eq(efirt_free_pages(f, notify_page, 1), EFI_SUCCESS);
}

START_TEST(before_exit_boot_services_notification_makes_the_key_stale_once)
{
    notified = 0;
    ck_assert_uint_eq(
        efirt_allocate_pages(&fw, AllocateAnyPages, EfiBootServicesData, 1, &notify_page),
        EFI_SUCCESS);
    ck_assert_int_eq(efirt_on_before_exit_boot_services(&fw, before_ebs, NULL), 0);
    struct efi_memory_descriptor *m;
    size_t n;
    uint64_t key = get_map(&m, &n);
    free(m);
    ck_assert_uint_eq(efirt_exit_boot_services(&fw, key), EFI_INVALID_PARAMETER);
    ck_assert_int_eq(notified, 1);
    key = get_map(&m, &n);
    free(m);
    ck_assert_uint_eq(efirt_exit_boot_services(&fw, key), EFI_SUCCESS);
    ck_assert_int_eq(notified, 1); /* the group is signalled once */
}
END_TEST

START_TEST(boot_services_refused_after_exit)
{
    uint8_t before[136];
    memcpy(before, mem + RS, sizeof before);
    exit_boot_services();
    uint64_t a = 0, size = 4096, key, dsize;
    uint32_t dver;
    uint8_t buf[4096];
    ck_assert_uint_eq(efirt_allocate_pages(&fw, AllocateAnyPages, EfiLoaderData, 1, &a),
                      EFI_UNSUPPORTED);
    ck_assert_str_eq(efirt_error(&fw), "AllocatePages: boot services are gone: ExitBootServices "
                                       "succeeded, only runtime services remain");
    ck_assert_uint_eq(efirt_free_pages(&fw, CODE, 1), EFI_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(efirt_error(&fw), "FreePages: boot services are gone"));
    ck_assert_uint_eq(efirt_get_memory_map(&fw, &size, buf, &key, &dsize, &dver), EFI_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(efirt_error(&fw), "GetMemoryMap: boot services are gone"));
    ck_assert_uint_eq(efirt_exit_boot_services(&fw, fw.map_key), EFI_UNSUPPORTED);
    ck_assert_uint_eq(efirt_install_tables(&fw, 0x80000, fn, "x", 0), EFI_UNSUPPORTED);
    /* the runtime table stays */
    ck_assert_int_eq(memcmp(before, mem + RS, sizeof before), 0);
    ck_assert_int_eq(check_phys(), 0);
}
END_TEST

START_TEST(set_virtual_address_map_status_codes)
{
    uint8_t vbuf[16 * 48];
    struct efi_memory_descriptor rt[16];
    size_t k = runtime_vmap(vbuf, rt, 0);
    ck_assert_uint_eq(k, 3);
    /* before ExitBootServices */
    ck_assert_uint_eq(efirt_set_virtual_address_map(&fw, k * 48, 48, 1, vbuf), EFI_UNSUPPORTED);
    ck_assert_str_eq(efirt_error(&fw), "SetVirtualAddressMap: the firmware is not at runtime "
                                       "(ExitBootServices has not succeeded)");
    exit_boot_services();
    /* bad DescriptorVersion / DescriptorSize / alignment */
    ck_assert_uint_eq(efirt_set_virtual_address_map(&fw, k * 48, 48, 2, vbuf),
                      EFI_INVALID_PARAMETER);
    ck_assert_uint_eq(efirt_set_virtual_address_map(&fw, k * 32, 32, 1, vbuf),
                      EFI_INVALID_PARAMETER);
    ck_assert_uint_eq(efirt_set_virtual_address_map(&fw, k * 48 + 8, 48, 1, vbuf),
                      EFI_INVALID_PARAMETER);
    struct efi_memory_descriptor d = rt[1];
    d.virtual_start += 0x800;
    efi_md_put(vbuf, 1, 48, &d);
    ck_assert_uint_eq(efirt_set_virtual_address_map(&fw, k * 48, 48, 1, vbuf),
                      EFI_INVALID_PARAMETER);
    efi_md_put(vbuf, 1, 48, &rt[1]);
    /* a runtime region left out: EFI_NO_MAPPING (UEFI 2.10 §8.4.1) */
    ck_assert_uint_eq(efirt_set_virtual_address_map(&fw, (k - 1) * 48, 48, 1, vbuf),
                      EFI_NO_MAPPING);
    ck_assert_str_eq(efirt_error(&fw), "SetVirtualAddressMap: no virtual address was supplied "
                                       "for the runtime region 0x108000-0x109fff "
                                       "(EfiRuntimeServicesData)");
    /* a mapping for something that is not a runtime region: EFI_NOT_FOUND */
    d = (struct efi_memory_descriptor){.type = EfiRuntimeServicesData,
                                       .physical_start = 0x200000,
                                       .virtual_start = 0x200000,
                                       .number_of_pages = 1,
                                       .attribute = EFI_MEMORY_RUNTIME};
    efi_md_put(vbuf, k, 48, &d);
    ck_assert_uint_eq(efirt_set_virtual_address_map(&fw, (k + 1) * 48, 48, 1, vbuf), EFI_NOT_FOUND);
    /* descriptors without EFI_MEMORY_RUNTIME are ignored */
    d.attribute = EFI_MEMORY_WB;
    efi_md_put(vbuf, k, 48, &d);
    ck_assert(!fw.virtual_mode);
    ck_assert_uint_eq(efirt_set_virtual_address_map(&fw, (k + 1) * 48, 48, 1, vbuf), EFI_SUCCESS);
    ck_assert(fw.virtual_mode);
    /* once only */
    ck_assert_uint_eq(efirt_set_virtual_address_map(&fw, k * 48, 48, 1, vbuf), EFI_UNSUPPORTED);
    ck_assert_str_eq(efirt_error(&fw), "SetVirtualAddressMap: already in virtual address mode (a "
                                       "virtual address map may only be applied once)");
    /* 1:1: every pointer the same, the tables still check out */
    for (int i = 0; i < EFI_RT_NSERVICES; i++)
        ck_assert_uint_eq(rd64(RS + EFI_RT_OFFSET(i)), fn[i]);
    struct efirt_tables t;
    ck_assert_int_eq(efirt_check_tables(mem, MEM_SIZE, ST, rt, k, true, &t, why, sizeof why), 0);
    ck_assert_uint_eq(t.rs_crc32, KNOWN_RS_CRC32);
}
END_TEST

START_TEST(non_identity_map_converts_every_pointer)
{
    const uint64_t off = 0xffffffff00000000ull; /* runtime regions moved to the top 4 GiB */
    uint8_t vbuf[16 * 48];
    struct efi_memory_descriptor rt[16];
    exit_boot_services();
    uint32_t st_crc = rd32(ST + EFI_HDR_CRC32), rs_crc = rd32(RS + EFI_HDR_CRC32);
    uint64_t vendor = rd64(ST + EFI_ST_FIRMWARE_VENDOR);
    size_t k = runtime_vmap(vbuf, rt, off);
    ck_assert_uint_eq(efirt_set_virtual_address_map(&fw, k * 48, 48, 1, vbuf), EFI_SUCCESS);
    for (int i = 0; i < EFI_RT_NSERVICES; i++) {
        bool phys = i == EFI_RT_SET_VIRTUAL_ADDRESS_MAP || i == EFI_RT_CONVERT_POINTER;
        ck_assert_uint_eq(rd64(RS + EFI_RT_OFFSET(i)), phys ? fn[i] : fn[i] + off);
    }
    ck_assert_uint_eq(rd64(ST + EFI_ST_RUNTIME_SERVICES), RS + off);
    ck_assert_uint_eq(rd64(ST + EFI_ST_FIRMWARE_VENDOR), vendor + off);
    ck_assert_uint_eq(rd64(ST + EFI_ST_CONFIGURATION_TABLE), 0); /* NULL stays NULL */
    /* both CRCs recomputed over the converted tables */
    ck_assert_uint_ne(rd32(RS + EFI_HDR_CRC32), rs_crc);
    ck_assert_uint_eq(rd32(RS + EFI_HDR_CRC32), efi_table_crc32(mem + RS, 136));
    ck_assert_uint_ne(rd32(ST + EFI_HDR_CRC32), st_crc);
    ck_assert_uint_eq(rd32(ST + EFI_HDR_CRC32), efi_table_crc32(mem + ST, 120));
    /* the firmware's map carries the virtual addresses */
    size_t n;
    const struct efi_memory_descriptor *m = efirt_map(&fw, &n);
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(m[i].virtual_start,
                          (m[i].attribute & EFI_MEMORY_RUNTIME) ? m[i].physical_start + off : 0);
    /* the check follows the virtual pointers through the map; read as physical they fail */
    struct efirt_tables t;
    ck_assert_int_eq(efirt_check_tables(mem, MEM_SIZE, ST, rt, k, true, &t, why, sizeof why), 0);
    ck_assert_uint_eq(t.runtime_services, RS);
    ck_assert_uint_eq(t.fn[EFI_RT_GET_TIME], fn[EFI_RT_GET_TIME] + off);
    ck_assert_int_eq(check_phys(), -1);
    ck_assert_str_eq(why, "EFI_SYSTEM_TABLE at 0xff000: RuntimeServices 0xffffffff000ff080 is "
                          "outside the memory map, expected EfiRuntimeServicesData");
}
END_TEST

START_TEST(set_virtual_address_map_is_atomic)
{
    /* a service pointer outside runtime memory: ConvertPointer fails, nothing changes */
    teardown();
    mem = calloc(1, MEM_SIZE);
    ck_assert_int_eq(efirt_init(&fw, mem, MEM_SIZE), 0);
    uint64_t a = CODE;
    ck_assert_uint_eq(
        efirt_allocate_pages(&fw, AllocateAddress, EfiRuntimeServicesCode, CODE_PAGES, &a),
        EFI_SUCCESS);
    fn[EFI_RT_RESET_SYSTEM] = 0x300000;
    ck_assert_uint_eq(efirt_install_tables(&fw, TABLES, fn, "hopsim", 1), EFI_SUCCESS);
    exit_boot_services();
    uint8_t before[0x200], vbuf[8 * 48];
    memcpy(before, mem + TABLES, sizeof before);
    size_t k = runtime_vmap(vbuf, NULL, 0x40000000);
    ck_assert_uint_eq(efirt_set_virtual_address_map(&fw, k * 48, 48, 1, vbuf), EFI_NOT_FOUND);
    ck_assert_str_eq(efirt_error(&fw), "SetVirtualAddressMap: ConvertPointer(ResetSystem = "
                                       "0x300000): not in any runtime region");
    ck_assert_int_eq(memcmp(before, mem + TABLES, sizeof before), 0);
    ck_assert(!fw.virtual_mode);
}
END_TEST

START_TEST(convert_pointer_only_during_set_virtual_address_map)
{
    uint64_t p = CODE;
    ck_assert_uint_eq(efirt_convert_pointer(&fw, 0, &p), EFI_UNSUPPORTED);
    ck_assert_uint_eq(p, CODE);
    ck_assert_str_eq(efi_status_name(EFI_NO_MAPPING), "EFI_NO_MAPPING");
    ck_assert_uint_eq(EFI_UNSUPPORTED, 0x8000000000000003ull);
    ck_assert_str_eq(efi_rt_service_name(EFI_RT_QUERY_VARIABLE_INFO), "QueryVariableInfo");
    ck_assert_str_eq(efi_rt_service_symbol(EFI_RT_GET_TIME), "efi_rt_get_time");
}
END_TEST

/* The stub every guest image carries: movabs $0x8000000000000003, %rax; ret */
START_TEST(guest_images_carry_the_unsupported_stub)
{
    const char *path = HOPSIM_BUILD_DIR "/guest/pingpong.elf";
    int fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    elf_version(EV_CURRENT);
    Elf *e = elf_begin(fd, ELF_C_READ, NULL);
    ck_assert_ptr_nonnull(e);
    uint64_t addr = 0;
    Elf_Scn *scn = NULL;
    GElf_Shdr sh;
    while ((scn = elf_nextscn(e, scn)) != NULL) {
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
            continue;
        Elf_Data *data = elf_getdata(scn, NULL);
        for (size_t i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
            GElf_Sym s;
            const char *name;
            if (gelf_getsym(data, (int)i, &s) && (name = elf_strptr(e, sh.sh_link, s.st_name)) &&
                strcmp(name, EFIRT_UNSUPPORTED_SYMBOL) == 0 && GELF_ST_TYPE(s.st_info) == STT_FUNC)
                addr = s.st_value;
        }
    }
    ck_assert_uint_ne(addr, 0);
    static const uint8_t stub[] = {0x48, 0xb8, 0x03, 0, 0, 0, 0, 0, 0, 0x80, 0xc3};
    uint8_t code[sizeof stub] = {0};
    size_t nph = 0;
    elf_getphdrnum(e, &nph);
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (gelf_getphdr(e, (int)i, &ph) && ph.p_type == PT_LOAD && addr >= ph.p_vaddr &&
            addr + sizeof stub <= ph.p_vaddr + ph.p_filesz)
            ck_assert_int_eq(pread(fd, code, sizeof code, (off_t)(ph.p_offset + addr - ph.p_vaddr)),
                             (int)sizeof code);
    }
    ck_assert_int_eq(memcmp(code, stub, sizeof stub), 0);
    elf_end(e);
    close(fd);
}
END_TEST

static Suite *efirt_suite(void)
{
    Suite *s = suite_create("efirt");
    TCase *tc = tcase_create("efirt");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, runtime_services_table_layout_and_crc32);
    tcase_add_test(tc, header_corruption_detected_with_its_reason);
    tcase_add_test(tc, check_rejects_pointers_outside_runtime_memory);
    tcase_add_test(tc, memory_map_types_and_attributes);
    tcase_add_test(tc, map_key_changes_at_every_allocation_and_free);
    tcase_add_test(tc, exit_boot_services_stale_key_then_retry);
    tcase_add_test(tc, before_exit_boot_services_notification_makes_the_key_stale_once);
    tcase_add_test(tc, boot_services_refused_after_exit);
    tcase_add_test(tc, set_virtual_address_map_status_codes);
    tcase_add_test(tc, non_identity_map_converts_every_pointer);
    tcase_add_test(tc, set_virtual_address_map_is_atomic);
    tcase_add_test(tc, convert_pointer_only_during_set_virtual_address_map);
    tcase_add_test(tc, guest_images_carry_the_unsupported_stub);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(efirt_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
