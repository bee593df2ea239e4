/*
 * The UEFI side of handing the runtime image over to the OS (here: the
 * hypervisor model): the UEFI memory map with its boot-time memory
 * services, the EFI_SYSTEM_TABLE and EFI_RUNTIME_SERVICES tables with
 * their CRC32s, ExitBootServices, SetVirtualAddressMap / ConvertPointer,
 * and the check the hypervisor makes of the tables before it calls any
 * runtime service. Implemented in firmware-model/efirt.c; the boot flow
 * that uses it is load_runtime_image in sim/domain.c, the layout and the
 * deviations from the spec are in docs/firmware-image.md.
 *
 * References: UEFI 2.10 §4.2 EFI_TABLE_HEADER, §4.3 EFI_SYSTEM_TABLE,
 * §4.5 EFI_RUNTIME_SERVICES, §7.2 memory allocation services
 * (EFI_MEMORY_DESCRIPTOR, GetMemoryMap), §7.4 ExitBootServices, §8.4
 * virtual memory services, Appendix D status codes.
 *
 * Assumptions:
 * - `mem` is the physical memory the firmware manages, [0, mem_size): the
 *   runtime-service domain's pseudo-physical RAM. Every table is written
 *   into it little-endian, field by field, at spec offsets (x86-64 UEFI:
 *   8-byte UINTN and pointers, natural alignment).
 * - Boot services are called by the host-side loader (the hypervisor
 *   model), not by guest code, so the EFI_BOOT_SERVICES table in memory
 *   has a valid header and zero function pointers.
 * - One firmware instance per boot; nothing here is shared between them.
 */
#ifndef HOPSIM_EFIRT_H
#define HOPSIM_EFIRT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "simtime.h"

/* ---- status codes (UEFI 2.10 Appendix D): errors have bit 63 set ---- */
typedef uint64_t efi_status;
#define EFI_ERROR_BIT (1ull << 63)
#define EFI_SUCCESS 0ull
#define EFI_INVALID_PARAMETER (EFI_ERROR_BIT | 2)
#define EFI_UNSUPPORTED (EFI_ERROR_BIT | 3)
#define EFI_BUFFER_TOO_SMALL (EFI_ERROR_BIT | 5)
#define EFI_OUT_OF_RESOURCES (EFI_ERROR_BIT | 9)
#define EFI_NOT_FOUND (EFI_ERROR_BIT | 14)
#define EFI_NO_MAPPING (EFI_ERROR_BIT | 17)

/* "EFI_SUCCESS", "EFI_INVALID_PARAMETER", ...; "EFI_STATUS 0x..." for others */
const char *efi_status_name(efi_status s);

/* ---- memory map (UEFI 2.10 §7.2) ---- */
#define EFI_PAGE_SIZE 4096ull

enum efi_memory_type {
    EfiReservedMemoryType = 0,
    EfiLoaderCode = 1,
    EfiLoaderData = 2,
    EfiBootServicesCode = 3,
    EfiBootServicesData = 4,
    EfiRuntimeServicesCode = 5,
    EfiRuntimeServicesData = 6,
    EfiConventionalMemory = 7,
    EfiUnusableMemory = 8,
    EfiACPIReclaimMemory = 9,
    EfiACPIMemoryNVS = 10,
    EfiMemoryMappedIO = 11,
    EfiMemoryMappedIOPortSpace = 12,
    EfiPalCode = 13,
    EfiPersistentMemory = 14,
    EfiUnacceptedMemoryType = 15,
    EfiMaxMemoryType = 16
};
/* 0x70000000..0x7fffffff: OEM types; 0x80000000..0xffffffff: OS loader types */
#define EFI_MEMORY_TYPE_OEM_MIN 0x70000000u

/* "EfiRuntimeServicesCode", ...; "OEM" / "OS" / "invalid" for the others */
const char *efi_memory_type_name(uint32_t type);

