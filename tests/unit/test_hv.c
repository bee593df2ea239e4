/*
 * The hypervisor model driven directly, with no guest code running: a
 * machine with three domains is built from real guest images, and event
 * channel and grant table operations are issued the way the hypercall
 * dispatcher issues them (argument structs in guest RAM). Each error path
 * must return Xen's code, leave a trace record, and leave the machine
 * usable.
 */
#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <unicorn/unicorn.h>

#include "machine_fixture.h"

#define SCRATCH 0x10000ull /* below the image (0x100000), inside RAM */

static struct scenario sc;
static struct machine m;
static struct trace *tr;
static struct domain *A, *B, *C;

static void setup(void)
{
    fixture_scenario(&sc, "hv-test", 2, 64ull << 20, 3);
    struct trace_opts to = {0};
    tr = fixture_machine(&m, &sc, &to);
    A = m.doms[0];
    B = m.doms[1];
    C = m.doms[2];
    ck_assert_uint_eq(A->domid, 1);
    ck_assert_uint_eq(B->domid, 2);
}

static void teardown(void)
{
    char err[256];
    machine_destroy(&m);
    trace_close(tr, err, sizeof(err));
}

static void *scratch(struct domain *d)
{
    return guest_ram(d, SCRATCH, 4096);
}

static long ev(struct domain *d, int cmd, void *arg, size_t len)
{
    simtime_t cost = 0;
    memcpy(scratch(d), arg, len);
    long r = evtchn_op(d->vcpus[0], cmd, SCRATCH, 0, &cost);
    memcpy(arg, scratch(d), len);
    return r;
}

static uint64_t guest_errors_traced(void)
{
    struct trace_stat st;
    return trace_stat_kind(tr, SPAN_GUEST_ERROR, &st) ? st.count : 0;
}

/* a allocates a port for b; b binds it. Returns a's port, *bport b's. */
static uint32_t connect_ab(uint32_t *bport)
{
    struct evtchn_alloc_unbound au = {.dom = DOMID_SELF, .remote_dom = B->domid};
    ck_assert_int_eq(ev(A, EVTCHNOP_alloc_unbound, &au, sizeof(au)), 0);
    ck_assert_uint_gt(au.port, 0);
    struct evtchn_bind_interdomain bi = {.remote_dom = A->domid, .remote_port = au.port};
    ck_assert_int_eq(ev(B, EVTCHNOP_bind_interdomain, &bi, sizeof(bi)), 0);
    *bport = bi.local_port;
    return au.port;
}

static bool pending(struct domain *d, uint32_t port)
{
    return evtchn_port_pending(d, port);
}

static void clear_pending(struct domain *d, uint32_t port)
{
    d->shinfo->evtchn_pending[port / 64] &= ~(1ull << (port % 64));
    d->shinfo->vcpu_info[0].evtchn_pending_sel = 0;
    d->shinfo->vcpu_info[0].evtchn_upcall_pending = 0;
}

START_TEST(evtchn_bind_send_status)
{
    uint32_t bp, ap = connect_ab(&bp);
    clear_pending(B, bp);
    struct evtchn_send s = {.port = ap};
    ck_assert_int_eq(ev(A, EVTCHNOP_send, &s, sizeof(s)), 0);
    ck_assert(pending(B, bp));
    ck_assert_uint_eq(B->shinfo->vcpu_info[0].evtchn_upcall_pending, 1);
    struct evtchn_status st = {.dom = DOMID_SELF, .port = bp};
    ck_assert_int_eq(ev(B, EVTCHNOP_status, &st, sizeof(st)), 0);
    ck_assert_uint_eq(st.status, EVTCHNSTAT_interdomain);
    ck_assert_uint_eq(st.u.interdomain.dom, A->domid);
    ck_assert_uint_eq(st.u.interdomain.port, ap);
}
END_TEST

