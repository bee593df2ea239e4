/*
 * The domain builder: loads a Xen PV-style ELF image with libelf, writes
 * the hypercall page, start_info, the xenstore and console ring pages and
 * the boot stack, and enters the guest as Xen does (%rsi = start_info).
 *
 * The image is checked and loaded by elfload.c: Xen ELF notes
 * (xen/elfnote.h) with XEN_ELFNOTE_ENTRY and XEN_ELFNOTE_HYPERCALL_PAGE
 * (inside the image), VIRT_BASE/PADDR_OFFSET describing an identity layout
 * (hopsim does not model guest paging: guest virtual == pseudo-physical).
 * Any image built to that ABI runs unchanged. Errors name the image file.
 *
 * Memory: a domain's initial RAM is one contiguous run of machine frames
 * (gpfn g -> first_mfn + g), zeroed before loading, as Xen scrubs; its RAM
 * range reaches maxmem, the pages above the initial allocation unpopulated
 * until the guest populates them (memory.c, ballooning).
 */
#include "machine.h"
#include "vtd.h"

#include "efirt.h"
#include "fwboot.h"
#include "hvm.h"
#include "l4sys.h"
#include "spi_flash.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <openssl/evp.h>

#include <unicorn/unicorn.h>
#include <xen/elfnote.h>
#include <xen/io/xs_wire.h>
#include <xen/sched.h>

void domain_set_exec(struct domain *d, uint64_t gpa, uint64_t len)
{
    if (!len)
        return;
    for (uint64_t pfn = gpa >> PAGE_SHIFT; pfn <= (gpa + len - 1) >> PAGE_SHIFT; pfn++)
        if (pfn < d->nr_pages)
            d->exec_pages[pfn >> 3] |= (uint8_t)(1u << (pfn & 7));
}

/*
 * The grant window (HOPSIM_GNT_WINDOW_BASE in the guest) has no host
 * memory of its own. Every engine maps the whole machine memory (the
 * memfd's shared mapping) once, as one Unicorn region at a physical
 * address no guest address reaches (vcpu.c); a grant map only records the
 * granter's frame for the slot (gnt_mfn), and the TLB fill hook translates
 * the slot's guest page to that frame in the alias -- no system call and
 * no Unicorn region change per grant. Whether the guest may touch a slot
 * at all is decided by the same hook from gnt_slot, so an access to an
 * empty slot faults the guest as an unmapped page would.
 *
 * An unmap must drop every translation an engine of the domain holds for
 * the slot, so that the next access asks the fill hook again. The fill
 * hook notes each slot it gives a translation for (gnt_tlb); an unmap of a
 * slot no engine has touched since the last flush flushes nothing
 * (netback maps a frame for the NIC's DMA and never touches it). Before,
 * each map and unmap was an mmap(MAP_FIXED) of the slot's host page and
 * each unmap a flush of all of the domain's engines' TLBs (about a third
 * of a net-stream run's host time with the refills and the kernel's VMA
 * work).
 */
int domain_window_map(struct domain *d, uint64_t host_addr, uint64_t mfn, bool readonly)
{
    (void)readonly; /* the fill hook gives a read-only slot read-only translations */
    if (mfn >= d->m->nr_mfns || mfn >= UINT32_MAX)
        return -1;
    d->gnt_mfn[(host_addr - HOPSIM_GNT_WINDOW_BASE) >> PAGE_SHIFT] = (uint32_t)(mfn + 1);
    return 0;
}

/* Drops every engine translation of the domain's window slots (see above). */
static void window_tlb_flush(struct domain *d)
{
    for (int i = 0; i < d->nvcpus; i++)
        vcpu_flush_tlb(d->vcpus[i]);
    if (d->gnt_tlb_n > GNT_TLB_LIST)
        memset(d->gnt_tlb, 0, HOPSIM_GNT_WINDOW_PAGES);
    else
        for (uint32_t i = 0; i < d->gnt_tlb_n; i++)
            d->gnt_tlb[d->gnt_tlb_list[i]] = 0;
    d->gnt_tlb_n = 0;
}

int domain_window_unmap(struct domain *d, uint64_t host_addr)
{
    uint64_t slot = (host_addr - HOPSIM_GNT_WINDOW_BASE) >> PAGE_SHIFT;
    if (d->gnt_tlb[slot])
        window_tlb_flush(d);
    d->gnt_mfn[slot] = 0;
    return 0;
}

