/*
 * Unit tests for the Ethernet link (models/link.c), the peer host
 * (models/peer.c) and the pcap writer (models/pcap.c).
 *
 * Timing is checked in exact picoseconds: a 64-byte frame (60 B + FCS)
 * takes 672 ns at 1 GbE and 67.2 ns at 10 GbE including preamble and
 * inter-frame gap. pcap files are written into a mkdtemp directory,
 * parsed back in C and, when tshark is installed, read by tshark.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* mkdtemp, popen */
#endif
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evq.h"
#include "link.h"
#include "pcap.h"
#include "peer.h"
#include "trace.h"

#include <hopsim/netpkt.h>

#define GBE 1000000000ull
#define TEN_GBE 10000000000ull
#define T64_1G (672 * PS_PER_NS)
#define MAXREC 16

struct rec {
    int n;
    simtime_t when[MAXREC];
    size_t len[MAXREC];
    uint8_t data[MAXREC][256];
};

static struct evq q;
static struct rec host;
static char tmpdir[64];
static char err[512];

static void rec_deliver(void *opaque, const uint8_t *frame, size_t len, simtime_t when)
{
    struct rec *r = opaque;
    ck_assert_int_lt(r->n, MAXREC);
    r->when[r->n] = when;
    r->len[r->n] = len;
    memcpy(r->data[r->n], frame, len < 256 ? len : 256);
    r->n++;
}

static struct link_port rec_port(struct rec *r)
{
    return (struct link_port){.opaque = r, .deliver = rec_deliver};
}

static void setup(void)
{
    evq_init(&q);
    memset(&host, 0, sizeof(host));
    err[0] = '\0';
    tmpdir[0] = '\0';
}

static void teardown(void)
{
    evq_fini(&q);
    if (tmpdir[0])
        rmdir(tmpdir);
}

static struct link *mk_link(uint64_t speed, simtime_t prop)
{
    struct link_params p = {.speed_bps = speed, .propagation = prop};
    struct link *l = link_create(&q, NULL, 0, &p);
    ck_assert_ptr_nonnull(l);
    return l;
}

/* An Ethernet frame: dst 02:..:01, src 02:..:02, EtherType 0x88b5, payload i+seed. */
static void mk_frame(uint8_t *f, size_t len, uint8_t seed)
{
    static const uint8_t hdr[14] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, 0x88, 0xb5};
    memcpy(f, hdr, len < 14 ? len : 14);
    for (size_t i = 14; i < len; i++)
        f[i] = (uint8_t)(i + seed);
}

static void run_all(void)
{
    while (evq_step(&q))
        ;
}

START_TEST(wire_time_1g)
{
    struct link *l = mk_link(GBE, 0);
    ck_assert_uint_eq(link_wire_time(l, 60), T64_1G);
    ck_assert_uint_eq(link_wire_time(l, 10), T64_1G); /* padded to 60 */
    ck_assert_uint_eq(link_wire_time(l, 1514), 12304 * PS_PER_NS);
    link_destroy(l);
}
END_TEST

START_TEST(wire_time_10g)
{
    struct link *l = mk_link(TEN_GBE, 0);
    ck_assert_uint_eq(link_wire_time(l, 60), 67200);
    ck_assert_uint_eq(link_wire_time(l, 1514), 1230400);
    link_destroy(l);
}
END_TEST

START_TEST(propagation_delay)
{
    struct link *l = mk_link(GBE, 5 * PS_PER_US);
    link_attach(l, 1, rec_port(&host));
    uint8_t f[60];
    mk_frame(f, sizeof(f), 0);
    simtime_t t0 = 3 * PS_PER_US;
    simtime_t due = link_send(l, 0, f, sizeof(f), t0);
    ck_assert_uint_eq(due, t0 + T64_1G + 5 * PS_PER_US);
    run_all();
    ck_assert_int_eq(host.n, 1);
    ck_assert_uint_eq(host.when[0], due);
    ck_assert_uint_eq(host.len[0], 60);
    ck_assert_mem_eq(host.data[0], f, 60);
    link_destroy(l);
}
END_TEST

