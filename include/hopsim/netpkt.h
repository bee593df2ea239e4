/*
 * hopsim's test-packet format: how a frame carries its request id and a
 * payload that can be checked, like the header Linux pktgen puts in its
 * packets. Shared by the guest test program, the drivers' trace marks,
 * the NIC model and the peer host. Host C and freestanding guest C alike.
 *
 * A test frame is an Ethernet II frame with EtherType 0x88B5 (IEEE Std
 * 802 Local Experimental EtherType 1), so capture tools show it as such:
 *
 *   0   destination MAC (6), source MAC (6), EtherType 0x88B5 (2, big-endian)
 *   14  tag (16 bytes, little-endian):
 *         magic u32 = HOPSIM_PKT_MAGIC
 *         flags u16 = HOPSIM_PKT_F_* in the low byte; the high byte is the
 *                     frame's flow (HOPSIM_PKT_FLOW), 0..255
 *         len   u16 = the whole frame's length as built (without FCS)
 *         req   u64 = the request id, HOPSIM_REQ(domid, seq)
 *   30  payload: byte i is hopsim_pkt_byte(req ^ salt, i), salt = 0 for a
 *       frame a guest built, HOPSIM_PKT_REPLY_SALT for a peer's reply.
 *
 * The request id travels in the frame because io/netif.h's request ids are
 * 16-bit ring slots: instrumentation (trace marks, the NIC model's spans)
 * reads it from the tag; no protocol field is widened for it. A frame
 * without a valid tag is ordinary traffic: it is carried but not traced.
 */
#ifndef HOPSIM_NETPKT_H
#define HOPSIM_NETPKT_H

#include <stddef.h>
#include <stdint.h>

#define HOPSIM_ETHERTYPE 0x88B5u
#define HOPSIM_ETH_HLEN 14u
#define HOPSIM_PKT_MAGIC 0x53504F48u /* "HOPS" */
#define HOPSIM_PKT_TAG_LEN 16u
#define HOPSIM_PKT_HDR (HOPSIM_ETH_HLEN + HOPSIM_PKT_TAG_LEN) /* 30: payload offset */
#define HOPSIM_PKT_MIN 60u   /* shortest test frame (Ethernet minimum without FCS) */
#define HOPSIM_PKT_MAX 1514u /* longest: MTU 1500 + header */

/* flags */
#define HOPSIM_PKT_F_RR 0x0001u    /* a reply is expected: the request ends when it arrives */
#define HOPSIM_PKT_F_REPLY 0x0002u /* built by the peer as the answer to a request */

/*
 * The flow a test frame belongs to, in the flags' high byte: what a real
 * frame's connection (its addresses and ports) is to Linux's flow hash, so
 * a test program can spread its frames over several flows and a
 * multi-queue driver picks a queue per flow. A reply keeps its request's.
 */
#define HOPSIM_PKT_FLOW_SHIFT 8
#define HOPSIM_PKT_FLOW_MASK 0xFF00u
#define HOPSIM_PKT_F_FLOW(n) ((uint16_t)(((n)&0xFFu) << HOPSIM_PKT_FLOW_SHIFT))
#define HOPSIM_PKT_FLOW(flags) (((flags)&HOPSIM_PKT_FLOW_MASK) >> HOPSIM_PKT_FLOW_SHIFT)

#define HOPSIM_PKT_REPLY_SALT 0x5245504c59000000ull /* "REPLY" */

struct hopsim_pkt_tag {
    uint32_t magic;
    uint16_t flags;
    uint16_t len;
    uint64_t req;
};

static inline uint16_t hopsim_rd16be(const uint8_t *p)
{
    return (uint16_t)((p[0] << 8) | p[1]);
}

static inline uint64_t hopsim_rd_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