/* Attribute bits: cacheability / protection capabilities, and RUNTIME. */
#define EFI_MEMORY_UC 0x1ull
#define EFI_MEMORY_WC 0x2ull
#define EFI_MEMORY_WT 0x4ull
#define EFI_MEMORY_WB 0x8ull
#define EFI_MEMORY_UCE 0x10ull
#define EFI_MEMORY_WP 0x1000ull
#define EFI_MEMORY_RP 0x2000ull
#define EFI_MEMORY_XP 0x4000ull
#define EFI_MEMORY_NV 0x8000ull
#define EFI_MEMORY_MORE_RELIABLE 0x10000ull
#define EFI_MEMORY_RO 0x20000ull
#define EFI_MEMORY_SP 0x40000ull
#define EFI_MEMORY_CPU_CRYPTO 0x80000ull
#define EFI_MEMORY_ISA_MASK 0x0fff000000000000ull /* UEFI 2.10 */
#define EFI_MEMORY_ISA_VALID 0x4000000000000000ull
#define EFI_MEMORY_RUNTIME 0x8000000000000000ull
/* What the firmware reports for RAM (as OVMF: cacheable every way), plus RUNTIME for runtime pages
 */
#define EFIRT_RAM_ATTRIBUTES (EFI_MEMORY_UC | EFI_MEMORY_WC | EFI_MEMORY_WT | EFI_MEMORY_WB)

/*
 * EFI_MEMORY_DESCRIPTOR: UINT32 Type, 4 bytes of padding (natural
 * alignment), PhysicalStart, VirtualStart, NumberOfPages, Attribute:
 * 40 bytes. GetMemoryMap reports DescriptorSize 48 (EDK2 adds a UINT64 so
 * that no caller can get away with sizeof), DescriptorVersion 1; callers
 * must step through a map by DescriptorSize.
 */
struct efi_memory_descriptor {
    uint32_t type;
    uint32_t pad;
    uint64_t physical_start;
    uint64_t virtual_start;
    uint64_t number_of_pages;
    uint64_t attribute;
};
#define EFI_MEMORY_DESCRIPTOR_SIZE 40u /* sizeof(EFI_MEMORY_DESCRIPTOR) */
#define EFIRT_DESCRIPTOR_SIZE 48u      /* the DescriptorSize GetMemoryMap returns */
#define EFI_MEMORY_DESCRIPTOR_VERSION 1u

/* Descriptor i of a map buffer with stride desc_size (little-endian, field by field). */
void efi_md_get(const void *buf, size_t i, uint64_t desc_size, struct efi_memory_descriptor *md);
void efi_md_put(void *buf, size_t i, uint64_t desc_size, const struct efi_memory_descriptor *md);

/* AllocatePages types */
enum efi_allocate_type { AllocateAnyPages = 0, AllocateMaxAddress = 1, AllocateAddress = 2 };

/* ---- tables (UEFI 2.10 §4) ---- */
/* EFI_TABLE_HEADER: Signature u64, Revision u32, HeaderSize u32, CRC32 u32, Reserved u32 */
#define EFI_TABLE_HEADER_SIZE 24u
#define EFI_HDR_SIGNATURE 0u
#define EFI_HDR_REVISION 8u
#define EFI_HDR_HEADER_SIZE 12u
#define EFI_HDR_CRC32 16u
#define EFI_HDR_RESERVED 20u

#define EFI_2_100_SYSTEM_TABLE_REVISION ((2u << 16) | 100u)
#define EFI_SPECIFICATION_VERSION EFI_2_100_SYSTEM_TABLE_REVISION

#define EFI_SYSTEM_TABLE_SIGNATURE 0x5453595320494249ull     /* "IBI SYST" */
#define EFI_RUNTIME_SERVICES_SIGNATURE 0x56524553544e5552ull /* "RUNTSERV" */
#define EFI_BOOT_SERVICES_SIGNATURE 0x56524553544f4f42ull    /* "BOOTSERV" */

/* EFI_SYSTEM_TABLE (120 bytes): field offsets */
#define EFI_SYSTEM_TABLE_SIZE 120u
#define EFI_ST_FIRMWARE_VENDOR 24u   /* CHAR16 * */
#define EFI_ST_FIRMWARE_REVISION 32u /* UINT32, then 4 bytes of padding */
#define EFI_ST_CONSOLE_IN_HANDLE 40u
#define EFI_ST_CON_IN 48u
#define EFI_ST_CONSOLE_OUT_HANDLE 56u
#define EFI_ST_CON_OUT 64u
#define EFI_ST_STANDARD_ERROR_HANDLE 72u
#define EFI_ST_STD_ERR 80u
#define EFI_ST_RUNTIME_SERVICES 88u
#define EFI_ST_BOOT_SERVICES 96u
#define EFI_ST_NUMBER_OF_TABLE_ENTRIES 104u
#define EFI_ST_CONFIGURATION_TABLE 112u

