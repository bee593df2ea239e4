/*
 * The view's application: window, controls, live pacing, screenshots and
 * `hopsim view` (view.h). Drawing is in vdraw.c, the trace model in vmodel.c.
 *
 * Controls: space pause/resume; n (or right arrow while paused) step to the
 * next record boundary; + / - double or halve the speed; mouse wheel zoom
 * the time axis around the playhead; drag or left/right arrows pan; click a
 * hop span to follow its request; tab next architecture; a all side by side;
 * home back to the start; q or Esc quit.
 */
#include "view.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <SDL2/SDL.h>
#include <SDL2/SDL_image.h>

#include "hopsim/abi.h"
#include "vdraw.h"
#include "vmodel.h"

#define VIEW_W 1280
#define VIEW_H 720
#define VIEW_MAXV 8
#define DEFAULT_SPEED (50ull * 1000000)  /* 50 us of virtual time per wall second */
#define DEFAULT_WIDTH (200ull * 1000000) /* 200 us visible */

struct app {
    struct vview views[VIEW_MAXV];
    struct vmodel models[VIEW_MAXV];
    struct vlayout layouts[VIEW_MAXV];
    int nviews, cur;
    bool side;
    struct vstate st;
    struct vfont font;
    SDL_Window *win;
    SDL_Renderer *ren;
    bool quit, dragging;
    int drag_x;
    uint64_t last_tick;
    int w, h;
};

/* The latest view time any trace reaches. */
static simtime_t model_end(const struct app *a)
{
    simtime_t t = 0;
    for (int i = 0; i < a->nviews; i++) {
        const struct vmodel *m = &a->models[i];
        simtime_t o = a->views[i].origin;
        if (m->any && m->tmax > o && m->tmax - o > t)
            t = m->tmax - o;
    }
    return t;
}

static void render(struct app *a)
{
    vdraw_frame(a->ren, &a->font, a->views, a->nviews, a->cur, a->side, &a->st, a->w, a->h,
                a->layouts);
    SDL_RenderPresent(a->ren);
}

static void click(struct app *a, int x, int y)
{
    int first = a->side ? 0 : a->cur, last = a->side ? a->nviews - 1 : a->cur;
    for (int i = first; i <= last; i++) {
        size_t k = vdraw_pick(&a->layouts[i], &a->models[i], x, y);
        if (k != SIZE_MAX) {
            a->st.selected = a->models[i].hops[k].req;
            if (a->side)
                a->cur = i;
            return;
        }
    }
    a->st.selected = HOPSIM_NOREQ;
}

static void key(struct app *a, SDL_Keycode k, simtime_t limit)
{
    struct vstate *st = &a->st;
    switch (k) {
    case SDLK_q:
    case SDLK_ESCAPE:
        a->quit = true;
        break;
    case SDLK_SPACE:
        st->paused = !st->paused;
        break;
    case SDLK_RIGHT:
        if (!st->paused) {
            st->pan += (int64_t)(st->width / 8);
            break;
        }
        __attribute__((fallthrough)); /* step while paused */
    case SDLK_n: {
        simtime_t t = st->play;
        for (int i = 0; i < a->nviews; i++) {
            simtime_t o = a->views[i].origin;
            simtime_t n = vmodel_next_event(&a->models[i], st->play + o) - o;
            if (n > st->play && (t == st->play || n < t))
                t = n;
        }
        st->play = t > limit ? limit : t;
        st->paused = true;
        break;
    }
    case SDLK_LEFT:
        st->pan -= (int64_t)(st->width / 8);
        break;
    case SDLK_PLUS:
    case SDLK_EQUALS:
    case SDLK_KP_PLUS:
        st->speed = st->speed * 2 < 1e15 ? st->speed * 2 : st->speed;
        break;
    case SDLK_MINUS:
    case SDLK_KP_MINUS:
        st->speed = st->speed / 2 > 1 ? st->speed / 2 : st->speed;
        break;
    case SDLK_TAB:
        a->cur = (a->cur + 1) % a->nviews;
        break;
    case SDLK_a:
        a->side = !a->side;
        break;
    case SDLK_HOME:
        st->play = 0;
        st->pan = 0;
        break;
    default:
        break;
    }
}

