/*
 * One frame of the view (vdraw.h). Everything is drawn with SDL_Render*
 * calls, so the same code draws into a window and into an off-screen
 * surface; text is SDL2_ttf (DejaVu Sans from Debian's fonts-dejavu-core).
 */
#include "vdraw.h"

#include <stdio.h>
#include <string.h>

#include "hopsim/abi.h"

#ifndef HOPSIM_FONT_DIR
#define HOPSIM_FONT_DIR "/usr/share/fonts/truetype/dejavu"
#endif

/* Hop colours: Tableau 10, distinct in colour and lightness. */
static const SDL_Color hop_colors[HOP_COUNT] = {
    {150, 150, 150, 255}, {78, 121, 167, 255},  {242, 142, 43, 255},
    {225, 87, 89, 255},   {118, 183, 178, 255}, {89, 161, 79, 255},
    {237, 201, 72, 255},  {176, 122, 161, 255}, {255, 157, 167, 255},
};

static const char *const hop_meaning[HOP_COUNT] = {
    "",
    "app -> frontend",
    "frontend -> hypervisor",
    "hypervisor -> backend",
    "backend -> device",
    "device -> backend",
    "backend -> hypervisor",
    "hypervisor -> frontend",
    "frontend -> app",
};

static const SDL_Color bg = {250, 250, 247, 255}, fg = {30, 30, 30, 255},
                       dim = {120, 120, 120, 255}, lane_a = {243, 243, 238, 255},
                       lane_b = {233, 233, 227, 255}, play_c = {200, 30, 30, 255};

SDL_Color vdraw_hop_color(int hop)
{
    return hop >= 0 && hop < HOP_COUNT ? hop_colors[hop] : hop_colors[0];
}

int vfont_open(struct vfont *f, char *err, size_t errlen)
{
    char path[512];
    const char *dir = getenv("HOPSIM_FONT_DIR");
    if (!dir || !*dir)
        dir = HOPSIM_FONT_DIR;
    memset(f, 0, sizeof(*f));
    if (!TTF_WasInit() && TTF_Init() < 0) {
        snprintf(err, errlen, "SDL_ttf: %s", TTF_GetError());
        return -1;
    }
    snprintf(path, sizeof(path), "%s/DejaVuSans.ttf", dir);
    f->regular = TTF_OpenFont(path, 12);
    snprintf(path, sizeof(path), "%s/DejaVuSans-Bold.ttf", dir);
    f->bold = TTF_OpenFont(path, 12);
    if (!f->regular || !f->bold) {
        snprintf(err, errlen, "%s: cannot open the font (%s); install fonts-dejavu-core", path,
                 TTF_GetError());
        vfont_close(f);
        return -1;
    }
    return 0;
}

void vfont_close(struct vfont *f)
{
    if (f->regular)
        TTF_CloseFont(f->regular);
    if (f->bold)
        TTF_CloseFont(f->bold);
    f->regular = f->bold = NULL;
}

static void set(SDL_Renderer *r, SDL_Color c)
{
    SDL_SetRenderDrawColor(r, c.r, c.g, c.b, c.a);
}

static void fill(SDL_Renderer *r, SDL_Color c, int x, int y, int w, int h)
{
    if (w <= 0 || h <= 0)
        return;
    set(r, c);
    SDL_RenderFillRect(r, &(SDL_Rect){x, y, w, h});
}

static void frame_rect(SDL_Renderer *r, SDL_Color c, int x, int y, int w, int h)
{
    set(r, c);
    SDL_RenderDrawRect(r, &(SDL_Rect){x, y, w, h});
}

/* Draws text with its top-left at (x, y); returns its width. */
static int text(SDL_Renderer *r, TTF_Font *font, SDL_Color c, int x, int y, const char *s)
{
    if (!s || !*s)
        return 0;
    SDL_Surface *sf = TTF_RenderUTF8_Blended(font, s, c);
    if (!sf)
        return 0;
    SDL_Texture *tx = SDL_CreateTextureFromSurface(r, sf);
    int w = sf->w;
    if (tx) {
        SDL_RenderCopy(r, tx, NULL, &(SDL_Rect){x, y, sf->w, sf->h});
        SDL_DestroyTexture(tx);
    }
    SDL_FreeSurface(sf);
    return w;
}

