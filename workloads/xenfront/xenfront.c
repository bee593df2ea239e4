/*
 * xenfront: a block frontend written only from Xen's public headers
 * (xen/xen.h, xen/features.h, xen/grant_table.h, xen/event_channel.h,
 * xen/io/xs_wire.h, xen/io/xenbus.h, xen/io/blkif.h, xen/io/ring.h) --
 * none of hopsim's guest runtime. Its own hypercall wrappers call the
 * hypercall page, its own xenstore client speaks the wire protocol over the
 * store ring, and it writes grant entries as grant_table.h lays them out.
 *
 * It does what any classic PV frontend does: asks XENVER_get_features which
 * memory model applies (and translates pfns through start_info.mfn_list
 * unless auto_translated_physmap is set), maps its grant table, connects
 * to the vbd the toolstack gave it by the xenbus handshake (InitWait ->
 * ring-ref, event-channel, protocol, Initialised -> Connected), writes
 * sectors with a pattern, reads them back and compares, checks that the
 * backend refuses a request beyond the disk and a bad grant, and closes.
 *
 * The only hopsim-specific thing is how results are reported: each check is
 * a test mark on the simulator's trace port (include/hopsim/abi.h), as
 * every guest-side test reports.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* x86-64 is TSO: only a store-load ordering needs a fence (as Linux's smp_mb). */
#define xen_mb() __asm__ __volatile__("mfence" ::: "memory")
#define xen_rmb() __asm__ __volatile__("" ::: "memory")
#define xen_wmb() __asm__ __volatile__("" ::: "memory")

#include <xen/xen.h>
#include <xen/event_channel.h>
#include <xen/features.h>
#include <xen/grant_table.h>
#include <xen/memory.h>
#include <xen/sched.h>
#include <xen/version.h>
#include <xen/io/blkif.h>
#include <xen/io/protocols.h>
#include <xen/io/ring.h>
#include <xen/io/xenbus.h>
#include <xen/io/xs_wire.h>

#include <hopsim/abi.h>

#define PAGE_SIZE 4096ul
#define PAGE_SHIFT 12
#define NDATA 8 /* data pages */

/* ---- freestanding basics (the compiler may call these) ---- */

void *memset(void *d, int c, size_t n)
{
    unsigned char *p = d;
    while (n--)
        *p++ = (unsigned char)c;
    return d;
}

void *memcpy(void *d, const void *s, size_t n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--)
        *p++ = *q++;
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *p = a, *q = b;
    for (; n; n--, p++, q++)
        if (*p != *q)
            return *p < *q ? -1 : 1;
    return 0;
}

static size_t slen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

static int seq(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return *a == *b;
}

static long to_long(const char *s)
{
    long v = 0;
    int neg = *s == '-';
    for (s += neg; *s >= '0' && *s <= '9'; s++)
        v = v * 10 + (*s - '0');
    return neg ? -v : v;
}

/* ---- hypercalls: the stub for call nr is at hypercall_page + nr * 32 ---- */

extern char hypercall_page[4096];

static long hcall(unsigned nr, unsigned long a1, unsigned long a2, unsigned long a3)
{
    register unsigned long rdi __asm__("rdi") = a1;
    register unsigned long rsi __asm__("rsi") = a2;
    register unsigned long rdx __asm__("rdx") = a3;
    void *stub = hypercall_page + nr * 32;
    long ret;
    __asm__ __volatile__("call *%[stub]"
                         : "=a"(ret), "+r"(rdi), "+r"(rsi), "+r"(rdx)
                         : [stub] "r"(stub)
                         : "rcx", "r8", "r9", "r10", "r11", "memory", "cc");
    return ret;
}

static void console(const char *s, size_t n)
{
    hcall(__HYPERVISOR_console_io, CONSOLEIO_write, n, (unsigned long)s);
}

static long evtchn_op(int cmd, void *arg)
{
    return hcall(__HYPERVISOR_event_channel_op, (unsigned long)cmd, (unsigned long)arg, 0);
}

