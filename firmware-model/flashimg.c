/*
 * SPI flash images: Intel flash descriptor + BIOS region of firmware
 * volumes; building, validating, locating payloads, and the
 * `hopsim flash build|inspect` commands (see flashimg.h,
 * docs/firmware-image.md).
 *
 * Assumptions and invariants:
 * - The descriptor is checked before any region is used: signature,
 *   the FLMAP0/FLMAP1 bases inside the 4 KiB descriptor, the component
 *   density against the image length, each used region inside the image
 *   and disjoint from the others, FLREG0 at offset 0, a BIOS region.
 *   Bytes outside every region must be erased (nothing hides there).
 * - Built images have the descriptor at 0, platform data at 0x1000
 *   (4 KiB, erased), the ME region from 0x2000 to the BIOS region
 *   (erased: hopsim has no ME firmware), GbE unused, and the BIOS region
 *   from bios_base to the end of the flash with the volumes at its base.
 * - The CLI reads whole files into memory (images are at most 64 MiB,
 *   FFS files at most 16 MiB) and never exits from inside: every error
 *   returns its exit code to main.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* fileno */
#endif
#include "flashimg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EXIT_CORRUPT 1
#define EXIT_USAGE 2
#define FLASH_MAX_FILES 64
#define FLASH_MAX_VOLUMES 8
#define FLASHIMG_FLMAP0_VALUE                                                                      \
    ((FLASHIMG_FCBA >> 4) | (FLASHIMG_FRBA >> 4) << 16 | (uint32_t)(FLASHIMG_NREGIONS - 1) << 24)
#define FLASHIMG_FLMAP1_VALUE                                                                      \
    ((FLASHIMG_FMBA >> 4) | (uint32_t)(FLASHIMG_NMASTERS - 1) << 8 | 0x10u << 16)

/* Region access grants per master (bit n = region n): read, write. */
static const uint8_t master_read[FLASHIMG_NMASTERS] = {0x13, 0x05, 0x09};
static const uint8_t master_write[FLASHIMG_NMASTERS] = {0x12, 0x04, 0x08};
static const char *const master_name[FLASHIMG_NMASTERS] = {"cpu", "me", "gbe"};

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> 8 * i);
}

const char *flashimg_region_name(int id)
{
    static const char *const names[FLASHIMG_NREGIONS] = {"descriptor", "bios", "me", "gbe", "pd"};
    return id >= 0 && id < FLASHIMG_NREGIONS ? names[id] : "?";
}

/* ---- building ---- */

static int density_code(uint32_t size)
{
    for (int c = 0; c < 8; c++)
        if (size == FLASHIMG_MIN_SIZE << c)
            return c;
    return -1;
}

static uint32_t flreg(uint32_t base, uint32_t limit)
{
    return (base >> 12 & 0x7fff) | (limit >> 12 & 0x7fff) << 16;
}

static int layout_resolve(const struct flashimg_layout *in, struct flashimg_layout *l, char *err,
                          size_t errlen)
{
    *l = *in;
    if (!l->size)
        l->size = FLASHIMG_DEFAULT_SIZE;
    if (density_code(l->size) < 0)
        return fw_fail(err, errlen,
                       "flash size 0x%x: expected a power of two from 512 KiB to 64 MiB", l->size);
    if (!l->bios_base)
        l->bios_base = l->size / 2;
    if (l->bios_base % 0x1000 || l->bios_base < FLASHIMG_ME_BASE || l->bios_base >= l->size)
        return fw_fail(err, errlen, "BIOS base 0x%x: expected a 4 KiB-aligned offset in 0x%x..0x%x",
                       l->bios_base, FLASHIMG_ME_BASE, l->size - 0x1000);
    return 0;
}

