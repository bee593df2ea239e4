/*
 * A task's side of the microkernel (include/hopsim/l4.h, docs/l4.md): the
 * system call, and the protocol between a VM's VMM and the driver server
 * that owns the real devices (vmm.c, sas_client.c, drvsrv.c).
 */
#ifndef L4_L4SYS_H
#define L4_L4SYS_H

#include <hopsim/l4.h>

#include "hypercall.h"
#include "str.h"

HC_DEFINE_(l4, L4_SYSCALL_NR)

/* One system call with `u` as its UTCB: 0 or -L4_E*. */
static inline long l4_sys(unsigned op, struct l4_utcb *u)
{
    return hc_l4(op, (unsigned long)u, 0, 0, 0);
}

/* The first thread of the task named `name` (0 if none). */
static inline uint32_t l4_task_thread(const char *name)
{
    struct l4_utcb u;
    memset(&u, 0, sizeof(u));
    size_t n = strlen(name);
    memcpy(u.name, name, n < sizeof(u.name) - 1 ? n : sizeof(u.name) - 1);
    return l4_sys(L4_SYS_TASK_THREAD, &u) == 0 ? u.dest : L4_NILTHREAD;
}

static inline int l4_is_irq(uint32_t from)
{
    return (from & 0xff000000u) == 0xff000000u;
}

/*
 * The block driver server's protocol (labels; every request is a call, the
 * reply's mr[0] is 0 or a negative Xen errno):
 *   OPEN    -> mr[1] the client's slot, mr[2] its software interrupt (attach
 *              it: "completions are ready"), mr[3] targets, then per target
 *              blocks and blksz | type << 32: the blocks of the client's own
 *              partition of that target (SRV_PART), which the server gives
 *              each session as a real L4 block server would: the client's
 *              block 0 is the partition's first.
 *   MAP     a flexpage of the client's DMA memory (mapped, read-write) into
 *              the server's window at SRV_CLIENT_BASE(slot) + its address.
 *   SUBMIT  mr[0] tag, mr[1] lba, mr[2] nblocks | opcode << 32 | target << 40 |
 *              nsg << 48, mr[3 + i] SG entry i: page address | (len - 1). The
 *              server issues it to the real HBA (and rings the doorbell); a
 *              range outside the client's partition is refused (-XEN_EACCES),
 *              an SG page the client did not map (-XEN_EFAULT).
 *   FETCH   -> mr[1] n | more << 16, then n pairs (tag, status).
 *   CLOSE   (a send, no reply) the client is done.
 * The server's PING (a send with timeout 0, learning whether a client still
 * exists after a task died) may reach a client in open wait: it ignores it.
 */
enum { SRV_OPEN = 1, SRV_MAP = 2, SRV_SUBMIT = 3, SRV_FETCH = 4, SRV_CLOSE = 5, SRV_PING = 6 };
#define SRV_MAX_CLIENTS 8
#define SRV_CLIENT_SPAN (1ull << 24) /* a client's DMA addresses: its first 16 MiB */
#define SRV_WINDOW_BASE (1ull << 28) /* in the server's physmap hole: its CPU reaches them */
#define SRV_WINDOW_ORDER 15          /* SRV_MAX_CLIENTS * SRV_CLIENT_SPAN in pages: 2^27 / 2^12 */
#define SRV_CLIENT_BASE(slot) ((uint64_t)(slot)*SRV_CLIENT_SPAN)
#define SRV_FETCH_MAX ((L4_MRS - 2) / 2)
/* slot i's partition of a target of `blocks` blocks: SRV_MAX_CLIENTS equal extents */
#define SRV_PART(blocks) ((blocks) / SRV_MAX_CLIENTS)

/*
 * The network driver server (netsrv.c) speaks OPEN (mr[0]: the client's MAC,
 * big-endian in the low 48 bits; -> mr[1] slot, mr[2] software interrupt),
 * MAP, FETCH (mr[0]: receive pages the client is done with; -> mr[1] n |
 * more << 16, then n NET_CQ entries), CLOSE, and:
 *   NET_RXRING  mr[0] n, mr[1..n] the client's receive pages (mapped before)
 *   NET_XMIT    mr[0] the frame's request, mr[1] nseg, mr[2 + i] page | (len - 1)
 */
enum { NET_RXRING = 7, NET_XMIT = 8 };
#define NET_RX_PAGES 32
#define NET_CQ_TX(status) ((uint64_t)(uint32_t)(status))
#define NET_CQ_RX(k, len) (1ull << 63 | (uint64_t)(k) << 16 | (uint64_t)(len))
#define NET_CQ_IS_RX(e) ((e) >> 63)
#define NET_CQ_RX_PAGE(e) ((unsigned)((e) >> 16) & 0xffff)
#define NET_CQ_RX_LEN(e) ((unsigned)(e)&0xffff)
#define NET_CQ_TX_STATUS(e) ((int)(uint32_t)(e))

#endif