/* One pass over pending input; advances the playhead by wall time up to limit. */
static void pump(struct app *a, simtime_t limit)
{
    SDL_Event e;
    while (SDL_PollEvent(&e)) {
        switch (e.type) {
        case SDL_QUIT:
            a->quit = true;
            break;
        case SDL_KEYDOWN:
            key(a, e.key.keysym.sym, limit);
            break;
        case SDL_MOUSEWHEEL: {
            double f = e.wheel.y > 0 ? 0.8 : 1.25;
            simtime_t w = (simtime_t)((double)a->st.width * f);
            a->st.width = w < 1000 ? 1000 : w;
            break;
        }
        case SDL_MOUSEBUTTONDOWN:
            a->dragging = true;
            a->drag_x = e.button.x;
            break;
        case SDL_MOUSEBUTTONUP:
            a->dragging = false;
            if (abs(e.button.x - a->drag_x) < 3)
                click(a, e.button.x, e.button.y);
            break;
        case SDL_MOUSEMOTION:
            if (a->dragging) {
                const struct vlayout *L = &a->layouts[a->cur];
                double ps_per_px = (double)a->st.width / (L->x1 > L->x0 ? L->x1 - L->x0 : 1);
                a->st.pan -= (int64_t)(e.motion.xrel * ps_per_px);
            }
            break;
        case SDL_WINDOWEVENT:
            if (e.window.event == SDL_WINDOWEVENT_SIZE_CHANGED) {
                a->w = e.window.data1;
                a->h = e.window.data2;
            }
            break;
        default:
            break;
        }
    }
    uint64_t now = SDL_GetTicks64();
    uint64_t dt = now - a->last_tick;
    a->last_tick = now;
    if (!a->st.paused && a->st.play < limit) {
        double adv = a->st.speed * (double)dt / 1000.0;
        simtime_t p = a->st.play + (simtime_t)adv;
        a->st.play = p > limit ? limit : p;
    }
}

static int app_window(struct app *a, const char *title, char *err, size_t errlen)
{
    if (SDL_Init(SDL_INIT_VIDEO) < 0) {
        snprintf(err, errlen, "view: no display (%s); use --screenshot for off-screen frames",
                 SDL_GetError());
        return -1;
    }
    a->w = VIEW_W;
    a->h = VIEW_H;
    a->win = SDL_CreateWindow(title, SDL_WINDOWPOS_UNDEFINED, SDL_WINDOWPOS_UNDEFINED, a->w, a->h,
                              SDL_WINDOW_RESIZABLE);
    if (a->win)
        a->ren = SDL_CreateRenderer(a->win, -1, 0);
    if (!a->win || !a->ren) {
        snprintf(err, errlen, "view: cannot open a window: %s", SDL_GetError());
        return -1;
    }
    if (vfont_open(&a->font, err, errlen) < 0)
        return -1;
    a->last_tick = SDL_GetTicks64();
    return 0;
}

static void app_free(struct app *a)
{
    vfont_close(&a->font);
    if (a->ren)
        SDL_DestroyRenderer(a->ren);
    if (a->win)
        SDL_DestroyWindow(a->win);
    for (int i = 0; i < a->nviews; i++)
        vmodel_fini(&a->models[i]);
    if (SDL_WasInit(SDL_INIT_VIDEO))
        SDL_Quit();
    if (TTF_WasInit())
        TTF_Quit();
}

static void app_init_state(struct app *a, simtime_t speed)
{
    a->st.speed = (double)(speed ? speed : DEFAULT_SPEED);
    a->st.width = DEFAULT_WIDTH;
    a->st.selected = HOPSIM_NOREQ;
}

/* Interactive loop until quit. */
static void app_loop(struct app *a)
{
    while (!a->quit) {
        pump(a, model_end(a));
        render(a);
        SDL_Delay(16);
    }
}

/* ---- live ---- */

struct view_live {
    struct app a;
    simtime_t sim_now;
    bool detached; /* the user closed the window: the run goes on without it */
    bool close_at_end;
    uint64_t last_frame;
};