static void write_descriptor(uint8_t *img, const struct flashimg_layout *l)
{
    wr32(img + FLASHIMG_SIG_OFFSET, FLASHIMG_FLVALSIG);
    wr32(img + FLASHIMG_FLMAP0, FLASHIMG_FLMAP0_VALUE);
    wr32(img + FLASHIMG_FLMAP1, FLASHIMG_FLMAP1_VALUE);
    wr32(img + FLASHIMG_FLMAP2, 0);
    wr32(img + FLASHIMG_FCBA, (uint32_t)density_code(l->size)); /* FLCOMP, 20 MHz reads */
    wr32(img + FLASHIMG_FCBA + 4, 0);                           /* FLILL: no invalid opcodes */
    wr32(img + FLASHIMG_FCBA + 8, 0);                           /* FLPB */
    wr32(img + FLASHIMG_FLUMAP1, 0);                            /* no VSCC table */
    uint32_t r[FLASHIMG_NREGIONS];
    r[FLASHIMG_REGION_DESC] = flreg(0, FLASHIMG_DESC_SIZE - 1);
    r[FLASHIMG_REGION_BIOS] = flreg(l->bios_base, l->size - 1);
    r[FLASHIMG_REGION_ME] = l->bios_base > FLASHIMG_ME_BASE
                                ? flreg(FLASHIMG_ME_BASE, l->bios_base - 1)
                                : FLASHIMG_REGION_UNUSED;
    r[FLASHIMG_REGION_GBE] = FLASHIMG_REGION_UNUSED;
    r[FLASHIMG_REGION_PD] = flreg(FLASHIMG_PD_BASE, FLASHIMG_ME_BASE - 1);
    for (int i = 0; i < FLASHIMG_NREGIONS; i++)
        wr32(img + FLASHIMG_FRBA + 4 * i, r[i]);
    for (int i = 0; i < FLASHIMG_NMASTERS; i++)
        wr32(img + FLASHIMG_FMBA + 4 * i,
             (uint32_t)master_read[i] << 16 | (uint32_t)master_write[i] << 24);
}

static int build_volumes(uint8_t *img, const struct flashimg_layout *l,
                         const struct flashimg_volume_spec *vols, int nvols, char *err,
                         size_t errlen)
{
    uint32_t pos = l->bios_base;
    for (int i = 0; i < nvols; i++) {
        size_t size = vols[i].size ? vols[i].size : fv_min_size(vols[i].files, vols[i].nfiles);
        if (!size)
            size = FV_BLOCK_SIZE; /* an unbuildable file: fv_build says which */
        if (size > l->size - pos)
            return fw_fail(err, errlen,
                           "volume %d (0x%zx bytes) does not fit in the BIOS region (0x%x bytes "
                           "left at 0x%x)",
                           i, size, l->size - pos, pos);
        char e[400];
        if (fv_build(img + pos, size, vols[i].files, vols[i].nfiles, e, sizeof e) < 0)
            return fw_fail(err, errlen, "volume %d: %s", i, e);
        pos += (uint32_t)size;
    }
    return 0;
}

int flashimg_build(const struct flashimg_layout *lay, const struct flashimg_volume_spec *vols,
                   int nvols, uint8_t **out, size_t *outlen, char *err, size_t errlen)
{
    struct flashimg_layout l;
    *out = NULL;
    *outlen = 0;
    if (layout_resolve(lay, &l, err, errlen) < 0)
        return -1;
    uint8_t *img = malloc(l.size);
    if (!img)
        return fw_fail(err, errlen, "out of memory (0x%x bytes)", l.size);
    memset(img, 0xff, l.size);
    write_descriptor(img, &l);
    if (build_volumes(img, &l, vols, nvols, err, errlen) < 0) {
        free(img);
        return -1;
    }
    *out = img;
    *outlen = l.size;
    return 0;
}

/* ---- opening ---- */

