/*
 * The view's trace model (vmodel.h): records in, queries out.
 *
 * JSON replay reads the Trace Event file with json-c and turns each event
 * back into the record the writer wrote: `process_name` / `process_sort_index`
 * metadata into places (pid = place + 1, sort index = kind * 65536 + id),
 * `cat:"hop"` complete events into hop spans, other complete events into
 * sub-spans (kind from `cat`), `ph:"C"` into counters; flow events carry
 * nothing the view needs. Times are read from the number's text, not from a
 * double, so picoseconds come back exactly.
 */
#include "vmodel.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "hopsim/abi.h"

void vmodel_init(struct vmodel *m, const char *title)
{
    memset(m, 0, sizeof(*m));
    snprintf(m->title, sizeof(m->title), "%s", title ? title : "");
}

void vmodel_fini(struct vmodel *m)
{
    free(m->places);
    free(m->hops);
    free(m->subs);
    free(m->pool);
    free(m->okeys);
    free(m->ovals);
    memset(m, 0, sizeof(*m));
}

static int grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap : 64;
    while (n < need)
        n *= 2;
    void *q = realloc(*p, n * elem);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

/* Interns a name (linear dedup over a small recent window keeps the pool small). */
static uint32_t intern(struct vmodel *m, const char *s)
{
    if (!s || !*s)
        return 0;
    size_t n = strlen(s) + 1;
    if (!m->poolsize) {
        if (grow((void **)&m->pool, &m->poolcap, 1, 1) < 0)
            return 0;
        m->pool[0] = 0;
        m->poolsize = 1;
    }
    /* look back over the last few KiB: names repeat (hypercall names, symbols) */
    size_t from = m->poolsize > 4096 ? m->poolsize - 4096 : 1;
    for (size_t i = from; i < m->poolsize;) {
        size_t l = strlen(m->pool + i) + 1;
        if (l == n && !memcmp(m->pool + i, s, n))
            return (uint32_t)i;
        i += l;
    }
    if (m->poolsize + n > UINT32_MAX || grow((void **)&m->pool, &m->poolcap, m->poolsize + n, 1))
        return 0;
    memcpy(m->pool + m->poolsize, s, n);
    uint32_t off = (uint32_t)m->poolsize;
    m->poolsize += n;
    return off;
}

const char *vmodel_name(const struct vmodel *m, uint32_t off)
{
    return off && off < m->poolsize ? m->pool + off : "";
}

static void seen(struct vmodel *m, simtime_t a, simtime_t b)
{
    if (!m->any || a < m->tmin)
        m->tmin = a;
    if (!m->any || b > m->tmax)
        m->tmax = b;
    m->any = true;
}

/* ---- open hop spans: req -> index ---- */

static size_t ohash(uint64_t k, size_t mask)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdull;
    k ^= k >> 33;
    return (size_t)k & mask;
}

static int oput(struct vmodel *m, uint64_t req, size_t idx);

static int orehash(struct vmodel *m)
{
    size_t oldcap = m->ocap;
    uint64_t *ok = m->okeys;
    size_t *ov = m->ovals;
    size_t cap = oldcap ? oldcap * 2 : 256;
    m->okeys = malloc(cap * sizeof(*m->okeys));
    m->ovals = malloc(cap * sizeof(*m->ovals));
    if (!m->okeys || !m->ovals) {
        free(m->okeys);
        free(m->ovals);
        m->okeys = ok;
        m->ovals = ov;
        return -1;
    }
    for (size_t i = 0; i < cap; i++)
        m->okeys[i] = HOPSIM_NOREQ;
    m->ocap = cap;
    m->ocount = 0;
    for (size_t i = 0; i < oldcap; i++)
        if (ok[i] != HOPSIM_NOREQ)
            oput(m, ok[i], ov[i]);
    free(ok);
    free(ov);
    return 0;
}

static int oput(struct vmodel *m, uint64_t req, size_t idx)
{
    if ((m->ocount + 1) * 2 > m->ocap && orehash(m) < 0)
        return -1;
    size_t mask = m->ocap - 1, i = ohash(req, mask);
    while (m->okeys[i] != HOPSIM_NOREQ && m->okeys[i] != req)
        i = (i + 1) & mask;
    if (m->okeys[i] == HOPSIM_NOREQ)
        m->ocount++;
    m->okeys[i] = req;
    m->ovals[i] = idx;
    return 0;
}