START_TEST(evtchn_errors)
{
    uint64_t before = guest_errors_traced();
    struct evtchn_send s = {.port = 5000};
    ck_assert_int_eq(ev(A, EVTCHNOP_send, &s, sizeof(s)), -EINVAL); /* out of range */
    s.port = 77;
    ck_assert_int_eq(ev(A, EVTCHNOP_send, &s, sizeof(s)), -EINVAL); /* never allocated */
    s.port = 0;
    ck_assert_int_eq(ev(A, EVTCHNOP_send, &s, sizeof(s)), -EINVAL); /* reserved */
    /* an unbound port: Xen drops the send silently */
    struct evtchn_alloc_unbound au = {.dom = DOMID_SELF, .remote_dom = C->domid};
    ck_assert_int_eq(ev(A, EVTCHNOP_alloc_unbound, &au, sizeof(au)), 0);
    s.port = au.port;
    ck_assert_int_eq(ev(A, EVTCHNOP_send, &s, sizeof(s)), 0);
    /* B may not bind a port offered to C */
    struct evtchn_bind_interdomain bi = {.remote_dom = A->domid, .remote_port = au.port};
    ck_assert_int_eq(ev(B, EVTCHNOP_bind_interdomain, &bi, sizeof(bi)), -EINVAL);
    bi.remote_dom = 999;
    ck_assert_int_eq(ev(B, EVTCHNOP_bind_interdomain, &bi, sizeof(bi)), -ESRCH);
    /* VIRQ twice, bad VIRQ */
    struct evtchn_bind_virq bv = {.virq = VIRQ_TIMER, .vcpu = 0};
    ck_assert_int_eq(ev(A, EVTCHNOP_bind_virq, &bv, sizeof(bv)), 0);
    ck_assert_int_eq(ev(A, EVTCHNOP_bind_virq, &bv, sizeof(bv)), -EEXIST);
    bv.virq = NR_VIRQS;
    ck_assert_int_eq(ev(A, EVTCHNOP_bind_virq, &bv, sizeof(bv)), -EINVAL);
    /* argument outside RAM */
    simtime_t cost = 0;
    ck_assert_int_eq(evtchn_op(A->vcpus[0], EVTCHNOP_send, 1ull << 40, 0, &cost), -EFAULT);
    /* a domU may not allocate for another domain */
    au = (struct evtchn_alloc_unbound){.dom = B->domid, .remote_dom = A->domid};
    ck_assert_int_eq(ev(A, EVTCHNOP_alloc_unbound, &au, sizeof(au)), -EPERM);
    (void)before;
}
END_TEST

START_TEST(evtchn_close_and_mask)
{
    uint32_t bp, ap = connect_ab(&bp);
    clear_pending(B, bp);
    /* masked: pending latches, no upcall until unmask */
    B->shinfo->evtchn_mask[bp / 64] |= 1ull << (bp % 64);
    struct evtchn_send s = {.port = ap};
    ck_assert_int_eq(ev(A, EVTCHNOP_send, &s, sizeof(s)), 0);
    ck_assert(pending(B, bp));
    ck_assert_uint_eq(B->shinfo->vcpu_info[0].evtchn_upcall_pending, 0);
    struct evtchn_unmask um = {.port = bp};
    ck_assert_int_eq(ev(B, EVTCHNOP_unmask, &um, sizeof(um)), 0);
    ck_assert_uint_eq(B->shinfo->vcpu_info[0].evtchn_upcall_pending, 1);
    /* closing one end makes the other unbound; sends on it are dropped */
    struct evtchn_close cl = {.port = ap};
    ck_assert_int_eq(ev(A, EVTCHNOP_close, &cl, sizeof(cl)), 0);
    ck_assert_int_eq(ev(A, EVTCHNOP_close, &cl, sizeof(cl)), -EINVAL);
    ck_assert_int_eq(ev(A, EVTCHNOP_send, &s, sizeof(s)), -EINVAL);
    struct evtchn_status st = {.dom = DOMID_SELF, .port = bp};
    ck_assert_int_eq(ev(B, EVTCHNOP_status, &st, sizeof(st)), 0);
    ck_assert_uint_eq(st.status, EVTCHNSTAT_unbound);
    clear_pending(A, ap);
    s.port = bp;
    ck_assert_int_eq(ev(B, EVTCHNOP_send, &s, sizeof(s)), 0);
}
END_TEST

