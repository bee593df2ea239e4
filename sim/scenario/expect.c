/*
 * Expectations and the metric names they use (see expect.h).
 */
#include "expect.h"
#include "suggest.h"
#include "units.h"
#include "trace.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const struct metric_def metric_defs[] = {
    {"status", UNIT_TEXT,
     "ok, or failed: a domain crashed, a guest check failed, deadlock, a bad payload"},
    {"requests", UNIT_COUNT, "requests completed"},
    {"requests_inflight", UNIT_COUNT, "requests still in flight when the run ended"},
    {"request.<stat>", UNIT_TIME, "end-to-end latency of the completed requests"},
    {"<hop>.<stat>", UNIT_TIME, "time the requests spent in one hop (H1..H8)"},
    {"span.<kind>.<stat>", UNIT_TIME,
     "sub-spans of one kind (hypercall, grant_map, grant_copy, world_switch, ...)"},
    {"iops", UNIT_RATE, "completed requests per simulated second over the request window"},
    {"iops_all_active", UNIT_RATE,
     "completed requests per simulated second while every frontend runs (the steady state)"},
    {"guest_checks.passed", UNIT_COUNT, "guest-side checks that passed"},
    {"guest_checks.failed", UNIT_COUNT, "guest-side checks that failed"},
    {"domains_crashed", UNIT_COUNT, "domains that ended other than by poweroff"},
    {"sim_time", UNIT_TIME, "simulated time at the end of the run"},
    {"events", UNIT_COUNT, "events the event queue fired"},
    {"hypercalls", UNIT_COUNT, "hypercalls, all domains"},
    {"dom.<domain>.state", UNIT_TEXT, "running, poweroff or crashed"},
    {"dom.<domain>.hypercalls", UNIT_COUNT, "hypercalls the domain made"},
    {"dom.<domain>.guest_errors", UNIT_COUNT,
     "requests the simulator refused from the domain (bad grant, bad port, ...)"},
    {"dom.<domain>.checks_passed", UNIT_COUNT, "the domain's guest checks that passed"},
    {"dom.<domain>.checks_failed", UNIT_COUNT, "the domain's guest checks that failed"},
    {"dom.<domain>.memory", UNIT_BYTES, "what the domain holds at the end (tot_pages)"},
    {"dom.<domain>.pages_released", UNIT_COUNT,
     "pages the domain gave back (XENMEM_decrease_reservation)"},
    {"dom.<domain>.pages_populated", UNIT_COUNT,
     "pages the domain populated (XENMEM_populate_physmap)"},
    {"net.frames_out", UNIT_COUNT, "frames on the wire, NIC to peer"},
    {"net.frames_in", UNIT_COUNT, "frames on the wire, peer to NIC"},
    {"net.bytes_out", UNIT_BYTES, "bytes on the wire, NIC to peer (without FCS)"},
    {"net.bytes_in", UNIT_BYTES, "bytes on the wire, peer to NIC (without FCS)"},
    {"net.throughput_out", UNIT_BITS, "wire bit rate NIC to peer over the request window"},
    {"net.throughput_in", UNIT_BITS, "wire bit rate peer to NIC over the request window"},
    {"net.bad_payload", UNIT_COUNT, "frames the peer received with a bad payload"},
    {NULL, UNIT_COUNT, NULL},
};

static const char *const stats[] = {"count", "mean", "p50", "p99", "min", "max", NULL};
static const char *const hops[] = {"H1", "H2", "H3", "H4", "H5", "H6", "H7", "H8", NULL};

/* ---------------------------------------------------------- measurements */

void measures_free(struct measures *ms)
{
    free(ms->m);
    memset(ms, 0, sizeof *ms);
}

static struct measure *measure_new(struct measures *ms, const char *name)
{
    if (ms->n == ms->cap) {
        int cap = ms->cap ? 2 * ms->cap : 128;
        struct measure *m = realloc(ms->m, (size_t)cap * sizeof *m);
        if (!m)
            return NULL;
        ms->m = m;
        ms->cap = cap;
    }
    struct measure *m = &ms->m[ms->n++];
    memset(m, 0, sizeof *m);
    snprintf(m->name, sizeof m->name, "%s", name);
    return m;
}

void measure_add(struct measures *ms, const char *name, enum unit_kind unit, double value)
{
    struct measure *m = measure_new(ms, name);
    if (m) {
        m->unit = unit;
        m->value = value;
    }
}

void measure_text(struct measures *ms, const char *name, const char *text)
{
    struct measure *m = measure_new(ms, name);
    if (m) {
        m->unit = UNIT_TEXT;
        snprintf(m->text, sizeof m->text, "%s", text);
    }
}

const struct measure *measure_find(const struct measures *ms, const char *name)
{
    for (int i = 0; i < ms->n; i++)
        if (!strcmp(ms->m[i].name, name))
            return &ms->m[i];
    return NULL;
}

/* --------------------------------------------------------------- metrics */

