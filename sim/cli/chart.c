/*
 * Charts with cairo (see chart.h): one drawing routine per kind onto a
 * cairo context, the surface chosen by the file name (SVG or PNG). Axis
 * ticks are 1-2-5 steps; colours a fixed qualitative palette, so the same
 * inputs give the same file.
 */
#include "chart.h"

#include <cairo-svg.h>
#include <cairo.h>
#include <stdbool.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define W 900
#define H 540
#define ML 90 /* margins */
#define MR 220
#define MT 50
#define MB 70

typedef void (*draw_fn)(cairo_t *cr, const void *c);

static const double palette[][3] = {
    {0.12, 0.47, 0.71}, {1.00, 0.50, 0.05}, {0.17, 0.63, 0.17}, {0.84, 0.15, 0.16},
    {0.58, 0.40, 0.74}, {0.55, 0.34, 0.29}, {0.89, 0.47, 0.76}, {0.50, 0.50, 0.50},
    {0.74, 0.74, 0.13}, {0.09, 0.75, 0.81},
};
#define NPAL (sizeof palette / sizeof palette[0])

static void colour(cairo_t *cr, int i)
{
    const double *c = palette[(unsigned)i % NPAL];
    cairo_set_source_rgb(cr, c[0], c[1], c[2]);
}

static int write_surface(const char *path, int w, int h, draw_fn fn, const void *c)
{
    size_t len = strlen(path);
    bool png = len > 4 && !strcmp(path + len - 4, ".png");
    bool svg = len > 4 && !strcmp(path + len - 4, ".svg");
    if (!png && !svg) {
        fprintf(stderr, "hopsim: %s: a chart is written as .svg or .png\n", path);
        return -1;
    }
    cairo_surface_t *s = png ? cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h)
                             : cairo_svg_surface_create(path, w, h);
    cairo_t *cr = cairo_create(s);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    fn(cr, c);
    cairo_destroy(cr);
    cairo_status_t st = png ? cairo_surface_write_to_png(s, path) : CAIRO_STATUS_SUCCESS;
    cairo_surface_finish(s);
    if (st == CAIRO_STATUS_SUCCESS)
        st = cairo_surface_status(s);
    cairo_surface_destroy(s);
    if (st != CAIRO_STATUS_SUCCESS) {
        fprintf(stderr, "hopsim: %s: %s\n", path, cairo_status_to_string(st));
        return -1;
    }
    return 0;
}

static void text(cairo_t *cr, double x, double y, double size, double align, const char *s)
{
    cairo_text_extents_t e;
    cairo_set_font_size(cr, size);
    cairo_text_extents(cr, s, &e);
    cairo_move_to(cr, x - align * e.x_advance, y);
    cairo_show_text(cr, s);
}

/* A 1-2-5 tick step giving about 5 ticks over span. */
static double tick_step(double span)
{
    if (!(span > 0))
        return 1;
    double raw = span / 5, mag = pow(10, floor(log10(raw))), f = raw / mag;
    return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

/* Axes with ticks for [x0,x1] x [y0,y1], labels; returns nothing, draws in the plot box. */
static void axes(cairo_t *cr, const char *title, const char *xl, const char *yl, double x0,
                 double x1, double y0, double y1, bool xticks)
{
    double pw = W - ML - MR, ph = H - MT - MB;
    char buf[32];
    cairo_set_source_rgb(cr, 0, 0, 0);
    text(cr, W / 2.0, 28, 15, 0.5, title);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, ML, MT, pw, ph);
    cairo_stroke(cr);
    double st = tick_step(y1 - y0);
    for (double v = ceil(y0 / st) * st; v <= y1 + st * 1e-9; v += st) {
        double y = MT + ph - (v - y0) / (y1 - y0) * ph;
        cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        cairo_move_to(cr, ML, y);
        cairo_line_to(cr, ML + pw, y);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        snprintf(buf, sizeof buf, "%g", fabs(v) < st * 1e-9 ? 0.0 : v);
        text(cr, ML - 6, y + 4, 11, 1, buf);
    }
    if (xticks) {
        st = tick_step(x1 - x0);
        for (double v = ceil(x0 / st) * st; v <= x1 + st * 1e-9; v += st) {
            double x = ML + (v - x0) / (x1 - x0) * pw;
            snprintf(buf, sizeof buf, "%g", v);
            text(cr, x, MT + ph + 16, 11, 0.5, buf);
        }
    }
    text(cr, ML + pw / 2, H - 20, 13, 0.5, xl);
    cairo_save(cr);
    cairo_translate(cr, 22, MT + ph / 2);
    cairo_rotate(cr, -M_PI / 2);
    text(cr, 0, 0, 13, 0.5, yl);
    cairo_restore(cr);
}

