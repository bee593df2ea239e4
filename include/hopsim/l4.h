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

#define L4_MRS 64 /* L4 X.2's message registers */
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

/*
 * The system call: a task calls the kernel through entry L4_SYSCALL_NR of
 * its hypercall page (outside Xen's hypercall numbers) with %rdi the
 * operation (enum l4_syscall) and %rsi the address of its UTCB (struct
 * l4_utcb); %rax returns 0 or -L4_E*. What an operation reads and writes
 * in the UTCB is listed with it.
 */
#define L4_SYSCALL_NR 60

enum l4_syscall {
    /* IPC. In: dest (L4_NILTHREAD: no send), from (L4_NILTHREAD: no receive; L4_ANY: open
     * wait), timeout (the send's; a receive after a send -- reply and wait -- waits
     * forever), msg (to send), window (typed items accepted). dest and from the same
     * thread: a call. Out: msg and sender of the received message. */
    L4_SYS_IPC = 1,
    L4_SYS_UNMAP = 2,       /* in: window (the flexpage), mr[0] of msg: flags */
    L4_SYS_IRQ_ATTACH = 3,  /* in: dest (the interrupt number): its IPC comes to the caller */
    L4_SYS_IRQ_TRIGGER = 4, /* in: dest (a software interrupt, >= L4_SOFT_IRQ_BASE) */
    L4_SYS_TASK_THREAD = 5, /* in: name (a task's name); out: dest = its first thread */
    L4_SYS_PHYS = 6,        /* in: window.base; out: msg.mr[0] = its frame's bus address */
    L4_SYS_VM_MEM = 7,      /* in: dest (a vCPU thread whose exception handler the caller
                               is), window.base (where); out: msg.mr[0] = the VM's RAM bytes */
    L4_SYS_VCPU_IRQ = 8,    /* in: dest (the vCPU thread), msg.mr[0] = PCI device,
                               mr[1] = INTx pin, mr[2] = level: drive the VM's interrupt line */
    L4_SYS_VM_KILL = 9,     /* in: dest (the vCPU thread): end the VM (crash) */
};

/* interrupts from L4_SOFT_IRQ_BASE up are software interrupts any task may trigger; the
 * first is the kernel's own: raised whenever a task dies (a server attaches it to learn
 * that a client is gone -- the role of L4Re's parent protocol) */
#define L4_SOFT_IRQ_BASE 32u
#define L4_IRQ_TASK_DEATH L4_SOFT_IRQ_BASE

/* a vCPU exit's message (label L4_LABEL_EXCEPTION): what the VMM decodes */
#define L4_EXIT_MMIO 1u
#define L4_EXIT_PIO 2u
#define L4_EXIT_SHUTDOWN 3u /* the VM ended (mr[1]: Xen's SHUTDOWN_* reason); no reply needed */
#define L4_EXIT_WORD0(kind, write, size) ((kind) | ((write) ? 0x100u : 0u) | ((size) << 16))
#define L4_EXIT_KIND(w) ((w)&0xffu)
#define L4_EXIT_WRITE(w) (((w) >> 8) & 1u)
#define L4_EXIT_SIZE(w) (((w) >> 16) & 0xffu)
/* mr[1]: the guest-physical address or port; mr[2]: the value written. The reply's mr[0] is
 * the value a read returns. */

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

/* A task's user-level thread control block: the system call's in- and out-arguments. */
struct l4_utcb {
    uint32_t dest, from;
    uint64_t timeout;
    struct l4_fpage window;
    struct l4_msg msg;
    char name[24];
};

#endif
