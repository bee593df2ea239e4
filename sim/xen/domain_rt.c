/*
 * A domain built from a runtime image in the platform flash (uefi-rt): the
 * firmware reads the image over SPI and measures it (fwboot), the checks
 * against a pinned or the build's golden digest, and the UEFI hand-off --
 * pages allocated and typed, the system table and runtime services
 * installed, ExitBootServices and SetVirtualAddressMap (firmware-model/efirt.h;
 * docs/firmware-image.md). The rest of the builder is domain.c.
 */
#include "domain_int.h"
#include "machine.h"

#include "efirt.h"
#include "fwboot.h"
#include "spi_flash.h"

#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/sha2.h>

/*
 * The UEFI hand-off of a runtime image read out of flash (firmware-model/efirt.h;
 * docs/firmware-image.md, "From flash to a runtime service"). The firmware:
 * the read buffer is an EfiBootServicesData allocation holding the bytes read
 * over SPI (the measured copy); the ELF loader allocates the image's pages at
 * their addresses, writable segments as EfiRuntimeServicesData and the rest as
 * EfiRuntimeServicesCode, and copies the segments out of the read buffer; the
 * EFI_SYSTEM_TABLE and EFI_RUNTIME_SERVICES go in the EfiRuntimeServicesData
 * page right below the image, which nothing the domain builder lays out (all
 * above the image) or the guest allocates (above its boot stack) ever uses.
 * The OS loader (the hypervisor, as Xen's efi_exit_boot): GetMemoryMap,
 * ExitBootServices, and once more if the key was stale (the flash driver frees
 * its read buffer in its EFI_EVENT_GROUP_BEFORE_EXIT_BOOT_SERVICES
 * notification, so the first key always is); then SetVirtualAddressMap with
 * the 1:1 map, and the check of the tables before any runtime call. Freed
 * boot-time pages are scrubbed before the builder places start_info there.
 */
#define HOPSIM_FW_VENDOR "hopsim"
#define HOPSIM_FW_REVISION 0x00010000u /* FirmwareRevision: vendor-defined, 1.0 */

struct rt_read_buffer {
    uint64_t addr, pages;
};

/* The flash driver's before-ExitBootServices notification: it frees its read buffer. */
static void free_read_buffer(struct efirt *fw, void *opaque)
{
    struct rt_read_buffer *rb = opaque;
    efirt_free_pages(fw, rb->addr, rb->pages);
}

/* AllocatePages(AllocateAddress) for the image's pages; *lowest: its first page. */
static int rt_allocate_image(struct domain *d, struct efirt *fw, Elf *e, const char *label,
                             uint64_t *lowest, struct efirt_handoff *h, char *err, size_t errlen)
{
    size_t nph = 0;
    if (elf_getphdrnum(e, &nph) != 0) {
        snprintf(err, errlen, "%s: bad program headers: %s", label, elf_errmsg(-1));
        return -1;
    }
    uint64_t size = d->nr_pages * PAGE_SIZE, first = UINT64_MAX, last = 0;
    uint8_t *kind = calloc(d->nr_pages, 1); /* per page: 0 none, 1 code, 2 data */
    if (!kind) {
        snprintf(err, errlen, "%s: out of memory", label);
        return -1;
    }
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD || !ph.p_memsz)
            continue;
        if (ph.p_paddr > size || ph.p_memsz > size - ph.p_paddr) {
            snprintf(err, errlen,
                     "%s: segment at 0x%llx (+0x%llx) does not fit the domain's %llu KiB of RAM",
                     label, (unsigned long long)ph.p_paddr, (unsigned long long)ph.p_memsz,
                     (unsigned long long)(d->nr_pages * 4));
            free(kind);
            return -1;
        }
        uint64_t a = ph.p_paddr / PAGE_SIZE, b = (ph.p_paddr + ph.p_memsz - 1) / PAGE_SIZE;
        for (uint64_t pg = a; pg <= b; pg++)
            kind[pg] = (ph.p_flags & PF_W) ? 2 : (kind[pg] ? kind[pg] : 1);
        first = a < first ? a : first;
        last = b > last ? b : last;
        h->loaded_bytes += ph.p_memsz;
        h->copied_bytes += ph.p_filesz < ph.p_memsz ? ph.p_filesz : ph.p_memsz;
    }
    for (uint64_t pg = first; first != UINT64_MAX && pg <= last;) {
        uint64_t n = 1;
        if (!kind[pg]) {
            pg++;
            continue;
        }
        while (pg + n <= last && kind[pg + n] == kind[pg])
            n++;
        uint32_t type = kind[pg] == 2 ? EfiRuntimeServicesData : EfiRuntimeServicesCode;
        uint64_t addr = pg * PAGE_SIZE;
        efi_status st = efirt_allocate_pages(fw, AllocateAddress, type, n, &addr);
        if (st != EFI_SUCCESS) {
            snprintf(err, errlen, "%s: loading into %s: %s: %s", label, efi_memory_type_name(type),
                     efi_status_name(st), efirt_error(fw));
            free(kind);
            return -1;
        }
        pg += n;
    }
    free(kind);
    *lowest = first == UINT64_MAX ? 0 : first * PAGE_SIZE;
    return 0;
}

