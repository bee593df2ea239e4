/*
 * The ELF loader of the domain builder: Xen PV-style images, as Xen's
 * libelf takes them. An image declares itself with Xen ELF notes
 * (xen/elfnote.h): XEN_ELFNOTE_ENTRY and XEN_ELFNOTE_HYPERCALL_PAGE are
 * required, and the hypercall page must lie inside the image's loaded
 * segments (Xen: "hypercall page not within image"); VIRT_BASE and
 * PADDR_OFFSET must describe an identity layout. PT_LOAD segments are
 * copied to their physical addresses in guest RAM. The symbol table is
 * bounded by the file's size, whatever its header claims.
 *
 * Free of the machine model, so the fuzzer (tests/fuzz) loads images into
 * a plain buffer.
 */
#ifndef HOPSIM_ELFLOAD_H
#define HOPSIM_ELFLOAD_H

#include <libelf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ELF_PAGE_SIZE 4096u

struct guest_sym {
    uint64_t addr, size;
    char *name;
};

struct elf_info {
    uint64_t entry, hypercall_page, virt_base, paddr_offset;
    bool have_entry, have_hpage, have_xen_notes;
    uint64_t load_end;
};

/* Where an image goes: guest RAM [0, ram_size) at ram; set_exec (may be NULL)
 * marks the pages of executable segments; code_bytes counts their bytes and
 * [text_start, text_end) spans their file-backed bytes (0, 0: none). */
struct elf_ram {
    uint8_t *ram;
    uint64_t ram_size;
    void (*set_exec)(void *opaque, uint64_t gpa, uint64_t len);
    void *opaque;
    uint64_t code_bytes;
    uint64_t text_start, text_end;
};

/* An x86-64 ET_EXEC? 0, or -1 and a message. */
int elf_check(Elf *e, const char *label, char *err, size_t errlen);
void elf_read_notes(Elf *e, struct elf_info *info);
int elf_check_notes(const struct elf_info *info, const char *label, char *err, size_t errlen);
/* Copy the PT_LOAD segments into r; checks the hypercall page against them. */
int elf_load_segments(struct elf_ram *r, Elf *e, const uint8_t *img, size_t img_len,
                      struct elf_info *info, const char *label, char *err, size_t errlen);
/* The STT_FUNC symbols, sorted by address (*syms NULL and *nsyms 0 if none). */
void elf_read_symbols(Elf *e, size_t img_len, struct guest_sym **syms, size_t *nsyms);
void elf_free_symbols(struct guest_sym *syms, size_t nsyms);
/* Everything above on an image held in memory. */
int elf_load_image(struct elf_ram *r, const char *label, uint8_t *img, size_t len,
                   struct elf_info *info, struct guest_sym **syms, size_t *nsyms, char *err,
                   size_t errlen);

#endif