struct view_live *view_live_open(const struct view_live_opts *o, char *err, size_t errlen)
{
    struct view_live *v = calloc(1, sizeof(*v));
    if (!v) {
        snprintf(err, errlen, "view: out of memory");
        return NULL;
    }
    struct app *a = &v->a;
    a->nviews = 1;
    vmodel_init(&a->models[0], o->title);
    a->views[0] = (struct vview){.m = &a->models[0]};
    snprintf(a->views[0].label, sizeof(a->views[0].label), "live");
    app_init_state(a, o->speed);
    a->st.live = true;
    v->close_at_end = o->close_at_end;
    if (app_window(a, o->title ? o->title : "hopsim", err, errlen) < 0) {
        app_free(a);
        free(v);
        return NULL;
    }
    return v;
}

void view_live_listen(void *ctx, const struct trace_rec *r)
{
    struct view_live *v = ctx;
    struct app *a = &v->a;
    if (vmodel_add(&a->models[0], r) < 0)
        v->detached = true; /* out of memory: stop showing, never stop the run */
    if (r->end > v->sim_now && r->end != VM_OPEN)
        v->sim_now = r->end;
    if (r->start > v->sim_now)
        v->sim_now = r->start;
    if (v->detached)
        return;
    if (a->st.play < a->models[0].tmin && !a->st.paused)
        a->st.play = a->models[0].tmin;
    /* Hold the run while it is more than a quarter window ahead of the playhead. */
    simtime_t lead = a->st.width / 4;
    do {
        uint64_t now = SDL_GetTicks64();
        if (now - v->last_frame >= 16 || v->sim_now > a->st.play + lead) {
            pump(a, v->sim_now);
            render(a);
            v->last_frame = now;
            if (v->sim_now > a->st.play + lead)
                SDL_Delay(4);
        }
        if (a->quit) {
            v->detached = true;
            return;
        }
    } while (v->sim_now > a->st.play + lead);
}

void view_live_close(struct view_live *v)
{
    if (!v)
        return;
    v->a.st.live = false;
    v->a.st.finished = true;
    if (!v->detached && !v->close_at_end)
        app_loop(&v->a);
    app_free(&v->a);
    free(v);
}

/* ---- hopsim view ---- */

static void view_usage(FILE *out)
{
    fprintf(out,
            "usage: hopsim view TRACE.json [TRACE.json ...] [options]\n"
            "\n"
            "Replays hopsim JSON traces in a window: a lane per CPU, domain and device,\n"
            "requests moving through the hops in virtual time, a per-hop latency\n"
            "histogram. Several traces (e.g. the files of `hopsim compare --trace-dir`)\n"
            "are architectures to switch between (tab) or to stack (a).\n"
            "\n"
            "options:\n"
            "  --screenshot FILE.png  render one frame off-screen (no display needed)\n"
            "  --at TIME              the playhead for the screenshot, measured from each\n"
            "                         trace's first request (e.g. 1ms, 250us): traces are\n"
            "                         aligned on their first request, as boot times differ\n"
            "  --at-sim TIME          the playhead in simulated time, traces not aligned\n"
            "  --window TIME          visible time window (default 200us)\n"
            "  --size WxH             frame size (default %dx%d)\n"
            "  --select REQ           follow request REQ (hex id, e.g. 0x100000007)\n"
            "  --side-by-side         stack every trace's lanes in one frame\n"
            "  --speed TIME           virtual time per wall second (default 50us)\n"
            "  --inspect              with --screenshot: print the frame's lanes, the\n"
            "                         requests in flight at --at, and the colours drawn\n"
            "                         where they are (for tests)\n"
            "\n"
            "keys: space pause, n next event, +/- speed, wheel zoom, drag/arrows pan,\n"
            "click follow a request, tab next trace, a side by side, q quit\n",
            VIEW_W, VIEW_H);
}

static uint32_t pixel(SDL_Surface *s, int x, int y)
{
    if (x < 0 || y < 0 || x >= s->w || y >= s->h)
        return 0;
    uint32_t p;
    memcpy(&p, (uint8_t *)s->pixels + y * s->pitch + x * 4, 4);
    uint8_t r, g, b;
    SDL_GetRGB(p, s->format, &r, &g, &b);
    return (uint32_t)r << 16 | (uint32_t)g << 8 | b;
}

