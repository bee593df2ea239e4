/*
 * Expectations: what a scenario says its run must show, checked after the
 * run against the measured results.
 *
 *   expect { "requests >= 500", "request.p99 < 150us", "H5.p50 < 20us",
 *            "iops > 4000", "guest_checks.failed == 0",
 *            "dom.evil.state == crashed" }
 *
 * Each entry is "METRIC OP VALUE" with OP one of < <= > >= == != and the
 * value in the metric's unit (units.h: a time needs one). The metric names
 * are the patterns of metric_defs[] (metrics.c); <hop> is H1..H8, <stat>
 * count|mean|p50|p99|min|max, <kind> a span kind (trace_kind_name), <domain>
 * a declared domain. The loader checks names, operators and values, with
 * did-you-mean, at file:line before anything runs.
 *
 * Results are a flat list of named measurements (struct measures) that the
 * run fills once (cli/measure.c); expectations, --stats and sweep CSVs all
 * read that one list, so a new metric is one row in metric_defs[] and one
 * measure_add() where it is measured.
 */
#ifndef HOPSIM_EXPECT_H
#define HOPSIM_EXPECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "units.h"

#define SC_MAX_EXPECTS 64
#define METRIC_NAME 64

struct metric_def {
    const char *pattern; /* e.g. "<hop>.<stat>"; see above */
    enum unit_kind unit; /* of the value; <stat> = count makes it UNIT_COUNT */
    const char *help;
};

extern const struct metric_def metric_defs[];

enum expect_op { EXP_LT, EXP_LE, EXP_GT, EXP_GE, EXP_EQ, EXP_NE };

struct sc_expect {
    char text[160];           /* as written, for the report */
    char metric[METRIC_NAME]; /* resolved metric name */
    enum expect_op op;
    enum unit_kind unit;
    double value;   /* base unit */
    char word[32];  /* UNIT_TEXT */
    char file[512]; /* where it was written (SC_PATH) */
    int line;
};

struct measure {
    char name[METRIC_NAME];
    enum unit_kind unit;
    double value;
    char text[32]; /* UNIT_TEXT */
};

struct measures {
    struct measure *m;
    int n, cap;
};

void measures_free(struct measures *ms);
void measure_add(struct measures *ms, const char *name, enum unit_kind unit, double value);
void measure_text(struct measures *ms, const char *name, const char *text);
const struct measure *measure_find(const struct measures *ms, const char *name);

/*
 * The metric_defs[] entry `name` matches (domain names are checked later,
 * by expect_check_domains), with its unit; NULL and a message (with a
 * did-you-mean when one is close) if none.
 */
const struct metric_def *metric_lookup(const char *name, enum unit_kind *unit, char *msg, size_t n);

/* Parse one entry. Returns 0, or -1 with a message (no file:line: the caller adds it). */
int expect_parse(struct sc_expect *e, const char *text, char *msg, size_t n);

/*
 * Names of domains in "dom.NAME...." metrics must be declared (names: the
 * declared ones, NULL-terminated). Returns the index of the first
 * expectation naming another, with a message, or -1.
 */
int expect_check_domains(const struct sc_expect *e, int n, const char *const *names, char *msg,
                         size_t mlen);

/* Does e hold? The measured value, readable, into val ("not measured in this run" if absent). */
bool expect_eval(const struct sc_expect *e, const struct measures *ms, char *val, size_t n);

/* Print one line per expectation (measured value, pass/FAIL); returns how many failed. */
int expect_report(const struct sc_expect *e, int n, const struct measures *ms, FILE *out);

/* The metric table as Markdown (docs/scenarios.md is checked against it). */
void metric_defs_markdown(FILE *out);

#endif