/* Formats ps as a short human time: "12.3 us", "4.56 ms". */
static void fmt_time(char *buf, size_t n, simtime_t ps)
{
    if (ps >= 1000000000ull)
        snprintf(buf, n, "%.3f ms", (double)ps / 1e9);
    else if (ps >= 1000000ull)
        snprintf(buf, n, "%.2f us", (double)ps / 1e6);
    else
        snprintf(buf, n, "%.0f ns", (double)ps / 1e3);
}

/* ---- layout ---- */

void vdraw_layout(const struct vmodel *m, const struct vstate *st, int w, int h, int y0, int y1,
                  struct vlayout *L)
{
    memset(L, 0, sizeof(*L));
    L->w = w;
    L->h = h;
    L->x0 = VD_LABEL_W;
    L->x1 = w - VD_PANEL_W - 8;
    L->y0 = y0;
    L->y1 = y1 - VD_AXIS_H;
    int n = m->nplaces ? (int)m->nplaces : 1;
    L->lane_h = (L->y1 - L->y0) / n;
    if (L->lane_h > 72)
        L->lane_h = 72;
    if (L->lane_h < 6)
        L->lane_h = 6;
    L->y1 = L->y0 + n * L->lane_h; /* the axis sits right under the last lane */
    simtime_t width = st->width ? st->width : 1;
    int64_t start = (int64_t)st->play - (int64_t)(width / 4 * 3) + st->pan;
    L->t0 = start < 0 ? 0 : (simtime_t)start;
    L->t1 = L->t0 + width;
}

int vdraw_x(const struct vlayout *L, simtime_t t)
{
    if (t <= L->t0)
        return L->x0;
    if (t >= L->t1)
        return L->x1;
    return L->x0 + (int)((double)(t - L->t0) * (L->x1 - L->x0) / (double)(L->t1 - L->t0));
}

int vdraw_lane_top(const struct vlayout *L, int place)
{
    return L->y0 + place * L->lane_h;
}

int vdraw_hop_band(const struct vlayout *L)
{
    return L->lane_h * 6 / 10;
}

void vdraw_marker_pos(const struct vlayout *L, int place, int k, int *x, int *y)
{
    int px = vdraw_x(L, L->t0 + (L->t1 - L->t0) / 4 * 3);
    int per_row = (L->x1 - px - 6) / (VD_MARK + 2);
    if (per_row < 1)
        per_row = 1;
    *x = px + 6 + (k % per_row) * (VD_MARK + 2) + VD_MARK / 2;
    *y = vdraw_lane_top(L, place) + 2 + VD_MARK / 2 + (k / per_row % 2) * (VD_MARK + 1);
}

/* ---- panel ---- */

static SDL_Color sub_color(int kind)
{
    uint8_t g = (uint8_t)(90 + (kind * 37) % 110);
    return (SDL_Color){g, g, (uint8_t)(g + 10 > 255 ? 255 : g + 10), 255};
}

static void draw_axis(SDL_Renderer *r, const struct vfont *f, const struct vlayout *L)
{
    int y = L->y1 + 2;
    set(r, dim);
    SDL_RenderDrawLine(r, L->x0, y, L->x1, y);
    for (int i = 0; i <= 4; i++) {
        simtime_t t = L->t0 + (L->t1 - L->t0) / 4 * (simtime_t)i;
        int x = vdraw_x(L, t);
        char b[32];
        SDL_RenderDrawLine(r, x, y, x, y + 4);
        fmt_time(b, sizeof(b), t);
        text(r, f->regular, dim, i == 4 ? x - 60 : x + 2, y + 2, b);
        set(r, dim);
    }
}

/* Where hop span i covers pixel columns [*a, *b) up to `now`; false if not drawn. */
static bool hop_cols(const struct vlayout *L, const struct vspan *s, simtime_t now, int *a, int *b)
{
    if (s->start > now || s->end < L->t0 || s->start > L->t1)
        return false;
    int x = vdraw_x(L, s->start), e = vdraw_x(L, s->end > now ? now : s->end);
    *a = x;
    *b = x + (e - x > 0 ? e - x : 1);
    return true;
}