static long gnttab_op(int cmd, void *arg, unsigned count)
{
    return hcall(__HYPERVISOR_grant_table_op, (unsigned long)cmd, (unsigned long)arg, count);
}

static void notify(evtchn_port_t port)
{
    struct evtchn_send s = {.port = port};
    evtchn_op(EVTCHNOP_send, &s);
}

/* ---- console formatting: %s %d %ld %u %lu %x %lx ---- */

static char line_buf[256];
static size_t line_len;

static void put(char c)
{
    if (line_len < sizeof(line_buf))
        line_buf[line_len++] = c;
    if (c == '\n' || line_len == sizeof(line_buf)) {
        console(line_buf, line_len);
        line_len = 0;
    }
}

static void put_num(unsigned long v, unsigned base, int neg)
{
    char d[24];
    int n = 0;
    do {
        d[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    if (neg)
        put('-');
    while (n)
        put(d[--n]);
}

static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (; *fmt; fmt++) {
        if (*fmt != '%') {
            put(*fmt);
            continue;
        }
        int lng = fmt[1] == 'l';
        fmt += 1 + lng;
        switch (*fmt) {
        case 's':
            for (const char *s = va_arg(ap, const char *); *s; s++)
                put(*s);
            break;
        case 'd': {
            long v = lng ? va_arg(ap, long) : va_arg(ap, int);
            put_num(v < 0 ? -(unsigned long)v : (unsigned long)v, 10, v < 0);
            break;
        }
        case 'u':
        case 'x':
            put_num(lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), *fmt == 'u' ? 10 : 16,
                    0);
            break;
        default:
            put('%');
            put(*fmt);
        }
    }
    va_end(ap);
}

