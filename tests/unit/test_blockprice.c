/*
 * Unit tests for block pricing's instruction memo (sim/engine/blockprice.c):
 * looking an instruction up by its bytes must give exactly what Capstone
 * decodes -- the length, the cost class, the privileged flag, and where
 * decoding stops -- at every byte offset of every guest image's code (so
 * also inside instructions, where the bytes are anything), and in random
 * bytes and random prefixes in front of real instructions. The memo fills
 * as each sweep goes, so later offsets are answered from entries other
 * offsets made. A block's price and instruction count, from windows of the
 * images, must match as well.
 *
 * HOPSIM_BUILD_DIR names the build tree whose guest/ holds the images.
 */
#include <check.h>
#include <dirent.h>
#include <elf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blockprice.h"
#include "cost.h"

#ifndef HOPSIM_BUILD_DIR
#error "HOPSIM_BUILD_DIR must name the build tree"
#endif

struct decoded {
    bool ok;
    uint32_t len;
    enum cost_id cls;
    bool priv;
};

static struct decoded decode(const uint8_t *code, size_t avail, uint64_t pc, bool memo)
{
    struct decoded d = {0};
    blockprice_memo_disable(!memo);
    d.ok = blockprice_decode(code, avail, pc, &d.len, &d.cls, &d.priv);
    blockprice_memo_disable(false);
    if (!d.ok)
        d = (struct decoded){0};
    return d;
}

/* Every offset of buf, with up to `window` bytes after it: the memo against Capstone.
 * Returns how many offsets decoded. */
static size_t sweep(const uint8_t *buf, size_t len, uint64_t base, size_t window, const char *what)
{
    size_t ok = 0;
    for (size_t off = 0; off < len; off++) {
        size_t avail = len - off < window ? len - off : window;
        struct decoded m = decode(buf + off, avail, base + off, true);
        struct decoded c = decode(buf + off, avail, base + off, false);
        ck_assert_msg(m.ok == c.ok && m.len == c.len && m.cls == c.cls && m.priv == c.priv,
                      "%s+0x%zx (%zu bytes): memo %d len %u class %d priv %d, Capstone %d len %u "
                      "class %d priv %d",
                      what, off, avail, m.ok, m.len, (int)m.cls, m.priv, c.ok, c.len, (int)c.cls,
                      c.priv);
        ok += c.ok;
    }
    return ok;
}

/* A profile whose classes all cost differently, so a class mix-up changes a block's price. */
static void distinct_profile(struct cost_profile *p)
{
    memset(p, 0, sizeof(*p));
    for (int i = 0; i < COST_COUNT; i++)
        p->value[i] = 0.001 * (i + 1) * (i + 7);
}

static void *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    void *b = n > 0 ? malloc((size_t)n) : NULL;
    if (b && fread(b, 1, (size_t)n, f) != (size_t)n) {
        free(b);
        b = NULL;
    }
    fclose(f);
    *len = b ? (size_t)n : 0;
    return b;
}

