/*
 * The domain builder: loads a Xen PV-style ELF image with libelf, writes
 * the hypercall page, start_info, the xenstore and console ring pages and
 * the boot stack, and enters the guest as Xen does (%rsi = start_info).
 *
 * An image declares itself with Xen ELF notes (xen/elfnote.h):
 * XEN_ELFNOTE_ENTRY and XEN_ELFNOTE_HYPERCALL_PAGE are required;
 * VIRT_BASE/PADDR_OFFSET must describe an identity layout (hopsim does not
 * model guest paging: guest virtual == pseudo-physical). Any image built to
 * that ABI runs unchanged. Errors name the image file.
 *
 * Memory: a domain's RAM is one contiguous run of machine frames (the p2m
 * is gpfn -> first_mfn + gpfn), zeroed before loading, as Xen scrubs.
 */
#include "machine.h"

#include "fwboot.h"
#include "spi_flash.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <unicorn/unicorn.h>
#include <xen/elfnote.h>
#include <xen/io/xs_wire.h>
#include <xen/sched.h>

void *guest_ram(struct domain *d, uint64_t gpa, uint64_t len)
{
    uint64_t size = d->nr_pages * PAGE_SIZE;
    if (gpa > size || len > size - gpa)
        return NULL;
    return d->ram + gpa;
}

struct elf_info {
    uint64_t entry, hypercall_page, virt_base, paddr_offset;
    bool have_entry, have_hpage, have_xen_notes;
    uint64_t load_end;
};

static uint64_t note_u64(const uint8_t *desc, size_t n)
{
    uint64_t v = 0;
    memcpy(&v, desc, n < 8 ? n : 8);
    return v;
}

static void parse_notes(Elf_Data *data, struct elf_info *info)
{
    GElf_Nhdr nh;
    size_t off = 0, name_off, desc_off;
    while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
        const char *name = (const char *)data->d_buf + name_off;
        const uint8_t *desc = (const uint8_t *)data->d_buf + desc_off;
        if (nh.n_namesz != 4 || memcmp(name, "Xen", 4) != 0)
            continue;
        info->have_xen_notes = true;
        switch (nh.n_type) {
        case XEN_ELFNOTE_ENTRY:
            info->entry = note_u64(desc, nh.n_descsz);
            info->have_entry = true;
            break;
        case XEN_ELFNOTE_HYPERCALL_PAGE:
            info->hypercall_page = note_u64(desc, nh.n_descsz);
            info->have_hpage = true;
            break;
        case XEN_ELFNOTE_VIRT_BASE:
            info->virt_base = note_u64(desc, nh.n_descsz);
            break;
        case XEN_ELFNOTE_PADDR_OFFSET:
            info->paddr_offset = note_u64(desc, nh.n_descsz);
            break;
        default:
            break;
        }
    }
}

static void read_notes(Elf *e, struct elf_info *info)
{
    Elf_Scn *scn = NULL;
    GElf_Shdr sh;
    bool any = false;
    while ((scn = elf_nextscn(e, scn)) != NULL) {
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
            continue;
        Elf_Data *data = elf_getdata(scn, NULL);
        if (data)
            parse_notes(data, info);
        any = true;
    }
    if (any)
        return;
    size_t nph = 0;
    elf_getphdrnum(e, &nph);
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_NOTE)
            continue;
        Elf_Data *data = elf_getdata_rawchunk(e, (int64_t)ph.p_offset, ph.p_filesz, ELF_T_NHDR);
        if (data)
            parse_notes(data, info);
    }
}

static int load_segments(struct domain *d, Elf *e, const uint8_t *img, size_t img_len,
                         struct elf_info *info, char *err, size_t errlen, const char *path)
{
    size_t nph = 0;
    if (elf_getphdrnum(e, &nph) != 0) {
        snprintf(err, errlen, "%s: bad program headers: %s", path, elf_errmsg(-1));
        return -1;
    }
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
            continue;
        uint8_t *dst = guest_ram(d, ph.p_paddr, ph.p_memsz);
        if (!dst || ph.p_filesz > ph.p_memsz) {
            snprintf(err, errlen,
                     "%s: segment at 0x%llx (+0x%llx) does not fit the domain's %llu KiB of RAM",
                     path, (unsigned long long)ph.p_paddr, (unsigned long long)ph.p_memsz,
                     (unsigned long long)(d->nr_pages * 4));
            return -1;
        }
        if (ph.p_offset > img_len || ph.p_filesz > img_len - ph.p_offset) {
            snprintf(err, errlen, "%s: truncated segment at file offset 0x%llx", path,
                     (unsigned long long)ph.p_offset);
            return -1;
        }
        memcpy(dst, img + ph.p_offset, ph.p_filesz);
        if (ph.p_paddr + ph.p_memsz > info->load_end)
            info->load_end = ph.p_paddr + ph.p_memsz;
    }
    if (!info->load_end) {
        snprintf(err, errlen, "%s: no PT_LOAD segment", path);
        return -1;
    }
    return 0;
}