static int check_maps(struct flashimg *fi, char *err, size_t errlen)
{
    const uint8_t *d = fi->data;
    fi->flmap0 = rd32(d + FLASHIMG_FLMAP0);
    fi->flmap1 = rd32(d + FLASHIMG_FLMAP1);
    fi->flmap2 = rd32(d + FLASHIMG_FLMAP2);
    uint32_t fcba = (fi->flmap0 & 0xff) << 4, frba = (fi->flmap0 >> 16 & 0xff) << 4;
    uint32_t fmba = (fi->flmap1 & 0xff) << 4;
    if (fcba < 0x20 || fcba + 4 > FLASHIMG_DESC_SIZE)
        return fw_fail(err, errlen, "flash descriptor: FLMAP0 0x%08x: FCBA 0x%x outside 0x20..0x%x",
                       fi->flmap0, fcba, FLASHIMG_DESC_SIZE - 4);
    if (frba < 0x20 || frba + 4 * FLASHIMG_NREGIONS > FLASHIMG_DESC_SIZE)
        return fw_fail(err, errlen, "flash descriptor: FLMAP0 0x%08x: FRBA 0x%x outside 0x20..0x%x",
                       fi->flmap0, frba, FLASHIMG_DESC_SIZE - 4 * FLASHIMG_NREGIONS);
    if (fmba < 0x20 || fmba + 4 * FLASHIMG_NMASTERS > FLASHIMG_DESC_SIZE)
        return fw_fail(err, errlen, "flash descriptor: FLMAP1 0x%08x: FMBA 0x%x outside 0x20..0x%x",
                       fi->flmap1, fmba, FLASHIMG_DESC_SIZE - 4 * FLASHIMG_NMASTERS);
    if (fi->flmap0 >> 8 & 3)
        return fw_fail(err, errlen,
                       "flash descriptor: FLMAP0 0x%08x: NC: expected 0 (one flash "
                       "component), got %u",
                       fi->flmap0, fi->flmap0 >> 8 & 3);
    fi->flcomp = rd32(d + fcba);
    for (int i = 0; i < FLASHIMG_NMASTERS; i++)
        fi->master[i] = rd32(d + fmba + 4 * i);
    uint32_t want = FLASHIMG_MIN_SIZE << (fi->flcomp & 7);
    if (want != fi->len)
        return fw_fail(err, errlen,
                       "flash descriptor: FLCOMP (at 0x%x): component density code %u means 0x%x "
                       "bytes, the image is 0x%zx bytes",
                       fcba, fi->flcomp & 7, want, fi->len);
    return 0;
}

static int check_region(struct flashimg *fi, int i, uint32_t frba, char *err, size_t errlen)
{
    struct flashimg_region *r = &fi->region[i];
    r->flreg = rd32(fi->data + frba + 4 * i);
    uint32_t b = r->flreg & 0x7fff, lim = r->flreg >> 16 & 0x7fff;
    r->used = b <= lim;
    if (!r->used)
        return 0;
    r->base = b << 12;
    r->limit = lim << 12 | 0xfff;
    if (r->limit >= fi->len)
        return fw_fail(
            err, errlen,
            "flash descriptor: FLREG%d (%s, at 0x%x) 0x%08x: region 0x%x..0x%x runs past "
            "the end of the 0x%zx-byte image",
            i, flashimg_region_name(i), frba + 4 * i, r->flreg, r->base, r->limit, fi->len);
    for (int j = 0; j < i; j++) {
        const struct flashimg_region *o = &fi->region[j];
        if (o->used && r->base <= o->limit && o->base <= r->limit)
            return fw_fail(err, errlen,
                           "flash descriptor: FLREG%d (%s) 0x%x..0x%x overlaps FLREG%d (%s) "
                           "0x%x..0x%x",
                           i, flashimg_region_name(i), r->base, r->limit, j,
                           flashimg_region_name(j), o->base, o->limit);
    }
    return 0;
}

