/*
 * The CSV writer: one row per span (traces/FORMAT.md).
 */
#include "trace_int.h"

/* A hop span's kind and name fields. */
static const struct str hop_fields[HOP_COUNT] = {STR("hop,,"),   STR("hop,H1,"), STR("hop,H2,"),
                                                 STR("hop,H3,"), STR("hop,H4,"), STR("hop,H5,"),
                                                 STR("hop,H6,"), STR("hop,H7,"), STR("hop,H8,")};

void csv_header(struct trace *t)
{
    OUT_LIT(&t->csv, "req,hop,kind,name,place,start_ps,end_ps,dur_ps,arg\n");
}

/* KIND,NAME, -- kept in the cache entry the first time. */
static void csv_kind_name(struct trace *t, int kind, const char *name, struct iname *in)
{
    struct out *o = &t->csv;
    if (in && in->csv.s) {
        out_s(o, in->csv);
        return;
    }
    struct str kname = trace_kind_names[kind];
    if (in) /* the fragment, at most 2 bytes per name byte and quotes, goes in without a flush */
        out_room(o, kname.len + 2 * (name ? strlen(name) : 0) + 8);
    size_t at = o->len;
    out_s(o, kname);
    out_ch(o, ',');
    if (name)
        out_csv_str(o, name);
    out_ch(o, ',');
    if (in)
        iname_keep(&in->csv, o->buf + at, o->len - at);
}

void csv_row(struct trace *t, struct str req, int hop, int kind, const char *name, struct iname *in,
             uint16_t place, simtime_t start, simtime_t end, int64_t arg)
{
    struct out *o = &t->csv;
    char *w = out_room(o, 32);
    w = put_req_hex(w, req);
    *w++ = ',';
    w = put_str(w, trace_hop_names[hop]);
    *w++ = ',';
    out_end(o, w);
    if (kind == SPAN_HOP)
        out_s(o, hop_fields[hop]);
    else
        csv_kind_name(t, kind, name, in);
    out_s(o, t->places[place].csv);
    w = out_room(o, 4 * 21 + 4 + 40);
    *w++ = ',';
    w = put_u64(w, start);
    *w++ = ',';
    w = put_u64(w, end);
    *w++ = ',';
    w = put_dur(o->durs, w, end - start, false);
    *w++ = ',';
    w = put_i64(w, arg);
    *w++ = '\n';
    out_end(o, w);
}
