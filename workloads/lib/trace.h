/*
 * Trace marks and guest test assertions (include/hopsim/abi.h).
 *
 * A mark is one `outl %eax, $HOPSIM_TRACE_PORT` with the mark code in
 * %eax, the request id in %rdi and an argument in %rsi. The simulator
 * handles it synchronously and stamps it with the current virtual time;
 * the vCPU never stops there. The "memory" clobber keeps marks ordered
 * with the surrounding loads and stores.
 *
 * GCHECK(cond) reports one test assertion (HOPSIM_OP_TEST, %rdi = source
 * line, %rsi = 1 pass / 0 fail) and prints the failed expression to the
 * console. Guest tests report through these marks, not by printing "ok".
 */
#ifndef GUEST_TRACE_H
#define GUEST_TRACE_H

#include <stdint.h>

#include <hopsim/abi.h>

static inline void hopsim_mark(uint32_t code, uint64_t req, uint64_t arg)
{
    __asm__ __volatile__("outl %%eax, %[port]"
                         :
                         : "a"(code), "D"(req), "S"(arg), [port] "N"(HOPSIM_TRACE_PORT)
                         : "memory");
}

/* Request `req` enters hop `hop` now. */
static inline void trace_hop(unsigned hop, uint64_t req)
{
    hopsim_mark(HOPSIM_MARK(HOPSIM_OP_HOP, hop, 0), req, 0);
}

/*
 * Request `req` enters hop `hop` now, put on the ring whose notifications
 * go through event-channel `port` (this domain's end): a notify through
 * another port does not carry it on (H2 on a frontend's queue, H6 when a
 * backend writes the response).
 */
static inline void trace_hop_ring(unsigned hop, uint64_t req, uint32_t port)
{
    hopsim_mark(HOPSIM_MARK(HOPSIM_OP_HOP, hop, 0), req, port);
}

/* Request `req` enters hop `hop` now without being put on a ring: a notify does not carry it
 * on (a driver taking its device's completion, whose response is written later). */
static inline void trace_hop_move(unsigned hop, uint64_t req)
{
    hopsim_mark(HOPSIM_MARK(HOPSIM_OP_HOP, hop, 0), req, HOPSIM_HOP_MOVE);
}

/* Sub-span `kind` (enum hopsim_span_kind) begins / ends for `req`. */
static inline void trace_begin(unsigned kind, uint64_t req)
{
    hopsim_mark(HOPSIM_MARK(HOPSIM_OP_BEGIN, 0, kind), req, 0);
}

static inline void trace_end(unsigned kind, uint64_t req)
{
    hopsim_mark(HOPSIM_MARK(HOPSIM_OP_END, 0, kind), req, 0);
}

/* Request `req` is complete. */
static inline void trace_done(uint64_t req)
{
    hopsim_mark(HOPSIM_MARK(HOPSIM_OP_DONE, 0, 0), req, 0);
}

/* This vCPU now works for `req` (HOPSIM_NOREQ: for none). */
static inline void trace_ctx(uint64_t req)
{
    hopsim_mark(HOPSIM_MARK(HOPSIM_OP_CTX, 0, 0), req, 0);
}

/* A named measurement: counter id `kind`, value `value`. */
static inline void trace_value(unsigned kind, uint64_t value)
{
    hopsim_mark(HOPSIM_MARK(HOPSIM_OP_VALUE, 0, kind), value, 0);
}

/* A hostile component's attempt on `target` (enum hopsim_probe) with `access` (PROBE_READ,
 * PROBE_WRITE) and the answer the model gave it: 0 reached, < 0 the refusal. */
static inline void trace_probe(unsigned target, unsigned access, long answer)
{
    hopsim_mark(HOPSIM_MARK(HOPSIM_OP_PROBE, access, target), (uint64_t)answer, 0);
}

/* Test assertions: counted here, reported by marks, failures printed. */
extern unsigned long gcheck_passed, gcheck_failed;
int gcheck_fail_(const char *file, int line, const char *expr);
int gcheck_fail_eq_(const char *file, int line, const char *a, const char *b, long va, long vb);

static inline int gcheck_(int ok, int line)
{
    hopsim_mark(HOPSIM_MARK(HOPSIM_OP_TEST, 0, 0), (uint64_t)line, (uint64_t)ok);
    if (ok)
        gcheck_passed++;
    return ok;
}

/* GCHECK(cond): evaluates to cond's truth (0/1). */
#define GCHECK(cond)                                                                               \
    (gcheck_((cond) ? 1 : 0, __LINE__) ? 1 : gcheck_fail_(__FILE__, __LINE__, #cond))

/* GCHECK_EQ(a, b): like GCHECK(a == b), and prints both values on failure. */
#define GCHECK_EQ(a, b)                                                                            \
    __extension__({                                                                                \
        long ga_ = (long)(a), gb_ = (long)(b);                                                     \
        gcheck_(ga_ == gb_, __LINE__) ? 1 : gcheck_fail_eq_(__FILE__, __LINE__, #a, #b, ga_, gb_); \
    })

#endif
