/*
 * hopsim command line.
 *
 *   hopsim run SCENARIO [--set key=value ...] [--seed N] [--trace-json F]
 *                       [--trace-csv F] [--pcap F] [--quiet]
 *   hopsim --help
 *
 * Exit codes: 0 run completed and every guest check passed; 1 the run
 * failed (a domain crashed, a guest check failed, deadlock, trace I/O
 * error); 2 usage or scenario error (message names file:line:key).
 */
#include "machine.h"

#include "hopsim/blkpattern.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xen/sched.h>

#include "compare.h"
#include "flashimg.h"
#include "infile.h"
#include "attack.h"
#include "run.h"
#include "sizereport.h"
#include "view.h"
#include "follow.h"
#include "help.h"
#include "sweep.h"

#define EXIT_RUN_FAILED 1
#define EXIT_USAGE 2

static void usage(FILE *out)
{
    help_print(NULL, out);
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *s == 0 || *end != 0 || *s == '-')
        return -1;
    *out = v;
    return 0;
}

static int add_set(struct run_opts *o, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv || o->nsets == SC_MAX_SETS)
        return -1;
    struct sc_set *s = &o->sets[o->nsets++];
    snprintf(s->key, sizeof(s->key), "%.*s", (int)(eq - kv), kv);
    snprintf(s->value, sizeof(s->value), "%s", eq + 1);
    return 0;
}

static int parse_arch_list(struct compare_opts *c, const char *list)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", list);
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (c->narch == COMPARE_MAX_ARCH || !*t || strlen(t) >= sizeof(c->arch[0]))
            return -1;
        snprintf(c->arch[c->narch++], sizeof(c->arch[0]), "%s", t);
    }
    return c->narch ? 0 : -1;
}

/* Options only `compare` takes; returns 1 if consumed (and *i advanced), 0 if not ours, -1 bad. */
static int parse_compare_opt(struct compare_opts *c, const char *a, const char *next, int *i)
{
    if (!c || !next)
        return 0;
    if (!strcmp(a, "--arch")) {
        if (parse_arch_list(c, next) < 0) {
            fprintf(stderr, "hopsim: --arch %s: expected a comma-separated list (at most %d)\n",
                    next, COMPARE_MAX_ARCH);
            return -1;
        }
    } else if (!strcmp(a, "--csv")) {
        c->csv_path = next;
    } else if (!strcmp(a, "--trace-dir")) {
        c->trace_dir = next;
    } else if (!strcmp(a, "--svg")) {
        c->svg_path = next;
    } else if (!strcmp(a, "--png")) {
        c->png_path = next;
    } else {
        return 0;
    }
    (*i)++;
    return 1;
}

static int parse_run_args(int argc, char **argv, struct run_opts *o, struct compare_opts *c)
{
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *next = i + 1 < argc ? argv[i + 1] : NULL;
        int k = parse_compare_opt(c, a, next, &i);
        if (k < 0)
            return -1;
        if (k > 0)
            continue;
        if (!strcmp(a, "--quiet")) {
            o->quiet = true;
        } else if (!strcmp(a, "--set") && next) {
            if (add_set(o, next) < 0) {
                fprintf(stderr, "hopsim: --set %s: expected KEY=VALUE\n", next);
                return -1;
            }
            i++;
        } else if (!strcmp(a, "--seed") && next) {
            if (parse_u64(next, &o->seed) < 0) {
                fprintf(stderr, "hopsim: --seed %s: expected a non-negative integer\n", next);
                return -1;
            }
            o->have_seed = true;
            i++;
        } else if (!strcmp(a, "--trace-json") && next) {
            o->trace_json = next;
            i++;
        } else if (!strcmp(a, "--trace-csv") && next) {
            o->trace_csv = next;
            i++;
        } else if (!strcmp(a, "--out") && next) {
            o->out_dir = next;
            i++;
        } else if (!strcmp(a, "--rw-disk")) {
            o->rw_disks = true;
        } else if (!strcmp(a, "--progress") && !c) {
            o->progress = true;
        } else if (!strcmp(a, "--pcap") && next) {
            o->pcap = next;
            i++;
        } else if (!strcmp(a, "--view")) {
            o->view = true;
        } else if (!strcmp(a, "--view-close")) {
            o->view_close = true;
        } else if (!strcmp(a, "--view-speed") && next) {
            if (view_parse_time(next, &o->view_speed) < 0 || !o->view_speed) {
                fprintf(stderr, "hopsim: --view-speed %s: expected a time such as 50us, 2ms\n",
                        next);
                return -1;
            }
            i++;
        } else if (!strcmp(a, "--stats") && next) {
            o->stats = next;
            i++;
        } else if (a[0] == '-') {
            fprintf(stderr, "hopsim: unknown option '%s' (see hopsim --help)\n", a);
            return -1;
        } else if (!o->scenario) {
            o->scenario = a;
        } else {
            fprintf(stderr, "hopsim: unexpected argument '%s'\n", a);
            return -1;
        }
    }
    if (!o->scenario) {
        fprintf(stderr, "hopsim: run: no scenario given (see hopsim --help)\n");
        return -1;
    }
    return 0;
}