static int check_regions(struct flashimg *fi, char *err, size_t errlen)
{
    uint32_t frba = (fi->flmap0 >> 16 & 0xff) << 4;
    for (int i = 0; i < FLASHIMG_NREGIONS; i++)
        if (check_region(fi, i, frba, err, errlen) < 0)
            return -1;
    const struct flashimg_region *d = &fi->region[FLASHIMG_REGION_DESC];
    if (!d->used || d->base != 0)
        return fw_fail(err, errlen,
                       "flash descriptor: FLREG0 (descriptor, at 0x%x): expected base 0, got "
                       "0x%08x",
                       frba, d->flreg);
    if (!fi->region[FLASHIMG_REGION_BIOS].used)
        return fw_fail(err, errlen,
                       "flash descriptor: FLREG1 (bios, at 0x%x) 0x%08x: unused; there is no BIOS "
                       "region",
                       frba + 4, fi->region[FLASHIMG_REGION_BIOS].flreg);
    return 0;
}

static int check_descriptor(struct flashimg *fi, char *err, size_t errlen)
{
    if (fi->len < FLASHIMG_DESC_SIZE)
        return fw_fail(err, errlen,
                       "flash image: truncated: 0x%zx bytes, the descriptor needs 0x%x", fi->len,
                       FLASHIMG_DESC_SIZE);
    if (fi->len % 0x1000)
        return fw_fail(err, errlen,
                       "flash image: 0x%zx bytes is not a whole number of 4 KiB blocks", fi->len);
    uint32_t sig = rd32(fi->data + FLASHIMG_SIG_OFFSET);
    if (sig != FLASHIMG_FLVALSIG)
        return fw_fail(err, errlen,
                       "flash descriptor: FLVALSIG (at 0x%x): expected 0x%08x, got 0x%08x",
                       FLASHIMG_SIG_OFFSET, FLASHIMG_FLVALSIG, sig);
    if (check_maps(fi, err, errlen) < 0 || check_regions(fi, err, errlen) < 0)
        return -1;
    fi->desc_ok = true;
    return 0;
}

static bool block_mapped(const struct flashimg *fi, size_t at)
{
    for (int i = 0; i < FLASHIMG_NREGIONS; i++)
        if (fi->region[i].used && at >= fi->region[i].base && at <= fi->region[i].limit)
            return true;
    return false;
}

/* Bytes outside every region must be erased (regions are whole 4 KiB blocks). */
static int check_unmapped(const struct flashimg *fi, char *err, size_t errlen)
{
    for (size_t b = 0; b < fi->len; b += 0x1000) {
        if (block_mapped(fi, b))
            continue;
        for (size_t i = b; i < b + 0x1000; i++)
            if (fi->data[i] != 0xff)
                return fw_fail(err, errlen,
                               "flash image: byte at 0x%zx is 0x%02x, outside every region "
                               "(expected the erase value 0xff)",
                               i, fi->data[i]);
    }
    return 0;
}

int flashimg_open(struct flashimg *fi, const uint8_t *data, size_t len, char *err, size_t errlen)
{
    memset(fi, 0, sizeof *fi);
    fi->data = data;
    fi->len = len;
    if (check_descriptor(fi, err, errlen) < 0 || check_unmapped(fi, err, errlen) < 0)
        return -1;
    const struct flashimg_region *b = &fi->region[FLASHIMG_REGION_BIOS];
    return fv_scan(&fi->fvs, data + b->base, (size_t)b->limit - b->base + 1, b->base, err, errlen);
}

void flashimg_close(struct flashimg *fi)
{
    fv_list_fini(&fi->fvs);
}

int flashimg_bios_region(const struct flashimg *fi, uint32_t *base, uint32_t *len)
{
    const struct flashimg_region *b = &fi->region[FLASHIMG_REGION_BIOS];
    if (!fi->desc_ok || !b->used)
        return -1;
    *base = b->base;
    *len = b->limit - b->base + 1;
    return 0;
}