START_TEST(back_to_back_serialize)
{
    struct link *l = mk_link(GBE, 1000);
    link_attach(l, 1, rec_port(&host));
    uint8_t f[3][60];
    for (int i = 0; i < 3; i++) {
        mk_frame(f[i], 60, (uint8_t)i);
        link_send(l, 0, f[i], 60, 0);
    }
    ck_assert_uint_eq(link_busy_until(l, 0), 3 * T64_1G);
    run_all();
    ck_assert_int_eq(host.n, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(host.when[i], (simtime_t)(i + 1) * T64_1G + 1000);
        ck_assert_mem_eq(host.data[i], f[i], 60); /* delivery order */
    }
    /* after the wire went idle, a frame starts when sent */
    simtime_t t = 10 * PS_PER_US;
    ck_assert_uint_eq(link_send(l, 0, f[0], 60, t), t + T64_1G + 1000);
    run_all();
    ck_assert_int_eq(host.n, 4);
    link_destroy(l);
}
END_TEST

START_TEST(directions_independent)
{
    struct rec other = {0};
    struct link *l = mk_link(TEN_GBE, 0);
    link_attach(l, 0, rec_port(&other));
    link_attach(l, 1, rec_port(&host));
    uint8_t a[100], b[60];
    mk_frame(a, sizeof(a), 1);
    mk_frame(b, sizeof(b), 2);
    link_send(l, 0, a, sizeof(a), 0);
    link_send(l, 0, a, sizeof(a), 0);
    link_send(l, 1, b, sizeof(b), 0);
    run_all();
    ck_assert_int_eq(host.n, 2);
    ck_assert_int_eq(other.n, 1);
    ck_assert_uint_eq(other.when[0], 67200); /* not behind side 0's frames */
    ck_assert_uint_eq(host.when[1], 2 * link_wire_time(l, 100));
    struct link_stats s0 = link_stats(l, 0), s1 = link_stats(l, 1);
    ck_assert_uint_eq(s0.frames, 2);
    ck_assert_uint_eq(s0.bytes, 200);
    ck_assert_uint_eq(s0.delivered, 2);
    ck_assert_uint_eq(s1.frames, 1);
    ck_assert_uint_eq(s1.bytes, 60);
    link_destroy(l);
}
END_TEST

START_TEST(oversize_and_rejects)
{
    static uint8_t big[LINK_MAX_FRAME + 1];
    struct link *l = mk_link(GBE, 0);
    link_attach(l, 1, rec_port(&host));
    ck_assert_uint_ne(link_send(l, 0, big, 1515, 0), SIMTIME_NEVER);
    ck_assert_uint_ne(link_send(l, 0, big, 1514, 0), SIMTIME_NEVER);
    ck_assert_uint_eq(link_send(l, 0, big, 0, 0), SIMTIME_NEVER);
    ck_assert_uint_eq(link_send(l, 0, big, LINK_MAX_FRAME + 1, 0), SIMTIME_NEVER);
    ck_assert_uint_eq(link_send(l, 2, big, 60, 0), SIMTIME_NEVER);
    struct link_stats s = link_stats(l, 0);
    ck_assert_uint_eq(s.frames, 2);
    ck_assert_uint_eq(s.oversize, 1);
    run_all();
    ck_assert_int_eq(host.n, 2);
    ck_assert_uint_eq(host.len[0], 1515);
    struct link_params zero = {.speed_bps = 0};
    ck_assert_ptr_null(link_create(&q, NULL, 0, &zero));
    link_destroy(l);
}
END_TEST

START_TEST(destroy_in_flight)
{
    struct link *l = mk_link(GBE, PS_PER_MS);
    link_attach(l, 1, rec_port(&host));
    uint8_t f[200];
    mk_frame(f, sizeof(f), 0);
    for (int i = 0; i < 5; i++)
        link_send(l, 0, f, sizeof(f), 0);
    ck_assert_uint_eq(evq_pending(&q), 5);
    link_destroy(l); /* frees the copies (ASan checks) and cancels the events */
    run_all();
    ck_assert_int_eq(host.n, 0);
}
END_TEST