/* EVTCHNOP_bind_ipi: a port raised on one of the domain's own vCPUs, as Xen's evtchn_bind_ipi. */
START_TEST(evtchn_ipi)
{
    struct evtchn_bind_ipi bi = {.vcpu = 0};
    ck_assert_int_eq(ev(A, EVTCHNOP_bind_ipi, &bi, sizeof(bi)), 0);
    ck_assert_uint_gt(bi.port, 0);
    uint32_t p = bi.port;
    clear_pending(A, p);
    struct evtchn_send s = {.port = p};
    ck_assert_int_eq(ev(A, EVTCHNOP_send, &s, sizeof(s)), 0);
    ck_assert(pending(A, p));
    ck_assert_uint_eq(A->shinfo->vcpu_info[0].evtchn_upcall_pending, 1);
    struct evtchn_status st = {.dom = DOMID_SELF, .port = p};
    ck_assert_int_eq(ev(A, EVTCHNOP_status, &st, sizeof(st)), 0);
    ck_assert_uint_eq(st.status, EVTCHNSTAT_ipi);
    ck_assert_uint_eq(st.vcpu, 0);
    /* a vCPU the domain does not have; an IPI port does not move (evtchn_bind_vcpu) */
    struct evtchn_bind_ipi bad = {.vcpu = (uint32_t)A->nvcpus};
    ck_assert_int_eq(ev(A, EVTCHNOP_bind_ipi, &bad, sizeof(bad)), -ENOENT);
    struct evtchn_bind_vcpu bv = {.port = p, .vcpu = 0};
    ck_assert_int_eq(ev(A, EVTCHNOP_bind_vcpu, &bv, sizeof(bv)), -EINVAL);
    struct evtchn_close cl = {.port = p};
    ck_assert_int_eq(ev(A, EVTCHNOP_close, &cl, sizeof(cl)), 0);
    ck_assert_int_eq(ev(A, EVTCHNOP_send, &s, sizeof(s)), -EINVAL);
    st = (struct evtchn_status){.dom = DOMID_SELF, .port = p};
    ck_assert_int_eq(ev(A, EVTCHNOP_status, &st, sizeof(st)), 0);
    ck_assert_uint_eq(st.status, EVTCHNSTAT_closed);
}
END_TEST

/* ---- grant tables ---- */

#define PAGE_A_GPFN 0x20 /* a page of a's RAM it grants */

static void grant(struct domain *granter, uint32_t ref, domid_t to, uint64_t gpfn, uint16_t extra)
{
    grant_entry_v1_t *e = &granter->gt.shared[ref];
    e->domid = to;
    e->frame = (uint32_t)gpfn;
    e->flags = GTF_permit_access | extra;
}

static int16_t map(struct domain *d, domid_t dom, uint32_t ref, uint64_t addr, uint32_t flags,
                   grant_handle_t *h)
{
    struct gnttab_map_grant_ref op = {.host_addr = addr, .flags = flags, .ref = ref, .dom = dom};
    simtime_t cost = 0;
    memcpy(scratch(d), &op, sizeof(op));
    ck_assert_int_eq(gnttab_op(d->vcpus[0], GNTTABOP_map_grant_ref, SCRATCH, 1, 0, &cost), 0);
    memcpy(&op, scratch(d), sizeof(op));
    if (h)
        *h = op.handle;
    return op.status;
}

static int16_t unmap(struct domain *d, uint64_t addr, grant_handle_t h)
{
    struct gnttab_unmap_grant_ref op = {.host_addr = addr, .handle = h};
    simtime_t cost = 0;
    memcpy(scratch(d), &op, sizeof(op));
    ck_assert_int_eq(gnttab_op(d->vcpus[0], GNTTABOP_unmap_grant_ref, SCRATCH, 1, 0, &cost), 0);
    memcpy(&op, scratch(d), sizeof(op));
    return op.status;
}

#define WIN(i) (HOPSIM_GNT_WINDOW_BASE + (uint64_t)(i)*4096)

START_TEST(grant_map_shares_and_unmap_removes)
{
    uint8_t *page = guest_ram(A, PAGE_A_GPFN << 12, 4096);
    memcpy(page, "hello from a", 13);
    grant(A, 5, B->domid, PAGE_A_GPFN, 0);
    grant_handle_t h;
    simtime_t before_flags = A->gt.shared[5].flags;
    ck_assert_int_eq(map(B, A->domid, 5, WIN(0), GNTMAP_host_map, &h), GNTST_okay);
    ck_assert_uint_eq(A->gt.shared[5].flags, before_flags | GTF_reading | GTF_writing);
    char buf[16] = {0};
    ck_assert_int_eq(vcpu_read(B->vcpus[0], WIN(0), buf, 13), 0);
    ck_assert_str_eq(buf, "hello from a");
    /* the same host page: a write by the granter is seen through the mapping */
    page[0] = 'H';
    ck_assert_int_eq(vcpu_read(B->vcpus[0], WIN(0), buf, 1), 0);
    ck_assert_int_eq(buf[0], 'H');
    /* the window slot is taken */
    ck_assert_int_eq(map(B, A->domid, 5, WIN(0), GNTMAP_host_map, NULL), GNTST_general_error);
    ck_assert_int_eq(unmap(B, WIN(0), h), GNTST_okay);
    ck_assert_uint_eq(A->gt.shared[5].flags, GTF_permit_access);
    ck_assert_int_eq(vcpu_read(B->vcpus[0], WIN(0), buf, 1), -1); /* really gone */
    ck_assert_int_eq(unmap(B, WIN(0), h), GNTST_bad_handle);
}
END_TEST