/* Removes req's open span; returns its index or SIZE_MAX. */
static size_t otake(struct vmodel *m, uint64_t req)
{
    if (!m->ocap)
        return SIZE_MAX;
    size_t mask = m->ocap - 1, i = ohash(req, mask);
    while (m->okeys[i] != HOPSIM_NOREQ && m->okeys[i] != req)
        i = (i + 1) & mask;
    if (m->okeys[i] == HOPSIM_NOREQ)
        return SIZE_MAX;
    size_t v = m->ovals[i];
    /* backward-shift deletion keeps probe chains intact */
    size_t j = i;
    for (;;) {
        j = (j + 1) & mask;
        if (m->okeys[j] == HOPSIM_NOREQ)
            break;
        size_t h = ohash(m->okeys[j], mask);
        if ((j > i && (h <= i || h > j)) || (j < i && h <= i && h > j)) {
            m->okeys[i] = m->okeys[j];
            m->ovals[i] = m->ovals[j];
            i = j;
        }
    }
    m->okeys[i] = HOPSIM_NOREQ;
    m->ocount--;
    return v;
}

/* ---- records in ---- */

static int add_place(struct vmodel *m, uint16_t pl, enum trace_place_kind kind, int id,
                     const char *name)
{
    if (pl >= m->nplaces) {
        size_t cap = m->placecap;
        if (grow((void **)&m->places, &cap, (size_t)pl + 1, sizeof(*m->places)) < 0)
            return -1;
        m->placecap = (uint32_t)cap;
        for (uint32_t i = m->nplaces; i <= pl; i++)
            m->places[i] = (struct vplace){.kind = PLACE_CPU, .id = (int)i};
        m->nplaces = (uint32_t)pl + 1;
    }
    struct vplace *p = &m->places[pl];
    p->kind = kind;
    p->id = id;
    if (name)
        snprintf(p->name, sizeof(p->name), "%s", name);
    return 0;
}

static int push(struct vspan **v, size_t *n, size_t *cap, const struct vspan *s)
{
    if (grow((void **)v, cap, *n + 1, sizeof(**v)) < 0)
        return -1;
    (*v)[(*n)++] = *s;
    return 0;
}

static void hop_seen(struct vmodel *m, simtime_t start)
{
    if (!m->any_hop || start < m->first_hop)
        m->first_hop = start;
    m->any_hop = true;
}

int vmodel_add(struct vmodel *m, const struct trace_rec *r)
{
    struct vspan s = {.start = r->start,
                      .end = r->end,
                      .req = r->req,
                      .place = r->place,
                      .hop = (uint8_t)(r->hop >= 0 && r->hop < HOP_COUNT ? r->hop : HOP_NONE),
                      .kind = (uint8_t)r->kind,
                      .arg = r->arg};
    switch (r->type) {
    case TREC_PLACE:
        return add_place(m, r->place, r->place_kind, r->place_id, r->name);
    case TREC_HOP_OPEN: {
        s.end = VM_OPEN;
        if (push(&m->hops, &m->nhops, &m->hopcap, &s) < 0)
            return -1;
        seen(m, s.start, s.start);
        hop_seen(m, s.start);
        return oput(m, s.req, m->nhops - 1);
    }
    case TREC_HOP: {
        size_t i = otake(m, r->req);
        seen(m, s.start, s.end);
        hop_seen(m, s.start);
        if (i != SIZE_MAX && m->hops[i].start == s.start && m->hops[i].place == s.place) {
            m->hops[i].end = s.end;
            m->hops[i].arg = s.arg;
            return 0;
        }
        return push(&m->hops, &m->nhops, &m->hopcap, &s);
    }
    case TREC_SPAN:
    case TREC_COUNTER:
        if (r->type == TREC_COUNTER)
            s.kind = VM_COUNTER;
        s.name = intern(m, r->name);
        seen(m, s.start, s.end);
        return push(&m->subs, &m->nsubs, &m->subcap, &s);
    }
    return 0;
}

/* ---- JSON replay ---- */

/*
 * A Trace Event time (µs, decimal text) in ps: hopsim writes exact multiples
 * of 2^-20 µs, each within half a picosecond of the time it stands for, so
 * rounding to the nearest picosecond gives that time back exactly (digits
 * beyond the sixth decide the rounding). -1 if not a number.
 */