START_TEST(media_spans_traced)
{
    struct trace_opts o = {0};
    struct trace *tr = trace_open(&o, err, sizeof(err));
    ck_assert_ptr_nonnull(tr);
    uint16_t place = trace_place(tr, PLACE_LINK, 0, "eth0");
    struct link_params p = {.speed_bps = GBE};
    struct link *l = link_create(&q, tr, place, &p);
    uint8_t f[60];
    mk_frame(f, sizeof(f), 0);
    link_send(l, 0, f, sizeof(f), 0);
    link_send(l, 1, f, sizeof(f), 0);
    run_all();
    struct trace_stat st;
    ck_assert(trace_stat_kind(tr, SPAN_MEDIA, &st));
    ck_assert_uint_eq(st.count, 2);
    ck_assert_uint_eq(st.max, T64_1G);
    link_destroy(l);
    ck_assert_int_eq(trace_close(tr, err, sizeof(err)), 0);
}
END_TEST

static struct peer *mk_peer(struct link *l, enum peer_mode m, simtime_t svc, size_t resp)
{
    struct peer_params pp = {.mode = m, .service_time = svc, .resp_len = resp};
    struct peer *p = peer_create(&q, l, 1, &pp);
    ck_assert_ptr_nonnull(p);
    link_attach(l, 0, rec_port(&host));
    return p;
}

START_TEST(peer_echo)
{
    struct link *l = mk_link(GBE, 500 * PS_PER_NS);
    struct peer *p = mk_peer(l, PEER_ECHO, 2 * PS_PER_US, 0);
    uint8_t f[100];
    mk_frame(f, sizeof(f), 7);
    link_send(l, 0, f, sizeof(f), 0);
    run_all();
    ck_assert_int_eq(host.n, 1);
    simtime_t one_way = link_wire_time(l, 100) + 500 * PS_PER_NS;
    ck_assert_uint_eq(host.when[0], 2 * one_way + 2 * PS_PER_US);
    ck_assert_uint_eq(host.len[0], 100);
    ck_assert_mem_eq(host.data[0], f + 6, 6); /* dst = request's src */
    ck_assert_mem_eq(host.data[0] + 6, f, 6);
    ck_assert_mem_eq(host.data[0] + 12, f + 12, 88);
    struct peer_stats s = peer_stats(p);
    ck_assert_uint_eq(s.rx_frames, 1);
    ck_assert_uint_eq(s.tx_frames, 1);
    ck_assert_uint_eq(s.tx_bytes, 100);
    peer_destroy(p);
    link_destroy(l);
}
END_TEST

START_TEST(peer_sink)
{
    struct link *l = mk_link(GBE, 0);
    struct peer *p = mk_peer(l, PEER_SINK, 0, 0);
    uint8_t f[80];
    mk_frame(f, sizeof(f), 0);
    for (int i = 0; i < 4; i++)
        link_send(l, 0, f, sizeof(f), 0);
    run_all();
    ck_assert_int_eq(host.n, 0);
    struct peer_stats s = peer_stats(p);
    ck_assert_uint_eq(s.rx_frames, 4);
    ck_assert_uint_eq(s.rx_bytes, 320);
    ck_assert_uint_eq(s.tx_frames, 0);
    peer_destroy(p);
    link_destroy(l);
}
END_TEST

START_TEST(peer_request_response)
{
    struct link *l = mk_link(TEN_GBE, PS_PER_US);
    struct peer *p = mk_peer(l, PEER_REQRESP, 3 * PS_PER_US, 200);
    uint8_t f[64];
    mk_frame(f, sizeof(f), 42);
    link_send(l, 0, f, sizeof(f), 0);
    run_all();
    ck_assert_int_eq(host.n, 1);
    simtime_t expect =
        link_wire_time(l, 64) + PS_PER_US + 3 * PS_PER_US + link_wire_time(l, 200) + PS_PER_US;
    ck_assert_uint_eq(host.when[0], expect);
    ck_assert_uint_eq(host.len[0], 200);
    ck_assert_mem_eq(host.data[0], f + 6, 6);
    ck_assert_mem_eq(host.data[0] + 6, f, 6);
    ck_assert_mem_eq(host.data[0] + 12, f + 12, 2 + PEER_TAG_LEN); /* type + tag */
    for (size_t i = 14 + PEER_TAG_LEN; i < 200; i++)
        ck_assert_uint_eq(host.data[0][i], 0);
    peer_destroy(p);
    link_destroy(l);
}
END_TEST