static bool in(const char *w, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(w, *list))
            return true;
    return false;
}

static bool is_kind(const char *w)
{
    for (int k = 1; k < SPAN_KIND_COUNT; k++)
        if (!strcmp(w, trace_kind_name(k)))
            return true;
    return false;
}

static bool word_ok(const char *w)
{
    if (!*w)
        return false;
    for (; *w; w++)
        if (!isalnum((unsigned char)*w) && *w != '_' && *w != '-')
            return false;
    return true;
}

/* Split at dots into at most 4 components of < 64 characters; -1 if more or longer. */
static int components(const char *s, char out[4][64])
{
    int n = 0;
    for (;;) {
        size_t len = strcspn(s, ".");
        if (n == 4 || len >= 64)
            return -1;
        memcpy(out[n], s, len);
        out[n++][len] = '\0';
        if (!s[len])
            return n;
        s += len + 1;
    }
}

static bool comp_match(const char *pat, const char *w)
{
    if (!strcmp(pat, "<hop>"))
        return in(w, hops);
    if (!strcmp(pat, "<stat>"))
        return in(w, stats);
    if (!strcmp(pat, "<kind>"))
        return is_kind(w);
    if (!strcmp(pat, "<domain>"))
        return word_ok(w);
    return !strcmp(pat, w);
}

static bool pattern_match(const struct metric_def *d, const char *name, enum unit_kind *unit)
{
    char p[4][64], w[4][64];
    int np = components(d->pattern, p), nw = components(name, w);
    if (np < 0 || nw != np)
        return false;
    *unit = d->unit;
    for (int i = 0; i < np; i++) {
        if (!comp_match(p[i], w[i]))
            return false;
        if (!strcmp(p[i], "<stat>") && !strcmp(w[i], "count"))
            *unit = UNIT_COUNT;
    }
    return true;
}

/* Every concrete name (domains as the user wrote them) into a NULL-terminated list. */
static void expand(const char *pat, const char *user, char (*out)[METRIC_NAME], int *n, int max)
{
    char p[4][64], w[4][64], buf[METRIC_NAME];
    int np = components(pat, p), nw = components(user, w);
    const char *const *choices[4];
    const char *one[4][2];
    int idx[4] = {0};
    static const char *kinds[64];
    if (!kinds[0]) {
        int k = 0;
        for (int i = 1; i < SPAN_KIND_COUNT && k < 63; i++)
            kinds[k++] = trace_kind_name(i);
    }
    if (np < 0)
        return;
    for (int i = 0; i < np; i++) {
        one[i][0] = p[i];
        one[i][1] = NULL;
        choices[i] = one[i];
        if (!strcmp(p[i], "<hop>"))
            choices[i] = hops;
        else if (!strcmp(p[i], "<stat>"))
            choices[i] = stats;
        else if (!strcmp(p[i], "<kind>"))
            choices[i] = kinds;
        else if (!strcmp(p[i], "<domain>"))
            one[i][0] = nw == np ? w[i] : "NAME";
    }
    for (;;) {
        size_t len = 0;
        buf[0] = '\0';
        for (int i = 0; i < np; i++)
            len += (size_t)snprintf(buf + len, len < sizeof buf ? sizeof buf - len : 0, "%s%s",
                                    i ? "." : "", choices[i][idx[i]]);
        if (*n < max && len < sizeof buf)
            snprintf(out[(*n)++], METRIC_NAME, "%s", buf);
        int i = np - 1;
        while (i >= 0 && !choices[i][++idx[i]])
            idx[i--] = 0;
        if (i < 0)
            return;
    }
}

const struct metric_def *metric_lookup(const char *name, enum unit_kind *unit, char *msg, size_t n)
{
    enum max_ { MAXC = 1024 };
    for (const struct metric_def *d = metric_defs; d->pattern; d++)
        if (pattern_match(d, name, unit))
            return d;
    char(*cand)[METRIC_NAME] = calloc(MAXC, METRIC_NAME);
    const char **list = calloc(MAXC + 1, sizeof *list);
    int nc = 0;
    const char *near = NULL;
    if (cand && list) {
        for (const struct metric_def *d = metric_defs; d->pattern; d++)
            expand(d->pattern, name, cand, &nc, MAXC);
        for (int i = 0; i < nc; i++)
            list[i] = cand[i];
        near = suggest_nearest(name, list);
    }
    if (near)
        unit_msgf(msg, n, "unknown metric '%s' (did you mean '%s'?)", name, near);
    else
        unit_msgf(msg, n, "unknown metric '%s' (see docs/scenarios.md, \"Expectations\")", name);
    free(cand);
    free(list);
    return NULL;
}

/* ------------------------------------------------------------ expressions */

static const struct {
    const char *s;
    enum expect_op op;
} ops[] = {{"<=", EXP_LE}, {">=", EXP_GE}, {"==", EXP_EQ},
           {"!=", EXP_NE}, {"<", EXP_LT},  {">", EXP_GT}};

