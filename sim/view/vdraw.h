/*
 * Drawing one frame of the view with SDL2's renderer API (a window's
 * renderer, or a software renderer on a surface for headless screenshots),
 * text with SDL2_ttf. Layout is computed once per frame (struct vlayout) and
 * exposed, so tests and `hopsim view --inspect` can find a lane or a time on
 * the picture.
 *
 * A panel shows one trace: a lane per place (CPUs, domains, devices, wires)
 * with hop spans coloured by hop in the upper band and sub-spans in grey in
 * the lower band; the playhead; a marker per request in flight at the
 * playhead, in its place's lane, coloured by its hop; in-flight counts per
 * place; a time axis. The side panel holds the per-hop latency histogram of
 * the hop spans complete by the playhead, the hop legend and the selected
 * request's hop timings.
 */
#ifndef HOPSIM_VDRAW_H
#define HOPSIM_VDRAW_H

#include <SDL2/SDL.h>
#include <SDL2/SDL_ttf.h>

#include "vmodel.h"

struct vview {
    struct vmodel *m;
    char label[64];   /* e.g. the architecture, from the file name */
    simtime_t origin; /* the trace's time at view time 0 (aligned: its first request) */
};

struct vstate {
    simtime_t play;    /* playhead in view time, ps: a panel shows its trace at play + origin */
    simtime_t width;   /* visible time window, ps */
    int64_t pan;       /* window start relative to play - 3/4 width, ps */
    uint64_t selected; /* request followed, HOPSIM_NOREQ if none */
    double speed;      /* virtual ps per wall second */
    bool paused, live, finished;
};

#define VD_HEADER 30
#define VD_FOOTER 24
#define VD_LABEL_W 150
#define VD_PANEL_W 300
#define VD_AXIS_H 18
#define VD_MARK 8

struct vlayout {
    int w, h;
    int x0, x1; /* time area */
    int y0, y1; /* lanes of this panel */
    int lane_h;
    simtime_t t0, t1; /* time at x0 and x1 */
};

struct vfont {
    TTF_Font *regular, *bold;
};

int vfont_open(struct vfont *f, char *err, size_t errlen);
void vfont_close(struct vfont *f);

SDL_Color vdraw_hop_color(int hop);

void vdraw_layout(const struct vmodel *m, const struct vstate *st, int w, int h, int y0, int y1,
                  struct vlayout *L);
int vdraw_x(const struct vlayout *L, simtime_t t);
int vdraw_lane_top(const struct vlayout *L, int place);
/* The hop band of a lane: [top + 2, top + band) */
int vdraw_hop_band(const struct vlayout *L);
/* Position of the k-th in-flight marker in a lane, centre point. */
void vdraw_marker_pos(const struct vlayout *L, int place, int k, int *x, int *y);

/* st with the playhead in v's trace time (play + origin). */
struct vstate vdraw_panel_state(const struct vstate *st, const struct vview *v);

/*
 * Draws the whole frame; views[cur] is shown, or all stacked if
 * side_by_side. layouts (nviews entries, may be NULL) receives each drawn
 * panel's layout.
 */
void vdraw_frame(SDL_Renderer *r, const struct vfont *f, struct vview *views, int nviews, int cur,
                 bool side_by_side, const struct vstate *st, int w, int h, struct vlayout *layouts);

/* A column in the middle of the latest hop span drawn in a place's lane, -1 if none. */
int vdraw_probe_x(const struct vlayout *L, const struct vmodel *m, const struct vstate *st,
                  int place);
/* The hop whose span is drawn topmost at column px of a place's hop band, -1 if none. */
int vdraw_expect_hop(const struct vlayout *L, const struct vmodel *m, const struct vstate *st,
                     int place, int px);

/* Index of the hop span under (x, y) in a panel, or SIZE_MAX. */
size_t vdraw_pick(const struct vlayout *L, const struct vmodel *m, int x, int y);

#endif