START_TEST(peer_service_serializes)
{
    struct link *l = mk_link(TEN_GBE, 0);
    struct peer *p = mk_peer(l, PEER_REQRESP, 10 * PS_PER_US, 60);
    uint8_t f[2][60];
    for (int i = 0; i < 2; i++) {
        mk_frame(f[i], 60, (uint8_t)(10 * i));
        link_send(l, 0, f[i], 60, 0);
    }
    run_all();
    ck_assert_int_eq(host.n, 2);
    simtime_t w = link_wire_time(l, 60);
    ck_assert_uint_eq(host.when[0], w + 10 * PS_PER_US + w);
    ck_assert_uint_eq(host.when[1], w + 20 * PS_PER_US + w);
    ck_assert_mem_eq(host.data[0] + 14, f[0] + 14, PEER_TAG_LEN); /* replies matched */
    ck_assert_mem_eq(host.data[1] + 14, f[1] + 14, PEER_TAG_LEN);
    peer_destroy(p);
    link_destroy(l);
}
END_TEST

START_TEST(peer_short_request_tag)
{
    struct link *l = mk_link(GBE, 0);
    struct peer *p = mk_peer(l, PEER_REQRESP, 0, 20); /* room for 6 tag bytes */
    uint8_t f[18];                                    /* 4 payload bytes */
    mk_frame(f, sizeof(f), 3);
    link_send(l, 0, f, sizeof(f), 0);
    run_all();
    ck_assert_int_eq(host.n, 1);
    ck_assert_uint_eq(host.len[0], 20);
    ck_assert_mem_eq(host.data[0] + 14, f + 14, 4);
    ck_assert_uint_eq(host.data[0][18], 0);
    ck_assert_uint_eq(host.data[0][19], 0);
    peer_destroy(p);
    link_destroy(l);
}
END_TEST

/* Test frames (include/hopsim/netpkt.h): the peer checks them and answers with one. */
START_TEST(peer_test_frames)
{
    static const uint8_t a[6] = {2, 0, 0, 0, 0, 9}, b[6] = {2, 0, 0, 0, 0, 1};
    struct link *l = mk_link(GBE, 0);
    struct peer *p = mk_peer(l, PEER_REQRESP, 0, 120);
    uint8_t f[200];
    hopsim_pkt_build(f, sizeof(f), b, a, HOPSIM_PKT_F_RR, HOPSIM_REQ(3, 77), 0);
    ck_assert_uint_eq(hopsim_pkt_check(f, sizeof(f), 0), 0);
    link_send(l, 0, f, sizeof(f), 0);
    f[150] ^= 1; /* a corrupted copy: counted, still answered */
    link_send(l, 0, f, sizeof(f), 0);
    run_all();
    struct peer_stats s = peer_stats(p);
    ck_assert_uint_eq(s.test_frames, 2);
    ck_assert_uint_eq(s.bad_payload, 1);
    ck_assert_int_eq(host.n, 2);
    struct hopsim_pkt_tag t;
    ck_assert_uint_eq(host.len[0], 120);
    ck_assert(hopsim_pkt_parse(host.data[0], host.len[0], &t));
    ck_assert_uint_eq(t.req, HOPSIM_REQ(3, 77));
    ck_assert_uint_eq(t.flags, HOPSIM_PKT_F_RR | HOPSIM_PKT_F_REPLY);
    ck_assert_uint_eq(t.len, 120);
    ck_assert_mem_eq(host.data[0], a, 6);
    ck_assert_mem_eq(host.data[0] + 6, b, 6);
    ck_assert_uint_eq(hopsim_pkt_check(host.data[0], host.len[0], HOPSIM_PKT_REPLY_SALT), 0);
    ck_assert_uint_ne(hopsim_pkt_check(host.data[0], host.len[0], 0), 0);
    peer_destroy(p);
    link_destroy(l);
}
END_TEST