/* EFI_RUNTIME_SERVICES (136 bytes): the header, then 14 function pointers in this order */
enum efi_rt_service {
    EFI_RT_GET_TIME,
    EFI_RT_SET_TIME,
    EFI_RT_GET_WAKEUP_TIME,
    EFI_RT_SET_WAKEUP_TIME,
    EFI_RT_SET_VIRTUAL_ADDRESS_MAP,
    EFI_RT_CONVERT_POINTER,
    EFI_RT_GET_VARIABLE,
    EFI_RT_GET_NEXT_VARIABLE_NAME,
    EFI_RT_SET_VARIABLE,
    EFI_RT_GET_NEXT_HIGH_MONOTONIC_COUNT,
    EFI_RT_RESET_SYSTEM,
    EFI_RT_UPDATE_CAPSULE,
    EFI_RT_QUERY_CAPSULE_CAPABILITIES,
    EFI_RT_QUERY_VARIABLE_INFO,
    EFI_RT_NSERVICES
};
#define EFI_RUNTIME_SERVICES_SIZE (EFI_TABLE_HEADER_SIZE + 8u * EFI_RT_NSERVICES) /* 136 */
#define EFI_RT_OFFSET(i) (EFI_TABLE_HEADER_SIZE + 8u * (unsigned)(i))

/* EFI_BOOT_SERVICES: the header and 44 function pointers (RaiseTPL .. CreateEventEx) */
#define EFI_BOOT_SERVICES_SIZE (EFI_TABLE_HEADER_SIZE + 8u * 44u) /* 376 */

/* "GetTime", ... "QueryVariableInfo" */
const char *efi_rt_service_name(int i);
/*
 * The ELF symbol a runtime image defines to implement service i:
 * "efi_rt_get_time", "efi_rt_set_time", ... "efi_rt_query_variable_info".
 * Services it does not implement point at EFIRT_UNSUPPORTED_SYMBOL
 * (workloads/lib/efi_rt.c), which returns EFI_UNSUPPORTED.
 */
const char *efi_rt_service_symbol(int i);
#define EFIRT_UNSUPPORTED_SYMBOL "efi_rt_unsupported"

/*
 * The CRC32 of a table header as the spec defines it: zlib's crc32()
 * (the IEEE 802.3 polynomial the boot service CalculateCrc32 uses) over
 * HeaderSize bytes from the start of the header, with the CRC32 field
 * taken as zero.
 */
uint32_t efi_table_crc32(const uint8_t *table, uint32_t header_size);

/* Where the firmware puts its tables in the page given to efirt_install_tables. */
#define EFIRT_ST_OFFSET 0x000u     /* EFI_SYSTEM_TABLE */
#define EFIRT_RS_OFFSET 0x080u     /* EFI_RUNTIME_SERVICES */
#define EFIRT_VENDOR_OFFSET 0x110u /* FirmwareVendor, UCS-2 */

/* ---- the firmware ---- */
struct efirt;
typedef void (*efirt_notify_fn)(struct efirt *fw, void *opaque);

#define EFIRT_MAX_NOTIFY 4

struct efirt {
    uint8_t *mem; /* physical memory [0, mem_size) */
    uint64_t mem_size;
    struct efi_memory_descriptor *map; /* sorted, covering [0, mem_size), coalesced */
    size_t nmap, cap;
    uint64_t map_key;  /* changes at every allocation and free */
    bool ebs_called;   /* ExitBootServices was called (the before-EBS group was signalled) */
    bool at_runtime;   /* ExitBootServices succeeded: boot services are gone */
    bool virtual_mode; /* SetVirtualAddressMap succeeded */
    bool in_svam;      /* inside SetVirtualAddressMap: ConvertPointer works */
    const struct efi_memory_descriptor *vmap; /* during SVAM: the runtime regions' mappings */
    size_t nvmap;
    uint64_t boot_services;                    /* EFI_BOOT_SERVICES (in EfiBootServicesCode) */
    uint64_t systab, runtime_services, vendor; /* physical; 0 until installed */
    struct {
        efirt_notify_fn fn;
        void *opaque;
    } before_ebs[EFIRT_MAX_NOTIFY]; /* EFI_EVENT_GROUP_BEFORE_EXIT_BOOT_SERVICES */
    int nbefore_ebs;
    char error[256]; /* why the last call failed, "" after a success */
};

