/*
 * Guest trace marks (include/hopsim/abi.h): `outl %eax, $HOPSIM_TRACE_PORT`
 * handled synchronously from the OUT hook. A mark is stamped with the
 * vCPU's time inside its slice. Malformed marks are guest errors: counted
 * and traced, never fatal.
 */
#include <stdio.h>

#include "machine.h"

static void mark_error(struct vcpu *v, simtime_t now, const char *what, uint32_t code)
{
    struct domain *d = v->d;
    d->guest_errors++;
    struct trace_span s = {.req = vcpu_trace_req(v),
                           .kind = SPAN_GUEST_ERROR,
                           .place = d->place,
                           .start = now,
                           .end = now,
                           .name = what,
                           .arg = code};
    trace_span(d->m->tr, &s);
}

static void mark_begin(struct vcpu *v, unsigned kind, uint64_t req, simtime_t now)
{
    if (v->nmarks == MARK_STACK) {
        mark_error(v, now, "mark stack overflow", kind);
        return;
    }
    v->marks[v->nmarks++] = (struct open_mark){.kind = (uint16_t)kind, .req = req, .start = now};
    v->ctx_req = req;
}

static void mark_end(struct vcpu *v, unsigned kind, uint64_t req, simtime_t now)
{
    for (int i = v->nmarks - 1; i >= 0; i--) {
        if (v->marks[i].kind != kind)
            continue;
        struct open_mark om = v->marks[i];
        for (int j = i; j < v->nmarks - 1; j++)
            v->marks[j] = v->marks[j + 1];
        v->nmarks--;
        struct trace_span s = {.req = om.req ? om.req : req,
                               .kind = (uint16_t)kind,
                               .place = v->d->place,
                               .start = om.start,
                               .end = now};
        trace_span(v->d->m->tr, &s);
        return;
    }
    mark_error(v, now, "end mark without begin", kind);
}

static void mark_test(struct vcpu *v, uint64_t line, uint64_t ok, simtime_t now)
{
    struct domain *d = v->d;
    if (ok) {
        d->checks_pass++;
        return;
    }
    d->checks_fail++;
    fprintf(d->m->console_out, "[%s] guest check FAILED at line %llu (t=%llu ps)\n", d->name,
            (unsigned long long)line, (unsigned long long)now);
    trace_counter(d->m->tr, d->place, "check_failed_line", now, (int64_t)line);
}

void mark_handle(struct vcpu *v, uint32_t code, uint64_t req, uint64_t arg)
{
    struct machine *m = v->d->m;
    simtime_t now = vcpu_now(v);
    unsigned op = HOPSIM_MARK_OP(code), hop = HOPSIM_MARK_HOPNR(code);
    unsigned kind = HOPSIM_MARK_KIND(code);
    switch (op) {
    case HOPSIM_OP_HOP:
        if (hop < HOP_H1 || hop > HOP_H8 || req == HOPSIM_NOREQ) {
            mark_error(v, now, "bad hop mark", code);
            return;
        }
        /* An unmodified kernel in an HVM domain believes it hands requests to its device (H4)
         * and takes them back (H5); what it reaches is the hypervisor (H2), and what hands them
         * back is the hypervisor's interrupt (H7, see sim/hvm/). */
        if (v->d->hvm && hop == HOP_H4)
            hop = HOP_H2;
        if (arg == HOPSIM_HOP_MOVE || (hop == HOP_H6 && trace_req_hop(m->tr, req) == HOP_H5))
            /* the driver takes the completion off the device (maybe before its interrupt
             * arrives, found while handling another): H6 begins, but its response is not on
             * the ring yet -- a plain move, not a mark that a notify would carry */
            trace_hop(m->tr, req, (int)hop, v->d->place, now);
        else
            /* arg: the port the ring notifies through (trace_hop_ring), 0 if not said */
            trace_hop_mark(m->tr, req, (int)hop, v->d->place, now, (uint32_t)arg);
        v->ctx_req = req;
        return;
    case HOPSIM_OP_BEGIN:
    case HOPSIM_OP_END:
        if (kind == SPAN_HOP || kind >= SPAN_KIND_COUNT) {
            mark_error(v, now, "bad span kind", code);
            return;
        }
        if (op == HOPSIM_OP_BEGIN)
            mark_begin(v, kind, req, now);
        else
            mark_end(v, kind, req, now);
        return;
    case HOPSIM_OP_DONE:
        trace_done(m->tr, req, now);
        return;
    case HOPSIM_OP_CTX:
        v->ctx_req = req;
        return;
    case HOPSIM_OP_TEST:
        mark_test(v, req, arg, now);
        return;
    case HOPSIM_OP_PROBE:
        if (kind < PROBE_MEM || kind >= PROBE_TARGETS || hop < PROBE_READ || hop > PROBE_WRITE) {
            mark_error(v, now, "bad probe mark", code);
            return;
        }
        m->probe[kind][hop].tried++;
        if ((int64_t)req == 0)
            m->probe[kind][hop].reached++;
        else
            m->probe[kind][hop].refusal = (int64_t)req;
        if (!m->quiet)
            fprintf(m->console_out, "[%s] probe %s %s: %s (%lld)\n", v->d->name,
                    kind == PROBE_MEM      ? "memory"
                    : kind == PROBE_DISK   ? "disk"
                    : kind == PROBE_KERNEL ? "kernel"
                                           : "dma",
                    hop == PROBE_READ ? "read" : "write", req ? "refused" : "reached",
                    (long long)(int64_t)req);
        return;
    case HOPSIM_OP_VALUE:
        trace_counter(m->tr, v->d->place, "guest_value", now, (int64_t)req);
        return;
    default:
        mark_error(v, now, "unknown mark op", code);
    }
}