static int sym_cmp(const void *a, const void *b)
{
    const struct guest_sym *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void read_symbols(struct domain *d, Elf *e)
{
    Elf_Scn *scn = NULL;
    GElf_Shdr sh;
    while ((scn = elf_nextscn(e, scn)) != NULL) {
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
            continue;
        Elf_Data *data = elf_getdata(scn, NULL);
        size_t n = sh.sh_entsize ? sh.sh_size / sh.sh_entsize : 0;
        d->syms = calloc(n ? n : 1, sizeof(*d->syms));
        for (size_t i = 0; d->syms && i < n; i++) {
            GElf_Sym s;
            if (!gelf_getsym(data, (int)i, &s) || GELF_ST_TYPE(s.st_info) != STT_FUNC)
                continue;
            const char *name = elf_strptr(e, sh.sh_link, s.st_name);
            if (!name)
                continue;
            d->syms[d->nsyms++] =
                (struct guest_sym){.addr = s.st_value, .size = s.st_size, .name = strdup(name)};
        }
        qsort(d->syms, d->nsyms, sizeof(*d->syms), sym_cmp);
        return;
    }
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

static int check_elf(Elf *e, const char *path, char *err, size_t errlen)
{
    GElf_Ehdr eh;
    if (elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh)) {
        snprintf(err, errlen, "%s: not an ELF file", path);
        return -1;
    }
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_machine != EM_X86_64 || eh.e_type != ET_EXEC) {
        snprintf(err, errlen, "%s: not an x86-64 ELF executable (ET_EXEC)", path);
        return -1;
    }
    return 0;
}

static int check_notes(struct elf_info *info, const char *path, char *err, size_t errlen)
{
    if (!info->have_xen_notes) {
        snprintf(err, errlen, "%s: no Xen ELF notes: not a Xen PV image", path);
        return -1;
    }
    if (!info->have_hpage) {
        snprintf(err, errlen, "%s: missing XEN_ELFNOTE_HYPERCALL_PAGE", path);
        return -1;
    }
    if (!info->have_entry) {
        snprintf(err, errlen, "%s: missing XEN_ELFNOTE_ENTRY", path);
        return -1;
    }
    if (info->virt_base != info->paddr_offset) {
        snprintf(err, errlen,
                 "%s: XEN_ELFNOTE_VIRT_BASE 0x%llx != PADDR_OFFSET 0x%llx: hopsim runs guests "
                 "with identity paging only",
                 path, (unsigned long long)info->virt_base, (unsigned long long)info->paddr_offset);
        return -1;
    }
    return 0;
}

