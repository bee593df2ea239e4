/*
 * Charts drawn with cairo, written as SVG or PNG by the file's extension:
 * lines (a sweep: a metric against a parameter, a line per series),
 * stacked bars (compare: the per-hop mean time of each architecture) and
 * a timeline (follow: one request's spans, a lane per place).
 */
#ifndef HOPSIM_CHART_H
#define HOPSIM_CHART_H

#define CHART_LABEL 96
#define CHART_MAX_POINTS 256
#define CHART_MAX_BARS 16
#define CHART_MAX_STACK 16

struct chart_series {
    char label[CHART_LABEL];
    double x[CHART_MAX_POINTS], y[CHART_MAX_POINTS];
    int n;
};

struct chart_lines {
    char title[256];
    const char *xlabel, *ylabel;
    double yscale; /* y values are multiplied by it for the axis (ps -> us: 1e-6) */
    const struct chart_series *series;
    int nseries;
};

struct chart_bars {
    char title[256];
    const char *ylabel;
    char bar[CHART_MAX_BARS][32]; /* one bar per architecture */
    int nbars;
    char part[CHART_MAX_STACK][32]; /* stacked parts (hops), bottom first */
    int nparts;
    double value[CHART_MAX_BARS][CHART_MAX_STACK]; /* axis units */
};

struct chart_span {
    double start, end; /* axis units (us) */
    int lane;
    char label[64];
};

struct chart_timeline {
    char title[256];
    char lane[32][64]; /* places, top first */
    int nlanes;
    const struct chart_span *spans;
    int nspans;
};

/* Write to path (.svg or .png): 0, or -1 with a message printed. */
/* Drawn by the module hopsim-chart.so (chart.c), loaded on first use (sim/cli/plugin.c). */
int chart_lines_write(const struct chart_lines *c, const char *path);
int chart_bars_write(const struct chart_bars *c, const char *path);
int chart_timeline_write(const struct chart_timeline *c, const char *path);

/* What the chart module exports as CHART_API_SYMBOL. */
struct chart_api {
    int (*lines)(const struct chart_lines *c, const char *path);
    int (*bars)(const struct chart_bars *c, const char *path);
    int (*timeline)(const struct chart_timeline *c, const char *path);
};
#define CHART_API_SYMBOL "hopsim_chart_api"

#endif