/* PEER_SOURCE: count frames to dst, one every gap, `start` after the first frame received. */
START_TEST(peer_source)
{
    static const uint8_t me[6] = {0, 0x16, 0x3e, 0, 0, 1}, peer_mac[6] = PEER_MAC_INIT;
    struct link *l = mk_link(GBE, 500 * PS_PER_NS);
    struct peer_params pp = {
        .mode = PEER_SOURCE, .count = 3, .len = 100, .gap = 10 * PS_PER_US, .start = 1 * PS_PER_US};
    memcpy(pp.dst, me, 6);
    struct peer *p = peer_create(&q, l, 1, &pp);
    ck_assert_ptr_nonnull(p);
    link_attach(l, 0, rec_port(&host));
    run_all();
    ck_assert_int_eq(host.n, 0); /* nothing before the go frame */
    uint8_t go[60];
    hopsim_pkt_build(go, sizeof(go), peer_mac, me, 0, HOPSIM_REQ(1, 1), 0);
    simtime_t one = link_wire_time(l, 60) + 500 * PS_PER_NS;
    link_send(l, 0, go, sizeof(go), 0);
    link_send(l, 0, go, sizeof(go), 20 * PS_PER_US); /* a second go does not restart it */
    run_all();
    ck_assert_int_eq(host.n, 3);
    for (int i = 0; i < 3; i++) {
        simtime_t sent = one + 1 * PS_PER_US + (simtime_t)i * 10 * PS_PER_US;
        ck_assert_uint_eq(host.when[i], sent + link_wire_time(l, 100) + 500 * PS_PER_NS);
        struct hopsim_pkt_tag t;
        ck_assert(hopsim_pkt_parse(host.data[i], host.len[i], &t));
        ck_assert_uint_eq(t.req, HOPSIM_REQ(PEER_DOMID, i + 1));
        ck_assert_uint_eq(t.flags, 0);
        ck_assert_mem_eq(host.data[i], me, 6);
        ck_assert_mem_eq(host.data[i] + 6, peer_mac, 6);
        ck_assert_uint_eq(hopsim_pkt_check(host.data[i], host.len[i], 0), 0);
    }
    struct peer_stats s = peer_stats(p);
    ck_assert_uint_eq(s.sourced, 3);
    ck_assert_uint_eq(s.rx_frames, 2);
    pp.dst[0] = 1; /* multicast destination */
    ck_assert_ptr_null(peer_create(&q, l, 1, &pp));
    pp.dst[0] = 0;
    pp.gap = 0;
    ck_assert_ptr_null(peer_create(&q, l, 1, &pp));
    peer_destroy(p);
    link_destroy(l);
}
END_TEST

START_TEST(peer_malformed)
{
    struct link *l = mk_link(GBE, 0);
    struct peer *p = mk_peer(l, PEER_ECHO, 0, 0);
    uint8_t f[13];
    mk_frame(f, sizeof(f), 0);
    link_send(l, 0, f, sizeof(f), 0);
    link_send(l, 0, f, 1, 0);
    run_all();
    ck_assert_int_eq(host.n, 0);
    struct peer_stats s = peer_stats(p);
    ck_assert_uint_eq(s.malformed, 2);
    ck_assert_uint_eq(s.rx_frames, 0);
    ck_assert_uint_eq(s.tx_frames, 0);
    peer_destroy(p);
    link_destroy(l);
}
END_TEST