static void draw_spans(SDL_Renderer *r, const struct vlayout *L, const struct vmodel *m,
                       const struct vstate *st)
{
    int band = vdraw_hop_band(L);
    simtime_t now = st->play;
    for (size_t i = 0; i < m->nsubs; i++) {
        const struct vspan *s = &m->subs[i];
        if (s->kind == VM_COUNTER || s->start > now || s->end < L->t0 || s->start > L->t1)
            continue;
        int x = vdraw_x(L, s->start), e = vdraw_x(L, s->end > now ? now : s->end);
        int top = vdraw_lane_top(L, s->place);
        fill(r, sub_color(s->kind), x, top + band + 1, e - x > 0 ? e - x : 1, L->lane_h - band - 3);
    }
    for (size_t i = 0; i < m->nhops; i++) {
        const struct vspan *s = &m->hops[i];
        int a, b;
        if (!hop_cols(L, s, now, &a, &b))
            continue;
        fill(r, vdraw_hop_color(s->hop), a, vdraw_lane_top(L, s->place) + 2, b - a, band - 2);
    }
    if (st->selected == HOPSIM_NOREQ)
        return;
    for (size_t i = 0; i < m->nhops; i++) {
        const struct vspan *s = &m->hops[i];
        if (s->req != st->selected || s->start > now)
            continue;
        simtime_t end = s->end > now ? now : s->end;
        int x = vdraw_x(L, s->start), e = vdraw_x(L, end);
        int top = vdraw_lane_top(L, s->place);
        frame_rect(r, fg, x - 1, top + 1, (e - x) + 3, band);
    }
}

int vdraw_expect_hop(const struct vlayout *L, const struct vmodel *m, const struct vstate *st,
                     int place, int px)
{
    int hop = -1, a, b;
    for (size_t i = 0; i < m->nhops; i++)
        if (m->hops[i].place == place && hop_cols(L, &m->hops[i], st->play, &a, &b) && px >= a &&
            px < b)
            hop = m->hops[i].hop;
    return hop;
}

int vdraw_probe_x(const struct vlayout *L, const struct vmodel *m, const struct vstate *st,
                  int place)
{
    int px = -1, a, b;
    simtime_t latest = 0;
    for (size_t i = 0; i < m->nhops; i++) {
        const struct vspan *s = &m->hops[i];
        if (s->place == place && hop_cols(L, s, st->play, &a, &b) &&
            (px < 0 || s->start >= latest)) {
            latest = s->start;
            px = (a + b - 1) / 2;
        }
    }
    return px;
}

struct vstate vdraw_panel_state(const struct vstate *st, const struct vview *v)
{
    struct vstate p = *st;
    p.play += v->origin;
    return p;
}