static bool symbol_addr(const struct domain *d, const char *name, uint64_t *addr)
{
    for (size_t i = 0; i < d->nsyms; i++)
        if (strcmp(d->syms[i].name, name) == 0) {
            *addr = d->syms[i].addr;
            return true;
        }
    return false;
}

/* Service i: the image's efi_rt_<service>, else its efi_rt_unsupported (lib/efi_rt.c). */
static int rt_service_pointers(const struct domain *d, const char *label,
                               uint64_t fn[EFI_RT_NSERVICES], unsigned *implemented, char *err,
                               size_t errlen)
{
    uint64_t unsupported = 0;
    bool have_unsupported = symbol_addr(d, EFIRT_UNSUPPORTED_SYMBOL, &unsupported);
    *implemented = 0;
    for (int i = 0; i < EFI_RT_NSERVICES; i++) {
        if (symbol_addr(d, efi_rt_service_symbol(i), &fn[i])) {
            (*implemented)++;
            continue;
        }
        if (!have_unsupported) {
            snprintf(err, errlen,
                     "%s: no function %s for %s nor %s to answer EFI_UNSUPPORTED (link the "
                     "guest runtime's workloads/lib/efi_rt.c)",
                     label, efi_rt_service_symbol(i), efi_rt_service_name(i),
                     EFIRT_UNSUPPORTED_SYMBOL);
            return -1;
        }
        fn[i] = unsupported;
    }
    return 0;
}

