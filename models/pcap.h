/*
 * Writer of classic libpcap capture files, nanosecond variant: magic
 * 0xa1b23c4d, version 2.4, snaplen 65535, linktype 1 (Ethernet). Record
 * timestamps are simulated time (ps truncated to ns) from the epoch 0.
 *
 * Assumptions: frames are given without FCS (as the link carries them);
 * frames longer than the snaplen are truncated in the file with their
 * original length recorded. The file is written little-endian whatever
 * the host (readers detect the byte order from the magic). A write error
 * is sticky: later writes are skipped and pcap_close reports the first.
 */
#ifndef HOPSIM_PCAP_H
#define HOPSIM_PCAP_H

#include <stddef.h>
#include <stdint.h>

#include "simtime.h"

#define PCAP_MAGIC_NS 0xa1b23c4du
#define PCAP_SNAPLEN 65535u
#define PCAP_LINKTYPE_ETHERNET 1u

struct pcap;

/* Creates (truncates) `path` and writes the file header. NULL with err filled on failure. */
struct pcap *pcap_open(const char *path, char *err, size_t errlen);
/* Appends one record. Returns 0, or -1 after a write error (sticky). */
int pcap_write(struct pcap *p, const uint8_t *frame, size_t len, simtime_t when);
/* pcap_write with the link_tap_fn signature: link_set_tap(l, pcap_tap, p). */
void pcap_tap(void *opaque, const uint8_t *frame, size_t len, simtime_t when);
uint64_t pcap_records(const struct pcap *p);
/* Flushes, closes and frees. Returns 0, or -1 with err filled on any write error. */
int pcap_close(struct pcap *p, char *err, size_t errlen);

#endif