static void draw_panel(SDL_Renderer *r, const struct vfont *f, const struct vview *v,
                       const struct vstate *view_st, int w, int h, int y0, int y1, bool titled,
                       struct vlayout *Lout)
{
    const struct vmodel *m = v->m;
    struct vstate pst = vdraw_panel_state(view_st, v);
    const struct vstate *st = &pst;
    struct vlayout L;
    vdraw_layout(m, st, w, h, y0 + (titled ? 16 : 0), y1, &L);
    if (Lout)
        *Lout = L;
    if (titled)
        text(r, f->bold, fg, 6, y0, v->label);
    /* lanes */
    struct vwhere at[512];
    size_t total = 0;
    size_t n = vmodel_at(m, st->play, at, 512, &total);
    for (uint32_t p = 0; p < m->nplaces; p++) {
        int top = vdraw_lane_top(&L, (int)p);
        if (top + L.lane_h > L.y1 + 1)
            break;
        fill(r, p % 2 ? lane_b : lane_a, 0, top, L.x1 + 4, L.lane_h);
        int inflight = 0;
        for (size_t i = 0; i < n; i++)
            inflight += at[i].place == p;
        char b[96];
        snprintf(b, sizeof(b), "%s", m->places[p].name);
        text(r, f->regular, fg, 6, top + (L.lane_h - 14) / 2, b);
        if (inflight) {
            snprintf(b, sizeof(b), "%d", inflight);
            int bx = VD_LABEL_W - 30;
            fill(r, fg, bx - 2, top + (L.lane_h - 14) / 2, 26, 14);
            text(r, f->bold, bg, bx, top + (L.lane_h - 14) / 2, b);
        }
    }
    draw_spans(r, &L, m, st);
    /* playhead and in-flight markers */
    int px = vdraw_x(&L, st->play);
    set(r, play_c);
    SDL_RenderDrawLine(r, px, L.y0, px, L.y1);
    int per_place[1024] = {0}, count[1024] = {0};
    for (size_t i = 0; i < n; i++)
        if (at[i].place < 1024)
            count[at[i].place]++;
    for (size_t i = 0; i < n; i++) {
        int p = at[i].place, x, y;
        int k = p < 1024 ? per_place[p]++ : 0;
        vdraw_marker_pos(&L, p, k, &x, &y);
        fill(r, fg, x - VD_MARK / 2 - 1, y - VD_MARK / 2 - 1, VD_MARK + 2, VD_MARK + 2);
        fill(r, vdraw_hop_color(at[i].hop), x - VD_MARK / 2, y - VD_MARK / 2, VD_MARK, VD_MARK);
        /* a lane with one or two requests names them; more show the count badge only */
        if (p < 1024 && count[p] <= 2 && L.lane_h >= 28) {
            char b[48];
            int lx, ly;
            vdraw_marker_pos(&L, p, count[p], &lx, &ly);
            snprintf(b, sizeof(b), "H%d req 0x%llx", at[i].hop, (unsigned long long)at[i].req);
            text(r, f->regular, fg, lx, ly - 7 + k * 13, b);
        }
    }
    draw_axis(r, f, &L);
}

/* ---- side panel: histogram, legend, selected request ---- */

static void draw_side(SDL_Renderer *r, const struct vfont *f, const struct vmodel *m,
                      const struct vstate *st, int w, int h)
{
    int x = w - VD_PANEL_W, y = VD_HEADER + 2;
    fill(r, (SDL_Color){255, 255, 255, 255}, x, VD_HEADER, VD_PANEL_W, h - VD_HEADER - VD_FOOTER);
    text(r, f->bold, fg, x + 8, y, "hop latency (complete by the playhead)");
    y += 18;
    struct vhist hist;
    vmodel_hist(m, st->play, &hist);
    int bw = (VD_PANEL_W - 70) / VM_BINS;
    for (int hop = HOP_H1; hop <= HOP_H8; hop++) {
        uint32_t mx = 1;
        for (int b = 0; b < VM_BINS; b++)
            mx = hist.bin[hop][b] > mx ? hist.bin[hop][b] : mx;
        char lbl[64], stat[64], mean[24];
        snprintf(lbl, sizeof(lbl), "H%d", hop);
        fill(r, vdraw_hop_color(hop), x + 8, y + 9, 10, 10);
        text(r, f->bold, fg, x + 22, y + 7, lbl);
        fmt_time(mean, sizeof(mean), hist.count[hop] ? hist.sum[hop] / hist.count[hop] : 0);
        snprintf(stat, sizeof(stat), "n=%llu  mean %s", (unsigned long long)hist.count[hop],
                 hist.count[hop] ? mean : "-");
        text(r, f->regular, dim, x + 50, y - 1, stat);
        for (int b = 0; b < VM_BINS; b++) {
            int bh = (int)(16.0 * hist.bin[hop][b] / mx + 0.5);
            if (hist.bin[hop][b] && bh < 1)
                bh = 1;
            fill(r, vdraw_hop_color(hop), x + 50 + b * bw, y + 30 - bh, bw - 1, bh);
        }
        set(r, lane_b);
        SDL_RenderDrawLine(r, x + 50, y + 30, x + 50 + VM_BINS * bw, y + 30);
        y += 34;
    }
    text(r, f->regular, dim, x + 44, y - 2, "10 ns        1 us        100 us      10 ms");
    y += 16;
    for (int hop = HOP_H1; hop <= HOP_H8; hop++, y += 15) {
        char b[64];
        fill(r, vdraw_hop_color(hop), x + 8, y + 2, 10, 10);
        snprintf(b, sizeof(b), "H%d  %s", hop, hop_meaning[hop]);
        text(r, f->regular, fg, x + 22, y, b);
    }
    y += 6;
    if (st->selected == HOPSIM_NOREQ) {
        text(r, f->regular, dim, x + 8, y, "click a hop span to follow its request");
        return;
    }
    size_t idx[64];
    size_t k = vmodel_request(m, st->selected, idx, 64);
    char b[128];
    snprintf(b, sizeof(b), "request 0x%llx", (unsigned long long)st->selected);
    text(r, f->bold, fg, x + 8, y, b);
    y += 16;
    for (size_t i = 0; i < k && y < h - VD_FOOTER - 14; i++, y += 14) {
        const struct vspan *s = &m->hops[idx[i]];
        char d[24];
        if (s->end == VM_OPEN)
            snprintf(d, sizeof(d), "open");
        else
            fmt_time(d, sizeof(d), s->end - s->start);
        snprintf(b, sizeof(b), "H%d %-10s %s%s", s->hop,
                 s->place < m->nplaces ? m->places[s->place].name : "?", d,
                 s->arg ? " (notify suppressed)" : "");
        fill(r, vdraw_hop_color(s->hop), x + 8, y + 2, 10, 10);
        text(r, f->regular, fg, x + 22, y, b);
    }
}