const struct fv_file *flashimg_find_file(const struct flashimg *fi, const char *name,
                                         const struct fv_volume **vol)
{
    for (int i = 0; i < fi->fvs.n; i++) {
        const struct fv_file *f = fv_find_name(&fi->fvs.v[i], name);
        if (f) {
            if (vol)
                *vol = &fi->fvs.v[i];
            return f;
        }
    }
    return NULL;
}

const struct fv_file *flashimg_find_guid(const struct flashimg *fi, const struct fv_guid *g,
                                         const struct fv_volume **vol)
{
    for (int i = 0; i < fi->fvs.n; i++) {
        const struct fv_file *f = fv_find_guid(&fi->fvs.v[i], g);
        if (f) {
            if (vol)
                *vol = &fi->fvs.v[i];
            return f;
        }
    }
    return NULL;
}

int flashimg_payload(const struct flashimg *fi, const char *name, struct flashimg_payload *p)
{
    const struct fv_file *f = flashimg_find_file(fi, name, NULL);
    if (!f || !f->has_payload)
        return -1;
    p->guid = f->guid;
    p->file_offset = f->offset;
    p->offset = f->payload_offset;
    p->length = f->payload_len;
    memcpy(p->sha256, f->sha256, sizeof p->sha256);
    return 0;
}

/* ---- the command line ---- */

static void flash_usage(FILE *out)
{
    fprintf(out, "usage: hopsim flash build -o OUT.fd [--size N] [--bios-base ADDR]\n"
                 "                          [--fv-size N] --file NAME=PATH ... [--volume ...]\n"
                 "       hopsim flash inspect IMAGE\n"
                 "\n"
                 "build writes a SPI flash image: Intel flash descriptor, platform data, ME\n"
                 "region, and a BIOS region (from ADDR, default half the flash, to the end)\n"
                 "holding a UEFI PI firmware volume with one FFS file (type DRIVER; sections\n"
                 "USER_INTERFACE NAME + RAW the file's bytes) per --file. --volume starts\n"
                 "another volume; --fv-size sets the current volume's size (default: the\n"
                 "smallest that holds its files). Sizes take K and M suffixes (KiB, MiB);\n"
                 "--size is a power of two from 512K to 64M (default 16M).\n"
                 "inspect lists the regions, volumes and files with their checksums and the\n"
                 "SHA-256 of each file's payload, and reports the first corruption found.\n"
                 "\n"
                 "exit status: 0 ok, 1 corrupt image or I/O error, 2 usage error\n");
}

static int parse_size(const char *s, uint32_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *s == '-')
        return -1;
    unsigned shift = *end == 'K' || *end == 'k' ? 10 : *end == 'M' || *end == 'm' ? 20 : 0;
    if (shift && v > (UINT32_MAX >> shift))
        return -1; /* would not fit: refused before the shift can wrap */
    v <<= shift;
    end += shift != 0;
    if (*end || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int read_whole(const char *path, size_t max, uint8_t **buf, size_t *len)
{
    /* opened without blocking (a FIFO), a regular file or nothing */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
    struct stat st;
    if (!f || fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "hopsim: flash: %s: %s\n", path,
                f ? "not a regular file" : strerror(errno));
        if (f)
            fclose(f);
        else if (fd >= 0)
            close(fd);
        return -1;
    }
    int rc = -1;
    *buf = NULL;
    *len = (size_t)st.st_size;
    if (*len > max)
        fprintf(stderr, "hopsim: flash: %s: %zu bytes, at most %zu allowed\n", path, *len, max);
    else if (!(*buf = malloc(*len ? *len : 1)))
        fprintf(stderr, "hopsim: flash: %s: out of memory\n", path);
    else if (fread(*buf, 1, *len, f) != *len)
        fprintf(stderr, "hopsim: flash: %s: read error\n", path);
    else
        rc = 0;
    fclose(f);
    if (rc < 0) {
        free(*buf);
        *buf = NULL;
    }
    return rc;
}

