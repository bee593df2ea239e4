/*
 * The runtime's virtual memory services (efirt.h, docs/firmware-image.md):
 * ConvertPointer and SetVirtualAddressMap -- the new map checked against
 * the one ExitBootServices froze, every pointer in the runtime-services
 * table and the system table converted, the table CRCs rewritten.
 */
#include "efirt_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- runtime: virtual memory services ---- */
efi_status efirt_convert_pointer(struct efirt *fw, uint64_t disposition, uint64_t *address)
{
    if (!fw->in_svam) {
        efirt_fail(fw, "ConvertPointer: only callable during SetVirtualAddressMap");
        return EFI_UNSUPPORTED;
    }
    if (!address) {
        efirt_fail(fw, "ConvertPointer: Address is NULL");
        return EFI_INVALID_PARAMETER;
    }
    if (!*address) {
        if (disposition & EFI_OPTIONAL_PTR)
            return EFI_SUCCESS;
        efirt_fail(fw, "ConvertPointer: *Address is NULL and EFI_OPTIONAL_PTR is not set");
        return EFI_INVALID_PARAMETER;
    }
    for (size_t i = 0; i < fw->nvmap; i++) {
        const struct efi_memory_descriptor *d = &fw->vmap[i];
        if (*address >= d->physical_start && *address < efirt_md_end(d)) {
            *address = *address - d->physical_start + d->virtual_start;
            return EFI_SUCCESS;
        }
    }
    efirt_fail(fw, "ConvertPointer: 0x%llx is not in any runtime region of the memory map",
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
        efirt_fail(fw,
                   "SetVirtualAddressMap: the firmware is not at runtime (ExitBootServices has not "
                   "succeeded)");
        return EFI_UNSUPPORTED;
    }
    if (fw->virtual_mode) {
        efirt_fail(fw,
                   "SetVirtualAddressMap: already in virtual address mode (a virtual address map "
                   "may only be applied once)");
        return EFI_UNSUPPORTED;
    }
    if (desc_version != EFI_MEMORY_DESCRIPTOR_VERSION) {
        efirt_fail(fw, "SetVirtualAddressMap: DescriptorVersion: expected %u, found %u",
                   EFI_MEMORY_DESCRIPTOR_VERSION, desc_version);
        return EFI_INVALID_PARAMETER;
    }
    if (desc_size < EFI_MEMORY_DESCRIPTOR_SIZE || desc_size % 8) {
        efirt_fail(fw,
                   "SetVirtualAddressMap: DescriptorSize: expected a multiple of 8 of at least %u, "
                   "found %llu",
                   EFI_MEMORY_DESCRIPTOR_SIZE, (unsigned long long)desc_size);
        return EFI_INVALID_PARAMETER;
    }
    if (map_size % desc_size || (map_size && !virtual_map)) {
        efirt_fail(fw,
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
        efirt_fail(fw, "SetVirtualAddressMap: out of host memory");
        return EFI_OUT_OF_RESOURCES;
    }
    for (size_t i = 0; i < n; i++) {
        struct efi_memory_descriptor d;
        efi_md_get(virtual_map, i, desc_size, &d);
        if (!(d.attribute & EFI_MEMORY_RUNTIME))
            continue; /* not a runtime region: nothing to map */
        if (d.virtual_start % EFI_PAGE_SIZE) {
            efirt_fail(fw,
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
            efirt_fail(fw,
                       "SetVirtualAddressMap: descriptor %zu: a virtual address was supplied for "
                       "0x%llx-0x%llx, which is not a runtime region of the memory map",
                       i, (unsigned long long)d.physical_start,
                       (unsigned long long)(efirt_md_end(&d) - 1));
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
            efirt_fail(
                fw,
                "SetVirtualAddressMap: no virtual address was supplied for the runtime region "
                "0x%llx-0x%llx (%s)",
                (unsigned long long)r->physical_start, (unsigned long long)(efirt_md_end(r) - 1),
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
            c[nc++] = (struct conv){rs + EFI_RT_OFFSET(i), efirt_rt_names[i], 0, 0};
    fw->in_svam = true;
    fw->vmap = v;
    fw->nvmap = nv;
    for (int i = 0; i < nc; i++) {
        c[i].value = le64(c[i].at);
        uint64_t was = c[i].value;
        s = efirt_convert_pointer(fw, c[i].disposition, &c[i].value);
        if (s != EFI_SUCCESS) {
            efirt_fail(fw,
                       "SetVirtualAddressMap: ConvertPointer(%s = 0x%llx): not in any runtime "
                       "region",
                       c[i].name, (unsigned long long)was);
            goto out;
        }
    }
    for (int i = 0; i < nc; i++)
        put64(c[i].at, c[i].value);
    if (rs)
        efirt_table_crc(rs);
    if (st)
        efirt_table_crc(st);
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