void vdraw_frame(SDL_Renderer *r, const struct vfont *f, struct vview *views, int nviews, int cur,
                 bool side_by_side, const struct vstate *st, int w, int h, struct vlayout *layouts)
{
    set(r, bg);
    SDL_RenderClear(r);
    const struct vview *v = &views[cur];
    char head[512], t[32], rel[64], sp[32];
    fmt_time(t, sizeof(t), st->play + v->origin);
    rel[0] = 0;
    if (v->origin) {
        char o[32];
        fmt_time(o, sizeof(o), st->play);
        snprintf(rel, sizeof(rel), " (%s after the first request)", o);
    }
    fmt_time(sp, sizeof(sp), (simtime_t)st->speed);
    snprintf(head, sizeof(head), "hopsim view  %s  [%s %d/%d]   t = %s%s   speed %s/s   %s",
             v->m->title, v->label, cur + 1, nviews, t, rel, sp,
             st->finished ? (st->paused ? "paused" : "")
             : st->live   ? "live"
             : st->paused ? "paused"
                          : "");
    fill(r, (SDL_Color){40, 44, 52, 255}, 0, 0, w, VD_HEADER);
    text(r, f->bold, (SDL_Color){240, 240, 240, 255}, 8, 8, head);
    int top = VD_HEADER + 4, bottom = h - VD_FOOTER;
    if (side_by_side && nviews > 1) {
        int ph = (bottom - top) / nviews;
        for (int i = 0; i < nviews; i++)
            draw_panel(r, f, &views[i], st, w, h, top + i * ph, top + (i + 1) * ph, true,
                       layouts ? &layouts[i] : NULL);
    } else {
        draw_panel(r, f, v, st, w, h, top, bottom, false, layouts ? &layouts[cur] : NULL);
    }
    struct vstate pst = vdraw_panel_state(st, v);
    draw_side(r, f, v->m, &pst, w, h);
    fill(r, (SDL_Color){40, 44, 52, 255}, 0, h - VD_FOOTER, w, VD_FOOTER);
    text(r, f->regular, (SDL_Color){220, 220, 220, 255}, 8, h - VD_FOOTER + 5,
         "space pause   n next event   +/- speed   wheel zoom   drag / arrows pan   click follow "
         "request   tab next arch   a side by side   q quit");
}

size_t vdraw_pick(const struct vlayout *L, const struct vmodel *m, int x, int y)
{
    if (x < L->x0 || x > L->x1 || y < L->y0 || y >= L->y1 || L->lane_h <= 0)
        return SIZE_MAX;
    int place = (y - L->y0) / L->lane_h;
    size_t best = SIZE_MAX;
    for (size_t i = 0; i < m->nhops; i++) {
        const struct vspan *s = &m->hops[i];
        if (s->place != place)
            continue;
        int a = vdraw_x(L, s->start), b = vdraw_x(L, s->end == VM_OPEN ? L->t1 : s->end);
        if (x >= a - 1 && x <= b + 1)
            best = i; /* the last drawn is on top */
    }
    return best;
}