struct build_opts {
    const char *out;
    struct flashimg_layout lay;
    struct fv_file_spec files[FLASH_MAX_FILES];
    uint8_t *data[FLASH_MAX_FILES];
    char names[FLASH_MAX_FILES][FV_NAME_MAX + 1];
    int nfiles;
    struct flashimg_volume_spec vols[FLASH_MAX_VOLUMES];
    int nvols;
};

/* --file NAME=PATH: read PATH into the current volume. */
static int add_file(struct build_opts *o, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1] || eq - arg > FV_NAME_MAX) {
        fprintf(stderr, "hopsim: flash build: --file %s: expected NAME=PATH (NAME 1-%d chars)\n",
                arg, FV_NAME_MAX);
        return -1;
    }
    if (o->nfiles == FLASH_MAX_FILES) {
        fprintf(stderr, "hopsim: flash build: more than %d files\n", FLASH_MAX_FILES);
        return -1;
    }
    int i = o->nfiles;
    snprintf(o->names[i], sizeof o->names[i], "%.*s", (int)(eq - arg), arg);
    size_t len;
    if (read_whole(eq + 1, FFS_MAX_SIZE, &o->data[i], &len) < 0)
        return -1;
    o->nfiles++;
    o->files[i] = (struct fv_file_spec){
        .name = o->names[i], .type = FV_FILETYPE_DRIVER, .payload = o->data[i], .len = len};
    struct flashimg_volume_spec *v = &o->vols[o->nvols - 1];
    if (!v->nfiles)
        v->files = &o->files[i];
    v->nfiles++;
    return 0;
}

/* One option at argv[*i]; 0 ok, -1 usage error. */
static int build_opt(struct build_opts *o, int argc, char **argv, int *i)
{
    const char *a = argv[*i], *next = *i + 1 < argc ? argv[*i + 1] : NULL;
    struct flashimg_volume_spec *v = &o->vols[o->nvols - 1];
    if (!strcmp(a, "--volume")) {
        if (o->nvols == FLASH_MAX_VOLUMES || !v->nfiles) {
            fprintf(stderr,
                    "hopsim: flash build: --volume: the previous volume has no file, or "
                    "more than %d volumes\n",
                    FLASH_MAX_VOLUMES);
            return -1;
        }
        o->nvols++;
        return 0;
    }
    if (!next) {
        fprintf(stderr, "hopsim: flash build: %s: unknown option or missing value\n", a);
        return -1;
    }
    (*i)++;
    if (!strcmp(a, "-o"))
        o->out = next;
    else if (!strcmp(a, "--file"))
        return add_file(o, next);
    else if (!strcmp(a, "--size") || !strcmp(a, "--bios-base") || !strcmp(a, "--fv-size")) {
        uint32_t *dst = a[2] == 's' ? &o->lay.size : a[2] == 'b' ? &o->lay.bios_base : &v->size;
        if (parse_size(next, dst) < 0 || !*dst) {
            fprintf(stderr, "hopsim: flash build: %s %s: expected a size (N, 0xN, NK, NM)\n", a,
                    next);
            return -1;
        }
    } else {
        fprintf(stderr, "hopsim: flash build: unknown option '%s'\n", a);
        return -1;
    }
    return 0;
}

static int parse_build(struct build_opts *o, int argc, char **argv)
{
    o->nvols = 1;
    for (int i = 1; i < argc; i++)
        if (build_opt(o, argc, argv, &i) < 0)
            return -1;
    if (!o->out || !o->nfiles || !o->vols[o->nvols - 1].nfiles) {
        fprintf(stderr, "hopsim: flash build: -o OUT and at least one --file per volume are "
                        "required (see hopsim flash --help)\n");
        return -1;
    }
    return 0;
}

static int write_whole(const char *path, const uint8_t *buf, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "hopsim: flash build: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static void print_hex(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        printf("%02x", b[i]);
}