static int fmt_num(char *buf, unsigned long v)
{
    char d[24];
    int n = 0, k = 0;
    do {
        d[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        buf[k++] = d[--n];
    buf[k] = 0;
    return k;
}

/* ---- test reports through the simulator's trace port ---- */

static unsigned passed, failed;

static int check_(int ok, int line, const char *what)
{
    __asm__ __volatile__("outl %%eax, %[port]"
                         :
                         : "a"(HOPSIM_MARK(HOPSIM_OP_TEST, 0, 0)), "D"((uint64_t)line),
                           "S"((uint64_t)ok), [port] "N"(HOPSIM_TRACE_PORT)
                         : "memory");
    if (ok)
        passed++;
    else {
        failed++;
        say("xenfront: FAILED line %d: %s\n", line, what);
    }
    return ok;
}
#define CHECK(c) check_((c) ? 1 : 0, __LINE__, #c)

static void shutdown(unsigned reason)
{
    struct sched_shutdown s = {.reason = reason};
    hcall(__HYPERVISOR_sched_op, SCHEDOP_shutdown, (unsigned long)&s, 0);
    for (;;)
        ;
}

static void die(const char *why)
{
    say("xenfront: %s (%u checks passed, %u failed)\n", why, passed, failed);
    shutdown(SHUTDOWN_crash);
}

/* ---- memory model and events ---- */

static start_info_t *si;
static shared_info_t *shinfo;
static int auto_xlat;

/* The frame number the hypervisor expects for our pfn (grant entries, ...). */
static unsigned long pfn_to_gfn(unsigned long pfn)
{
    return auto_xlat ? pfn : ((const unsigned long *)si->mfn_list)[pfn];
}

static unsigned long virt_to_gfn(const void *p)
{
    return pfn_to_gfn((unsigned long)p >> PAGE_SHIFT);
}

static void clear_pending(evtchn_port_t port)
{
    __atomic_and_fetch(&shinfo->evtchn_pending[port / 64], ~(1ul << (port % 64)), __ATOMIC_SEQ_CST);
}

/* SCHEDOP_poll: sleep until port is pending (events stay masked: no upcalls). */
static void poll_port(evtchn_port_t port)
{
    struct sched_poll p = {.nr_ports = 1, .timeout = 0};
    set_xen_guest_handle(p.ports, &port);
    hcall(__HYPERVISOR_sched_op, SCHEDOP_poll, (unsigned long)&p, 0);
}

#define WAIT_PORT(port, cond)                                                                      \
    do {                                                                                           \
        for (;;) {                                                                                 \
            clear_pending(port);                                                                   \
            xen_mb();                                                                              \
            if (cond)                                                                              \
                break;                                                                             \
            poll_port(port);                                                                       \
        }                                                                                          \
    } while (0)

/* ---- xenstore client over the store ring (xs_wire.h) ---- */

static struct xenstore_domain_interface *store;
static evtchn_port_t store_port;
static uint32_t next_req = 1;

static void store_write(const void *data, uint32_t len)
{
    const char *p = data;
    while (len) {
        XENSTORE_RING_IDX cons = store->req_cons, prod = store->req_prod;
        xen_mb();
        uint32_t space = XENSTORE_RING_SIZE - (prod - cons);
        if (!space) {
            notify(store_port);
            WAIT_PORT(store_port, store->req_prod - store->req_cons < XENSTORE_RING_SIZE);
            continue;
        }
        uint32_t off = MASK_XENSTORE_IDX(prod), n = len;
        if (n > space)
            n = space;
        if (n > XENSTORE_RING_SIZE - off)
            n = XENSTORE_RING_SIZE - off;
        memcpy(store->req + off, p, n);
        xen_wmb();
        store->req_prod = prod + n;
        p += n;
        len -= n;
    }
}

static void store_read(void *data, uint32_t len)
{
    char *p = data;
    while (len) {
        WAIT_PORT(store_port, store->rsp_prod != store->rsp_cons);
        XENSTORE_RING_IDX cons = store->rsp_cons, prod = store->rsp_prod;
        xen_rmb();
        uint32_t off = MASK_XENSTORE_IDX(cons), n = prod - cons;
        if (n > len)
            n = len;
        if (n > XENSTORE_RING_SIZE - off)
            n = XENSTORE_RING_SIZE - off;
        memcpy(p, store->rsp + off, n);
        xen_mb();
        store->rsp_cons = cons + n;
        notify(store_port); /* the store may wait for room */
        p += n;
        len -= n;
    }
}

static char reply[XENSTORE_PAYLOAD_MAX + 1];
static unsigned watch_events;

/* One request: 0 and the reply in reply[] (NUL-terminated), or -1 and the error name there. */
static int xs_rpc(uint32_t type, uint32_t tx, const char *a, uint32_t alen, const char *b,
                  uint32_t blen)
{
    struct xsd_sockmsg h = {.type = type, .req_id = next_req++, .tx_id = tx, .len = alen + blen};
    store_write(&h, sizeof(h));
    store_write(a, alen);
    if (blen)
        store_write(b, blen);
    notify(store_port);
    for (;;) {
        struct xsd_sockmsg r;
        store_read(&r, sizeof(r));
        if (r.len > XENSTORE_PAYLOAD_MAX)
            die("xenstore reply longer than XENSTORE_PAYLOAD_MAX");
        store_read(reply, r.len);
        reply[r.len] = 0;
        if (r.type == XS_WATCH_EVENT) {
            watch_events++;
            continue;
        }
        if (r.req_id != h.req_id)
            continue;
        return r.type == XS_ERROR ? -1 : (int)r.len;
    }
}

static int xs_read(uint32_t tx, const char *path, char *out, size_t outlen)
{
    int n = xs_rpc(XS_READ, tx, path, (uint32_t)slen(path) + 1, 0, 0);
    if (n < 0)
        return -1;
    size_t k = (size_t)n < outlen - 1 ? (size_t)n : outlen - 1;
    memcpy(out, reply, k);
    out[k] = 0;
    return n;
}

static int xs_write(uint32_t tx, const char *path, const char *val)
{
    return xs_rpc(XS_WRITE, tx, path, (uint32_t)slen(path) + 1, val, (uint32_t)slen(val)) < 0 ? -1
                                                                                              : 0;
}

static void path_cat(char *dst, size_t n, const char *a, const char *b)
{
    size_t k = 0;
    for (; *a && k + 1 < n; a++)
        dst[k++] = *a;
    if (k + 1 < n)
        dst[k++] = '/';
    for (; *b && k + 1 < n; b++)
        dst[k++] = *b;
    dst[k] = 0;
}

static long xs_read_long(const char *dir, const char *key, long def)
{
    char path[256], val[32];
    path_cat(path, sizeof(path), dir, key);
    return xs_read(0, path, val, sizeof(val)) < 0 ? def : to_long(val);
}

/* Wait until dir/state reaches at least want (a watch wakes us); the state seen. */
static long wait_state(const char *dir, long want)
{
    char path[256];
    path_cat(path, sizeof(path), dir, "state");
    xs_rpc(XS_WATCH, 0, path, (uint32_t)slen(path) + 1, "st", 3);
    long st;
    while ((st = xs_read_long(dir, "state", -1)) < want) {
        unsigned seen = watch_events;
        /* the next message on the ring is the watch event */
        while (watch_events == seen) {
            struct xsd_sockmsg r;
            store_read(&r, sizeof(r));
            if (r.len > XENSTORE_PAYLOAD_MAX)
                die("xenstore message longer than XENSTORE_PAYLOAD_MAX");
            store_read(reply, r.len);
            watch_events += r.type == XS_WATCH_EVENT;
        }
    }
    xs_rpc(XS_UNWATCH, 0, path, (uint32_t)slen(path) + 1, "st", 3);
    return st;
}

/* ---- grant table (grant_table.h, v1 entries) ---- */

static grant_entry_v1_t *gnt;
static grant_ref_t next_ref = GNTTAB_NR_RESERVED_ENTRIES;

static void gnttab_setup(void)
{
    struct gnttab_query_size q = {.dom = DOMID_SELF};
    CHECK(gnttab_op(GNTTABOP_query_size, &q, 1) == 0 && q.status == GNTST_okay);
    CHECK(q.max_nr_frames >= 1);
    xen_pfn_t frame = 0;
    struct gnttab_setup_table st = {.dom = DOMID_SELF, .nr_frames = 1};
    set_xen_guest_handle(st.frame_list, &frame);
    CHECK(gnttab_op(GNTTABOP_setup_table, &st, 1) == 0 && st.status == GNTST_okay);
    /* auto-translated: place the frame in our physmap, above RAM, where
       XENMAPSPACE_grant_table puts it (as PVH Linux does) */
    unsigned long gpfn = si->nr_pages + 1;
    struct xen_add_to_physmap xatp = {
        .domid = DOMID_SELF, .space = XENMAPSPACE_grant_table, .idx = 0, .gpfn = gpfn};
    long rc = hcall(__HYPERVISOR_memory_op, XENMEM_add_to_physmap, (unsigned long)&xatp, 0);
    if (!CHECK(rc == 0))
        die("cannot map the grant table");
    gnt = (grant_entry_v1_t *)(gpfn << PAGE_SHIFT);
    /* setup_table names the frame where it now sits (a gfn, never an mfn) */
    CHECK(gnttab_op(GNTTABOP_setup_table, &st, 1) == 0 && frame == gpfn);
}

static grant_ref_t grant(domid_t to, const void *page, int readonly)
{
    grant_ref_t ref = next_ref++;
    gnt[ref].frame = (uint32_t)virt_to_gfn(page);
    gnt[ref].domid = to;
    xen_wmb(); /* the frame and domid before the flags that validate them */
    gnt[ref].flags = GTF_permit_access | (readonly ? GTF_readonly : 0);
    return ref;
}

/* gnttab_end_foreign_access_ref: fails while the backend still has it mapped. */
static int end_grant(grant_ref_t ref)
{
    uint16_t flags = gnt[ref].flags;
    do {
        if (flags & (GTF_reading | GTF_writing))
            return 0;
    } while (!__atomic_compare_exchange_n(&gnt[ref].flags, &flags, 0, 0, __ATOMIC_SEQ_CST,
                                          __ATOMIC_SEQ_CST));
    return 1;
}

/* ---- the block device ---- */

static char ring_page[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static char data[NDATA][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static char back[NDATA][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static blkif_front_ring_t ring;
static evtchn_port_t port;
static domid_t be_id;
static char fe_dir[64], be_dir[128];
static uint64_t sectors;

static void fill(char *p, uint64_t sector, unsigned nsect)
{
    for (unsigned s = 0; s < nsect; s++)
        for (unsigned i = 0; i < 512; i += 8) {
            uint64_t v = (sector + s) * 0x9E3779B97F4A7C15ull ^ i ^ 0x78656e66726f6e74ull;
            memcpy(p + s * 512 + i, &v, 8);
        }
}

/* Issue one request and wait for its response: the response status. */
static int16_t do_request(uint8_t op, uint64_t sector, const grant_ref_t *refs, unsigned nseg,
                          uint8_t first, uint8_t last, uint64_t id)
{
    blkif_request_t *rq = RING_GET_REQUEST(&ring, ring.req_prod_pvt);
    rq->operation = op;
    rq->nr_segments = (uint8_t)nseg;
    rq->handle = 0;
    rq->id = id;
    rq->sector_number = sector;
    for (unsigned i = 0; i < nseg; i++) {
        rq->seg[i].gref = refs[i];
        rq->seg[i].first_sect = first;
        rq->seg[i].last_sect = last;
    }
    ring.req_prod_pvt++;
    int kick;
    RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&ring, kick);
    if (kick)
        notify(port);
    int more;
    for (;;) {
        WAIT_PORT(port, RING_HAS_UNCONSUMED_RESPONSES(&ring));
        blkif_response_t *r = RING_GET_RESPONSE(&ring, ring.rsp_cons);
        ring.rsp_cons++;
        RING_FINAL_CHECK_FOR_RESPONSES(&ring, more);
        (void)more;
        if (r->id == id)
            return r->status;
        say("xenfront: response for unknown id %lu\n", (unsigned long)r->id);
        failed++;
    }
}

static void connect(void)
{
    char val[64];
    /* our vbd: the first entry under device/vbd (relative to our home) */
    int n = xs_rpc(XS_DIRECTORY, 0, "device/vbd", sizeof("device/vbd"), 0, 0);
    if (!CHECK(n > 0))
        die("no vbd in xenstore");
    path_cat(fe_dir, sizeof(fe_dir), "device/vbd", reply);
    char path[192];
    path_cat(path, sizeof(path), fe_dir, "backend");
    if (!CHECK(xs_read(0, path, be_dir, sizeof(be_dir)) > 0))
        die("no backend path");
    be_id = (domid_t)xs_read_long(fe_dir, "backend-id", -1);
    say("xenfront: %s -> %s (backend domain %u)\n", fe_dir, be_dir, (unsigned)be_id);
    long st = wait_state(be_dir, XenbusStateInitWait);
    CHECK(st == XenbusStateInitWait);

    blkif_sring_t *sring = (blkif_sring_t *)ring_page;
    SHARED_RING_INIT(sring);
    FRONT_RING_INIT(&ring, sring, PAGE_SIZE);
    grant_ref_t ring_ref = grant(be_id, sring, 0);
    struct evtchn_alloc_unbound au = {.dom = DOMID_SELF, .remote_dom = be_id};
    if (!CHECK(evtchn_op(EVTCHNOP_alloc_unbound, &au) == 0))
        die("no event channel");
    port = au.port;

    /* publish in one transaction, retrying on EAGAIN as xenbus drivers do */
    for (int tries = 0;; tries++) {
        if (!CHECK(tries < 10) || xs_rpc(XS_TRANSACTION_START, 0, "", 1, 0, 0) < 0)
            die("transaction start failed");
        uint32_t tx = (uint32_t)to_long(reply);
        int err = 0;
        fmt_num(val, ring_ref);
        path_cat(path, sizeof(path), fe_dir, "ring-ref");
        err |= xs_write(tx, path, val);
        fmt_num(val, port);
        path_cat(path, sizeof(path), fe_dir, "event-channel");
        err |= xs_write(tx, path, val);
        path_cat(path, sizeof(path), fe_dir, "protocol");
        err |= xs_write(tx, path, XEN_IO_PROTO_ABI_X86_64);
        fmt_num(val, XenbusStateInitialised);
        path_cat(path, sizeof(path), fe_dir, "state");
        err |= xs_write(tx, path, val);
        int end = xs_rpc(XS_TRANSACTION_END, tx, err ? "F" : "T", 2, 0, 0);
        if (!err && end >= 0)
            break;
        if (err || !seq(reply, "EAGAIN"))
            die("publishing the ring failed");
    }
    st = wait_state(be_dir, XenbusStateConnected);
    if (!CHECK(st == XenbusStateConnected))
        die("backend did not connect");
    sectors = (uint64_t)xs_read_long(be_dir, "sectors", 0);
    long ssize = xs_read_long(be_dir, "sector-size", 0);
    CHECK(sectors >= 64 && (ssize == 512 || ssize == 4096));
    path_cat(path, sizeof(path), fe_dir, "state");
    fmt_num(val, XenbusStateConnected);
    CHECK(xs_write(0, path, val) == 0);
    say("xenfront: connected: %lu sectors of %ld bytes, ring-ref %u, port %u\n",
        (unsigned long)sectors, ssize, ring_ref, port);
}

static void io_tests(void)
{
    grant_ref_t refs[NDATA];
    uint64_t base = sectors / 2; /* away from the start */
    /* one write of NDATA pages (one segment each), then read back into other pages */
    for (unsigned i = 0; i < NDATA; i++) {
        fill(data[i], base + i * 8, 8);
        refs[i] = grant(be_id, data[i], 1); /* the device only reads a WRITE's pages */
    }
    CHECK(do_request(BLKIF_OP_WRITE, base, refs, NDATA, 0, 7, 1) == BLKIF_RSP_OKAY);
    for (unsigned i = 0; i < NDATA; i++)
        CHECK(end_grant(refs[i]));
    for (unsigned i = 0; i < NDATA; i++) {
        memset(back[i], 0, PAGE_SIZE);
        refs[i] = grant(be_id, back[i], 0);
    }
    CHECK(do_request(BLKIF_OP_READ, base, refs, NDATA, 0, 7, 2) == BLKIF_RSP_OKAY);
    for (unsigned i = 0; i < NDATA; i++) {
        CHECK(end_grant(refs[i]));
        CHECK(memcmp(back[i], data[i], PAGE_SIZE) == 0);
    }
    /* a partial segment: sectors 2..5 of one page, read back sector by sector */
    fill(data[0], base + 100, 8);
    refs[0] = grant(be_id, data[0], 1);
    CHECK(do_request(BLKIF_OP_WRITE, base + 100, refs, 1, 2, 5, 3) == BLKIF_RSP_OKAY);
    CHECK(end_grant(refs[0]));
    memset(back[0], 0, PAGE_SIZE);
    refs[0] = grant(be_id, back[0], 0);
    CHECK(do_request(BLKIF_OP_READ, base + 100, refs, 1, 2, 5, 4) == BLKIF_RSP_OKAY);
    CHECK(end_grant(refs[0]));
    /* the data went to sectors base+100.. from page offset 2*512 */
    CHECK(memcmp(back[0] + 1024, data[0] + 1024, 4 * 512) == 0);
    /* the backend refuses what a careless frontend might send */
    refs[0] = grant(be_id, back[0], 0);
    CHECK(do_request(BLKIF_OP_READ, sectors, refs, 1, 0, 7, 5) == BLKIF_RSP_ERROR);
    CHECK(end_grant(refs[0]));
    grant_ref_t bad = next_ref + 100; /* never granted */
    CHECK(do_request(BLKIF_OP_READ, base, &bad, 1, 0, 7, 6) == BLKIF_RSP_ERROR);
    CHECK(do_request(BLKIF_OP_WRITE, base, refs, 1, 7, 0, 7) == BLKIF_RSP_ERROR);
    /* and after all that it still serves */
    refs[0] = grant(be_id, back[1], 0);
    CHECK(do_request(BLKIF_OP_READ, base, refs, 1, 0, 7, 8) == BLKIF_RSP_OKAY);
    CHECK(end_grant(refs[0]));
    fill(data[1], base, 8);
    CHECK(memcmp(back[1], data[1], PAGE_SIZE) == 0);
}

static void disconnect(void)
{
    char path[192], val[8];
    path_cat(path, sizeof(path), fe_dir, "state");
    fmt_num(val, XenbusStateClosing);
    CHECK(xs_write(0, path, val) == 0);
    CHECK(wait_state(be_dir, XenbusStateClosing) >= XenbusStateClosing);
    struct evtchn_close c = {.port = port};
    CHECK(evtchn_op(EVTCHNOP_close, &c) == 0);
    CHECK(end_grant(GNTTAB_NR_RESERVED_ENTRIES)); /* the ring: unmapped by now */
    fmt_num(val, XenbusStateClosed);
    CHECK(xs_write(0, path, val) == 0);
}

void xenfront_main(start_info_t *start);

void xenfront_main(start_info_t *start)
{
    si = start;
    if (memcmp(si->magic, "xen-3.0-x86_64", 14) != 0)
        shutdown(SHUTDOWN_crash);
    say("xenfront: %lu pages, store gfn %lu port %u\n", si->nr_pages, si->store_mfn,
        si->store_evtchn);

    xen_feature_info_t fi = {.submap_idx = 0};
    long rc = hcall(__HYPERVISOR_xen_version, XENVER_get_features, (unsigned long)&fi, 0);
    CHECK(rc == 0);
    auto_xlat = rc == 0 && (fi.submap & (1u << XENFEAT_auto_translated_physmap));
    say("xenfront: features %x: %s\n", fi.submap,
        auto_xlat ? "auto-translated physmap" : "PV with machine frames");
    CHECK(auto_xlat);
    /* every frame number we are given must mean the same thing: the p2m list
       agrees with the frames grants take */
    const unsigned long *p2m = (const unsigned long *)si->mfn_list;
    int agree = 1;
    for (unsigned long pfn = 0; p2m && pfn < si->nr_pages; pfn += 97)
        agree &= pfn_to_gfn(pfn) == p2m[pfn];
    CHECK(agree);

    /* auto-translated PV: shared_info is at the guest address start_info gives */
    shinfo = (shared_info_t *)si->shared_info;
    CHECK(si->shared_info >= si->nr_pages << PAGE_SHIFT);
    shinfo->vcpu_info[0].evtchn_upcall_mask = 1;
    for (unsigned i = 0; i < sizeof(shinfo->evtchn_mask) / sizeof(shinfo->evtchn_mask[0]); i++)
        shinfo->evtchn_mask[i] = ~0ul; /* SCHEDOP_poll still wakes on a masked port */

    /* translated: store_mfn is a guest frame, at the same guest address */
    store = (struct xenstore_domain_interface *)(si->store_mfn << PAGE_SHIFT);
    store_port = si->store_evtchn;
    char name[64];
    CHECK(xs_read(0, "name", name, sizeof(name)) > 0);

    gnttab_setup();
    connect();
    io_tests();
    disconnect();
    say("xenfront: %u checks passed, %u failed\n", passed, failed);
    shutdown(failed ? SHUTDOWN_crash : SHUTDOWN_poweroff);
}
