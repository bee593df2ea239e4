/*
 * The SDL2 live view (docs/view.md).
 *
 *   hopsim view TRACE.json [TRACE.json ...]      replay traces (several: a
 *                                                compare run's architectures)
 *   hopsim view ... --screenshot F.png --at T    one frame, off-screen
 *   hopsim run SCENARIO --view                   watch the run as it goes
 *
 * The live view is a trace listener: it sees the records the trace writers
 * write, as they are written, and never touches the simulation. It paces the
 * run: when the simulation gets a quarter window ahead of the playhead, the
 * listener keeps the window alive until the playhead catches up, so the
 * simulation's results and traces are those of a run without the view.
 */
#ifndef HOPSIM_VIEW_H
#define HOPSIM_VIEW_H

#include <stdbool.h>
#include <stddef.h>

#include "simtime.h"
#include "trace.h"

struct view_live;

struct view_live_opts {
    const char *title;
    simtime_t speed;   /* virtual ps per wall second; 0: default */
    bool close_at_end; /* close the window when the run ends instead of waiting */
};

/* Opens the window. Returns NULL with err filled (no display, no font, ...). */
struct view_live *view_live_open(const struct view_live_opts *o, char *err, size_t errlen);
/* The trace listener (trace_opts.listen) for a live view. */
void view_live_listen(void *ctx, const struct trace_rec *r);
/* The run is over: keep showing it until the user closes the window, then free. */
void view_live_close(struct view_live *v);

/* `hopsim view ...`; returns the exit code. */
int view_main(int argc, char **argv);

/* "1ms", "250us", "1.5ms", "100ns", "42ps", "7" (ps). Returns -1 if not a time. In the executable
 * (sim/cli/viewtime.c): --view-speed is parsed before the view is loaded. */
int view_parse_time(const char *s, simtime_t *out);

/*
 * The view lives in the module hopsim-view.so (sim/cli/plugin.h), which
 * exports these entry points as VIEW_API_SYMBOL; the executable loads it
 * for `hopsim view` and `run --view` only.
 */
struct view_api {
    struct view_live *(*live_open)(const struct view_live_opts *o, char *err, size_t errlen);
    void (*live_listen)(void *ctx, const struct trace_rec *r);
    void (*live_close)(struct view_live *v);
    int (*main)(int argc, char **argv);
};
#define VIEW_API_SYMBOL "hopsim_view_api"
/* The loaded module's table (sim/cli/plugin.c); NULL with err filled. */
const struct view_api *view_api_load(char *err, size_t errlen);

#endif