START_TEST(grant_map_errors)
{
    uint64_t errs0 = guest_errors_traced();
    grant(A, 7, B->domid, PAGE_A_GPFN, GTF_readonly);
    grant(A, 8, C->domid, PAGE_A_GPFN, 0);
    ck_assert_int_eq(map(B, A->domid, 100000, WIN(1), GNTMAP_host_map, NULL), GNTST_bad_gntref);
    ck_assert_int_eq(map(B, A->domid, 8, WIN(1), GNTMAP_host_map, NULL), GNTST_general_error);
    ck_assert_int_eq(map(B, A->domid, 7, WIN(1), GNTMAP_host_map, NULL), GNTST_general_error);
    ck_assert_int_eq(map(B, 999, 7, WIN(1), GNTMAP_host_map, NULL), GNTST_bad_domain);
    ck_assert_int_eq(map(B, A->domid, 7, 0x5000, GNTMAP_host_map | GNTMAP_readonly, NULL),
                     GNTST_general_error); /* host_addr outside the grant window */
    ck_assert_int_eq(map(B, A->domid, 7, WIN(1), 0, NULL), GNTST_bad_gntref); /* no host_map */
    ck_assert_int_eq(unmap(B, WIN(1), 600), GNTST_bad_handle);
    ck_assert_uint_eq(guest_errors_traced() - errs0, 7); /* each failure left a record */
    /* read-only map works and sets only GTF_reading */
    grant_handle_t h;
    ck_assert_int_eq(map(B, A->domid, 7, WIN(1), GNTMAP_host_map | GNTMAP_readonly, &h),
                     GNTST_okay);
    ck_assert_uint_eq(A->gt.shared[7].flags, GTF_permit_access | GTF_readonly | GTF_reading);
    ck_assert_int_eq(unmap(B, 0, h), GNTST_okay);
    /* a revoked entry cannot be mapped */
    A->gt.shared[7].flags = 0;
    ck_assert_int_eq(map(B, A->domid, 7, WIN(1), GNTMAP_host_map | GNTMAP_readonly, NULL),
                     GNTST_general_error);
}
END_TEST

static int16_t copy(struct domain *d, struct gnttab_copy *op)
{
    simtime_t cost = 0;
    memcpy(scratch(d), op, sizeof(*op));
    ck_assert_int_eq(gnttab_op(d->vcpus[0], GNTTABOP_copy, SCRATCH, 1, 0, &cost), 0);
    memcpy(op, scratch(d), sizeof(*op));
    ck_assert_uint_gt(cost, 0);
    return op->status;
}

START_TEST(grant_copy)
{
    uint8_t *src = guest_ram(A, PAGE_A_GPFN << 12, 4096);
    memset(src, 0xab, 4096);
    grant(A, 9, B->domid, PAGE_A_GPFN, GTF_readonly);
    struct gnttab_copy op = {.flags = GNTCOPY_source_gref, .len = 100};
    op.source.u.ref = 9;
    op.source.domid = A->domid;
    op.source.offset = 10;
    op.dest.u.gmfn = 0x30;
    op.dest.domid = DOMID_SELF;
    op.dest.offset = 20;
    ck_assert_int_eq(copy(B, &op), GNTST_okay);
    uint8_t *dst = guest_ram(B, (0x30 << 12) + 20, 100);
    for (int i = 0; i < 100; i++)
        ck_assert_uint_eq(dst[i], 0xab);
    op.source.offset = 4000; /* 4000 + 100 > 4096 */
    ck_assert_int_eq(copy(B, &op), GNTST_bad_copy_arg);
    /* a read-only grant cannot be a copy destination */
    struct gnttab_copy w = {.flags = GNTCOPY_dest_gref, .len = 8};
    w.source.u.gmfn = 0x30;
    w.source.domid = DOMID_SELF;
    w.dest.u.ref = 9;
    w.dest.domid = A->domid;
    ck_assert_int_eq(copy(B, &w), GNTST_general_error);
    /* local frame beyond RAM */
    op.source.offset = 0;
    op.dest.u.gmfn = 1u << 30;
    ck_assert_int_eq(copy(B, &op), GNTST_bad_page);
}
END_TEST