/*
 * Power on: the whole of [0, mem_size) is EfiConventionalMemory, then the
 * firmware's core takes its EfiBootServicesCode page (top down, as EDK2
 * allocates) and writes the EFI_BOOT_SERVICES header there. mem_size must
 * be a multiple of EFI_PAGE_SIZE of at least two pages. 0 ok, -1 with
 * fw->error. Always efirt_free afterwards.
 */
int efirt_init(struct efirt *fw, uint8_t *mem, uint64_t mem_size);
void efirt_free(struct efirt *fw);
/* The reason the last call failed ("" if it succeeded). */
const char *efirt_error(const struct efirt *fw);

/* The firmware's own view of its map (not a boot service: usable after ExitBootServices). */
const struct efi_memory_descriptor *efirt_map(const struct efirt *fw, size_t *n);
/* The type of the page holding addr, or -1 outside memory. */
int efirt_type_at(const struct efirt *fw, uint64_t addr);

/*
 * Boot services. After a successful ExitBootServices each returns
 * EFI_UNSUPPORTED with the reason in fw->error ("boot services are gone").
 *
 * AllocatePages: AllocateAnyPages takes the highest free run, AllocateMaxAddress
 * the highest run ending at or below *addr + 1, AllocateAddress exactly
 * [*addr, +pages). EfiRuntimeServicesCode/Data get EFI_MEMORY_RUNTIME.
 * EFI_INVALID_PARAMETER (bad type, alignment, 0 pages), EFI_NOT_FOUND
 * (AllocateAddress range not free or outside memory), EFI_OUT_OF_RESOURCES.
 */
efi_status efirt_allocate_pages(struct efirt *fw, enum efi_allocate_type how, uint32_t type,
                                uint64_t pages, uint64_t *addr);
/* FreePages: the range must be allocated (not free memory). EFI_NOT_FOUND, EFI_INVALID_PARAMETER.
 */
efi_status efirt_free_pages(struct efirt *fw, uint64_t addr, uint64_t pages);
/*
 * GetMemoryMap: *map_size is the buffer size in; out, the bytes written or,
 * with EFI_BUFFER_TOO_SMALL, the bytes needed. Descriptors are written with
 * stride EFIRT_DESCRIPTOR_SIZE (the 8 extra bytes zero).
 */
efi_status efirt_get_memory_map(struct efirt *fw, uint64_t *map_size, void *buf, uint64_t *map_key,
                                uint64_t *desc_size, uint32_t *desc_version);
/*
 * EFI_EVENT_GROUP_BEFORE_EXIT_BOOT_SERVICES: fn runs at the start of the
 * first ExitBootServices call, before the map key is checked (EDK2's
 * CoreExitBootServices order); the group is signalled once. 0 ok, -1 full.
 */
int efirt_on_before_exit_boot_services(struct efirt *fw, efirt_notify_fn fn, void *opaque);
/*
 * ExitBootServices: EFI_INVALID_PARAMETER if map_key is not the current
 * key (the loader must GetMemoryMap again and retry). On success all
 * EfiBootServicesCode/Data memory becomes EfiConventionalMemory, the
 * system table's console handles/protocols and BootServices become NULL
 * and its CRC32 is recomputed; the runtime table is untouched.
 */
efi_status efirt_exit_boot_services(struct efirt *fw, uint64_t map_key);

/*
 * Install the EFI_SYSTEM_TABLE and EFI_RUNTIME_SERVICES: allocates the
 * page at `page` as EfiRuntimeServicesData (AllocateAddress) and writes
 * the system table (EFIRT_ST_OFFSET), the runtime services table with
 * fn[i] as service i (EFIRT_RS_OFFSET) and `vendor` as the UCS-2
 * FirmwareVendor (EFIRT_VENDOR_OFFSET, at most 64 characters), each
 * header with Revision 2.100 and its CRC32. A boot service.
 */