void *guest_ram(struct domain *d, uint64_t gpa, uint64_t len)
{
    uint64_t size = d->nr_pages * PAGE_SIZE;
    if (gpa > size || len > size - gpa)
        return NULL;
    /* every page of it populated: a ballooned-out page is no memory (memory.c) */
    if (d->tot_pages < d->nr_pages || d->pages_released)
        for (uint64_t p = gpa >> PAGE_SHIFT; len && p <= (gpa + len - 1) >> PAGE_SHIFT; p++)
            if (d->p2m[p] == P2M_INVALID)
                return NULL;
    return d->ram + gpa;
}

const char *domain_symbol(const struct domain *d, uint64_t addr)
{
    static char buf[96];
    size_t lo = 0, hi = d->nsyms;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (d->syms[mid].addr <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return "?";
    const struct guest_sym *s = &d->syms[lo - 1];
    if (s->size && addr >= s->addr + s->size)
        return "?";
    snprintf(buf, sizeof(buf), "%s+0x%llx", s->name, (unsigned long long)(addr - s->addr));
    return buf;
}

static void set_exec_cb(void *opaque, uint64_t gpa, uint64_t len)
{
    domain_set_exec(opaque, gpa, len);
}

/* What the loader found about the code: sizes the engine's buffer, bounds the text. */
static void domain_elf_done(struct domain *d, const struct elf_ram *r)
{
    d->code_bytes += r->code_bytes;
    if (r->text_end) {
        if (!d->text_end || r->text_start < d->text_start)
            d->text_start = r->text_start;
        if (r->text_end > d->text_end)
            d->text_end = r->text_end;
    }
}

static struct elf_ram domain_elf_ram(struct domain *d)
{
    return (struct elf_ram){
        .ram = d->ram, .ram_size = d->nr_pages * PAGE_SIZE, .set_exec = set_exec_cb, .opaque = d};
}

/* Load an image held in memory; `label` names it in messages (a path or a flash file). */
static int load_image_mem(struct domain *d, const char *label, uint8_t *img, size_t len,
                          struct elf_info *info, char *err, size_t errlen)
{
    struct elf_ram r = domain_elf_ram(d);
    int rc = elf_load_image(&r, label, img, len, info, &d->syms, &d->nsyms, err, errlen);
    domain_elf_done(d, &r);
    return rc;
}

static uint8_t *read_file(const char *path, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    long n;
    if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        snprintf(err, errlen, "%s: cannot read", path);
        free(buf);
        buf = NULL;
        goto out;
    }
    *len = (size_t)n;
out:
    if (f)
        fclose(f);
    return buf;
}

static int load_image(struct domain *d, const char *path, struct elf_info *info, char *err,
                      size_t errlen)
{
    size_t len = 0;
    uint8_t *img = read_file(path, &len, err, errlen);
    if (!img)
        return -1;
    int rc = load_image_mem(d, path, img, len, info, err, errlen);
    free(img);
    return rc;
}

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
    unsigned mdlen = 0;
    size_t n;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        EVP_DigestUpdate(ctx, buf, n);
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    fclose(f);
    fwboot_hex(md, want);
    if (strcmp(have, want) != 0)
        fprintf(stderr,
                "hopsim: warning: %s: runtime image %s measures sha256 %s, not the build's "
                "backend-rt.elf (%s); it boots because the scenario pins no runtime_sha256\n",
                sd->name, sd->runtime_image, have, want);
    return 0;
}