static inline void hopsim_wr_le(uint8_t *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/*
 * The tag of a test frame: 1 with *t filled, or 0 when the frame is not
 * one (too short, other EtherType, bad magic).
 */
static inline int hopsim_pkt_parse(const void *frame, size_t len, struct hopsim_pkt_tag *t)
{
    const uint8_t *f = (const uint8_t *)frame;
    if (len < HOPSIM_PKT_HDR || hopsim_rd16be(f + 12) != HOPSIM_ETHERTYPE)
        return 0;
    const uint8_t *g = f + HOPSIM_ETH_HLEN;
    if (hopsim_rd_le(g, 4) != HOPSIM_PKT_MAGIC)
        return 0;
    t->magic = HOPSIM_PKT_MAGIC;
    t->flags = (uint16_t)hopsim_rd_le(g + 4, 2);
    t->len = (uint16_t)hopsim_rd_le(g + 6, 2);
    t->req = hopsim_rd_le(g + 8, 8);
    return 1;
}

/* The request id of a test frame, 0 (HOPSIM_NOREQ) for any other frame. */
static inline uint64_t hopsim_pkt_req(const void *frame, size_t len)
{
    struct hopsim_pkt_tag t;
    return hopsim_pkt_parse(frame, len, &t) ? t.req : 0;
}

/*
 * A frame's flow hash, as Linux's skb_get_hash serves xennet_select_queue
 * and xenvif_select_queue: over the flow's endpoints -- here the two MAC
 * addresses, ordered so both directions of a flow hash alike (what
 * __flow_hash_consistentify does with addresses and ports), and the test
 * frame's flow (0 for any other frame) -- mixed by splitmix64's
 * finalizer. Linux keys its hash with a random boot-time secret; this one
 * is fixed, so a run is reproducible.
 */
static inline uint32_t hopsim_pkt_flow_hash(const void *frame, size_t len)
{
    const uint8_t *f = (const uint8_t *)frame;
    if (len < HOPSIM_ETH_HLEN)
        return 0;
    uint64_t a = hopsim_rd_le(f, 6), b = hopsim_rd_le(f + 6, 6);
    struct hopsim_pkt_tag t;
    uint64_t flow = hopsim_pkt_parse(frame, len, &t) ? HOPSIM_PKT_FLOW(t.flags) : 0;
    uint64_t lo = a < b ? a : b, hi = a < b ? b : a;
    uint64_t z = lo * 0x9e3779b97f4a7c15ull ^ (hi + flow * 0xbf58476d1ce4e5b9ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return (uint32_t)(z ^ (z >> 31));
}

/* Payload word w (bytes 8w..8w+7 of the payload) for a key: splitmix64 of key + w. */
static inline uint64_t hopsim_pkt_word(uint64_t key, uint64_t w)
{
    uint64_t z = key + (w + 1) * 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static inline uint8_t hopsim_pkt_byte(uint64_t key, size_t i)
{
    return (uint8_t)(hopsim_pkt_word(key, i / 8) >> (8 * (i % 8)));
}

/*
 * Build a test frame of `len` bytes (HOPSIM_PKT_HDR..65535) into f:
 * addresses, EtherType, tag, and the payload pattern for req ^ salt.
 */
static inline void hopsim_pkt_build(void *frame, size_t len, const uint8_t dst[6],
                                    const uint8_t src[6], uint16_t flags, uint64_t req,
                                    uint64_t salt)
{
    uint8_t *f = (uint8_t *)frame;
    for (unsigned i = 0; i < 6; i++) {
        f[i] = dst[i];
        f[6 + i] = src[i];
    }
    f[12] = (uint8_t)(HOPSIM_ETHERTYPE >> 8);
    f[13] = (uint8_t)HOPSIM_ETHERTYPE;
    uint8_t *g = f + HOPSIM_ETH_HLEN;
    hopsim_wr_le(g, HOPSIM_PKT_MAGIC, 4);
    hopsim_wr_le(g + 4, flags, 2);
    hopsim_wr_le(g + 6, (uint16_t)len, 2);
    hopsim_wr_le(g + 8, req, 8);
    uint8_t *p = f + HOPSIM_PKT_HDR;
    size_t n = len - HOPSIM_PKT_HDR;
    uint64_t key = req ^ salt;
    size_t w = 0;
    /* whole words: one 8-byte store each (x86 is little-endian); unrolled, since a guest pays
     * its simulator per block as well as per instruction */
#pragma GCC unroll 4
    for (; w * 8 + 8 <= n; w++) {
        uint64_t v = hopsim_pkt_word(key, w);
        __builtin_memcpy(p + w * 8, &v, 8);
    }
    if (w * 8 < n) {
        uint64_t v = hopsim_pkt_word(key, w);
        for (size_t b = 0; w * 8 + b < n; b++)
            p[w * 8 + b] = (uint8_t)(v >> (8 * b));
    }
}

/*
 * Check a received test frame's payload against the pattern for its tag's
 * req ^ salt: the offset (from the frame start) of the first wrong byte,
 * or 0 when the payload is intact. The tag's len must equal `len`;
 * otherwise the frame's length is returned as the bad offset.
 */
static inline size_t hopsim_pkt_check(const void *frame, size_t len, uint64_t salt)
{
    struct hopsim_pkt_tag t;
    if (!hopsim_pkt_parse(frame, len, &t))
        return HOPSIM_ETH_HLEN;
    if (t.len != len)
        return len;
    const uint8_t *p = (const uint8_t *)frame + HOPSIM_PKT_HDR;
    size_t n = len - HOPSIM_PKT_HDR;
    uint64_t key = t.req ^ salt;
    for (size_t w = 0; w * 8 < n; w++) {
        uint64_t v = hopsim_pkt_word(key, w), got;
        if (w * 8 + 8 <= n) { /* a whole word: one 8-byte load, bytes only on a mismatch */
            __builtin_memcpy(&got, p + w * 8, 8);
            if (got == v)
                continue;
        }
        for (size_t b = 0; b < 8 && w * 8 + b < n; b++)
            if (p[w * 8 + b] != (uint8_t)(v >> (8 * b)))
                return HOPSIM_PKT_HDR + w * 8 + b;
    }
    return 0;
}

#endif