efi_status efirt_install_tables(struct efirt *fw, uint64_t page,
                                const uint64_t fn[EFI_RT_NSERVICES], const char *vendor,
                                uint32_t firmware_revision);

/*
 * Runtime services the firmware model implements on the host.
 *
 * SetVirtualAddressMap: once, after ExitBootServices (else EFI_UNSUPPORTED).
 * EFI_INVALID_PARAMETER for a DescriptorVersion other than 1, a
 * DescriptorSize below 40 or not a multiple of 8, a map size not a multiple
 * of it, or a VirtualStart not 4 KiB aligned; EFI_NOT_FOUND for a
 * descriptor with EFI_MEMORY_RUNTIME that is not a runtime region of the
 * map; EFI_NO_MAPPING when a runtime region has no descriptor (descriptors
 * without EFI_MEMORY_RUNTIME are ignored, as EDK2 does). On success it
 * converts (ConvertPointer) the system table's FirmwareVendor,
 * RuntimeServices and ConfigurationTable and every runtime service pointer
 * except SetVirtualAddressMap and ConvertPointer (only callable in
 * physical mode, UEFI 2.10 §8.4.1), and recomputes both tables' CRC32s.
 * A pointer outside every runtime region fails the call (EFI_NOT_FOUND)
 * and nothing is changed.
 */
efi_status efirt_set_virtual_address_map(struct efirt *fw, uint64_t map_size, uint64_t desc_size,
                                         uint32_t desc_version, const void *virtual_map);
#define EFI_OPTIONAL_PTR 0x1ull
/* ConvertPointer: only during SetVirtualAddressMap (else EFI_UNSUPPORTED). */
efi_status efirt_convert_pointer(struct efirt *fw, uint64_t disposition, uint64_t *address);

/* ---- the hypervisor's check before any runtime-service call ---- */
struct efirt_tables {
    uint64_t runtime_services; /* physical address of EFI_RUNTIME_SERVICES */
    uint32_t st_crc32, rs_crc32;
    uint32_t revision;
    uint64_t fn[EFI_RT_NSERVICES]; /* as stored (virtual after SetVirtualAddressMap) */
};

/*
 * One table header at `hdr` (avail bytes readable): Signature, Revision
 * major >= 2, HeaderSize == size, Reserved == 0, CRC32, in that order. 0 ok;
 * -1 with "FIELD: expected ..., found ..." in why.
 */
int efirt_check_header(const uint8_t *hdr, uint64_t avail, uint64_t signature, uint32_t size,
                       char *why, size_t whylen);

/*
 * What Linux's efi_systab_check_header and Xen do before the first runtime
 * call, and more: the EFI_SYSTEM_TABLE at systab (physical) and the
 * EFI_RUNTIME_SERVICES it points to must pass efirt_check_header, the
 * runtime table must lie in EfiRuntimeServicesData memory and every
 * service pointer in EfiRuntimeServicesCode memory, per `map` (the OS's
 * copy of the memory map, n descriptors). virtual: the tables hold the
 * virtual addresses `map`'s VirtualStart fields give (after
 * SetVirtualAddressMap); else physical ones. 0 ok; -1 with the table, its
 * address, the field, expected and found value in why: runtime services
 * must then stay disabled.
 */
int efirt_check_tables(const uint8_t *mem, uint64_t mem_size, uint64_t systab,
                       const struct efi_memory_descriptor *map, size_t n, bool virtual,
                       struct efirt_tables *out, char *why, size_t whylen);

/* ---- what the boot flow records for the boot report (sim/domain.c, sim/run.c) ---- */
struct efirt_handoff {
    bool done;             /* the flow completed and the tables passed the check */
    simtime_t read_done;   /* end of the SPI read; the steps below follow it */
    uint64_t loaded_bytes; /* the segments' memory size: copied or zeroed */
    uint64_t copied_bytes; /* of which copied out of the read buffer (the file size) */
    uint64_t systab, runtime_services;
    uint32_t rs_crc32;
    uint64_t map_key;         /* the key ExitBootServices accepted */
    unsigned ebs_calls;       /* ExitBootServices calls: 1 + retries */
    unsigned runtime_regions; /* descriptors passed to SetVirtualAddressMap */
    unsigned implemented;     /* services the image implements itself */
};

#endif