static uint32_t rgb(SDL_Color c)
{
    return (uint32_t)c.r << 16 | (uint32_t)c.g << 8 | c.b;
}

/* The frame's contents as text, read back from the rendered pixels. */
static void inspect(struct app *a, SDL_Surface *s)
{
    const struct vmodel *m = &a->models[a->cur];
    const struct vlayout *L = &a->layouts[a->cur];
    struct vstate pst = vdraw_panel_state(&a->st, &a->views[a->cur]);
    printf("frame %dx%d play %llu ps window %llu..%llu ps\n", s->w, s->h,
           (unsigned long long)pst.play, (unsigned long long)L->t0, (unsigned long long)L->t1);
    struct vwhere at[4096];
    size_t total = 0, n = vmodel_at(m, pst.play, at, 4096, &total);
    int band = vdraw_hop_band(L);
    for (uint32_t p = 0; p < m->nplaces; p++) {
        int inflight = 0;
        for (size_t i = 0; i < n; i++)
            inflight += at[i].place == p;
        int top = vdraw_lane_top(L, (int)p);
        printf("lane %u top %d height %d inflight %d name %s\n", p, top, L->lane_h, inflight,
               m->places[p].name);
        /* probe the hop band in the middle of the latest hop span drawn in this lane */
        int px = vdraw_probe_x(L, m, &pst, (int)p), py = top + 2 + (band - 2) / 2;
        int hop = px < 0 ? -1 : vdraw_expect_hop(L, m, &pst, (int)p, px);
        if (hop >= 0)
            printf("probe lane %u x %d y %d pixel %06x expect H%d %06x\n", p, px, py,
                   pixel(s, px, py), hop, rgb(vdraw_hop_color(hop)));
    }
    int per_place[4096] = {0};
    for (size_t i = 0; i < n; i++) {
        int pl = at[i].place, x, y;
        int k = pl < 4096 ? per_place[pl]++ : 0;
        vdraw_marker_pos(L, pl, k, &x, &y);
        printf("req 0x%llx H%d lane %d marker %d %d pixel %06x expect %06x\n",
               (unsigned long long)at[i].req, at[i].hop, pl, x, y, pixel(s, x, y),
               rgb(vdraw_hop_color(at[i].hop)));
    }
    printf("inflight %zu\n", total);
}

static int screenshot(struct app *a, const char *path, bool want_inspect)
{
    SDL_Surface *s = SDL_CreateRGBSurfaceWithFormat(0, a->w, a->h, 32, SDL_PIXELFORMAT_RGBA32);
    SDL_Renderer *r = s ? SDL_CreateSoftwareRenderer(s) : NULL;
    char err[512];
    int rc = 0;
    if (!r || vfont_open(&a->font, err, sizeof(err)) < 0) {
        fprintf(stderr, "hopsim view: %s\n", r ? err : SDL_GetError());
        rc = 2;
        goto out;
    }
    a->ren = r;
    vdraw_frame(r, &a->font, a->views, a->nviews, a->cur, a->side, &a->st, a->w, a->h, a->layouts);
    SDL_RenderPresent(r);
    if (IMG_SavePNG(s, path) < 0) {
        fprintf(stderr, "hopsim view: %s: %s\n", path, IMG_GetError());
        rc = 1;
    } else if (want_inspect) {
        inspect(a, s);
    }
out:
    if (r)
        SDL_DestroyRenderer(r);
    a->ren = NULL;
    if (s)
        SDL_FreeSurface(s);
    return rc;
}

static const char *base_label(const char *path, char *buf, size_t n)
{
    const char *b = strrchr(path, '/');
    b = b ? b + 1 : path;
    snprintf(buf, n, "%s", b);
    char *dot = strstr(buf, ".json");
    if (dot)
        *dot = 0;
    return buf;
}