static int json_ps(struct json_object *o, simtime_t *out)
{
    if (!o)
        return -1;
    enum json_type ty = json_object_get_type(o);
    if (ty == json_type_int) {
        int64_t v = json_object_get_int64(o);
        if (v < 0 || (uint64_t)v > UINT64_MAX / 1000000)
            return -1;
        *out = (uint64_t)v * 1000000;
        return 0;
    }
    if (ty != json_type_double)
        return -1;
    const char *p = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    uint64_t whole = 0, frac = 0;
    int fd = 0;
    if (*p == '-')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (whole > UINT64_MAX / 10 / 1000000)
            return -1;
        whole = whole * 10 + (uint64_t)(*p - '0');
    }
    bool up = false;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++, fd++) {
            if (fd < 6)
                frac = frac * 10 + (uint64_t)(*p - '0');
            else if (fd == 6)
                up = *p >= '5';
        }
    if (fd > 6)
        fd = 6;
    if (*p == 'e' || *p == 'E') { /* not what hopsim writes; fall back to the double */
        double d = json_object_get_double(o);
        if (!(d >= 0 && d < 1.8e13))
            return -1;
        *out = (simtime_t)(d * 1e6 + 0.5);
        return 0;
    }
    while (fd < 6) {
        frac *= 10;
        fd++;
    }
    *out = whole * 1000000 + frac + up;
    return 0;
}

