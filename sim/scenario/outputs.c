/*
 * Where a scenario may write: every path a scenario names for writing
 * (output{} trace_json, trace_csv, pcap; the disk images of device{}) lies
 * inside the run's output directory (sc_load_opts.out_dir, default "hopsim-out",
 * created when needed). A path the user typed on the command line is the
 * user's own and is used as given: a path whose text is exactly the value
 * of a --set (param() or a dotted override) is not confined.
 *
 * A confined path is relative, has no ".." component and no component that
 * is a symbolic link (out_dir itself may be one: it is the user's); missing
 * directories below out_dir are created. The checks run once, at load time:
 * they stop a hostile scenario file, which cannot create links itself.
 *
 * Disks: a disk is opened read-only unless the scenario creates it
 * (create = true) or the command line allows writes (--rw-disk, i.e.
 * sc_load_opts.rw_disks).
 */
#include "loader.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static bool from_command_line(const struct loader *ld, const char *text)
{
    for (int i = 0; i < ld->o->nsets; i++)
        if (strcmp(ld->o->sets[i].value, text) == 0)
            return true;
    return false;
}

const char *scenario_out_dir(const struct sc_load_opts *o)
{
    return o && o->out_dir && o->out_dir[0] ? o->out_dir : "hopsim-out";
}

/* mkdir dir unless it exists as a directory (following a link: dir is the user's). */
static int ensure_dir(const char *dir, char *why, size_t n)
{
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return 0;
        return errf(why, n, "%s is not a directory", dir);
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return errf(why, n, "cannot create %s: %s", dir, strerror(errno));
    return 0;
}

/* Walk rel's components below out: directories created, no links; the final one a file or new. */
static int walk(const char *out, const char *rel, char *full, size_t n, char *why, size_t wn)
{
    int len = snprintf(full, n, "%s/%s", out, rel);
    if (len < 0 || (size_t)len >= n)
        return errf(why, wn, "too long");
    size_t base = strlen(out) + 1;
    for (char *p = full + base;;) {
        char *slash = strchr(p, '/');
        struct stat st;
        if (slash)
            *slash = '\0';
        int have = lstat(full, &st) == 0;
        if (have && S_ISLNK(st.st_mode))
            return errf(why, wn, "%s is a symbolic link (it could lead outside %s)", full, out);
        if (!slash) {
            if (have && !S_ISREG(st.st_mode))
                return errf(why, wn, "%s exists and is not a regular file", full);
            return 0;
        }
        if (!have && mkdir(full, 0777) != 0 && errno != EEXIST)
            return errf(why, wn, "cannot create %s: %s", full, strerror(errno));
        if (have && !S_ISDIR(st.st_mode))
            return errf(why, wn, "%s is not a directory", full);
        *slash = '/';
        p = slash + 1;
    }
}

/* Confine the path in buf (SC_PATH bytes) to the output directory; 0 or -1 with the message. */
static int confine(struct loader *ld, char *buf, int line, const char *key)
{
    char shown[SC_PATH], why[SC_PATH + 128], full[SC_PATH];
    const char *out = scenario_out_dir(ld->o);
    if (!buf[0] || from_command_line(ld, buf))
        return 0;
    printable(buf, shown, sizeof shown);
    if (buf[0] == '/')
        snprintf(why, sizeof why, "an absolute path");
    else if (has_dotdot(buf))
        snprintf(why, sizeof why, "a path with '..'");
    else if (ensure_dir(out, why, sizeof why) == 0 &&
             walk(out, buf, full, sizeof full, why, sizeof why) == 0) {
        memcpy(buf, full, strlen(full) + 1);
        return 0;
    }
    return errf(ld->err, ld->errlen,
                "%s:%d: %s: '%s': %s; a scenario writes only inside the run's output directory "
                "(%s, --out DIR); a path given on the command line (--set) is used as given",
                ld->sc->path, line, key, shown, why, out);
}

int confine_outputs(struct loader *ld)
{
    struct scenario *sc = ld->sc;
    int oline = ld->hb->output_line;
    if (confine(ld, sc->output.trace_json, oline, "trace_json") ||
        confine(ld, sc->output.trace_csv, oline, "trace_csv") ||
        confine(ld, sc->output.pcap, oline, "pcap") ||
        confine(ld, sc->output.reservation_csv, oline, "reservation_csv"))
        return -1;
    for (int i = 0; i < sc->ndevices; i++)
        for (int k = 0; k < sc->devices[i].ndisks; k++) {
            struct sc_disk *dk = &sc->devices[i].disks[k];
            if (confine(ld, dk->image, sc->devices[i].line, "disks.image"))
                return -1;
            dk->read_only = !dk->create && !ld->o->rw_disks;
        }
    return 0;
}