static const char *op_text(enum expect_op op)
{
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (ops[i].op == op)
            return ops[i].s;
    return "?";
}

static void trim(char *s)
{
    size_t len = strlen(s), i = 0;
    while (len && isspace((unsigned char)s[len - 1]))
        s[--len] = '\0';
    while (isspace((unsigned char)s[i]))
        i++;
    memmove(s, s + i, len - i + 1);
}

int expect_parse(struct sc_expect *e, const char *text, char *msg, size_t n)
{
    char left[160], right[160];
    memset(e, 0, sizeof *e);
    if (strlen(text) >= sizeof e->text)
        return unit_msgf(msg, n, "'%.40s...' is too long (max %zu characters)", text,
                         sizeof e->text - 1);
    snprintf(e->text, sizeof e->text, "%s", text);
    const char *at = NULL;
    size_t oplen = 0;
    for (const char *p = text; *p && !at; p++)
        for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
            if (!strncmp(p, ops[i].s, strlen(ops[i].s))) {
                at = p;
                oplen = strlen(ops[i].s);
                e->op = ops[i].op;
                break;
            }
    if (!at)
        return unit_msgf(msg, n,
                         "'%s': expected METRIC OP VALUE with OP one of < <= > >= == !=", text);
    snprintf(left, sizeof left, "%.*s", (int)(at - text), text);
    snprintf(right, sizeof right, "%s", at + oplen);
    trim(left);
    trim(right);
    if (!left[0] || !right[0])
        return unit_msgf(msg, n, "'%s': expected METRIC OP VALUE", text);
    if (strlen(left) >= sizeof e->metric)
        return unit_msgf(msg, n, "'%s': metric name too long", text);
    if (!metric_lookup(left, &e->unit, msg, n))
        return -1;
    memcpy(e->metric, left, strlen(left) + 1); /* length checked above */
    if (e->unit == UNIT_TEXT) {
        if (e->op != EXP_EQ && e->op != EXP_NE)
            return unit_msgf(msg, n, "'%s': %s is a word: compare it with == or !=", text, left);
        if (!word_ok(right) || strlen(right) >= sizeof e->word)
            return unit_msgf(msg, n, "'%s': expected a word after %s", text, op_text(e->op));
        memcpy(e->word, right, strlen(right) + 1); /* length checked above */
        return 0;
    }
    char why[200];
    if (unit_parse(right, e->unit, &e->value, why, sizeof why) < 0)
        return unit_msgf(msg, n, "'%s': %s: %s", text, left, why);
    return 0;
}

int expect_check_domains(const struct sc_expect *e, int n, const char *const *names, char *msg,
                         size_t mlen)
{
    for (int i = 0; i < n; i++) {
        char c[4][64];
        if (components(e[i].metric, c) < 2 || strcmp(c[0], "dom") != 0 || in(c[1], names))
            continue;
        const char *near = suggest_nearest(c[1], names);
        if (near)
            unit_msgf(msg, mlen, "'%s': no domain '%s' (did you mean '%s'?)", e[i].text, c[1],
                      near);
        else
            unit_msgf(msg, mlen, "'%s': no domain '%s' in this scenario", e[i].text, c[1]);
        return i;
    }
    return -1;
}

static bool holds(double a, enum expect_op op, double b)
{
    switch (op) {
    case EXP_LT:
        return a < b;
    case EXP_LE:
        return a <= b;
    case EXP_GT:
        return a > b;
    case EXP_GE:
        return a >= b;
    case EXP_EQ:
        return a == b;
    default:
        return a != b;
    }
}

bool expect_eval(const struct sc_expect *e, const struct measures *ms, char *val, size_t n)
{
    const struct measure *m = measure_find(ms, e->metric);
    if (!m) {
        snprintf(val, n, "not measured in this run");
        return false;
    }
    if (m->unit == UNIT_TEXT) {
        snprintf(val, n, "%s", m->text);
        return (strcmp(m->text, e->word) == 0) == (e->op == EXP_EQ);
    }
    unit_format(m->value, m->unit, val, n);
    return holds(m->value, e->op, e->value);
}

int expect_report(const struct sc_expect *e, int n, const struct measures *ms, FILE *out)
{
    int failed = 0;
    for (int i = 0; i < n; i++) {
        char val[64];
        bool ok = expect_eval(&e[i], ms, val, sizeof val);
        failed += !ok;
        fprintf(out, "expect: %s:%d: %s: measured %s: %s\n", e[i].file, e[i].line, e[i].text, val,
                ok ? "pass" : "FAIL");
    }
    return failed;
}

void metric_defs_markdown(FILE *out)
{
    fprintf(out, "| metric | unit | what |\n|---|---|---|\n");
    for (const struct metric_def *d = metric_defs; d->pattern; d++)
        fprintf(out, "| `%s` | %s | %s |\n", d->pattern, unit_kind_name(d->unit), d->help);
}
