/*
 * Classic libpcap writer (nanosecond timestamps). See pcap.h.
 *
 * Fields are serialised byte by byte in little-endian order so the file
 * is identical on every host; stdio buffers the writes.
 */
#include "pcap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pcap {
    FILE *f;
    char *path;
    int err; /* first errno, 0 if none */
    uint64_t records;
};

static void put_le32(uint8_t *b, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
}

static void put_le16(uint8_t *b, uint16_t v)
{
    b[0] = (uint8_t)v;
    b[1] = (uint8_t)(v >> 8);
}

static int pcap_put(struct pcap *p, const void *buf, size_t n)
{
    if (p->err)
        return -1;
    errno = 0;
    if (n && fwrite(buf, 1, n, p->f) != n) {
        p->err = errno ? errno : EIO;
        return -1;
    }
    return 0;
}

static int pcap_header(struct pcap *p)
{
    uint8_t h[24] = {0};
    put_le32(h, PCAP_MAGIC_NS);
    put_le16(h + 4, 2);
    put_le16(h + 6, 4);
    /* thiszone, sigfigs: 0 */
    put_le32(h + 16, PCAP_SNAPLEN);
    put_le32(h + 20, PCAP_LINKTYPE_ETHERNET);
    return pcap_put(p, h, sizeof(h));
}

struct pcap *pcap_open(const char *path, char *err, size_t errlen)
{
    struct pcap *p = calloc(1, sizeof(*p));
    char *dup = p ? strdup(path) : NULL;
    if (!p || !dup) {
        snprintf(err, errlen, "pcap: out of memory");
        free(p);
        return NULL;
    }
    p->path = dup;
    p->f = fopen(path, "wb");
    if (!p->f || pcap_header(p) != 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(p->f ? p->err : errno));
        if (p->f)
            fclose(p->f);
        free(p->path);
        free(p);
        return NULL;
    }
    return p;
}

int pcap_write(struct pcap *p, const uint8_t *frame, size_t len, simtime_t when)
{
    uint64_t ns = when / PS_PER_NS;
    size_t incl = len < PCAP_SNAPLEN ? len : PCAP_SNAPLEN;
    uint32_t orig = len > UINT32_MAX ? UINT32_MAX : (uint32_t)len;
    uint8_t r[16];
    put_le32(r, (uint32_t)(ns / 1000000000u));
    put_le32(r + 4, (uint32_t)(ns % 1000000000u));
    put_le32(r + 8, (uint32_t)incl);
    put_le32(r + 12, orig);
    if (pcap_put(p, r, sizeof(r)) != 0 || pcap_put(p, frame, incl) != 0)
        return -1;
    p->records++;
    return 0;
}

void pcap_tap(void *opaque, const uint8_t *frame, size_t len, simtime_t when)
{
    pcap_write(opaque, frame, len, when);
}

uint64_t pcap_records(const struct pcap *p)
{
    return p->records;
}

int pcap_close(struct pcap *p, char *err, size_t errlen)
{
    if (!p)
        return 0;
    errno = 0;
    if (fflush(p->f) != 0 && !p->err)
        p->err = errno ? errno : EIO;
    if (fclose(p->f) != 0 && !p->err)
        p->err = errno ? errno : EIO;
    int rc = 0;
    if (p->err) {
        snprintf(err, errlen, "%s: %s", p->path, strerror(p->err));
        rc = -1;
    }
    free(p->path);
    free(p);
    return rc;
}