START_TEST(peer_bad_params_and_destroy_pending)
{
    struct link *l = mk_link(GBE, 0);
    struct peer_params bad = {.mode = PEER_REQRESP, .resp_len = 13};
    ck_assert_ptr_null(peer_create(&q, l, 1, &bad));
    bad.resp_len = LINK_MAX_FRAME + 1;
    ck_assert_ptr_null(peer_create(&q, l, 1, &bad));
    bad = (struct peer_params){.mode = (enum peer_mode)7};
    ck_assert_ptr_null(peer_create(&q, l, 1, &bad));
    struct peer *p = mk_peer(l, PEER_ECHO, PS_PER_MS, 0);
    uint8_t f[60];
    mk_frame(f, sizeof(f), 0);
    link_send(l, 0, f, sizeof(f), 0);
    ck_assert(evq_step(&q)); /* delivered to the peer; answer pending */
    ck_assert_uint_eq(evq_pending(&q), 1);
    peer_destroy(p); /* frees and cancels the pending answer */
    run_all();
    ck_assert_int_eq(host.n, 0);
    link_destroy(l);
}
END_TEST

/* pcap */

static uint32_t le32(const uint8_t *b)
{
    return b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static size_t slurp(const char *path, uint8_t *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buf, 1, cap, f);
    fclose(f);
    return n;
}

static void mk_tmpdir(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/hopsim-link-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

START_TEST(pcap_header_and_timestamps)
{
    mk_tmpdir();
    char path[128];
    snprintf(path, sizeof(path), "%s/t.pcap", tmpdir);
    struct pcap *p = pcap_open(path, err, sizeof(err));
    ck_assert_ptr_nonnull(p);
    uint8_t f[60];
    mk_frame(f, sizeof(f), 0);
    simtime_t when = 3 * PS_PER_S + 500 * PS_PER_MS + 123456789; /* ps */
    ck_assert_int_eq(pcap_write(p, f, sizeof(f), when), 0);
    ck_assert_uint_eq(pcap_records(p), 1);
    ck_assert_int_eq(pcap_close(p, err, sizeof(err)), 0);
    static uint8_t buf[4096];
    size_t n = slurp(path, buf, sizeof(buf));
    ck_assert_uint_eq(n, 24 + 16 + 60);
    ck_assert_uint_eq(le32(buf), 0xa1b23c4du);
    ck_assert_uint_eq(buf[4] | buf[5] << 8, 2);
    ck_assert_uint_eq(buf[6] | buf[7] << 8, 4);
    ck_assert_uint_eq(le32(buf + 8), 0);
    ck_assert_uint_eq(le32(buf + 12), 0);
    ck_assert_uint_eq(le32(buf + 16), 65535);
    ck_assert_uint_eq(le32(buf + 20), 1);
    ck_assert_uint_eq(le32(buf + 24), 3);
    ck_assert_uint_eq(le32(buf + 28), 500123456); /* ns, truncated */
    ck_assert_uint_eq(le32(buf + 32), 60);
    ck_assert_uint_eq(le32(buf + 36), 60);
    ck_assert_mem_eq(buf + 40, f, 60);
    unlink(path);
}
END_TEST

/* Frame lengths as tshark reads them; -1 when tshark is not installed. */
static int tshark_lengths(const char *path, size_t *lens, int cap)
{
    if (system("command -v tshark >/dev/null 2>&1") != 0)
        return -1;
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "tshark -r '%s' -T fields -e frame.len 2>/dev/null", path);
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    int n = 0;
    unsigned long v;
    while (n < cap && fscanf(f, "%lu", &v) == 1)
        lens[n++] = v;
    ck_assert_int_eq(pclose(f), 0);
    return n;
}

