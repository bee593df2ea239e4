/*
 * The ELF loader (sim/xen/elfload.c) against altered images: a real guest
 * image (pingpong.elf) loads; with its hypercall page moved outside the
 * loaded segments (still page-aligned, still in RAM) it is refused, as Xen
 * refuses it; with a symbol table claiming a huge size it loads without
 * allocating by that size; truncated, it is refused with a message; with a
 * program header table claiming more entries than the file holds, or starting
 * past its end, it is refused at once instead of walked entry by entry.
 */
#include <check.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xen/elfnote.h>

#include "elfload.h"

#define RAM (8u << 20)

static uint8_t *img;
static size_t img_len;
static uint8_t *ram;

static void setup(void)
{
    FILE *f = fopen(HOPSIM_BUILD_DIR "/guest/pingpong.elf", "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    img_len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    img = malloc(img_len);
    ck_assert_uint_eq(fread(img, 1, img_len, f), img_len);
    fclose(f);
    ram = calloc(1, RAM);
}

static void teardown(void)
{
    free(img);
    free(ram);
}

static int load(char *err, size_t errlen, size_t *nsyms)
{
    struct elf_ram r = {.ram = ram, .ram_size = RAM};
    struct elf_info info = {0};
    struct guest_sym *syms = NULL;
    size_t n = 0;
    int rc = elf_load_image(&r, "pingpong.elf", img, img_len, &info, &syms, &n, err, errlen);
    elf_free_symbols(syms, n);
    if (nsyms)
        *nsyms = n;
    return rc;
}

/* The section header of the first section of type `type` (its file position in *pos). */
static Elf64_Shdr *section(uint32_t type)
{
    Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
    for (unsigned i = 0; i < eh->e_shnum; i++) {
        Elf64_Shdr *sh = (Elf64_Shdr *)(img + eh->e_shoff + (size_t)i * eh->e_shentsize);
        if (sh->sh_type == type)
            return sh;
    }
    return NULL;
}

/* The descriptor of Xen note `type` in the image. */
/* The descriptor of a Xen note (4-byte aligned in the file: write it with set_note). */
static uint8_t *xen_note(uint32_t type)
{
    Elf64_Shdr *sh = section(SHT_NOTE);
    ck_assert_ptr_nonnull(sh);
    for (size_t off = sh->sh_offset; off < sh->sh_offset + sh->sh_size;) {
        Elf64_Nhdr *nh = (Elf64_Nhdr *)(img + off);
        size_t name = off + sizeof(*nh), desc = name + ((nh->n_namesz + 3) & ~3u);
        if (nh->n_type == type && nh->n_namesz == 4 && !memcmp(img + name, "Xen", 4))
            return img + desc;
        off = desc + ((nh->n_descsz + 3) & ~3u);
    }
    ck_abort_msg("no Xen note %u", type);
    return NULL;
}

static void set_note(uint32_t type, uint64_t v)
{
    memcpy(xen_note(type), &v, sizeof(v));
}

START_TEST(test_loads)
{
    char err[256] = "";
    size_t n = 0;
    ck_assert_msg(load(err, sizeof(err), &n) == 0, "%s", err);
    ck_assert_uint_gt(n, 0);
}
END_TEST

START_TEST(test_hypercall_page_outside_image)
{
    char err[256] = "";
    /* page-aligned and inside RAM, but above every loaded segment */
    set_note(XEN_ELFNOTE_HYPERCALL_PAGE, 0x600000);
    ck_assert_int_eq(load(err, sizeof(err), NULL), -1);
    ck_assert_msg(strstr(err, "hypercall page 0x600000 is not inside the image"), "%s", err);
    set_note(XEN_ELFNOTE_HYPERCALL_PAGE, 0x1000); /* below it */
    ck_assert_int_eq(load(err, sizeof(err), NULL), -1);
    ck_assert_msg(strstr(err, "is not inside the image"), "%s", err);
}
END_TEST

START_TEST(test_symtab_size_bounded)
{
    char err[256] = "";
    Elf64_Shdr *st = section(SHT_SYMTAB);
    ck_assert_ptr_nonnull(st);
    size_t n = 0;
    st->sh_size = 1ull << 40; /* 1 TiB of symbols in a small file */
    ck_assert_msg(load(err, sizeof(err), &n) == 0, "%s", err);
    ck_assert_uint_eq(n, 0);
    st->sh_size = img_len - st->sh_offset + 24; /* just past the end of the file */
    ck_assert_msg(load(err, sizeof(err), &n) == 0, "%s", err);
    ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(test_truncated)
{
    char err[256] = "";
    img_len = 200;
    ck_assert_int_eq(load(err, sizeof(err), NULL), -1);
    ck_assert_msg(err[0] != '\0', "no message");
}
END_TEST

START_TEST(test_phnum_outside_file)
{
    char err[256] = "";
    Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
    eh->e_phnum = 0xfff0; /* far more entries than the file holds: libelf counts only */
    ck_assert_int_eq(load(err, sizeof(err), NULL), -1); /* those that fit; none is PT_LOAD */
    /* a table that starts past the end of the file (the fuzzer's minutes-long input:
     * libelf clamps the count by the bytes after e_phoff, which underflows) */
    eh->e_phnum = 4;
    eh->e_phoff = img_len + 0x100000;
    ck_assert_int_eq(load(err, sizeof(err), NULL), -1);
    ck_assert_msg(strstr(err, "header table"), "%s", err);
    /* the fuzzer's input itself: refused with a message, not walked for minutes */
    FILE *f = fopen(HOPSIM_SOURCE_DIR "/tests/fuzz/corpus/elf/phnum-outside-file.elf", "rb");
    ck_assert_ptr_nonnull(f);
    img_len = fread(img, 1, img_len, f);
    fclose(f);
    ck_assert_uint_gt(img_len, 64);
    ck_assert_int_eq(load(err, sizeof(err), NULL), -1);
    ck_assert_msg(strstr(err, "header table"), "%s", err);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("elfload");
    TCase *tc = tcase_create("elfload");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_loads);
    tcase_add_test(tc, test_hypercall_page_outside_image);
    tcase_add_test(tc, test_symtab_size_bounded);
    tcase_add_test(tc, test_truncated);
    tcase_add_test(tc, test_phnum_outside_file);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