START_TEST(grant_table_size)
{
    struct gnttab_query_size q = {.dom = DOMID_SELF};
    simtime_t cost = 0;
    memcpy(scratch(A), &q, sizeof(q));
    ck_assert_int_eq(gnttab_op(A->vcpus[0], GNTTABOP_query_size, SCRATCH, 1, 0, &cost), 0);
    memcpy(&q, scratch(A), sizeof(q));
    ck_assert_int_eq(q.status, GNTST_okay);
    ck_assert_uint_eq(q.nr_frames, 1);
    ck_assert_uint_eq(q.max_nr_frames, GNT_MAX_FRAMES);
    /* ref 600 is outside one frame (512 entries) until the table grows */
    grant(A, 600, B->domid, PAGE_A_GPFN, 0);
    ck_assert_int_eq(map(B, A->domid, 600, WIN(2), GNTMAP_host_map, NULL), GNTST_bad_gntref);
    ck_assert_int_eq(gnttab_map_frame_gpfn(A, 1, A->nr_pages + 10), 0);
    grant_handle_t h;
    ck_assert_int_eq(map(B, A->domid, 600, WIN(2), GNTMAP_host_map, &h), GNTST_okay);
    ck_assert_int_eq(unmap(B, WIN(2), h), GNTST_okay);
}
END_TEST

/* A store through a read-only grant mapping faults the guest (as Xen's R/O PTE would). */
START_TEST(write_through_readonly_grant_faults)
{
    grant(A, 11, B->domid, PAGE_A_GPFN, GTF_readonly);
    grant_handle_t h;
    ck_assert_int_eq(map(B, A->domid, 11, WIN(3), GNTMAP_host_map | GNTMAP_readonly, &h),
                     GNTST_okay);
    /* movabs $WIN(3),%rbx; movb $1,(%rbx); hlt */
    uint8_t code[] = {0x48, 0xbb, 0, 0, 0, 0, 0, 0, 0, 0, 0xc6, 0x03, 0x01, 0xf4};
    uint64_t win = WIN(3);
    memcpy(code + 2, &win, 8);
    memcpy(guest_ram(B, 0x20000, sizeof(code)), code, sizeof(code));
    domain_set_exec(B, 0x20000, sizeof(code));
    struct vcpu *v = B->vcpus[0];
    vcpu_set_reg(v, UC_X86_REG_RIP, 0x20000);
    vcpu_run_slice(v, 1000000);
    ck_assert_int_eq(v->trap, TRAP_FAULT);
    ck_assert_msg(strstr(v->fault, "write to read-only page") != NULL, "%s", v->fault);
    ck_assert_uint_eq(
        guest_ram(A, PAGE_A_GPFN << 12, 1) ? *(uint8_t *)guest_ram(A, PAGE_A_GPFN << 12, 1) : 0xff,
        0);
    /* reading it is fine */
    v->trap = TRAP_NONE;
    char c;
    ck_assert_int_eq(vcpu_read(v, WIN(3), &c, 1), 0);
    ck_assert_int_eq(unmap(B, WIN(3), h), GNTST_okay);
}
END_TEST

/*
 * Run B's code: movabs $addr,%rbx; mov (%rbx),%al (or mov %al,(%rbx)); hlt.
 * Loads and stores live on pages of their own: translated code is not
 * invalidated when the host rewrites guest RAM.
 */
static struct vcpu *run_access(uint64_t addr, bool store)
{
    uint8_t code[] = {0x48, 0xbb, 0, 0, 0, 0, 0, 0, 0, 0, store ? 0x88 : 0x8a, 0x03, 0xf4};
    uint64_t at = store ? 0x21000 : 0x22000;
    memcpy(code + 2, &addr, 8);
    memcpy(guest_ram(B, at, sizeof(code)), code, sizeof(code));
    domain_set_exec(B, at, sizeof(code));
    struct vcpu *v = B->vcpus[0];
    vcpu_set_reg(v, UC_X86_REG_RIP, at);
    vcpu_run_slice(v, 1000000);
    return v;
}