static const char *state_name(const struct fv_file *f)
{
    if (f->deleted)
        return "deleted";
    return f->state & EFI_FILE_MARKED_FOR_UPDATE ? "valid, marked for update" : "valid";
}

static void print_file(const struct fv_file *f)
{
    char g[FV_GUID_STR_LEN + 1];
    fv_guid_format(&f->guid, g);
    printf("  file at 0x%08llx: %s \"%s\" %s (0x%02x), size 0x%x\n", (unsigned long long)f->offset,
           g, f->name, fv_filetype_name(f->type), f->type, f->size);
    printf("    state 0x%02x (%s), attributes 0x%02x, header checksum ok, data checksum %s\n",
           f->state_raw, state_name(f), f->attributes,
           f->deleted            ? "not checked"
           : f->data_checksummed ? "ok"
                                 : "not used (0xaa)");
    if (f->has_version)
        printf("    version \"%s\" build %u\n", f->version, f->build_number);
    if (!f->has_payload)
        return;
    printf("    payload %s at 0x%08llx, %u bytes, sha256 ",
           f->payload_type ? fv_section_name(f->payload_type) : "file data",
           (unsigned long long)f->payload_offset, f->payload_len);
    print_hex(f->sha256, 32);
    printf("\n");
}

static void print_volume(const struct fv_volume *v)
{
    char g[FV_GUID_STR_LEN + 1];
    fv_guid_format(&v->fs_guid, g);
    printf("firmware volume at 0x%08llx: FvLength 0x%llx, %s%s (%s), revision %u\n",
           (unsigned long long)v->offset, (unsigned long long)v->length, v->ffs ? "FFS" : "",
           v->ffs == 2   ? "2"
           : v->ffs == 3 ? "3"
                         : "unknown file system",
           g, v->revision);
    printf("  attributes 0x%08x (erase polarity %d), header 0x%x bytes, checksum 0x%04x ok, "
           "block map",
           v->attributes, v->erase ? 1 : 0, v->header_length, v->checksum);
    for (int i = 0; i < v->nblockmap; i++)
        printf(" %u x 0x%x", v->blockmap[i].num, v->blockmap[i].len);
    printf("\n");
    for (int i = 0; i < v->nfiles; i++)
        print_file(&v->files[i]);
    if (v->free_length)
        printf("  free space at 0x%08llx, 0x%llx bytes, erased\n",
               (unsigned long long)v->free_offset, (unsigned long long)v->free_length);
}

static void print_grants(uint8_t bits)
{
    int any = 0;
    for (int r = 0; r < FLASHIMG_NREGIONS; r++)
        if (bits >> r & 1)
            printf("%s%s", any++ ? "," : "", flashimg_region_name(r));
    if (!any)
        printf("none");
}

static void print_descriptor(const struct flashimg *fi)
{
    printf("flash descriptor: FLVALSIG 0x%08x ok, FLMAP0 0x%08x, FLMAP1 0x%08x, FLCOMP 0x%08x "
           "(%u KiB)\n",
           FLASHIMG_FLVALSIG, fi->flmap0, fi->flmap1, fi->flcomp,
           (FLASHIMG_MIN_SIZE << (fi->flcomp & 7)) >> 10);
    for (int i = 0; i < FLASHIMG_NREGIONS; i++) {
        const struct flashimg_region *r = &fi->region[i];
        printf("  FLREG%d %-10s 0x%08x", i, flashimg_region_name(i), r->flreg);
        if (r->used)
            printf("  0x%08x-0x%08x  %u KiB\n", r->base, r->limit, (r->limit - r->base + 1) >> 10);
        else
            printf("  unused\n");
    }
    for (int i = 0; i < FLASHIMG_NMASTERS; i++) {
        printf("  FLMSTR%d %-4s read ", i + 1, master_name[i]);
        print_grants((uint8_t)(fi->master[i] >> 16));
        printf(", write ");
        print_grants((uint8_t)(fi->master[i] >> 24));
        printf("\n");
    }
}

