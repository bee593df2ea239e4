/*
 * The CSV writer: one row per span (traces/FORMAT.md).
 */
#include "trace_int.h"

void csv_header(struct trace *t)
{
    OUT_LIT(&t->csv, "req,hop,kind,name,place,start_ps,end_ps,dur_ps,arg\n");
}

void csv_row(struct trace *t, uint64_t req, int hop, int kind, const char *name, uint16_t place,
             simtime_t start, simtime_t end, int64_t arg)
{
    struct out *o = &t->csv;
    if (req != HOPSIM_NOREQ)
        out_hex(o, req);
    out_ch(o, ',');
    out_s(o, trace_hop_names[hop]);
    out_ch(o, ',');
    out_s(o, trace_kind_names[kind]);
    out_ch(o, ',');
    if (name)
        out_csv_str(o, name);
    out_ch(o, ',');
    out_s(o, t->places[place].csv);
    out_ch(o, ',');
    out_u64(o, start);
    out_ch(o, ',');
    out_u64(o, end);
    out_ch(o, ',');
    out_u64(o, end - start);
    out_ch(o, ',');
    out_i64(o, arg);
    out_ch(o, '\n');
}
