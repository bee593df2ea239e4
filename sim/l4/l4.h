/*
 * A microkernel model in the L4 tradition (docs/l4.md; the ABI's names are
 * include/hopsim/l4.h): tasks (address spaces), threads, synchronous
 * rendezvous IPC with timeouts, flexpage map / grant / unmap over a
 * mapping database with recursive revocation, interrupts delivered as IPC
 * to the thread that attached them, page faults and VM exits delivered as
 * IPC to a thread's pager / exception handler.
 *
 * Time: each IPC that transfers a message costs `ipc` (one way, cross
 * address space), plus `map` per page a typed item maps, grants or an
 * unmap revokes. An operation that completes at once returns 0 and sets
 * the thread's `done_at`; one that blocks returns 1, and the thread's
 * wake callback runs when it completes (result 0) or fails (timeout, a
 * partner deleted: result -L4_E*). Timeouts are events on the machine's
 * event queue.
 *
 * Limits: fixed tables (L4_MAX_*); a thread has one operation at a time.
 */
#ifndef HOPSIM_L4_MODEL_H
#define HOPSIM_L4_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include <hopsim/l4.h>

#include "evq.h"
#include "simtime.h"

#define L4_MAX_TASKS 16
#define L4_MAX_THREADS 64
#define L4_MAX_IRQS 64
#define L4_PAGE 4096ull

/*
 * What the model stands for, counted for `hopsim size-report`: the trusted
 * kernel beneath every task and VM. The model is host code of the
 * simulator, not a kernel image, so its own size says nothing; the kernel
 * it models (ABI in include/hopsim/l4.h, IPC priced from seL4's published
 * figure, docs/cost-profiles.md `l4_ipc`) is counted by seL4's published
 * size: 8,700 lines of C and 600 of assembly (Klein et al., "seL4: Formal
 * Verification of an OS Kernel", SOSP 2009, its abstract; the same
 * figures on the l4.verified project's numbers page). Source lines,
 * not bytes: no code size of seL4's x86-64 binary is published beside them.
 */
#define L4_KERNEL_C_LINES 8700u
#define L4_KERNEL_ASM_LINES 600u

struct l4_kernel;
struct l4_thread;

typedef void (*l4_wake_fn)(struct l4_kernel *k, struct l4_thread *t, void *arg);

enum l4_tstate { L4T_FREE = 0, L4T_READY, L4T_SEND, L4T_RECV, L4T_DEAD };

struct l4_thread {
    struct l4_kernel *kern;
    enum l4_tstate state;
    uint32_t id;
    uint32_t partner;       /* SEND: the destination; RECV: whom it accepts (L4_ANY) */
    bool call;              /* sending the first half of a call: then receive from the partner */
    struct l4_msg msg;      /* outgoing while sending; the received one after a receive */
    struct l4_fpage window; /* receive window for typed items (order 0 + base 0: none) */
    bool has_window;
    uint32_t from;     /* sender of the last received message */
    int result;        /* the last completed operation: 0 or -L4_E* */
    simtime_t done_at; /* when it completed */
    uint32_t pager, exc_handler;
    evq_handle timeout;
    l4_wake_fn wake;
    void *wake_arg;
    uint64_t sent, received;
};

struct l4_map {
    bool used;
    uint32_t task;
    uint64_t vpn, frame;
    uint8_t rights;
    int parent, first_child, next_sibling; /* indices, -1: none */
};

struct l4_kernel {
    struct evq *q;
    simtime_t ipc_cost, map_cost;
    struct {
        bool alive;
        char name[24];
    } tasks[L4_MAX_TASKS];
    struct l4_thread threads[L4_MAX_THREADS];
    struct l4_map *maps;
    int nmaps, cap;
    struct {
        uint32_t handler; /* thread id, 0: none */
        bool pending;     /* raised while the handler was not receiving */
    } irqs[L4_MAX_IRQS];
    uint64_t ipcs, pages_mapped, pages_revoked;
    /* when the current kernel entry happens (0: the event queue's now): a caller that has
     * already spent time on this entry (a VM exit's hardware part) sets it */
    simtime_t at;
    /* told of every message transfer (an interrupt's: from = L4_IRQ_SENDER(n)), for tracing */
    void (*observe)(void *obs, uint32_t from, uint32_t to, int64_t label, simtime_t start,
                    int pages);
    /* told of every mapping that leaves a task's address space -- revoked (recursively), granted
     * away, replaced -- so that what the task's CPU reaches follows the database */
    void (*unmapped)(void *obs, uint32_t task, uint64_t vaddr);
    void *obs;
};

void l4_init(struct l4_kernel *k, struct evq *q, simtime_t ipc_cost, simtime_t map_cost);
struct cost_profile;
/* The same, with `l4_ipc` and `l4_map_page` from a profile at `hz`. */
void l4_init_profile(struct l4_kernel *k, struct evq *q, const struct cost_profile *cp, double hz);
void l4_fini(struct l4_kernel *k);

/* A new task (its id, 1..), or -1 when the table is full. */
int l4_task_create(struct l4_kernel *k, const char *name);
/* Delete a task: its threads die (partners fail with ENOPARTNER), its mappings are revoked. */
void l4_task_delete(struct l4_kernel *k, int task);
/* A thread in `task` with its pager and exception handler; its id, or 0. */
uint32_t l4_thread_create(struct l4_kernel *k, int task, uint32_t pager, uint32_t exc_handler,
                          l4_wake_fn wake, void *arg);
struct l4_thread *l4_thread(struct l4_kernel *k, uint32_t tid);

/* The root of the mapping database: physical `frame` at `vaddr` in `task` (sigma0's role). */
int l4_map_root(struct l4_kernel *k, int task, uint64_t vaddr, uint64_t frame, uint8_t rights);
/* What `task` has at `vaddr`: 0 and the frame and rights, or -L4_ERIGHTS when unmapped. */
int l4_lookup(const struct l4_kernel *k, int task, uint64_t vaddr, uint64_t *frame,
              uint8_t *rights);

/* IPC (0 done, 1 blocked, <0 -L4_E*). `timeout_ns`: L4_NEVER, 0 (poll) or relative ns. */
int l4_send(struct l4_kernel *k, uint32_t tid, uint32_t dest, const struct l4_msg *m,
            uint64_t timeout_ns);
int l4_receive(struct l4_kernel *k, uint32_t tid, uint32_t from, const struct l4_fpage *window,
               uint64_t timeout_ns);
/* Send, then receive the reply from the same partner (the send's timeout covers both). */
int l4_call(struct l4_kernel *k, uint32_t tid, uint32_t dest, const struct l4_msg *m,
            const struct l4_fpage *window, uint64_t timeout_ns);

/* Revoke the mappings derived from `task`'s pages in fp (and its own with L4_UNMAP_SELF). */
int l4_unmap(struct l4_kernel *k, int task, const struct l4_fpage *fp, unsigned flags);

/* Interrupts: one handler each; a raise is an IPC from L4_IRQ_SENDER(irq). */
int l4_irq_attach(struct l4_kernel *k, unsigned irq, uint32_t tid);
void l4_irq_raise(struct l4_kernel *k, unsigned irq);

/* A page fault at `addr` (rights wanted): a call to the thread's pager; the reply maps. */
int l4_page_fault(struct l4_kernel *k, uint32_t tid, uint64_t addr, uint8_t rights);
/* A VM exit of vCPU thread `tid`: a call to its exception handler (the VMM) with `exit`. */
int l4_vcpu_exit(struct l4_kernel *k, uint32_t tid, const struct l4_msg *exit);

#endif