static int count_files(const struct flashimg *fi)
{
    int n = 0;
    for (int i = 0; i < fi->fvs.n; i++)
        n += fi->fvs.v[i].nfiles;
    return n;
}

static int flash_inspect(int argc, char **argv)
{
    if (argc != 2) {
        flash_usage(stderr);
        return EXIT_USAGE;
    }
    uint8_t *data;
    size_t len;
    if (read_whole(argv[1], (size_t)FLASHIMG_MAX_SIZE * 2, &data, &len) < 0)
        return EXIT_USAGE;
    struct flashimg fi;
    char err[512];
    int r = flashimg_open(&fi, data, len, err, sizeof err);
    printf("image %s: 0x%zx bytes\n", argv[1], len);
    if (fi.desc_ok)
        print_descriptor(&fi);
    for (int i = 0; i < fi.fvs.n; i++)
        print_volume(&fi.fvs.v[i]);
    if (r < 0) {
        printf("result: CORRUPT\n");
        fprintf(stderr, "hopsim: flash inspect: %s: %s\n", argv[1], err);
    } else {
        printf("result: ok, %d volume(s), %d file(s), every header and checksum valid\n", fi.fvs.n,
               count_files(&fi));
    }
    flashimg_close(&fi);
    free(data);
    return r < 0 ? EXIT_CORRUPT : 0;
}

/* After writing: reopen the image (a self-check) and list what went in. */
static int build_summary(const char *path, const uint8_t *img, size_t len)
{
    struct flashimg fi;
    char err[512];
    int r = flashimg_open(&fi, img, len, err, sizeof err);
    if (r < 0) {
        fprintf(stderr, "hopsim: flash build: %s: self-check failed: %s\n", path, err);
    } else {
        const struct flashimg_region *b = &fi.region[FLASHIMG_REGION_BIOS];
        printf("%s: %zu KiB flash, BIOS region 0x%08x-0x%08x, %d volume(s)\n", path, len >> 10,
               b->base, b->limit, fi.fvs.n);
        for (int i = 0; i < fi.fvs.n; i++)
            for (int j = 0; j < fi.fvs.v[i].nfiles; j++) {
                const struct fv_file *f = &fi.fvs.v[i].files[j];
                printf("  %s: payload at 0x%08llx, %u bytes, sha256 ", f->name,
                       (unsigned long long)f->payload_offset, f->payload_len);
                print_hex(f->sha256, 32);
                printf("\n");
            }
    }
    flashimg_close(&fi);
    return r < 0 ? EXIT_CORRUPT : 0;
}

static int flash_build(int argc, char **argv)
{
    static struct build_opts o; /* large: file tables */
    memset(&o, 0, sizeof o);
    int rc = EXIT_USAGE;
    uint8_t *img = NULL;
    size_t len = 0;
    char err[512];
    if (parse_build(&o, argc, argv) < 0)
        goto out;
    if (flashimg_build(&o.lay, o.vols, o.nvols, &img, &len, err, sizeof err) < 0) {
        fprintf(stderr, "hopsim: flash build: %s\n", err);
        goto out;
    }
    rc = write_whole(o.out, img, len) < 0 ? EXIT_CORRUPT : build_summary(o.out, img, len);
out:
    free(img);
    for (int i = 0; i < o.nfiles; i++)
        free(o.data[i]);
    return rc;
}

int flash_main(int argc, char **argv)
{
    if (argc < 1) {
        flash_usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[0], "--help") || !strcmp(argv[0], "-h") || !strcmp(argv[0], "help")) {
        flash_usage(stdout);
        return 0;
    }
    if (!strcmp(argv[0], "build"))
        return flash_build(argc, argv);
    if (!strcmp(argv[0], "inspect"))
        return flash_inspect(argc, argv);
    fprintf(stderr, "hopsim: flash: unknown command '%s' (see hopsim flash --help)\n", argv[0]);
    return EXIT_USAGE;
}