/*
 * Check every sector of a disk image written by the block test program. The
 * image must be a regular file of whole sectors (not a directory, FIFO or
 * device; not empty). A sector is unwritten only when it is all zeros (a
 * created image is sparse, zero-filled); anything else that is not a
 * consistent pattern for its place -- including a pattern whose magic was
 * zeroed -- is inconsistent.
 *
 * With `parts` > 1 the image is a disk that several guests shared, each in
 * its own equal partition addressed from its block 0 (the device model's
 * split of a target among its guests under hvm-emul and hosted, the l4
 * driver server's 8 extents): the disk's blocks of `blksz` bytes are cut
 * into `parts` extents of blocks / parts blocks, a sector's place is its
 * 512-byte LBA within its extent, and sectors past the last whole extent
 * belong to no guest and must be unwritten.
 */
static int disk_check(const char *path, unsigned parts, unsigned blksz)
{
    char err[512];
    uint64_t size;
    int fd = infile_open(path, HOPSIM_SECTOR, UINT64_MAX, &size, err, sizeof(err));
    if (fd < 0) {
        fprintf(stderr, "hopsim: disk-check: %s\n", err);
        return EXIT_USAGE;
    }
    if (size % blksz) {
        fprintf(stderr,
                "hopsim: disk-check: %s: %llu bytes, not a whole number of %u-byte "
                "%s\n",
                path, (unsigned long long)size, blksz,
                blksz == HOPSIM_SECTOR ? "sectors" : "blocks");
        close(fd);
        return EXIT_USAGE;
    }
    const uint64_t part = size / blksz / parts * blksz / HOPSIM_SECTOR; /* sectors per extent */
    if (!part) {
        fprintf(stderr,
                "hopsim: disk-check: %s: %llu bytes cannot hold %u partitions of whole "
                "%u-byte blocks\n",
                path, (unsigned long long)size, parts, blksz);
        close(fd);
        return EXIT_USAGE;
    }
    static uint8_t chunk[256 * HOPSIM_SECTOR];
    uint64_t lba = 0, good = 0, bad = 0, evil = 0, blank = 0;
    while (lba * HOPSIM_SECTOR < size) {
        uint64_t left = size - lba * HOPSIM_SECTOR;
        size_t want = left < sizeof(chunk) ? (size_t)left : sizeof(chunk);
        ssize_t n = pread(fd, chunk, want, (off_t)(lba * HOPSIM_SECTOR));
        if (n != (ssize_t)want) {
            fprintf(stderr, "hopsim: disk-check: %s: read error at sector %llu\n", path,
                    (unsigned long long)lba);
            close(fd);
            return EXIT_RUN_FAILED;
        }
        for (size_t off = 0; off < want; off += HOPSIM_SECTOR, lba++) {
            const uint8_t *sector = chunk + off;
            uint64_t magic;
            memcpy(&magic, sector, 8);
            /* its place: the LBA within its guest's extent; none past the last extent */
            uint64_t extent = lba / part;
            uint64_t place = extent < parts ? lba % part : UINT64_MAX;
            int r = hopsim_pattern_check(sector, place, NULL);
            if (extent >= parts && r > 0)
                r = -1;
            if (magic == HOPSIM_EVIL_MAGIC) {
                evil++;
            } else if (r > 0) {
                good++;
            } else if (r == 0) {
                blank++;
            } else {
                if (bad < 5 && parts > 1)
                    fprintf(stderr,
                            "hopsim: %s: sector %llu (%s%llu of partition %llu) holds no "
                            "consistent pattern for its place\n",
                            path, (unsigned long long)lba,
                            extent < parts ? "sector " : "past the end, ",
                            (unsigned long long)(extent < parts ? place : lba - parts * part),
                            (unsigned long long)(extent < parts ? extent : parts - 1));
                else if (bad < 5)
                    fprintf(stderr,
                            "hopsim: %s: sector %llu holds no consistent pattern for "
                            "its place\n",
                            path, (unsigned long long)lba);
                bad++;
            }
        }
    }
    close(fd);
    printf("%s: %llu sectors, %llu written by the test program and consistent, %llu "
           "inconsistent, %llu from rejected requests, %llu unwritten",
           path, (unsigned long long)lba, (unsigned long long)good, (unsigned long long)bad,
           (unsigned long long)evil, (unsigned long long)blank);
    if (parts > 1)
        printf(" (%u partitions of %llu sectors)", parts, (unsigned long long)part);
    printf("\n");
    return bad || evil ? EXIT_RUN_FAILED : 0;
}

