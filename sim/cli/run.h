/*
 * One scenario run from options to exit code: load the scenario, open the
 * trace, build and run the machine, print the report and summary. Shared
 * by `hopsim run` and the commands that run a scenario several times.
 */
#ifndef HOPSIM_RUN_H
#define HOPSIM_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "machine.h"
#include "scenario.h"
#include "trace.h"

struct run_opts {
    const char *scenario;
    struct sc_set sets[SC_MAX_SETS];
    int nsets;
    bool have_seed;
    uint64_t seed;
    const char *trace_json, *trace_csv;
    const char *pcap;    /* overrides the scenario's output.pcap */
    const char *out_dir; /* --out: where the scenario's own output paths go (NULL: hopsim-out/) */
    bool rw_disks;       /* --rw-disk: disks the scenario does not create are writable */
    const char *stats;   /* --stats FILE.json (stats.h), NULL: none */
    bool quiet;
    bool progress; /* the progress line on stderr (run: a terminal, or --progress) */
    bool no_summary;
    bool view;            /* watch the run in the SDL2 view */
    bool view_close;      /* close the view when the run ends */
    simtime_t view_speed; /* 0: the view's default */
};

struct run_result {
    simtime_t sim_time;
    uint64_t events;
    uint64_t checks_pass, checks_fail;
    uint64_t requests_done;
    struct trace_stat hop[HOP_COUNT];
    bool have_hop[HOP_COUNT];
    struct trace_stat request;
    bool have_request;
    double host_seconds;
    uint64_t engine_runs, engine_fast_traps; /* host: engine starts, hypercalls in the engine */
    uint64_t engine_switches, tlb_fills;     /* host: shared-engine domain switches, TLB fills */
    simtime_t io_first, io_last;             /* window of the completed requests */
    /* the window in which every request source (frontend) runs, and the completions in it */
    simtime_t all_first, all_last;
    uint64_t all_done;
    uint64_t bytes;                       /* reported by guests (HOPSIM_OP_VALUE), 0 if none */
    struct platform_net_stats net;        /* nics == 0: not a network run */
    uint64_t iommu_faults;                /* DMA requests the IOMMU refused */
    uint64_t foreign_dma_writes;          /* DMA writes outside what the device's owner may reach */
    uint64_t crashed, privileged_crashed; /* domains that ended crashed (or never ended) */
    int doms_crashed, doms_running;       /* at the end; crashed incarnations included */
    int restarts;                         /* driver domains the toolstack rebuilt */
    char crashed_names[160], poweroff_names[160]; /* "a, b": who crashed, who ended normally */
    struct machine_cpu_stats cpu;                 /* busy/idle per pCPU, CPU time per request */
    struct machine_probe probe[PROBE_TARGETS][3]; /* a hostile component's attempts */
};

/* Load (and check) the scenario without running it: 0, or 2 with the error printed. */
int run_check(const struct run_opts *o);

/* Returns the process exit code: 0 ok, 1 run failed, 2 usage/scenario error. */
int run_scenario(const struct run_opts *o, struct run_result *r);

#endif