static void legend(cairo_t *cr, int i, const char *label)
{
    double x = W - MR + 15, y = MT + 10 + 20 * i;
    colour(cr, i);
    cairo_rectangle(cr, x, y - 9, 14, 10);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    text(cr, x + 20, y, 11, 0, label);
}

/* ---------------------------------------------------------------- lines */

static void draw_lines(cairo_t *cr, const void *arg)
{
    const struct chart_lines *c = arg;
    double x0 = INFINITY, x1 = -INFINITY, y1 = 0;
    for (int s = 0; s < c->nseries; s++)
        for (int i = 0; i < c->series[s].n; i++) {
            x0 = fmin(x0, c->series[s].x[i]);
            x1 = fmax(x1, c->series[s].x[i]);
            y1 = fmax(y1, c->series[s].y[i] * c->yscale);
        }
    if (!isfinite(x0))
        x0 = 0, x1 = 1;
    if (x1 == x0)
        x1 = x0 + 1;
    y1 = y1 > 0 ? y1 * 1.1 : 1;
    axes(cr, c->title, c->xlabel, c->ylabel, x0, x1, 0, y1, true);
    double pw = W - ML - MR, ph = H - MT - MB;
    for (int s = 0; s < c->nseries; s++) {
        const struct chart_series *se = &c->series[s];
        colour(cr, s);
        cairo_set_line_width(cr, 2);
        for (int i = 0; i < se->n; i++) {
            double x = ML + (se->x[i] - x0) / (x1 - x0) * pw;
            double y = MT + ph - se->y[i] * c->yscale / y1 * ph;
            if (i)
                cairo_line_to(cr, x, y);
            else
                cairo_move_to(cr, x, y);
        }
        cairo_stroke(cr);
        for (int i = 0; i < se->n; i++) {
            cairo_arc(cr, ML + (se->x[i] - x0) / (x1 - x0) * pw,
                      MT + ph - se->y[i] * c->yscale / y1 * ph, 3.5, 0, 2 * M_PI);
            cairo_fill(cr);
        }
        legend(cr, s, se->label);
    }
}

static int draw_lines_file(const struct chart_lines *c, const char *path)
{
    return write_surface(path, W, H, draw_lines, c);
}

/* ----------------------------------------------------------------- bars */

static void draw_bars(cairo_t *cr, const void *arg)
{
    const struct chart_bars *c = arg;
    double y1 = 0;
    for (int b = 0; b < c->nbars; b++) {
        double sum = 0;
        for (int p = 0; p < c->nparts; p++)
            sum += c->value[b][p];
        y1 = fmax(y1, sum);
    }
    y1 = y1 > 0 ? y1 * 1.1 : 1;
    axes(cr, c->title, "architecture", c->ylabel, 0, 1, 0, y1, false);
    double pw = W - ML - MR, ph = H - MT - MB, slot = pw / (c->nbars ? c->nbars : 1);
    for (int b = 0; b < c->nbars; b++) {
        double base = 0, x = ML + slot * b + slot * 0.2, bw = slot * 0.6;
        for (int p = 0; p < c->nparts; p++) {
            double v = c->value[b][p];
            if (v <= 0)
                continue;
            colour(cr, p);
            cairo_rectangle(cr, x, MT + ph - (base + v) / y1 * ph, bw, v / y1 * ph);
            cairo_fill(cr);
            base += v;
        }
        char buf[48];
        cairo_set_source_rgb(cr, 0, 0, 0);
        text(cr, x + bw / 2, MT + ph + 16, 12, 0.5, c->bar[b]);
        snprintf(buf, sizeof buf, "%.2f", base);
        text(cr, x + bw / 2, MT + ph - base / y1 * ph - 5, 11, 0.5, buf);
    }
    for (int p = 0; p < c->nparts; p++)
        legend(cr, p, c->part[p]);
}

