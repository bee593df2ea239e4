/*
 * Xen PV-style ELF images (see elfload.h): checked, notes read, segments
 * copied into guest RAM, function symbols kept for traces. Every offset,
 * size and address comes from the file, so each is checked against the
 * file's length or the RAM before use; errors name the image.
 */
#include "elfload.h"

#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/elfnote.h>

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

void elf_read_notes(Elf *e, struct elf_info *info)
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

int elf_load_segments(struct elf_ram *r, Elf *e, const uint8_t *img, size_t img_len,
                      struct elf_info *info, const char *path, char *err, size_t errlen)
{
    size_t nph = 0;
    if (elf_getphdrnum(e, &nph) != 0) {
        snprintf(err, errlen, "%s: bad program headers: %s", path, elf_errmsg(-1));
        return -1;
    }
    uint64_t start = UINT64_MAX;
    for (size_t i = 0; i < nph; i++) {
        GElf_Phdr ph;
        if (!gelf_getphdr(e, (int)i, &ph) || ph.p_type != PT_LOAD)
            continue;
        if (ph.p_paddr > r->ram_size || ph.p_memsz > r->ram_size - ph.p_paddr ||
            ph.p_filesz > ph.p_memsz) {
            snprintf(err, errlen,
                     "%s: segment at 0x%llx (+0x%llx) does not fit the domain's %llu KiB of RAM",
                     path, (unsigned long long)ph.p_paddr, (unsigned long long)ph.p_memsz,
                     (unsigned long long)(r->ram_size / 1024));
            return -1;
        }
        if (ph.p_offset > img_len || ph.p_filesz > img_len - ph.p_offset) {
            snprintf(err, errlen, "%s: truncated segment at file offset 0x%llx", path,
                     (unsigned long long)ph.p_offset);
            return -1;
        }
        memcpy(r->ram + ph.p_paddr, img + ph.p_offset, ph.p_filesz);
        if ((ph.p_flags & PF_X) && ph.p_memsz) {
            if (r->set_exec)
                r->set_exec(r->opaque, ph.p_paddr, ph.p_memsz);
            r->code_bytes += ph.p_memsz;
        }
        if ((ph.p_flags & PF_X) && ph.p_filesz) {
            if (!r->text_end || ph.p_paddr < r->text_start)
                r->text_start = ph.p_paddr;
            if (ph.p_paddr + ph.p_filesz > r->text_end)
                r->text_end = ph.p_paddr + ph.p_filesz;
        }
        if (ph.p_memsz && ph.p_paddr < start)
            start = ph.p_paddr;
        if (ph.p_paddr + ph.p_memsz > info->load_end)
            info->load_end = ph.p_paddr + ph.p_memsz;
    }
    if (!info->load_end) {
        snprintf(err, errlen, "%s: no PT_LOAD segment", path);
        return -1;
    }
    /* Xen's elf_xen_addr_calc_check: "hypercall page not within image" */
    uint64_t hp = info->hypercall_page;
    if (info->have_hpage &&
        (hp < start || hp > info->load_end || info->load_end - hp < ELF_PAGE_SIZE)) {
        snprintf(err, errlen,
                 "%s: hypercall page 0x%llx is not inside the image's loaded segments "
                 "[0x%llx, 0x%llx)",
                 path, (unsigned long long)hp, (unsigned long long)start,
                 (unsigned long long)info->load_end);
        return -1;
    }
    return 0;
}

static int sym_cmp(const void *a, const void *b)
{
    const struct guest_sym *x = a, *y = b;
    return x->addr < y->addr ? -1 : x->addr > y->addr;
}

