/*
 * pingpong message layout: one granted page shared by the frontend (ping)
 * and the backend (pong).
 *
 * The frontend writes round, length, id and payload, then (after a write
 * barrier) magic = PP_MAGIC_PING, and notifies. The backend checks the
 * request, replaces each payload byte b by b + 1 (mod 256), sets status,
 * then (after a write barrier) magic = PP_MAGIC_PONG, and notifies back.
 * magic is written last in both directions: a reader that sees the magic
 * sees the rest. Payload byte i of round r is pp_byte(r, i).
 */
#ifndef PINGPONG_H
#define PINGPONG_H

#include <stdint.h>

#define PP_MAGIC_PING 0x474e4950474e4950ull /* "PINGPING" */
#define PP_MAGIC_PONG 0x474e4f50474e4f50ull /* "PONGPONG" */

enum pp_status { PP_OK = 0, PP_BAD_REQUEST = 1 };

struct pingpong_msg {
    uint64_t magic;
    uint32_t round;
    uint32_t length; /* payload bytes */
    uint64_t id;     /* request id: HOPSIM_REQ(frontend domid, round) */
    uint32_t status; /* reply: enum pp_status */
    uint32_t pad;
    uint64_t payload[]; /* length bytes, padded to 8 */
};

#define PP_HEADER 32u
#define PP_MAX_BYTES (4096u - PP_HEADER)
#define PP_DEFAULT_BYTES 64
#define PP_DEFAULT_ROUNDS 100

_Static_assert(sizeof(struct pingpong_msg) == PP_HEADER, "pingpong header layout");

static inline uint8_t pp_byte(uint32_t round, uint32_t i)
{
    return (uint8_t)(round * 7u + i * 13u + 1u);
}

/* Payload word k (bytes 8k..8k+7, little endian) of round r. */
static inline uint64_t pp_word(uint32_t round, uint32_t k)
{
    uint64_t w = 0;
    for (uint32_t b = 0; b < 8; b++)
        w |= (uint64_t)pp_byte(round, k * 8 + b) << (8 * b);
    return w;
}

/* Every byte + 1 (mod 256), without carries between bytes. */
static inline uint64_t pp_inc_bytes(uint64_t x)
{
    const uint64_t lo7 = 0x7f7f7f7f7f7f7f7full, hi = 0x8080808080808080ull;
    return ((x & lo7) + 0x0101010101010101ull) ^ (x & hi);
}

/* Mask of the bytes of word k that lie inside a payload of len bytes. */
static inline uint64_t pp_word_mask(uint32_t len, uint32_t k)
{
    uint32_t rest = len - k * 8;
    return rest >= 8 ? ~0ull : (1ull << (8 * rest)) - 1;
}

static inline uint32_t pp_words(uint32_t len)
{
    return (len + 7) / 8;
}

#endif