static int load_runtime_image(struct domain *d, const struct sc_domain *sd, struct elf_info *info,
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

/* Xen's x86-64 PV hypercall stubs (hypercall_page_initialise_ring3_kernel). */
static void write_hypercall_page(uint8_t *p)
{
    static const uint8_t stub[] = {0x51, 0x41, 0x53, 0xb8, 0,    0,    0,
                                   0,    0x0f, 0x05, 0x41, 0x5b, 0x59, 0xc3};
    static const uint8_t iret[] = {0x51, 0x41, 0x53, 0x50, 0xb8, 23, 0, 0, 0, 0x0f, 0x05};
    for (uint32_t nr = 0; nr < 128; nr++) {
        uint8_t *s = p + nr * 32;
        memset(s, 0xcc, 32); /* int3 padding */
        if (nr == __HYPERVISOR_iret) {
            memcpy(s, iret, sizeof(iret));
            continue;
        }
        memcpy(s, stub, sizeof(stub));
        memcpy(s + 4, &nr, 4);
    }
}

/* Pages of the phys-to-machine list (start_info.mfn_list), one 8-byte entry per frame. */
static uint64_t p2m_pages(const struct domain *d)
{
    return (d->nr_pages * 8 + PAGE_SIZE - 1) / PAGE_SIZE;
}

static int layout(struct domain *d, const struct elf_info *info, const char *path, char *err,
                  size_t errlen)
{
    uint64_t hp = info->hypercall_page;
    uint8_t *hpage = (hp & (PAGE_SIZE - 1)) ? NULL : guest_ram(d, hp, PAGE_SIZE);
    if (!hpage) {
        snprintf(err, errlen, "%s: hypercall page 0x%llx is not a page inside the image", path,
                 (unsigned long long)hp);
        return -1;
    }
    write_hypercall_page(hpage);
    domain_set_exec(d, hp, PAGE_SIZE);
    d->hypercall_page = hp;
    d->entry = info->entry;
    d->image_end = (info->load_end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    uint64_t need = d->image_end + (3 + p2m_pages(d)) * PAGE_SIZE + HOPSIM_BOOT_STACK;
    if (need > d->init_pages * PAGE_SIZE) {
        snprintf(err, errlen, "%s: image + boot pages need %llu KiB, the domain has %llu KiB", path,
                 (unsigned long long)(need / 1024), (unsigned long long)(d->init_pages * 4));
        return -1;
    }
    return 0;
}

static void fill_start_info(struct domain *d, const struct sc_domain *sd)
{
    d->si_gpa = d->image_end;
    start_info_t *si = guest_ram(d, d->si_gpa, PAGE_SIZE);
    assert(si); /* layout() checked that the boot pages fit */
    d->si = si;
    memcpy(si->magic, "xen-3.0-x86_64", sizeof("xen-3.0-x86_64"));
    si->nr_pages = d->init_pages; /* what it holds at start; the RAM range may be larger */
    /* auto-translated (XENVER_get_features): a guest address, the page mapped there by
       domain_build, as Xen's builder does for a translated PV guest */
    si->shared_info = d->nr_pages << PAGE_SHIFT;
    si->flags = d->privileged ? (SIF_PRIVILEGED | SIF_INITDOMAIN) : 0;
    si->store_mfn = (d->si_gpa >> PAGE_SHIFT) + 1;
    si->store_evtchn = d->store_port;
    si->console.domU.mfn = (d->si_gpa >> PAGE_SHIFT) + 2;
    d->store_gpfn = si->store_mfn;
    d->console_gpfn = si->console.domU.mfn;
    si->console.domU.evtchn = 0;
    /*
     * The phys-to-machine list. The guest is auto-translated: every frame it
     * hands the hypervisor is a guest frame, so for a domain without devices
     * the list is the identity, as libxc's builder writes it for a translated
     * guest -- a frontend that translates through it anyway grants the right
     * frame. A domain that owns a device gets its machine frames: without an
     * IOMMU they are the bus addresses its drivers program for DMA
     * (workloads/lib/dma.h), which is all it may use them for. Frames
     * above the initial allocation are INVALID_P2M_ENTRY (~0), as in a
     * Linux PV guest's p2m for the memory it may balloon into.
     */
    bool owns_device = false;
    for (int i = 0; i < d->m->sc->ndevices; i++)
        owns_device |= d->m->sc->devices[i].owner == d->idx;
    uint64_t p2m_gpa = d->si_gpa + 3 * PAGE_SIZE;
    uint64_t *p2m = guest_ram(d, p2m_gpa, d->nr_pages * 8);
    for (uint64_t i = 0; p2m && i < d->nr_pages; i++)
        p2m[i] = i >= d->init_pages ? ~0ull : owns_device ? d->first_mfn + i : i;
    d->p2m_machine = owns_device;
    si->mfn_list = p2m_gpa;
    size_t n = strnlen(sd->cmdline, sizeof(si->cmd_line) - 1);
    memcpy(si->cmd_line, sd->cmdline, n);
    si->cmd_line[n] = 0;
}

static int build_vcpus(struct domain *d, const struct sc_domain *sd, char *err, size_t errlen)
{
    struct machine *m = d->m;
    for (int i = 0; i < sd->vcpus; i++) {
        if (vcpu_create(d, i, err, errlen) < 0)
            return -1;
        d->nvcpus = i + 1;
        struct vcpu *v = d->vcpus[i];
        int cpu = sd->cpu >= 0 ? (sd->cpu + i) % m->npcpus : (d->idx + i) % m->npcpus;
        v->pcpu = cpu;
    }
    if (d->xip) {
        /* one 64-byte memory-mapped read at the flash's read command and clock */
        uint8_t op = m->sc->flash.read_opcode ? m->sc->flash.read_opcode : 0x0b;
        size_t frame = 4 + (op == 0x03 ? 0 : 1) + 64;
        simtime_t fill = spiflash_frame_time(m->flash, op, frame);
        for (int i = 0; i < d->nvcpus; i++) {
            d->vcpus[i]->icache = calloc(XIP_ICACHE_LINES, sizeof(uint64_t));
            d->vcpus[i]->xip_fill_mc = (uint32_t)((double)fill * m->hz / 1e9);
        }
    }
    struct vcpu *v0 = d->vcpus[0];
    v0->initialised = true;
    vcpu_set_reg(v0, UC_X86_REG_RIP, d->entry);
    vcpu_set_reg(v0, UC_X86_REG_RSI, d->si_gpa);
    vcpu_set_reg(v0, UC_X86_REG_RSP,
                 d->si_gpa + (3 + p2m_pages(d)) * PAGE_SIZE + HOPSIM_BOOT_STACK);
    return 0;
}

int domain_build(struct machine *m, int idx, char *err, size_t errlen)
{
    const struct sc_domain *sd = &m->sc->domains[idx];
    struct domain *d = calloc(1, sizeof(*d));
    if (!d) {
        snprintf(err, errlen, "%s: out of memory", sd->name);
        return -1;
    }
    m->doms[m->ndoms++] = d;
    d->m = m;
    d->idx = idx;
    snprintf(d->name, sizeof(d->name), "%s", sd->name);
    d->privileged = sd->privileged;
    /* an l4 task runs on bare metal too: its runtime's platform calls are kernel calls */
    d->native = sd->mode == SC_MODE_NATIVE || sd->mode == SC_MODE_L4;
    d->l4 = sd->mode == SC_MODE_L4;
    d->rt = sd->mode == SC_MODE_RT;
    d->hvm = sd->mode == SC_MODE_HVM;
    if (d->hvm && sd->vmm >= 0 && sd->vmm < idx && m->sc->domains[sd->vmm].mode == SC_MODE_L4)
        d->l4_vmm = m->doms[sd->vmm];
    d->rt_on_notifier = sd->rt_on_notifier;
    d->init_pages = sd->memory_bytes / PAGE_SIZE;
    d->nr_pages = sd->maxmem_bytes / PAGE_SIZE;
    if (d->nr_pages < d->init_pages) /* --set NAME.memory_mb above its maxmem */
        d->nr_pages = d->init_pages;
    d->max_pages = d->nr_pages; /* the toolstack's max_mem: maxmem (xl.cfg) */
    d->first_mfn = machine_alloc_mfns(m, d->init_pages);
    d->shinfo_mfn = machine_alloc_mfns(m, 1);
    if (d->first_mfn == UINT64_MAX || d->shinfo_mfn == UINT64_MAX) {
        snprintf(err, errlen, "%s: machine memory exhausted", sd->name);
        return -1;
    }
    /* Fresh memfd frames are zero and frames are scrubbed when given back,
     * so RAM is already scrubbed; not touching it keeps it unresident. */
    d->shinfo = machine_frame(m, d->shinfo_mfn);
    d->exec_pages = calloc((d->nr_pages + 7) / 8, 1);
    if (!d->exec_pages || memory_domain_init(d) < 0 || evtchn_init(d) < 0 || gnttab_init(d) < 0) {
        snprintf(err, errlen, "%s: out of memory", sd->name);
        return -1;
    }
    struct elf_info info = {0};
    int rc = sd->runtime_image[0] ? load_runtime_image(d, sd, &info, err, errlen)
                                  : load_image(d, sd->image, &info, err, errlen);
    if (rc < 0 ||
        layout(d, &info, sd->runtime_image[0] ? sd->runtime_image : sd->image, err, errlen) < 0) {
        /* FILE:LINE: KEY: of the declaration, before what the loader found */
        char why[512];
        snprintf(why, sizeof(why), "%s", err);
        snprintf(err, errlen, "%s:%d: %s: %s", m->sc->path, sd->line,
                 sd->runtime_image[0] ? "runtime_image" : "image", why);
        return -1;
    }
    d->store_port = evtchn_alloc_store(d);
    fill_start_info(d, sd);
    if (build_vcpus(d, sd, err, errlen) < 0)
        return -1;
    if (domain_map_shared_info(d, d->nr_pages) < 0) {
        snprintf(err, errlen, "%s: cannot map shared_info", sd->name);
        return -1;
    }
    return d->hvm ? hvm_domain_init(d, err, errlen) : 0;
}

void domain_free(struct domain *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->nvcpus; i++)
        vcpu_destroy(d->vcpus[i]);
    hvm_domain_fini(d);
    evtchn_fini(d);
    gnttab_fini(d);
    for (size_t i = 0; i < d->nsyms; i++)
        free(d->syms[i].name);
    free(d->syms);
    free(d->exec_pages);
    memory_domain_fini(d);
    free(d);
}

void domain_console(struct domain *d, const char *buf, size_t len)
{
    struct machine *m = d->m;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (c != '\n' && d->console_len < sizeof(d->console) - 1) {
            d->console[d->console_len++] = c;
            continue;
        }
        d->console[d->console_len] = 0;
        if (!m->quiet)
            fprintf(m->console_out, "[%s] %s\n", d->name, d->console);
        snprintf(d->last_said[d->said++ % 3], sizeof(d->last_said[0]), "%.159s", d->console);
        d->console_len = 0;
        if (c != '\n')
            d->console[d->console_len++] = c;
    }
}