void elf_read_symbols(Elf *e, size_t img_len, struct guest_sym **syms, size_t *nsyms)
{
    Elf_Scn *scn = NULL;
    GElf_Shdr sh;
    while ((scn = elf_nextscn(e, scn)) != NULL) {
        if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB)
            continue;
        Elf_Data *data = elf_getdata(scn, NULL);
        /* the table's size is bounded by the file (a crafted sh_size must not drive the
           allocation) and by the data libelf actually has */
        if (!data || sh.sh_entsize < sizeof(Elf64_Sym) || sh.sh_size > img_len ||
            sh.sh_offset > img_len - sh.sh_size)
            return;
        size_t n = sh.sh_size / sh.sh_entsize;
        if (n > data->d_size / sizeof(Elf64_Sym))
            n = data->d_size / sizeof(Elf64_Sym);
        struct guest_sym *s = calloc(n ? n : 1, sizeof(*s));
        size_t k = 0;
        for (size_t i = 0; s && i < n; i++) {
            GElf_Sym gs;
            if (!gelf_getsym(data, (int)i, &gs) || GELF_ST_TYPE(gs.st_info) != STT_FUNC)
                continue;
            const char *name = elf_strptr(e, sh.sh_link, gs.st_name);
            char *copy = name ? strdup(name) : NULL;
            if (!copy)
                continue;
            s[k++] = (struct guest_sym){.addr = gs.st_value, .size = gs.st_size, .name = copy};
        }
        if (s)
            qsort(s, k, sizeof(*s), sym_cmp);
        *syms = s;
        *nsyms = s ? k : 0;
        return;
    }
}

int elf_check(Elf *e, const char *path, char *err, size_t errlen)
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
    /* Both header tables must lie inside the file before anything walks them: libelf
     * answers each gelf_getphdr() of a table that does not fit by failing, so a loop
     * over an e_phnum (or PN_XNUM's sh_info) of billions would spin for minutes. */
    size_t len = 0, nph = 0, nsh = 0;
    elf_rawfile(e, &len);
    if (elf_getphdrnum(e, &nph) != 0 || elf_getshdrnum(e, &nsh) != 0) {
        snprintf(err, errlen, "%s: bad header table counts: %s", path, elf_errmsg(-1));
        return -1;
    }
    if (nph && (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phoff > len ||
                nph > (len - eh.e_phoff) / sizeof(Elf64_Phdr))) {
        snprintf(err, errlen,
                 "%s: program header table (%zu entries of %u bytes at offset 0x%llx) lies "
                 "outside the file's %zu bytes",
                 path, nph, (unsigned)eh.e_phentsize, (unsigned long long)eh.e_phoff, len);
        return -1;
    }
    if (nsh && (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shoff > len ||
                nsh > (len - eh.e_shoff) / sizeof(Elf64_Shdr))) {
        snprintf(err, errlen,
                 "%s: section header table (%zu entries of %u bytes at offset 0x%llx) lies "
                 "outside the file's %zu bytes",
                 path, nsh, (unsigned)eh.e_shentsize, (unsigned long long)eh.e_shoff, len);
        return -1;
    }
    return 0;
}

int elf_check_notes(const struct elf_info *info, const char *path, char *err, size_t errlen)
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

void elf_free_symbols(struct guest_sym *syms, size_t nsyms)
{
    for (size_t i = 0; i < nsyms; i++)
        free(syms[i].name);
    free(syms);
}

int elf_load_image(struct elf_ram *r, const char *label, uint8_t *img, size_t len,
                   struct elf_info *info, struct guest_sym **syms, size_t *nsyms, char *err,
                   size_t errlen)
{
    int rc = -1;
    elf_version(EV_CURRENT);
    Elf *e = elf_memory((char *)img, len);
    if (!e) {
        snprintf(err, errlen, "%s: %s", label, elf_errmsg(-1));
        return -1;
    }
    if (elf_check(e, label, err, errlen) < 0)
        goto out;
    elf_read_notes(e, info);
    if (elf_check_notes(info, label, err, errlen) < 0)
        goto out;
    if (elf_load_segments(r, e, img, len, info, label, err, errlen) < 0)
        goto out;
    elf_read_symbols(e, len, syms, nsyms);
    rc = 0;
out:
    elf_end(e);
    return rc;
}
