/*
 * Guest arguments checked at load: every domain's args against the
 * declarations its image carries in HOPSIM_ARGS_SECTION
 * (hopsim/guestargs.h). A runtime-service domain's image is read out of
 * the flash image it boots from (its FFS file's payload).
 *
 * The values are parsed the way the guest parses them (workloads/lib/
 * args.c: arg_int takes decimal or 0x hex and true/yes/false/no), so what
 * passes here is what the guest reads. An image that is no ELF or carries
 * no declarations is not checked (any PV image may be named).
 */
#include "argcheck.h"
#include "rng.h"
#include "suggest.h"

#include "flashimg.h"
#include "infile.h"
#include "hopsim/guestargs.h"

#include <ctype.h>
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_DECLS 128

struct decls {
    struct hopsim_argdecl d[MAX_DECLS];
    int n;
    const char *names[MAX_DECLS + 1];
};

static int errf(char *err, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int errf(char *err, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, n, fmt, ap);
    va_end(ap);
    return -1;
}

/* A regular file of 1 byte..1 GiB, read whole (infile_open: a FIFO or device is refused, not
   waited on); NULL when it is not one. */
static uint8_t *read_all(const char *path, size_t *len)
{
    char why[256];
    uint64_t n;
    int fd = infile_open(path, 1, 1u << 30, &n, why, sizeof why);
    uint8_t *buf = NULL;
    if (fd < 0)
        return NULL;
    if ((buf = malloc((size_t)n)) && pread(fd, buf, (size_t)n, 0) != (ssize_t)n) {
        free(buf);
        buf = NULL;
    }
    *len = (size_t)n;
    close(fd);
    return buf;
}

/* The declarations in an ELF held in memory: 0 (ds->n may be 0), -1 malformed. */
static int read_decls(const uint8_t *img, size_t len, struct decls *ds, char *why, size_t wn)
{
    size_t shstrndx;
    int rc = 0;
    ds->n = 0;
    elf_version(EV_CURRENT);
    Elf *e = elf_memory((char *)img, len);
    if (!e || elf_kind(e) != ELF_K_ELF || elf_getshdrstrndx(e, &shstrndx) != 0) {
        if (e)
            elf_end(e);
        return 0;
    }
    for (Elf_Scn *scn = elf_nextscn(e, NULL); scn; scn = elf_nextscn(e, scn)) {
        GElf_Shdr sh;
        const char *name;
        if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(e, shstrndx, sh.sh_name)) ||
            strcmp(name, HOPSIM_ARGS_SECTION) != 0)
            continue;
        Elf_Data *data = elf_getdata(scn, NULL);
        size_t size = data && data->d_buf ? data->d_size : 0;
        if (size % sizeof(struct hopsim_argdecl) ||
            size / sizeof(struct hopsim_argdecl) > MAX_DECLS) {
            rc = errf(why, wn, "%s holds %zu bytes, not whole declarations (at most %d)",
                      HOPSIM_ARGS_SECTION, size, MAX_DECLS);
            break;
        }
        for (size_t off = 0; off < size; off += sizeof(struct hopsim_argdecl)) {
            struct hopsim_argdecl *d = &ds->d[ds->n];
            memcpy(d, (const uint8_t *)data->d_buf + off, sizeof *d);
            d->name[sizeof d->name - 1] = d->choices[sizeof d->choices - 1] =
                d->help[sizeof d->help - 1] = '\0';
            if (d->magic != HOPSIM_ARG_MAGIC || !d->name[0] || d->type < HOPSIM_ARG_INT ||
                d->type > HOPSIM_ARG_LIST) {
                rc = errf(why, wn, "%s: declaration %zu is malformed", HOPSIM_ARGS_SECTION,
                          off / sizeof *d);
                break;
            }
            ds->names[ds->n++] = d->name;
        }
        break;
    }
    ds->names[ds->n] = NULL;
    elf_end(e);
    return rc;
}

/* Does key match name, where a '#' in name stands for a decimal number? */
static bool name_match(const char *name, const char *key)
{
    const char *hash = strchr(name, '#');
    if (!hash)
        return !strcmp(name, key);
    size_t pre = (size_t)(hash - name);
    if (strncmp(name, key, pre) != 0 || !isdigit((unsigned char)key[pre]))
        return false;
    const char *k = key + pre;
    while (isdigit((unsigned char)*k))
        k++;
    return !strcmp(k, hash + 1);
}

static const struct hopsim_argdecl *find_decl(const struct decls *ds, const char *key)
{
    for (int i = 0; i < ds->n; i++)
        if (name_match(ds->d[i].name, key))
            return &ds->d[i];
    return NULL;
}