static const char *shutdown_name(int reason)
{
    switch (reason) {
    case SHUTDOWN_poweroff:
        return "poweroff";
    case SHUTDOWN_reboot:
        return "reboot";
    case SHUTDOWN_suspend:
        return "suspend";
    case SHUTDOWN_crash:
        return "crash";
    case SHUTDOWN_watchdog:
        return "watchdog";
    default:
        return "unknown";
    }
}

void domain_kill(struct domain *d, int reason, const char *why)
{
    struct machine *m = d->m;
    if (d->dead)
        return;
    if (d->console_len)
        domain_console(d, "\n", 1);
    d->dead = true;
    d->shutdown_reason = reason;
    simtime_t now = evq_now(&m->q);
    bool restart = reason == SHUTDOWN_crash && toolstack_on_crash(m, d);
    if (reason != SHUTDOWN_poweroff) {
        fprintf(stderr, "hopsim: domain %s (d%u) %s at t=%.3f us: %s%s\n", d->name, d->domid,
                shutdown_name(reason), (double)now / PS_PER_US, why,
                d->rt ? "; runtime services disabled" : "");
        /* under --quiet the console was not shown: its last words say why */
        for (unsigned i = d->said > 3 ? d->said - 3 : 0; m->quiet && i < d->said; i++)
            fprintf(stderr, "hopsim: [%s] said: %s\n", d->name, d->last_said[i % 3]);
        if (!m->failure[0] && !restart)
            snprintf(m->failure, sizeof(m->failure), "domain %s: %s: %s", d->name,
                     shutdown_name(reason), why);
    } else if (!m->quiet) {
        fprintf(m->console_out, "[%s] shut down (poweroff) at t=%.3f us\n", d->name,
                (double)now / PS_PER_US);
    }
    for (int i = 0; i < d->nvcpus; i++) {
        struct vcpu *v = d->vcpus[i];
        evq_cancel(&m->q, v->timer);
        evq_cancel(&m->q, v->poll_timeout);
        v->state = VCPU_DOWN;
    }
    l4sys_domain_dead(d);
    evtchn_domain_dead(d, now);
    gnttab_domain_dead(d);
    vtd_domain_dead(d);
    platform_release_devices(d, now);
    xs_release(m->xs, d->domid);
    toolstack_release(m, d);
    machine_store_flush(m, now); /* @releaseDomain watchers, the backends of its devices */
    /*
     * The last domain is gone. Frames still on a wire reach the peer after
     * that (what a sink counts is part of the result): with a NIC the run
     * ends when the event queue drains, which bounds it (no domain is left
     * to make more events) -- the time limit still applies.
     */
    if (--m->live_doms == 0 && !m->drain_wire)
        m->stop = true;
}