static int rt_efi_boot(struct domain *d, const struct sc_domain *sd, const char *label,
                       const uint8_t *img, size_t len, struct elf_info *info, char *err,
                       size_t errlen)
{
    struct machine *m = d->m;
    struct efirt_handoff *h = &d->boot.rt;
    struct efirt fw = {0};
    struct rt_read_buffer rb = {.pages = len ? (len + PAGE_SIZE - 1) / PAGE_SIZE : 1};
    struct efi_memory_descriptor *rt_md = NULL;
    uint8_t *map = NULL, *vmap = NULL;
    uint64_t ram = d->nr_pages * PAGE_SIZE, lowest = 0, fn[EFI_RT_NSERVICES];
    uint64_t msize = 0, key = 0, dsize = 0, cap;
    uint32_t dver = 0;
    char why[512];
    Elf *e = NULL;
    efi_status st;
    int rc = -1;
    unsigned calls;
    memset(h, 0, sizeof(*h));
    h->read_done = d->boot.done;
    if (efirt_init(&fw, d->ram, ram) < 0) {
        snprintf(err, errlen, "%s: firmware: %s", sd->name, efirt_error(&fw));
        goto out;
    }
    uint64_t boot_services_page = fw.boot_services;
    /* the flash driver's read buffer: the bytes read over SPI, measured */
    st = efirt_allocate_pages(&fw, AllocateAnyPages, EfiBootServicesData, rb.pages, &rb.addr);
    if (st != EFI_SUCCESS) {
        snprintf(err, errlen, "%s: no memory to read the image into: %s: %s", label,
                 efi_status_name(st), efirt_error(&fw));
        goto out;
    }
    uint8_t *buf = guest_ram(d, rb.addr, len);
    memcpy(buf, img, len);
    efirt_on_before_exit_boot_services(&fw, free_read_buffer, &rb);

    /* the image loader: out of the read buffer into EfiRuntimeServicesCode/Data */
    elf_version(EV_CURRENT);
    e = elf_memory((char *)buf, len);
    if (!e) {
        snprintf(err, errlen, "%s: %s", label, elf_errmsg(-1));
        goto out;
    }
    struct elf_ram er = domain_elf_ram(d);
    if (elf_check(e, label, err, errlen) < 0)
        goto out;
    elf_read_notes(e, info);
    if (elf_check_notes(info, label, err, errlen) < 0 ||
        rt_allocate_image(d, &fw, e, label, &lowest, h, err, errlen) < 0 ||
        elf_load_segments(&er, e, buf, len, info, label, err, errlen) < 0)
        goto out;
    domain_elf_done(d, &er);
    elf_read_symbols(e, len, &d->syms, &d->nsyms);

    /* EFI_SYSTEM_TABLE + EFI_RUNTIME_SERVICES in the page below the image */
    if (rt_service_pointers(d, label, fn, &h->implemented, err, errlen) < 0)
        goto out;
    if (lowest < 2 * PAGE_SIZE) {
        snprintf(err, errlen,
                 "%s: no free page below the image (at 0x%llx) for the runtime services tables",
                 label, (unsigned long long)lowest);
        goto out;
    }
    st = efirt_install_tables(&fw, lowest - PAGE_SIZE, fn, HOPSIM_FW_VENDOR, HOPSIM_FW_REVISION);
    if (st != EFI_SUCCESS) {
        snprintf(err, errlen, "%s: %s: %s", label, efi_status_name(st), efirt_error(&fw));
        goto out;
    }

    /* the OS loader: GetMemoryMap + ExitBootServices, retried once on a stale key (as Xen) */
    st = efirt_get_memory_map(&fw, &msize, NULL, &key, &dsize, &dver);
    cap = msize + 4 * dsize; /* slack: the map may grow between the calls */
    map = malloc(cap);
    if (st != EFI_BUFFER_TOO_SMALL || !map) {
        snprintf(err, errlen, "%s: GetMemoryMap: %s", sd->name,
                 map ? efi_status_name(st) : "out of memory");
        goto out;
    }
    for (calls = 1;; calls++) {
        msize = cap;
        st = efirt_get_memory_map(&fw, &msize, map, &key, &dsize, &dver);
        if (st == EFI_SUCCESS)
            st = efirt_exit_boot_services(&fw, key);
        if (st == EFI_SUCCESS)
            break;
        if (st != EFI_INVALID_PARAMETER || calls == 2) {
            snprintf(err, errlen, "%s: ExitBootServices (call %u): %s: %s", sd->name, calls,
                     efi_status_name(st), efirt_error(&fw));
            goto out;
        }
    }
    h->ebs_calls = calls;
    h->map_key = key;

    /* SetVirtualAddressMap with the runtime regions mapped 1:1 */
    size_t n = msize / dsize, nrt = 0;
    vmap = calloc(n ? n : 1, dsize);
    rt_md = calloc(n ? n : 1, sizeof(*rt_md));
    if (!vmap || !rt_md) {
        snprintf(err, errlen, "%s: out of memory", sd->name);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct efi_memory_descriptor md;
        efi_md_get(map, i, dsize, &md);
        if (!(md.attribute & EFI_MEMORY_RUNTIME))
            continue;
        md.virtual_start = md.physical_start;
        efi_md_put(vmap, nrt, dsize, &md);
        rt_md[nrt++] = md;
    }
    st = efirt_set_virtual_address_map(&fw, nrt * dsize, dsize, dver, vmap);
    if (st != EFI_SUCCESS) {
        snprintf(err, errlen, "%s: SetVirtualAddressMap: %s: %s", sd->name, efi_status_name(st),
                 efirt_error(&fw));
        goto out;
    }
    h->runtime_regions = (unsigned)nrt;

    /* the hypervisor checks the tables before it ever calls a runtime service */
    struct efirt_tables t;
    if (efirt_check_tables(d->ram, ram, fw.systab, rt_md, nrt, true, &t, why, sizeof(why)) < 0) {
        snprintf(err, errlen, "%s: runtime services disabled: %s", sd->name, why);
        goto out;
    }
    h->systab = fw.systab;
    h->runtime_services = t.runtime_services;
    h->rs_crc32 = t.rs_crc32;

    /* the freed boot-time pages are scrubbed before the builder hands them to the domain */
    memset(guest_ram(d, rb.addr, rb.pages * PAGE_SIZE), 0, rb.pages * PAGE_SIZE);
    memset(guest_ram(d, boot_services_page, PAGE_SIZE), 0, PAGE_SIZE);

    /* copying the segments out of the read buffer and zeroing the rest (bss), at the
     * in-hypervisor copy rate: the firmware runs on the same core and memory */
    d->boot.done += cost_bytes_ps(m->cost, C_MEMCPY_BW, h->loaded_bytes);
    h->done = true;
    rc = 0;
out:
    if (e)
        elf_end(e);
    free(map);
    free(vmap);
    free(rt_md);
    efirt_free(&fw);
    return rc;
}