static const char *jstr(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static struct json_object *jget(struct json_object *o, const char *key)
{
    struct json_object *v;
    return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static int hop_of(const char *s)
{
    if (s && s[0] == 'H' && s[1] >= '1' && s[1] <= '8' && !s[2])
        return HOP_H1 + (s[1] - '1');
    return HOP_NONE;
}

static int kind_of(const char *cat)
{
    for (int k = 0; cat && k < SPAN_KIND_COUNT; k++)
        if (!strcmp(trace_kind_name(k), cat))
            return k;
    return -1;
}

static int load_event(struct vmodel *m, struct json_object *e)
{
    const char *ph = jstr(e, "ph"), *name = jstr(e, "name"), *cat = jstr(e, "cat");
    struct json_object *pid = jget(e, "pid"), *args = jget(e, "args");
    if (!ph || !pid)
        return 0;
    int64_t p = json_object_get_int64(pid) - 1;
    if (p < 0 || p >= UINT16_MAX)
        return 0;
    uint16_t place = (uint16_t)p;
    if (!strcmp(ph, "M") && name && args) {
        if (!strcmp(name, "process_name"))
            return add_place(m, place, p < (int64_t)m->nplaces ? m->places[place].kind : PLACE_CPU,
                             p < (int64_t)m->nplaces ? m->places[place].id : 0, jstr(args, "name"));
        if (!strcmp(name, "process_sort_index")) {
            int64_t v = json_object_get_int64(jget(args, "sort_index"));
            const char *nm = p < (int64_t)m->nplaces ? m->places[place].name : NULL;
            char keep[48];
            snprintf(keep, sizeof(keep), "%s", nm ? nm : "");
            return add_place(m, place, (enum trace_place_kind)(v / 65536 & 3), (int)(v % 65536),
                             keep);
        }
        return 0;
    }
    simtime_t ts, dur = 0;
    if (json_ps(jget(e, "ts"), &ts) < 0)
        return 0;
    struct trace_rec r = {.place = place, .req = HOPSIM_NOREQ, .hop = HOP_NONE, .start = ts};
    const char *req = args ? jstr(args, "req") : NULL;
    if (req)
        r.req = strtoull(req, NULL, 16);
    if (!strcmp(ph, "C")) {
        r.type = TREC_COUNTER;
        r.name = name;
        r.end = ts;
        r.arg = args ? json_object_get_int64(jget(args, "value")) : 0;
        return vmodel_add(m, &r);
    }
    /* a zero-length sub-span is written as a thread-scoped instant */
    bool instant = !strcmp(ph, "i");
    if ((!instant && (strcmp(ph, "X") || json_ps(jget(e, "dur"), &dur) < 0)) || !cat)
        return 0;
    r.end = ts + dur;
    if (!strcmp(cat, "hop")) {
        r.type = TREC_HOP;
        r.kind = SPAN_HOP;
        r.hop = hop_of(name);
        r.arg = args && jstr(args, "notify") ? 1 : 0;
        return r.hop == HOP_NONE || r.req == HOPSIM_NOREQ ? 0 : vmodel_add(m, &r);
    }
    int k = kind_of(cat);
    if (k < 0)
        return 0;
    r.type = TREC_SPAN;
    r.kind = k;
    r.hop = args ? hop_of(jstr(args, "hop")) : HOP_NONE;
    r.arg = args ? json_object_get_int64(jget(args, "arg")) : 0;
    const char *colon = name ? strchr(name, ':') : NULL;
    r.name = colon ? colon + 1 : NULL;
    return vmodel_add(m, &r);
}

int vmodel_load_json(struct vmodel *m, const char *path, char *err, size_t errlen)
{
    struct json_object *root = json_object_from_file(path);
    if (!root) {
        snprintf(err, errlen, "%s: not a readable JSON trace (%s)", path,
                 json_util_get_last_err() ? json_util_get_last_err() : "parse error");
        return -1;
    }
    struct json_object *ev = jget(root, "traceEvents"), *other = jget(root, "otherData");
    if (!ev || !json_object_is_type(ev, json_type_array)) {
        snprintf(err, errlen, "%s: no traceEvents array: not a Trace Event JSON file", path);
        json_object_put(root);
        return -1;
    }
    const char *title = other ? jstr(other, "title") : NULL;
    if (title)
        snprintf(m->title, sizeof(m->title), "%s", title);
    size_t n = json_object_array_length(ev);
    for (size_t i = 0; i < n; i++) {
        if (load_event(m, json_object_array_get_idx(ev, i)) < 0) {
            snprintf(err, errlen, "%s: out of memory", path);
            json_object_put(root);
            return -1;
        }
    }
    json_object_put(root);
    return 0;
}

/* ---- queries ---- */

size_t vmodel_at(const struct vmodel *m, simtime_t t, struct vwhere *out, size_t max, size_t *total)
{
    size_t n = 0, all = 0;
    for (size_t i = 0; i < m->nhops; i++) {
        const struct vspan *s = &m->hops[i];
        if (s->start > t || t >= s->end)
            continue;
        if (n < max)
            out[n++] = (struct vwhere){.req = s->req, .place = s->place, .hop = s->hop, .span = i};
        all++;
    }
    if (total)
        *total = all;
    return n;
}

simtime_t vmodel_next_event(const struct vmodel *m, simtime_t t)
{
    simtime_t best = VM_OPEN;
    for (int pass = 0; pass < 2; pass++) {
        const struct vspan *v = pass ? m->subs : m->hops;
        size_t n = pass ? m->nsubs : m->nhops;
        for (size_t i = 0; i < n; i++) {
            if (v[i].start > t && v[i].start < best)
                best = v[i].start;
            if (v[i].end != VM_OPEN && v[i].end > t && v[i].end < best)
                best = v[i].end;
        }
    }
    return best == VM_OPEN ? t : best;
}

size_t vmodel_request(const struct vmodel *m, uint64_t req, size_t *idx, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < m->nhops && n < max; i++)
        if (m->hops[i].req == req) {
            /* insertion by start keeps the list ordered */
            size_t j = n++;
            while (j && m->hops[idx[j - 1]].start > m->hops[i].start) {
                idx[j] = idx[j - 1];
                j--;
            }
            idx[j] = i;
        }
    return n;
}

/* bins: 10 ns * 10^(b/4), b = 0..VM_BINS-1 (four per decade: 10 ns .. 5.6 ms and up) */
simtime_t vmodel_bin_low(int bin)
{
    static const uint64_t step[4] = {1000, 1778, 3162, 5623}; /* 10^(k/4) * 1000 */
    uint64_t v = 10000;                                       /* 10 ns in ps */
    for (int i = 0; i < bin / 4; i++)
        v *= 10;
    return v * step[bin % 4] / 1000;
}

int vmodel_bin_of(simtime_t dur)
{
    int b = 0;
    while (b + 1 < VM_BINS && dur >= vmodel_bin_low(b + 1))
        b++;
    return b;
}

void vmodel_hist(const struct vmodel *m, simtime_t t, struct vhist *h)
{
    memset(h, 0, sizeof(*h));
    for (size_t i = 0; i < m->nhops; i++) {
        const struct vspan *s = &m->hops[i];
        if (s->end == VM_OPEN || s->end > t || s->hop >= HOP_COUNT)
            continue;
        simtime_t d = s->end - s->start;
        h->bin[s->hop][vmodel_bin_of(d)]++;
        h->count[s->hop]++;
        h->sum[s->hop] += d;
    }
}