/* As the guest's arg_int: decimal or 0x hex, true/yes = 1, false/no = 0. */
static bool guest_int(const char *v, long long *out)
{
    if (!strcmp(v, "true") || !strcmp(v, "yes")) {
        *out = 1;
        return true;
    }
    if (!strcmp(v, "false") || !strcmp(v, "no")) {
        *out = 0;
        return true;
    }
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 0);
    if (end == v || *end || errno)
        return false;
    *out = x;
    return true;
}

static bool in_choices(const char *choices, const char *v, const char **list, char *buf,
                       size_t bufn)
{
    int n = 0;
    bool found = false;
    snprintf(buf, bufn, "%s", choices);
    for (char *save = NULL, *t = strtok_r(buf, "|", &save); t && n < 15;
         t = strtok_r(NULL, "|", &save)) {
        list[n++] = t;
        found |= !strcmp(t, v);
    }
    list[n] = NULL;
    return found;
}

static bool mac_ok(const char *s)
{
    unsigned b[6];
    char tail;
    if (strlen(s) != 17 || sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4],
                                  &b[5], &tail) != 6)
        return false;
    for (int i = 0; i < 17; i++)
        if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
            return false;
    return !(b[0] & 1);
}

static int check_int(const struct hopsim_argdecl *d, const char *k, const char *v, char *msg,
                     size_t n)
{
    long long x;
    if (!guest_int(v, &x))
        return errf(msg, n, "%s=%s: expected an integer (%s)", k, v, d->help);
    if (x < d->lo || x > d->hi) {
        if (d->hi == INT64_MAX)
            return errf(msg, n, "%s=%s: must be at least %lld (%s)", k, v, (long long)d->lo,
                        d->help);
        return errf(msg, n, "%s=%s: out of range %lld..%lld (%s)", k, v, (long long)d->lo,
                    (long long)d->hi, d->help);
    }
    if (d->step > 1 && x % d->step)
        return errf(msg, n, "%s=%s: must be a multiple of %lld (%s)", k, v, (long long)d->step,
                    d->help);
    return 0;
}

static int check_list(const struct hopsim_argdecl *d, const char *k, const char *v, char *msg,
                      size_t n)
{
    char buf[256];
    int count = 0;
    snprintf(buf, sizeof buf, "%s", v);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        long long x;
        if (!guest_int(t, &x) || x < d->lo || x > d->hi)
            return errf(msg, n, "%s=%s: '%s' is not an integer in %lld..%lld (%s)", k, v, t,
                        (long long)d->lo, (long long)d->hi, d->help);
        count++;
    }
    if (!count || (d->step > 0 && count > d->step))
        return errf(msg, n, "%s=%s: expected 1..%lld comma-separated values (%s)", k, v,
                    (long long)d->step, d->help);
    return 0;
}

static int check_value(const struct hopsim_argdecl *d, const char *k, const char *v, char *msg,
                       size_t n)
{
    const char *list[16], *near;
    char buf[sizeof d->choices];
    switch (d->type) {
    case HOPSIM_ARG_INT:
        return check_int(d, k, v, msg, n);
    case HOPSIM_ARG_BOOL: {
        static const char *const b[] = {"0", "1", "true", "false", "yes", "no", NULL};
        for (int i = 0; b[i]; i++)
            if (!strcmp(v, b[i]))
                return 0;
        return errf(msg, n, "%s=%s: expected true or false (%s)", k, v, d->help);
    }
    case HOPSIM_ARG_ENUM:
        if (in_choices(d->choices, v, list, buf, sizeof buf))
            return 0;
        near = suggest_nearest(v, list);
        if (near)
            return errf(msg, n, "%s=%s: expected one of %s (did you mean '%s'?)", k, v, d->choices,
                        near);
        return errf(msg, n, "%s=%s: expected one of %s (%s)", k, v, d->choices, d->help);
    case HOPSIM_ARG_MAC:
        return mac_ok(v)
                   ? 0
                   : errf(msg, n, "%s=%s: expected a unicast MAC address (%s)", k, v, d->help);
    case HOPSIM_ARG_LIST:
        return check_list(d, k, v, msg, n);
    default:
        return 0;
    }
}

static int check_domain(const struct sc_domain *d, const struct decls *ds, const char *image,
                        char *msg, size_t n)
{
    char buf[SC_CMDLINE], known[512] = "";
    snprintf(buf, sizeof buf, "%s", d->cmdline);
    for (char *save = NULL, *t = strtok_r(buf, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(t, '=');
        const char *v = eq ? eq + 1 : "1";
        if (eq)
            *eq = '\0';
        const struct hopsim_argdecl *decl = find_decl(ds, t);
        if (decl) {
            if (check_value(decl, t, v, msg, n) < 0)
                return -1;
            continue;
        }
        const char *near = suggest_nearest(t, ds->names);
        if (near)
            return errf(msg, n, "unknown argument '%s' for %s (did you mean '%s'?)", t, image,
                        near);
        for (int i = 0; i < ds->n; i++) {
            size_t len = strlen(known);
            snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "", ds->names[i]);
        }
        return errf(msg, n, "unknown argument '%s' for %s (it takes: %s)", t, image, known);
    }
    return 0;
}

