/*
 * hopsim's small L4 ABI: what a task on the microkernel model (sim/l4/)
 * names when it calls the kernel. Shared by host code and freestanding
 * guest code (no libc). docs/l4.md describes the semantics.
 *
 * Identifiers: a thread is named by its global id (task << 16 | thread
 * number); L4_ANY receives from anyone; an interrupt's IPC comes from
 * L4_IRQ_SENDER(n).
 *
 * A message: a label (what the message is: a protocol's opcode, or the
 * kernel's L4_LABEL_* for faults, exits and interrupts), up to L4_MRS
 * untyped words, and at most one typed item: a flexpage sent as a map
 * (the sender keeps its mapping, the receiver's is derived from it) or a
 * grant (the mapping moves to the receiver). A receiver accepts typed
 * items only into the receive window it names.
 *
 * A flexpage: 2^order pages at a page-aligned base, with rights
 * (L4_R/L4_W/L4_X). Mapping never widens rights. Unmap of a flexpage
 * revokes, recursively, every mapping derived from the caller's pages
 * (and the caller's own with L4_UNMAP_SELF): the mapping database.
 *
 * Timeouts: L4_NEVER waits forever, 0 polls (fails at once with
 * L4_ETIMEOUT when the partner is not ready), anything else is a relative
 * time in nanoseconds.
 */
#ifndef HOPSIM_L4_H
#define HOPSIM_L4_H

#include <stdint.h>

#define L4_MRS 8
#define L4_ANY 0xffffffffu
#define L4_NILTHREAD 0u
#define L4_IRQ_SENDER(n) (0xff000000u | (uint32_t)(n))
#define L4_TID(task, n) (((uint32_t)(task) << 16) | (uint16_t)(n))
#define L4_TASK_OF(tid) ((tid) >> 16)

#define L4_NEVER UINT64_MAX

/* rights */
#define L4_R 4u
#define L4_W 2u
#define L4_X 1u
#define L4_RWX 7u

/* typed item kinds */
enum l4_item { L4_ITEM_NONE = 0, L4_ITEM_MAP = 1, L4_ITEM_GRANT = 2 };

/* unmap flags */
#define L4_UNMAP_SELF 1u

/* kernel-generated labels (negative, as in L4 X.2 / Fiasco's protocol ids) */
#define L4_LABEL_PAGEFAULT (-2)
#define L4_LABEL_EXCEPTION (-5) /* a vCPU's VM exit, to its exception handler */
#define L4_LABEL_IRQ (-1)

/* error codes (returned negative) */
enum l4_err {
    L4_EOK = 0,
    L4_ETIMEOUT = 1,   /* the partner was not ready within the timeout */
    L4_ENOPARTNER = 2, /* no such thread, or it died */
    L4_ECANCELED = 3,  /* the operation was aborted (partner deleted) */
    L4_ERIGHTS = 4,    /* a map would widen rights, or pages not mapped at the sender */
    L4_EWINDOW = 5,    /* the receiver's window does not fit the flexpage */
    L4_EBUSY = 6,      /* an interrupt already has a handler */
};

/* system-call numbers of the model's guest ABI */
enum l4_syscall {
    L4_SYS_IPC = 1,        /* send and/or receive: rdi dest, rsi source, rdx timeout, MRs in UTCB */
    L4_SYS_UNMAP = 2,      /* rdi flexpage, rsi flags */
    L4_SYS_IRQ_ATTACH = 3, /* rdi irq */
    L4_SYS_IRQ_ACK = 4,    /* rdi irq */
};

struct l4_fpage {
    uint64_t base;  /* page-aligned address */
    uint8_t order;  /* 2^order pages */
    uint8_t rights; /* L4_R | L4_W | L4_X */
};

struct l4_msg {
    int64_t label;
    uint32_t nmr;
    uint64_t mr[L4_MRS];
    uint8_t item; /* enum l4_item */
    struct l4_fpage fpage;
    uint64_t send_base; /* where in the receiver's window (offset added to the window base) */
};

#endif
