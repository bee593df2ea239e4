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
 *
 * A domain whose image is a runtime service in the platform flash is
 * loaded by domain_rt.c (read, measured, handed over as UEFI does).
 */
#include "domain_int.h"
#include "machine.h"
#include "vtd.h"

#include "hvm.h"
#include "l4sys.h"
#include "spi_flash.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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
void domain_elf_done(struct domain *d, const struct elf_ram *r)
{
    d->code_bytes += r->code_bytes;
    if (r->text_end) {
        if (!d->text_end || r->text_start < d->text_start)
            d->text_start = r->text_start;
        if (r->text_end > d->text_end)
            d->text_end = r->text_end;
    }
}

struct elf_ram domain_elf_ram(struct domain *d)
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
    m->doms_gen++;
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
    int rc = sd->runtime_image[0] ? domain_load_runtime_image(d, sd, &info, err, errlen)
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