static int draw_bars_file(const struct chart_bars *c, const char *path)
{
    return write_surface(path, W, H, draw_bars, c);
}

/* ------------------------------------------------------------- timeline */

static void draw_timeline(cairo_t *cr, const void *arg)
{
    const struct chart_timeline *c = arg;
    double t0 = INFINITY, t1 = -INFINITY;
    for (int i = 0; i < c->nspans; i++) {
        t0 = fmin(t0, c->spans[i].start);
        t1 = fmax(t1, c->spans[i].end);
    }
    if (!isfinite(t0))
        t0 = 0, t1 = 1;
    if (t1 <= t0)
        t1 = t0 + 1;
    double pw = W - 200 - 30, lh = 34, top = MT + 10;
    cairo_set_source_rgb(cr, 0, 0, 0);
    text(cr, W / 2.0, 28, 15, 0.5, c->title);
    for (int l = 0; l < c->nlanes; l++) {
        text(cr, 190, top + l * lh + lh / 2 + 4, 12, 1, c->lane[l]);
        cairo_set_source_rgb(cr, 0.93, 0.93, 0.93);
        cairo_rectangle(cr, 200, top + l * lh + 2, pw, lh - 4);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
    }
    for (int i = 0; i < c->nspans; i++) {
        const struct chart_span *s = &c->spans[i];
        double x = 200 + (s->start - t0) / (t1 - t0) * pw;
        double w = fmax((s->end - s->start) / (t1 - t0) * pw, 1.0);
        bool hop = s->label[0] == 'H' && s->label[1] >= '1' && s->label[1] <= '8';
        colour(cr, hop ? s->label[1] - '1' : 7);
        double inset = hop ? 4 : 12;
        cairo_rectangle(cr, x, top + s->lane * lh + inset, w, lh - 2 * inset);
        cairo_fill(cr);
        if (hop && w > 22) {
            cairo_set_source_rgb(cr, 1, 1, 1);
            text(cr, x + w / 2, top + s->lane * lh + lh / 2 + 4, 11, 0.5, s->label);
        }
    }
    double axis = top + c->nlanes * lh + 10, st = tick_step(t1 - t0);
    cairo_set_source_rgb(cr, 0, 0, 0);
    for (double v = ceil(t0 / st) * st; v <= t1 + st * 1e-9; v += st) {
        char buf[32];
        double x = 200 + (v - t0) / (t1 - t0) * pw;
        cairo_move_to(cr, x, axis);
        cairo_line_to(cr, x, axis + 5);
        cairo_stroke(cr);
        snprintf(buf, sizeof buf, "%g", v);
        text(cr, x, axis + 18, 11, 0.5, buf);
    }
    text(cr, 200 + pw / 2, axis + 38, 13, 0.5, "simulated time (us)");
}

static int draw_timeline_file(const struct chart_timeline *c, const char *path)
{
    int h = MT + 10 + c->nlanes * 34 + 70;
    return write_surface(path, W, h < 200 ? 200 : h, draw_timeline, c);
}

/* What the executable looks up when it loads this module (chart.h). */
const struct chart_api hopsim_chart_api = {draw_lines_file, draw_bars_file, draw_timeline_file};