/* Load an image held in memory; `label` names it in messages (a path or a flash file). */
static int load_image_mem(struct domain *d, const char *label, uint8_t *img, size_t len,
                          struct elf_info *info, char *err, size_t errlen)
{
    int rc = -1;
    elf_version(EV_CURRENT);
    Elf *e = elf_memory((char *)img, len);
    if (!e) {
        snprintf(err, errlen, "%s: %s", label, elf_errmsg(-1));
        return -1;
    }
    if (check_elf(e, label, err, errlen) < 0)
        goto out;
    read_notes(e, info);
    if (check_notes(info, label, err, errlen) < 0)
        goto out;
    if (load_segments(d, e, img, len, info, err, errlen, label) < 0)
        goto out;
    read_symbols(d, e);
    rc = 0;
out:
    elf_end(e);
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
 * The runtime-service domain: the firmware reads its image out of the
 * platform flash over SPI and measures it; the domain starts when the read
 * is done.
 */
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
    m->boot_clock = d->boot.done;
    d->booted_from_flash = true;
    d->xip = m->sc->flash.xip;
    d->boot.opcode = m->sc->flash.read_opcode ? m->sc->flash.read_opcode : 0x0b;
    d->boot.clock_hz = spiflash_op_clock(m->flash, d->boot.opcode);
    snprintf(label, sizeof(label), "flash:%s", sd->runtime_image);
    int rc = load_image_mem(d, label, img, len, info, err, errlen);
    free(img);
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
    d->hypercall_page = hp;
    d->entry = info->entry;
    d->image_end = (info->load_end + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
    uint64_t need = d->image_end + (3 + p2m_pages(d)) * PAGE_SIZE + HOPSIM_BOOT_STACK;
    if (need > d->nr_pages * PAGE_SIZE) {
        snprintf(err, errlen, "%s: image + boot pages need %llu KiB, the domain has %llu KiB", path,
                 (unsigned long long)(need / 1024), (unsigned long long)(d->nr_pages * 4));
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
    si->nr_pages = d->nr_pages;
    si->shared_info = d->shinfo_mfn << PAGE_SHIFT;
    si->flags = d->privileged ? (SIF_PRIVILEGED | SIF_INITDOMAIN) : 0;
    si->store_mfn = (d->si_gpa >> PAGE_SHIFT) + 1;
    si->store_evtchn = d->store_port;
    si->console.domU.mfn = (d->si_gpa >> PAGE_SHIFT) + 2;
    si->console.domU.evtchn = 0;
    /* Xen PV's phys-to-machine list: drivers translate to bus addresses with it. */
    uint64_t p2m_gpa = d->si_gpa + 3 * PAGE_SIZE;
    uint64_t *p2m = guest_ram(d, p2m_gpa, d->nr_pages * 8);
    for (uint64_t i = 0; p2m && i < d->nr_pages; i++)
        p2m[i] = d->first_mfn + i;
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
    d->native = sd->mode == SC_MODE_NATIVE;
    d->rt = sd->mode == SC_MODE_RT;
    d->rt_on_notifier = sd->rt_on_notifier;
    d->nr_pages = sd->memory_bytes / PAGE_SIZE;
    d->first_mfn = machine_alloc_mfns(m, d->nr_pages);
    d->shinfo_mfn = machine_alloc_mfns(m, 1);
    if (d->first_mfn == UINT64_MAX || d->shinfo_mfn == UINT64_MAX) {
        snprintf(err, errlen, "%s: machine memory exhausted", sd->name);
        return -1;
    }
    /* Fresh anonymous memory is zero and frames are never reused within a
     * run, so RAM is already scrubbed; not touching it keeps it unresident. */
    d->ram = machine_frame(m, d->first_mfn);
    d->shinfo = machine_frame(m, d->shinfo_mfn);
    if (evtchn_init(d) < 0 || gnttab_init(d) < 0) {
        snprintf(err, errlen, "%s: out of memory", sd->name);
        return -1;
    }
    struct elf_info info = {0};
    int rc = sd->runtime_image[0] ? load_runtime_image(d, sd, &info, err, errlen)
                                  : load_image(d, sd->image, &info, err, errlen);
    if (rc < 0 ||
        layout(d, &info, sd->runtime_image[0] ? sd->runtime_image : sd->image, err, errlen) < 0)
        return -1;
    d->store_port = evtchn_alloc_store(d);
    fill_start_info(d, sd);
    return build_vcpus(d, sd, err, errlen);
}

void domain_free(struct domain *d)
{
    if (!d)
        return;
    for (int i = 0; i < d->nvcpus; i++)
        vcpu_destroy(d->vcpus[i]);
    evtchn_fini(d);
    gnttab_fini(d);
    for (size_t i = 0; i < d->nsyms; i++)
        free(d->syms[i].name);
    free(d->syms);
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
    if (reason != SHUTDOWN_poweroff) {
        fprintf(stderr, "hopsim: domain %s (d%u) %s at t=%.3f us: %s%s\n", d->name, d->domid,
                shutdown_name(reason), (double)now / PS_PER_US, why,
                d->rt ? "; runtime services disabled" : "");
        if (!m->failure[0])
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
    evtchn_domain_dead(d, now);
    gnttab_domain_dead(d);
    xs_release(m->xs, d->domid);
    if (--m->live_doms == 0)
        m->stop = true;
}