/* `disk-check IMAGE [--partitions N] [--block-size 512|4096]` */
static int disk_check_cmd(int argc, char **argv)
{
    const char *image = NULL;
    unsigned long parts = 1, blksz = HOPSIM_SECTOR;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        unsigned long *v = !strcmp(a, "--partitions")   ? &parts
                           : !strcmp(a, "--block-size") ? &blksz
                                                        : NULL;
        if (v) {
            char *end;
            if (i + 1 == argc) {
                fprintf(stderr, "hopsim: disk-check: %s needs a value\n", a);
                return EXIT_USAGE;
            }
            errno = 0;
            *v = strtoul(argv[++i], &end, 10);
            if (errno || *end || argv[i][0] < '0' || argv[i][0] > '9' ||
                (v == &parts && (parts < 1 || parts > 4096)) ||
                (v == &blksz && blksz != 512 && blksz != 4096)) {
                fprintf(stderr, "hopsim: disk-check: %s %s: expected %s\n", a, argv[i],
                        v == &parts ? "a whole number from 1 to 4096" : "512 or 4096");
                return EXIT_USAGE;
            }
        } else if (a[0] == '-' || image) {
            fprintf(stderr, "hopsim: disk-check: unexpected argument '%s'\n", a);
            return EXIT_USAGE;
        } else {
            image = a;
        }
    }
    if (!image) {
        usage(stderr);
        return EXIT_USAGE;
    }
    return disk_check(image, (unsigned)parts, (unsigned)blksz);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "view")) {
        char err[640];
        const struct view_api *api = view_api_load(err, sizeof err);
        if (!api) {
            fprintf(stderr, "hopsim view: %s\n", err);
            return EXIT_USAGE;
        }
        return api->main(argc - 2, argv + 2);
    }
    if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
        return help_print(argc > 2 ? argv[2] : NULL, stdout) < 0 ? EXIT_USAGE : 0;
    if (strcmp(argv[1], "flash") != 0)
        for (int i = 2; i < argc; i++) /* `hopsim CMD --help`: that command's help */
            if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
                return help_print(argv[1], stdout) < 0 ? EXIT_USAGE : 0;
    if (!strcmp(argv[1], "sweep")) {
        static struct sweep_opts so;
        char self[4096];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0) {
            fprintf(stderr, "hopsim: sweep: cannot find this program (/proc/self/exe)\n");
            return EXIT_USAGE;
        }
        self[n] = '\0';
        so.self = self;
        if (sweep_parse(argc - 2, argv + 2, &so) < 0)
            return EXIT_USAGE;
        return sweep_run(&so);
    }
    if (!strcmp(argv[1], "follow"))
        return follow_main(argc - 2, argv + 2);
    if (!strcmp(argv[1], "compare")) {
        static struct compare_opts c;
        if (parse_run_args(argc - 2, argv + 2, &c.run, &c) < 0)
            return EXIT_USAGE;
        if (!c.narch) {
            fprintf(stderr, "hopsim: compare: --arch A,B,... is required\n");
            return EXIT_USAGE;
        }
        c.run.quiet = true;
        return compare_run(&c);
    }
    if (!strcmp(argv[1], "flash"))
        return flash_main(argc - 2, argv + 2);
    if (!strcmp(argv[1], "attack-matrix"))
        return attack_matrix(argc > 2 ? argv[2] : HOPSIM_PLATFORM_FD,
                             argc > 3 ? argv[3] : HOPSIM_GUEST_DIR "/backend-rt.elf");
    if (!strcmp(argv[1], "size-report"))
        return size_report(argc > 2 ? argv[2] : HOPSIM_GUEST_DIR);
    if (!strcmp(argv[1], "disk-check"))
        return disk_check_cmd(argc - 2, argv + 2);
    if (!strcmp(argv[1], "run")) {
        struct run_opts o = {0};
        if (parse_run_args(argc - 2, argv + 2, &o, NULL) < 0)
            return EXIT_USAGE;
        o.progress = o.progress || (isatty(STDERR_FILENO) && !o.quiet); /* --progress: always */
        struct run_result r;
        int rc = run_scenario(&o, &r);
        return rc;
    }
    fprintf(stderr, "hopsim: unknown command '%s' (see hopsim --help)\n", argv[1]);
    return EXIT_USAGE;
}