/*
 * A grant-window slot with nothing mapped faults the guest: never mapped,
 * and again after an unmap even though an access had just filled the
 * engine's TLB for it (the unmap must not leave a stale translation).
 */
START_TEST(unmapped_grant_slot_faults)
{
    struct vcpu *v = run_access(WIN(5), false);
    ck_assert_int_eq(v->trap, TRAP_FAULT);
    ck_assert_msg(strstr(v->fault, "read of unmapped grant slot") != NULL, "%s", v->fault);
    uint8_t *page = guest_ram(A, PAGE_A_GPFN << 12, 4096);
    page[0] = 0x5a;
    grant(A, 12, B->domid, PAGE_A_GPFN, 0);
    grant_handle_t h;
    ck_assert_int_eq(map(B, A->domid, 12, WIN(5), GNTMAP_host_map, &h), GNTST_okay);
    v = run_access(WIN(5), false);
    ck_assert_int_eq(v->trap, TRAP_HALT);
    ck_assert_uint_eq(vcpu_reg(v, UC_X86_REG_RAX) & 0xff, 0x5a);
    vcpu_set_reg(v, UC_X86_REG_RAX, 0xa5);
    v = run_access(WIN(5), true); /* writable: the store reaches A's page */
    ck_assert_int_eq(v->trap, TRAP_HALT);
    ck_assert_uint_eq(page[0], 0xa5);
    ck_assert_int_eq(unmap(B, WIN(5), h), GNTST_okay);
    v = run_access(WIN(5), true);
    ck_assert_int_eq(v->trap, TRAP_FAULT);
    ck_assert_msg(strstr(v->fault, "write to unmapped grant slot") != NULL, "%s", v->fault);
    v = run_access(WIN(5), false);
    ck_assert_int_eq(v->trap, TRAP_FAULT);
}
END_TEST

/* Run B's code that loads a byte from the address held at 0x32000 (one translation for any
 * address): mov 0x32000,%rbx; mov (%rbx),%al; hlt. */
static struct vcpu *run_load_via(uint64_t addr)
{
    static const uint8_t code[] = {0x48, 0x8b, 0x1c, 0x25, 0x00, 0x20,
                                   0x03, 0x00, 0x8a, 0x03, 0xf4};
    memcpy(guest_ram(B, 0x23000, sizeof(code)), code, sizeof(code));
    domain_set_exec(B, 0x23000, sizeof(code));
    memcpy(guest_ram(B, 0x32000, 8), &addr, 8);
    struct vcpu *v = B->vcpus[0];
    vcpu_set_reg(v, UC_X86_REG_RIP, 0x23000);
    vcpu_run_slice(v, 1000000);
    return v;
}

/*
 * An unmap leaves the host page as it was and flushes the engines only when
 * one of them has touched the slot (sim/xen/domain.c): the slot still faults
 * after an unmap that flushed nothing, after many touched slots overflowed
 * the list of them, and a map of another frame into the slot shows that
 * frame, not the one the host page held before.
 */