START_TEST(guest_images_every_offset)
{
    ck_assert_int_eq(blockprice_init(), 0);
    struct cost_profile prof;
    distinct_profile(&prof);
    DIR *dir = opendir(HOPSIM_BUILD_DIR "/guest");
    ck_assert_ptr_nonnull(dir);
    struct dirent *de;
    int images = 0;
    size_t insns = 0;
    while ((de = readdir(dir))) {
        size_t n = strlen(de->d_name);
        if (n < 5 || strcmp(de->d_name + n - 4, ".elf") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof(path), "%s/guest/%s", HOPSIM_BUILD_DIR, de->d_name);
        size_t flen;
        uint8_t *f = read_file(path, &flen);
        ck_assert_ptr_nonnull(f);
        const Elf64_Ehdr *eh = (const Elf64_Ehdr *)f;
        ck_assert(flen >= sizeof(*eh) && !memcmp(eh->e_ident, ELFMAG, SELFMAG));
        for (int i = 0; i < eh->e_phnum; i++) {
            Elf64_Phdr ph;
            memcpy(&ph, f + eh->e_phoff + (size_t)i * eh->e_phentsize, sizeof(ph));
            if (ph.p_type != PT_LOAD || !(ph.p_flags & PF_X) || !ph.p_filesz)
                continue;
            ck_assert(ph.p_offset + ph.p_filesz <= flen);
            const uint8_t *code = f + ph.p_offset;
            insns += sweep(code, ph.p_filesz, ph.p_vaddr, 15, de->d_name);
            insns += sweep(code, ph.p_filesz, ph.p_vaddr, 4096, de->d_name);
            for (size_t off = 0; off < ph.p_filesz; off += 7) { /* blocks of 1..64 bytes */
                uint32_t size = (uint32_t)((off * 13) % 64 + 1);
                if (size > ph.p_filesz - off)
                    size = (uint32_t)(ph.p_filesz - off);
                uint32_t n1, n2, p1, p2, c1, c2;
                blockprice_memo_disable(true);
                c1 = block_price_code(code + off, size, ph.p_vaddr + off, &prof, &n1, &p1);
                blockprice_memo_disable(false);
                c2 = block_price_code(code + off, size, ph.p_vaddr + off, &prof, &n2, &p2);
                ck_assert_msg(c1 == c2 && n1 == n2 && p1 == p2,
                              "%s+0x%zx (%u bytes): Capstone %u mc %u insns priv %u, memo %u mc "
                              "%u insns priv %u",
                              de->d_name, off, size, c1, n1, p1, c2, n2, p2);
            }
        }
        free(f);
        images++;
    }
    closedir(dir);
    ck_assert_int_gt(images, 5);
    ck_assert_uint_gt(insns, 100000);
    blockprice_fini();
}
END_TEST

/* xorshift64*: the same bytes every run */
static uint64_t rnd(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

START_TEST(random_bytes_and_prefixes)
{
    ck_assert_int_eq(blockprice_init(), 0);
    uint64_t s = 0x9E3779B97F4A7C15ull;
    enum { N = 1 << 17 };
    uint8_t *buf = malloc(N);
    ck_assert_ptr_nonnull(buf);
    for (size_t i = 0; i < N; i++)
        buf[i] = (uint8_t)rnd(&s);
    sweep(buf, N, 0x400000, 15, "random");
    /* real instructions behind runs of prefixes, REX bytes, escapes and VEX/EVEX leaders */
    static const uint8_t lead[] = {0xf0, 0xf2, 0xf3, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65,
                                   0x66, 0x67, 0x40, 0x41, 0x48, 0x4c, 0x4f, 0x0f, 0xc4,
                                   0xc5, 0x62, 0x8f, 0x90, 0xa4, 0xab, 0x86, 0x88, 0xc6};
    static const uint8_t tail[][6] = {{0x48, 0x89, 0xe5},
                                      {0xc3},
                                      {0x0f, 0x1f, 0x44, 0x00, 0x00},
                                      {0xa4},
                                      {0xab},
                                      {0x0f, 0x01, 0xf8},
                                      {0x0f, 0x22, 0xd8},
                                      {0xfa},
                                      {0x87, 0x07},
                                      {0x90},
                                      {0x0f, 0xaf, 0xc1},
                                      {0xf7, 0xf1},
                                      {0x0f, 0x28, 0xc1},
                                      {0xff, 0x25, 0, 0, 0, 0}};
    size_t pos = 0;
    while (pos + 32 < N) {
        int k = (int)(rnd(&s) % 5);
        for (int i = 0; i < k; i++)
            buf[pos++] = lead[rnd(&s) % sizeof(lead)];
        const uint8_t *t = tail[rnd(&s) % (sizeof(tail) / sizeof(tail[0]))];
        for (int i = 0; i < 6; i++)
            buf[pos++] = t[i];
    }
    sweep(buf, pos, 0x800000, 15, "prefixed");
    free(buf);
    blockprice_fini();
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("blockprice");
    TCase *tc = tcase_create("memo");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, guest_images_every_offset);
    tcase_add_test(tc, random_bytes_and_prefixes);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