/*
 * The runtime-service domain: the firmware reads its image out of the
 * platform flash over SPI and measures it, loads it as a runtime driver and
 * hands over to the hypervisor (rt_efi_boot); the domain starts when that
 * is done.
 */
/*
 * The golden measurement of a runtime image. Pinned by the scenario
 * (runtime_sha256): a different image is refused, as a verified boot would.
 * Not pinned: the build's own image (backend-rt.elf, what platform.fd holds
 * as hopsim-rt) is the reference, and an image that differs from it boots
 * with a warning on stderr, so an altered image never passes silently.
 */
static int check_measurement(struct domain *d, const struct sc_domain *sd, char *err, size_t errlen)
{
    char have[65], want[65];
    fwboot_hex(d->boot.sha256, have);
    if (sd->runtime_sha256[0]) {
        if (strcmp(have, sd->runtime_sha256) == 0)
            return 0;
        snprintf(err, errlen,
                 "%s: measured sha256 %s, but the scenario pins runtime_sha256 = %s: refused",
                 sd->name, have, sd->runtime_sha256);
        return -1;
    }
    if (strcmp(sd->runtime_image, "hopsim-rt") != 0)
        return 0;
    FILE *f = fopen(HOPSIM_GUEST_DIR "/backend-rt.elf", "rb");
    if (!f)
        return 0; /* no build image to compare with */
    uint8_t buf[65536], md[32];
    size_t n;
    struct sha256_ctx ctx;
    sha256_init(&ctx);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        sha256_update(&ctx, n, buf);
    sha256_digest(&ctx, SHA256_DIGEST_SIZE, md);
    fclose(f);
    fwboot_hex(md, want);
    if (strcmp(have, want) != 0)
        fprintf(stderr,
                "hopsim: warning: %s: runtime image %s measures sha256 %s, not the build's "
                "backend-rt.elf (%s); it boots because the scenario pins no runtime_sha256\n",
                sd->name, sd->runtime_image, have, want);
    return 0;
}

int domain_load_runtime_image(struct domain *d, const struct sc_domain *sd, struct elf_info *info,
                              char *err, size_t errlen)
{
    struct machine *m = d->m;
    uint8_t *img = NULL;
    size_t len = 0;
    char label[96], ferr[512];
    if (!m->spi) {
        snprintf(err, errlen, "%s: runtime_image needs the platform flash", sd->name);
        return -1;
    }
    if (fwboot_runtime_image(m->spi, sd->runtime_image, m->boot_clock, m->pcr0, &img, &len,
                             &d->boot, ferr, sizeof(ferr)) < 0) {
        snprintf(err, errlen, "%s: flash: %s", sd->name, ferr);
        return -1;
    }
    if (check_measurement(d, sd, err, errlen) < 0) {
        free(img);
        return -1;
    }
    m->boot_clock = d->boot.done;
    d->booted_from_flash = true;
    d->xip = m->sc->flash.xip;
    d->boot.opcode = m->sc->flash.read_opcode ? m->sc->flash.read_opcode : 0x0b;
    d->boot.clock_hz = spiflash_op_clock(m->flash, d->boot.opcode);
    snprintf(label, sizeof(label), "flash:%s", sd->runtime_image);
    int rc = rt_efi_boot(d, sd, label, img, len, info, err, errlen);
    free(img);
    m->boot_clock = d->boot.done; /* the next runtime image is read after this one is loaded */
    return rc;
}