int view_main(int argc, char **argv)
{
    static struct app a; /* large: keep it off the stack */
    const char *shot = NULL;
    bool at_set = false, want_inspect = false, absolute = false;
    simtime_t at = 0, width = 0, speed = 0;
    uint64_t select = HOPSIM_NOREQ;
    const char *files[VIEW_MAXV];
    int nfiles = 0, w = VIEW_W, h = VIEW_H;
    memset(&a, 0, sizeof(a));
    for (int i = 0; i < argc; i++) {
        const char *o = argv[i], *next = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            view_usage(stdout);
            return 0;
        }
        bool takes = !strcmp(o, "--screenshot") || !strcmp(o, "--at") || !strcmp(o, "--at-sim") ||
                     !strcmp(o, "--window") || !strcmp(o, "--size") || !strcmp(o, "--select") ||
                     !strcmp(o, "--speed");
        if (takes && !next) {
            fprintf(stderr, "hopsim view: %s needs a value\n", o);
            return 2;
        }
        if (!strcmp(o, "--screenshot")) {
            shot = next;
        } else if (!strcmp(o, "--at") || !strcmp(o, "--at-sim") || !strcmp(o, "--window") ||
                   !strcmp(o, "--speed")) {
            simtime_t t;
            if (view_parse_time(next, &t) < 0) {
                fprintf(stderr, "hopsim view: %s %s: expected a time such as 1ms, 250us, 40ns\n", o,
                        next);
                return 2;
            }
            if (!strcmp(o, "--at") || !strcmp(o, "--at-sim")) {
                at = t;
                at_set = true;
                absolute = !strcmp(o, "--at-sim");
            } else if (!strcmp(o, "--window")) {
                width = t;
            } else {
                speed = t;
            }
        } else if (!strcmp(o, "--size")) {
            if (sscanf(next, "%dx%d", &w, &h) != 2 || w < 640 || h < 360 || w > 8192 || h > 8192) {
                fprintf(stderr, "hopsim view: --size %s: expected WxH, 640x360 to 8192x8192\n",
                        next);
                return 2;
            }
        } else if (!strcmp(o, "--select")) {
            select = strtoull(next, NULL, 16);
        } else if (!strcmp(o, "--side-by-side")) {
            a.side = true;
            continue;
        } else if (!strcmp(o, "--inspect")) {
            want_inspect = true;
            continue;
        } else if (o[0] == '-') {
            fprintf(stderr, "hopsim view: unknown option %s (see hopsim view --help)\n", o);
            return 2;
        } else {
            if (nfiles == VIEW_MAXV) {
                fprintf(stderr, "hopsim view: at most %d traces\n", VIEW_MAXV);
                return 2;
            }
            files[nfiles++] = o;
            continue;
        }
        i++;
    }
    if (!nfiles) {
        view_usage(stderr);
        return 2;
    }
    if ((at_set || want_inspect) && !shot) {
        fprintf(stderr, "hopsim view: --at and --inspect go with --screenshot\n");
        return 2;
    }
    app_init_state(&a, speed);
    if (width)
        a.st.width = width;
    a.st.selected = select;
    a.w = w;
    a.h = h;
    int rc = 0;
    for (int i = 0; i < nfiles; i++) {
        char err[1024];
        vmodel_init(&a.models[i], NULL);
        a.nviews = i + 1;
        if (vmodel_load_json(&a.models[i], files[i], err, sizeof(err)) < 0) {
            fprintf(stderr, "hopsim view: %s\n", err);
            rc = 2;
            goto out;
        }
        a.views[i].m = &a.models[i];
        a.views[i].origin = absolute || !a.models[i].any_hop ? 0 : a.models[i].first_hop;
        base_label(files[i], a.views[i].label, sizeof(a.views[i].label));
    }
    if (shot) {
        a.st.play = at_set ? at : model_end(&a);
        a.st.paused = true;
        rc = screenshot(&a, shot, want_inspect);
        goto out;
    }
    char err[512];
    if (app_window(&a, "hopsim view", err, sizeof(err)) < 0) {
        fprintf(stderr, "hopsim %s\n", err);
        rc = 1;
        goto out;
    }
    a.st.play = 0;
    app_loop(&a);
out:
    app_free(&a);
    return rc;
}

/* What the executable looks up when it loads this module (view.h). */
const struct view_api hopsim_view_api = {view_live_open, view_live_listen, view_live_close,
                                         view_main};