START_TEST(grant_slot_reuse)
{
    uint8_t *p0 = guest_ram(A, PAGE_A_GPFN << 12, 4096);
    uint8_t *p1 = guest_ram(A, (PAGE_A_GPFN + 1) << 12, 4096);
    p0[0] = 0x11;
    p1[0] = 0x22;
    grant(A, 20, B->domid, PAGE_A_GPFN, 0);
    grant(A, 21, B->domid, PAGE_A_GPFN + 1, 0);
    grant_handle_t h;
    /* mapped and unmapped untouched: no flush, and the slot faults */
    ck_assert_int_eq(map(B, A->domid, 20, WIN(6), GNTMAP_host_map, &h), GNTST_okay);
    ck_assert_int_eq(unmap(B, WIN(6), h), GNTST_okay);
    struct vcpu *v = run_access(WIN(6), false);
    ck_assert_int_eq(v->trap, TRAP_FAULT);
    ck_assert_msg(strstr(v->fault, "read of unmapped grant slot") != NULL, "%s", v->fault);
    /* the same frame again: read through the kept host page */
    ck_assert_int_eq(map(B, A->domid, 20, WIN(6), GNTMAP_host_map, &h), GNTST_okay);
    v = run_access(WIN(6), false);
    ck_assert_int_eq(v->trap, TRAP_HALT);
    ck_assert_uint_eq(vcpu_reg(v, UC_X86_REG_RAX) & 0xff, 0x11);
    ck_assert_int_eq(unmap(B, WIN(6), h), GNTST_okay);
    /* another frame in the slot: the engine sees it, not the old one */
    ck_assert_int_eq(map(B, A->domid, 21, WIN(6), GNTMAP_host_map, &h), GNTST_okay);
    v = run_access(WIN(6), false);
    ck_assert_int_eq(v->trap, TRAP_HALT);
    ck_assert_uint_eq(vcpu_reg(v, UC_X86_REG_RAX) & 0xff, 0x22);
    ck_assert_int_eq(unmap(B, WIN(6), h), GNTST_okay);
    v = run_access(WIN(6), false);
    ck_assert_int_eq(v->trap, TRAP_FAULT);
    /* more touched slots than the list of them holds: every one faults after its unmap */
    enum { N = GNT_TLB_LIST + 8 };
    grant_handle_t hs[N];
    for (int i = 0; i < N; i++) {
        ck_assert_int_eq(map(B, A->domid, 20, WIN(100 + i), GNTMAP_host_map, &hs[i]), GNTST_okay);
        v = run_load_via(WIN(100 + i));
        ck_assert_msg(v->trap == TRAP_HALT, "slot %d: %s", i, v->fault);
    }
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(unmap(B, WIN(100 + i), hs[i]), GNTST_okay);
    for (int i = 0; i < N; i += 7) {
        v = run_load_via(WIN(100 + i));
        ck_assert_msg(v->trap == TRAP_FAULT, "slot %d", i);
    }
    /* the engines' alias of machine memory (the slots' backing, vcpu.c) is no guest address:
     * A's granted frame is machine frame p2m[PAGE_A_GPFN] there */
    v = run_load_via((1ull << 48) + (A->p2m[PAGE_A_GPFN] << 12));
    ck_assert_int_eq(v->trap, TRAP_FAULT);
    ck_assert_msg(strstr(v->fault, "read of unmapped address") != NULL, "%s", v->fault);
    v = run_load_via(1ull << 48);
    ck_assert_int_eq(v->trap, TRAP_FAULT);
}
END_TEST

/* Only the image's code pages are executable: a jump into data faults the guest. */
START_TEST(fetch_from_data_page_faults)
{
    /* jmp *%rbx to a data page holding a valid instruction (hlt) */
    uint8_t code[] = {0x48, 0xbb, 0x00, 0x10, 0x03, 0, 0, 0, 0, 0, 0xff, 0xe3};
    memcpy(guest_ram(B, 0x20000, sizeof(code)), code, sizeof(code));
    domain_set_exec(B, 0x20000, sizeof(code));
    *(uint8_t *)guest_ram(B, 0x31000, 1) = 0xf4;
    struct vcpu *v = B->vcpus[0];
    vcpu_set_reg(v, UC_X86_REG_RIP, 0x20000);
    vcpu_run_slice(v, 1000000);
    ck_assert_int_eq(v->trap, TRAP_FAULT);
    ck_assert_msg(strstr(v->fault, "fetch from non-executable page 0x31000") != NULL, "%s",
                  v->fault);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hypervisor");
    TCase *ev_tc = tcase_create("evtchn");
    tcase_add_checked_fixture(ev_tc, setup, teardown);
    tcase_add_test(ev_tc, evtchn_bind_send_status);
    tcase_add_test(ev_tc, evtchn_errors);
    tcase_add_test(ev_tc, evtchn_close_and_mask);
    tcase_add_test(ev_tc, evtchn_ipi);
    suite_add_tcase(s, ev_tc);
    TCase *gt_tc = tcase_create("gnttab");
    tcase_add_checked_fixture(gt_tc, setup, teardown);
    tcase_add_test(gt_tc, grant_map_shares_and_unmap_removes);
    tcase_add_test(gt_tc, grant_map_errors);
    tcase_add_test(gt_tc, grant_copy);
    tcase_add_test(gt_tc, grant_table_size);
    tcase_add_test(gt_tc, write_through_readonly_grant_faults);
    tcase_add_test(gt_tc, unmapped_grant_slot_faults);
    tcase_add_test(gt_tc, grant_slot_reuse);
    tcase_add_test(gt_tc, fetch_from_data_page_faults);
    suite_add_tcase(s, gt_tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
