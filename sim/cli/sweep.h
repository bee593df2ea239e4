/*
 * `hopsim sweep`: one scenario over the cartesian product of --set value
 * lists and ranges and --arch, each point a separate `hopsim run` in its
 * own directory, run on local cores (-j N) or as a Slurm array job
 * (--slurm: one task per point; results gathered when the array has
 * finished). Each point writes --stats JSON; the sweep gathers them into
 * one tidy CSV (a row per point and metric), prints a summary and draws
 * a metric against the first swept parameter, a line per architecture.
 *
 *   --set KEY=V1,V2,...        values
 *   --set KEY=LO..HI           LO, LO+1, ..., HI
 *   --set KEY=LO..HI:+S        LO, LO+S, ... (<= HI)
 *   --set KEY=LO..HI:*F        LO, LO*F, ... (<= HI)
 *   --set-one KEY=VALUE        one value, commas and all (sizes=64,512)
 */
#ifndef HOPSIM_SWEEP_H
#define HOPSIM_SWEEP_H

#include <stdbool.h>

#define SWEEP_MAX_KEYS 8
#define SWEEP_MAX_VALUES 64
#define SWEEP_MAX_ARCH 8
#define SWEEP_MAX_POINTS 4096

struct sweep_key {
    char key[64];
    char values[SWEEP_MAX_VALUES][64];
    int nvalues;
};

struct sweep_opts {
    const char *scenario;
    struct sweep_key keys[SWEEP_MAX_KEYS]; /* swept (more than one value) and fixed ones */
    int nkeys;
    char arch[SWEEP_MAX_ARCH][32];
    int narch;
    const char *seed; /* --seed, NULL: the scenario's */
    int jobs;         /* -j N, 0: one per online CPU */
    bool slurm;
    const char *out_dir;  /* default out/sweep-NAME */
    const char *csv_path; /* default OUT_DIR/sweep.csv */
    const char *svg_path, *png_path;
    const char *metric; /* charted metric, default request.mean */
    const char *self;   /* this program, for the points' command lines */
};

/* Parse `sweep` arguments (after the word sweep): 0, or -1 with a message printed. */
int sweep_parse(int argc, char **argv, struct sweep_opts *o);
/* Returns the exit code: 0 every point ran and met its expectations, 1 one did not, 2 usage. */
int sweep_run(const struct sweep_opts *o);

#endif