/* The ELF a domain runs, in memory (malloc'd), and a name for it; NULL if it cannot be read. */
static uint8_t *domain_elf(const struct scenario *sc, const struct sc_domain *d, size_t *len,
                           const char **name)
{
    if (!d->runtime_image[0]) {
        const char *slash = strrchr(d->image, '/');
        *name = slash ? slash + 1 : d->image;
        return read_all(d->image, len);
    }
    size_t flen = 0;
    const char *path = sc->flash.image[0] ? sc->flash.image : HOPSIM_PLATFORM_FD;
    uint8_t *flash = read_all(path, &flen), *elf = NULL;
    struct flashimg fi;
    struct flashimg_payload p;
    char ferr[256];
    *name = d->runtime_image;
    if (!flash)
        return NULL;
    if (flashimg_open(&fi, flash, flen, ferr, sizeof ferr) == 0 &&
        flashimg_payload(&fi, d->runtime_image, &p) == 0 && p.offset + p.length <= flen &&
        (elf = malloc(p.length ? p.length : 1)))
        memcpy(elf, flash + p.offset, p.length);
    *len = elf ? p.length : 0;
    flashimg_close(&fi);
    free(flash);
    return elf;
}

int scenario_check_guest_args(const struct scenario *sc, char *err, size_t errlen)
{
    struct decls *ds = malloc(sizeof *ds);
    char msg[512], why[256];
    int rc = 0;
    if (!ds)
        return errf(err, errlen, "%s: out of memory", sc->path);
    for (int i = 0; i < sc->ndomains && rc == 0; i++) {
        const struct sc_domain *d = &sc->domains[i];
        const char *name;
        size_t len = 0;
        uint8_t *img = domain_elf(sc, d, &len, &name);
        if (!img)
            continue; /* the domain builder reports an unreadable image */
        if (read_decls(img, len, ds, why, sizeof why) < 0)
            rc = errf(err, errlen, "%s:%d: domain '%s': image %s: %s", sc->path, d->script_line,
                      d->name, name, why);
        else if (ds->n && check_domain(d, ds, name, msg, sizeof msg) < 0)
            rc = errf(err, errlen, "%s:%d: domain '%s': args: %s", sc->path, d->script_line,
                      d->name, msg);
        free(img);
    }
    free(ds);
    return rc;
}

/* Does the domain's cmdline give `key` (as "key=..." or a bare "key")? */
static bool cmdline_has(const char *cmdline, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = cmdline; *p;) {
        while (*p == ' ')
            p++;
        if (!strncmp(p, key, n) && (p[n] == '=' || p[n] == ' ' || !p[n]))
            return true;
        while (*p && *p != ' ')
            p++;
    }
    return false;
}

int scenario_seed_guests(struct scenario *sc, char *err, size_t errlen)
{
    struct decls *ds = malloc(sizeof *ds);
    char why[256];
    int rc = 0;
    if (!ds)
        return errf(err, errlen, "%s: out of memory", sc->path);
    for (int i = 0; i < sc->ndomains && rc == 0; i++) {
        struct sc_domain *d = &sc->domains[i];
        const char *name;
        size_t len = 0;
        uint8_t *img = domain_elf(sc, d, &len, &name);
        if (!img)
            continue;
        if (read_decls(img, len, ds, why, sizeof why) == 0 && find_decl(ds, "seed") &&
            find_decl(ds, "seed")->type == HOPSIM_ARG_INT && !cmdline_has(d->cmdline, "seed")) {
            char stream[80];
            snprintf(stream, sizeof stream, "guest.%s", d->name);
            /* non-negative, so it is in any seed declaration's range that includes 0..2^63-1 */
            unsigned long long s = rng_derive(sc->seed, stream) >> 1;
            size_t used = strlen(d->cmdline);
            int n = snprintf(d->cmdline + used, sizeof d->cmdline - used, "%sseed=%llu",
                             used ? " " : "", s);
            if (n < 0 || (size_t)n >= sizeof d->cmdline - used) {
                d->cmdline[used] = '\0';
                rc = errf(err, errlen, "%s:%d: domain '%s': args: no room for the derived seed",
                          sc->path, d->script_line, d->name);
            }
        }
        free(img);
    }
    free(ds);
    return rc;
}