START_TEST(pcap_tap_on_link)
{
    mk_tmpdir();
    char path[128];
    snprintf(path, sizeof(path), "%s/link.pcap", tmpdir);
    struct pcap *cap = pcap_open(path, err, sizeof(err));
    ck_assert_ptr_nonnull(cap);
    struct link *l = mk_link(GBE, PS_PER_US);
    struct peer *p = mk_peer(l, PEER_REQRESP, 2 * PS_PER_US, 300);
    link_set_tap(l, pcap_tap, cap);
    static const size_t sent[3] = {60, 1514, 42};
    static uint8_t f[1514];
    for (int i = 0; i < 3; i++) {
        mk_frame(f, sent[i], (uint8_t)i);
        link_send(l, 0, f, sent[i], 0);
    }
    run_all();
    ck_assert_int_eq(host.n, 3);
    ck_assert_uint_eq(pcap_records(cap), 6);
    ck_assert_int_eq(pcap_close(cap, err, sizeof(err)), 0);

    static uint8_t buf[8192];
    size_t n = slurp(path, buf, sizeof(buf)), off = 24;
    size_t lens[8];
    simtime_t prev = 0;
    int recs = 0;
    while (off + 16 <= n && recs < 8) {
        simtime_t ns = (simtime_t)le32(buf + off) * 1000000000u + le32(buf + off + 4);
        ck_assert_uint_ge(ns, prev); /* captured in time order */
        prev = ns;
        lens[recs] = le32(buf + off + 8);
        ck_assert_uint_eq(le32(buf + off + 12), lens[recs]);
        off += 16 + lens[recs];
        recs++;
    }
    ck_assert_uint_eq(off, n);
    ck_assert_int_eq(recs, 6);
    /* first record: the 60-byte request, captured when it arrives */
    ck_assert_uint_eq(lens[0], 60);
    ck_assert_uint_eq(le32(buf + 28), (T64_1G + PS_PER_US) / PS_PER_NS);
    int n300 = 0;
    for (int i = 0; i < 6; i++)
        n300 += lens[i] == 300;
    ck_assert_int_eq(n300, 3);

    size_t tl[8];
    int tn = tshark_lengths(path, tl, 8);
    if (tn < 0) {
        fprintf(stderr, "test_link: tshark not installed, tshark check skipped\n");
    } else {
        ck_assert_int_eq(tn, recs);
        for (int i = 0; i < recs; i++)
            ck_assert_uint_eq(tl[i], lens[i]);
    }
    peer_destroy(p);
    link_destroy(l);
    unlink(path);
}
END_TEST

START_TEST(pcap_errors)
{
    ck_assert_ptr_null(pcap_open("/nonexistent-dir/x.pcap", err, sizeof(err)));
    ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir/x.pcap"));
    if (access("/dev/full", W_OK) != 0) {
        fprintf(stderr, "test_link: no /dev/full, write-error check skipped\n");
        return;
    }
    struct pcap *p = pcap_open("/dev/full", err, sizeof(err));
    ck_assert_ptr_nonnull(p); /* header still in the stdio buffer */
    static uint8_t f[1000];
    for (int i = 0; i < 100; i++)
        pcap_write(p, f, sizeof(f), 0);
    err[0] = '\0';
    ck_assert_int_eq(pcap_close(p, err, sizeof(err)), -1);
    ck_assert_ptr_nonnull(strstr(err, "/dev/full"));
}
END_TEST

static Suite *link_suite(void)
{
    Suite *s = suite_create("link");
    TCase *tc = tcase_create("link");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, wire_time_1g);
    tcase_add_test(tc, wire_time_10g);
    tcase_add_test(tc, propagation_delay);
    tcase_add_test(tc, back_to_back_serialize);
    tcase_add_test(tc, directions_independent);
    tcase_add_test(tc, oversize_and_rejects);
    tcase_add_test(tc, destroy_in_flight);
    tcase_add_test(tc, media_spans_traced);
    suite_add_tcase(s, tc);
    tc = tcase_create("peer");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, peer_echo);
    tcase_add_test(tc, peer_sink);
    tcase_add_test(tc, peer_request_response);
    tcase_add_test(tc, peer_service_serializes);
    tcase_add_test(tc, peer_short_request_tag);
    tcase_add_test(tc, peer_test_frames);
    tcase_add_test(tc, peer_source);
    tcase_add_test(tc, peer_malformed);
    tcase_add_test(tc, peer_bad_params_and_destroy_pending);
    suite_add_tcase(s, tc);
    tc = tcase_create("pcap");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, pcap_header_and_timestamps);
    tcase_add_test(tc, pcap_tap_on_link);
    tcase_add_test(tc, pcap_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(link_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
