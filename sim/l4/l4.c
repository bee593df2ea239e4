/*
 * The microkernel model (see l4.h; semantics after L4 X.2 / Fiasco:
 * rendezvous IPC, map/grant/unmap over a mapping database).
 */
#include "l4.h"

#include <stdio.h>
#include "cost.h"
#include <stdlib.h>
#include <string.h>

static bool tid_ok(const struct l4_kernel *k, uint32_t tid)
{
    uint32_t task = L4_TASK_OF(tid), n = tid & 0xffff;
    return task > 0 && task < L4_MAX_TASKS && n < L4_MAX_THREADS && k->tasks[task].alive;
}

struct l4_thread *l4_thread(struct l4_kernel *k, uint32_t tid)
{
    for (int i = 0; i < L4_MAX_THREADS; i++)
        if (k->threads[i].state != L4T_FREE && k->threads[i].id == tid)
            return &k->threads[i];
    return NULL;
}

static struct l4_thread *live(struct l4_kernel *k, uint32_t tid)
{
    struct l4_thread *t = tid_ok(k, tid) ? l4_thread(k, tid) : NULL;
    return t && t->state != L4T_DEAD ? t : NULL;
}

void l4_init(struct l4_kernel *k, struct evq *q, simtime_t ipc_cost, simtime_t map_cost)
{
    memset(k, 0, sizeof(*k));
    k->q = q;
    k->ipc_cost = ipc_cost;
    k->map_cost = map_cost;
}

void l4_init_profile(struct l4_kernel *k, struct evq *q, const struct cost_profile *cp, double hz)
{
    l4_init(k, q, (simtime_t)(cp->value[C_L4_IPC] / hz * 1e12 + 0.5),
            (simtime_t)(cp->value[C_L4_MAP_PAGE] / hz * 1e12 + 0.5));
}

void l4_fini(struct l4_kernel *k)
{
    for (int i = 0; i < L4_MAX_THREADS; i++)
        evq_cancel(k->q, k->threads[i].timeout);
    free(k->maps);
    k->maps = NULL;
}

int l4_task_create(struct l4_kernel *k, const char *name)
{
    for (int t = 1; t < L4_MAX_TASKS; t++)
        if (!k->tasks[t].alive) {
            k->tasks[t].alive = true;
            snprintf(k->tasks[t].name, sizeof(k->tasks[t].name), "%s", name);
            return t;
        }
    return -1;
}

uint32_t l4_thread_create(struct l4_kernel *k, int task, uint32_t pager, uint32_t exc_handler,
                          l4_wake_fn wake, void *arg)
{
    if (task <= 0 || task >= L4_MAX_TASKS || !k->tasks[task].alive)
        return L4_NILTHREAD;
    for (int i = 0; i < L4_MAX_THREADS; i++) {
        struct l4_thread *t = &k->threads[i];
        if (t->state != L4T_FREE)
            continue;
        *t = (struct l4_thread){.kern = k,
                                .state = L4T_READY,
                                .id = L4_TID(task, i),
                                .pager = pager,
                                .exc_handler = exc_handler,
                                .wake = wake,
                                .wake_arg = arg};
        return t->id;
    }
    return L4_NILTHREAD;
}

/* ---- the mapping database ---- */

static int node_find(const struct l4_kernel *k, uint32_t task, uint64_t vpn)
{
    for (int i = 0; i < k->nmaps; i++)
        if (k->maps[i].used && k->maps[i].task == task && k->maps[i].vpn == vpn)
            return i;
    return -1;
}

static int node_new(struct l4_kernel *k)
{
    for (int i = 0; i < k->nmaps; i++)
        if (!k->maps[i].used)
            return i;
    if (k->nmaps == k->cap) {
        int cap = k->cap ? k->cap * 2 : 64;
        struct l4_map *n = realloc(k->maps, (size_t)cap * sizeof(*n));
        if (!n)
            return -1;
        k->maps = n;
        k->cap = cap;
    }
    return k->nmaps++;
}

static void child_link(struct l4_kernel *k, int parent, int child)
{
    k->maps[child].parent = parent;
    k->maps[child].next_sibling = parent >= 0 ? k->maps[parent].first_child : -1;
    if (parent >= 0)
        k->maps[parent].first_child = child;
}

static void child_unlink(struct l4_kernel *k, int n)
{
    int p = k->maps[n].parent;
    if (p < 0)
        return;
    int *pp = &k->maps[p].first_child;
    while (*pp >= 0 && *pp != n)
        pp = &k->maps[*pp].next_sibling;
    if (*pp == n)
        *pp = k->maps[n].next_sibling;
    k->maps[n].parent = -1;
}

/* Remove node n's whole subtree (n too when `self`); the number of mappings removed. */
static int revoke(struct l4_kernel *k, int n, bool self)
{
    int count = 0;
    while (k->maps[n].first_child >= 0) {
        int c = k->maps[n].first_child;
        count += revoke(k, c, true);
    }
    if (self) {
        child_unlink(k, n);
        k->maps[n].used = false;
        count++;
        if (k->unmapped)
            k->unmapped(k->obs, k->maps[n].task, k->maps[n].vpn * L4_PAGE);
    }
    return count;
}

int l4_map_root(struct l4_kernel *k, int task, uint64_t vaddr, uint64_t frame, uint8_t rights)
{
    if (task <= 0 || task >= L4_MAX_TASKS || !k->tasks[task].alive || (vaddr & (L4_PAGE - 1)))
        return -L4_ERIGHTS;
    uint64_t vpn = vaddr / L4_PAGE;
    int old = node_find(k, (uint32_t)task, vpn);
    if (old >= 0)
        revoke(k, old, true);
    int n = node_new(k);
    if (n < 0)
        return -L4_ERIGHTS;
    k->maps[n] = (struct l4_map){.used = true,
                                 .task = (uint32_t)task,
                                 .vpn = vpn,
                                 .frame = frame,
                                 .rights = rights & L4_RWX,
                                 .parent = -1,
                                 .first_child = -1,
                                 .next_sibling = -1};
    return 0;
}

int l4_lookup(const struct l4_kernel *k, int task, uint64_t vaddr, uint64_t *frame, uint8_t *rights)
{
    int n = node_find(k, (uint32_t)task, vaddr / L4_PAGE);
    if (n < 0)
        return -L4_ERIGHTS;
    *frame = k->maps[n].frame;
    *rights = k->maps[n].rights;
    return 0;
}

int l4_unmap(struct l4_kernel *k, int task, const struct l4_fpage *fp, unsigned flags)
{
    int count = 0;
    uint64_t first = fp->base / L4_PAGE, pages = 1ull << fp->order;
    for (uint64_t i = 0; i < pages; i++) {
        int n = node_find(k, (uint32_t)task, first + i);
        if (n >= 0)
            count += revoke(k, n, (flags & L4_UNMAP_SELF) != 0);
    }
    k->pages_revoked += (uint64_t)count;
    return count;
}

/* Move or derive the typed item's pages from sender s to receiver r; 0 or -L4_E*. */
static int transfer_item(struct l4_kernel *k, struct l4_thread *s, struct l4_thread *r, int *pages)
{
    const struct l4_msg *m = &s->msg;
    *pages = 0;
    if (m->item == L4_ITEM_NONE)
        return 0;
    if (!r->has_window)
        return -L4_EWINDOW;
    uint64_t n = 1ull << m->fpage.order;
    uint64_t wfirst = r->window.base / L4_PAGE, wpages = 1ull << r->window.order;
    uint64_t dst = wfirst + m->send_base / L4_PAGE;
    if (m->send_base % L4_PAGE || dst + n > wfirst + wpages || (m->fpage.base % L4_PAGE))
        return -L4_EWINDOW;
    uint32_t st = L4_TASK_OF(s->id), rt = L4_TASK_OF(r->id);
    uint64_t src = m->fpage.base / L4_PAGE;
    for (uint64_t i = 0; i < n; i++) /* everything must be there before anything moves */
        if (node_find(k, st, src + i) < 0)
            return -L4_ERIGHTS;
    for (uint64_t i = 0; i < n; i++) {
        int sn = node_find(k, st, src + i);
        int old = node_find(k, rt, dst + i);
        if (old >= 0 && old != sn)
            revoke(k, old, true);
        uint8_t rights = k->maps[sn].rights & m->fpage.rights;
        if (m->item == L4_ITEM_GRANT) {
            if (k->unmapped) /* the granter loses it */
                k->unmapped(k->obs, st, k->maps[sn].vpn * L4_PAGE);
            k->maps[sn].task = rt;
            k->maps[sn].vpn = dst + i;
            k->maps[sn].rights = rights;
        } else {
            int c = node_new(k);
            if (c < 0)
                return -L4_ERIGHTS;
            k->maps[c] = (struct l4_map){.used = true,
                                         .task = rt,
                                         .vpn = dst + i,
                                         .frame = k->maps[sn].frame,
                                         .rights = rights,
                                         .first_child = -1};
            child_link(k, sn, c);
        }
        (*pages)++;
    }
    k->pages_mapped += (uint64_t)*pages;
    return 0;
}

/* ---- IPC ---- */

static void finish(struct l4_kernel *k, struct l4_thread *t, int result, simtime_t at, bool wake)
{
    evq_cancel(k->q, t->timeout);
    t->timeout = 0;
    t->result = result;
    t->done_at = at;
    t->state = L4T_READY;
    t->call = false;
    if (wake && t->wake)
        t->wake(k, t, t->wake_arg);
}

/* The time of the current kernel entry. */
static simtime_t know(const struct l4_kernel *k)
{
    return k->at ? k->at : evq_now(k->q);
}

static void observed(struct l4_kernel *k, uint32_t from, uint32_t to, int64_t label,
                     simtime_t start, int pages)
{
    if (k->observe)
        k->observe(k->obs, from, to, label, start, pages);
}

static void timeout_fired(void *opaque, simtime_t now)
{
    struct l4_thread *t = opaque;
    t->timeout = 0;
    if (t->state != L4T_SEND && t->state != L4T_RECV)
        return;
    t->result = -L4_ETIMEOUT;
    t->done_at = now;
    t->state = L4T_READY;
    t->call = false;
    if (t->wake)
        t->wake(t->kern, t, t->wake_arg);
}

static void arm_timeout(struct l4_kernel *k, struct l4_thread *t, uint64_t ns)
{
    if (ns != L4_NEVER)
        t->timeout = evq_schedule(k->q, know(k) + ns * PS_PER_NS, timeout_fired, t);
}

static bool accepts(const struct l4_thread *r, uint32_t sender)
{
    return r->state == L4T_RECV && (r->partner == L4_ANY || r->partner == sender);
}

/*
 * Rendezvous: sender s's message goes to receiver r now. Both sides
 * complete; a call's sender then waits for r's reply. Returns the result.
 */
static int deliver(struct l4_kernel *k, struct l4_thread *s, struct l4_thread *r, bool wake_sender,
                   bool wake_receiver)
{
    int pages = 0;
    int rc = transfer_item(k, s, r, &pages);
    simtime_t start = know(k), at = start + k->ipc_cost + (simtime_t)pages * k->map_cost;
    k->ipcs++;
    if (rc == 0) {
        r->msg = s->msg;
        r->from = s->id;
        r->received++;
        s->sent++;
        observed(k, s->id, r->id, s->msg.label, start, pages);
    }
    finish(k, r, rc, at, wake_receiver);
    if (rc == 0 && s->call) {
        /* the second half of the call: wait for the reply from r (no new timeout) */
        s->state = L4T_RECV;
        s->partner = r->id;
        s->call = false;
        s->done_at = at;
        return rc;
    }
    finish(k, s, rc, at, wake_sender);
    return rc;
}

static int do_send(struct l4_kernel *k, struct l4_thread *s, uint32_t dest, const struct l4_msg *m,
                   uint64_t timeout_ns, bool call)
{
    struct l4_thread *r = live(k, dest);
    if (!r)
        return -L4_ENOPARTNER;
    s->msg = *m;
    s->call = call;
    s->partner = dest;
    if (accepts(r, s->id)) {
        int rc = deliver(k, s, r, false, true);
        return rc < 0 ? rc : (call ? 1 : 0);
    }
    if (timeout_ns == 0) {
        s->call = false;
        return -L4_ETIMEOUT;
    }
    s->state = L4T_SEND;
    arm_timeout(k, s, timeout_ns);
    return 1;
}

int l4_send(struct l4_kernel *k, uint32_t tid, uint32_t dest, const struct l4_msg *m,
            uint64_t timeout_ns)
{
    struct l4_thread *s = live(k, tid);
    if (!s)
        return -L4_ENOPARTNER;
    return do_send(k, s, dest, m, timeout_ns, false);
}

int l4_call(struct l4_kernel *k, uint32_t tid, uint32_t dest, const struct l4_msg *m,
            const struct l4_fpage *window, uint64_t timeout_ns)
{
    struct l4_thread *s = live(k, tid);
    if (!s)
        return -L4_ENOPARTNER;
    s->has_window = window != NULL;
    if (window)
        s->window = *window;
    return do_send(k, s, dest, m, timeout_ns, true);
}

static void irq_pending_deliver(struct l4_kernel *k, struct l4_thread *r);

int l4_receive(struct l4_kernel *k, uint32_t tid, uint32_t from, const struct l4_fpage *window,
               uint64_t timeout_ns)
{
    struct l4_thread *r = live(k, tid);
    if (!r)
        return -L4_ENOPARTNER;
    r->has_window = window != NULL;
    if (window)
        r->window = *window;
    r->partner = from;
    r->state = L4T_RECV;
    for (int i = 0; i < L4_MAX_THREADS; i++) {
        struct l4_thread *s = &k->threads[i];
        if (s->state == L4T_SEND && s->partner == tid && (from == L4_ANY || from == s->id)) {
            int rc = deliver(k, s, r, true, false);
            return rc < 0 ? rc : 0;
        }
    }
    irq_pending_deliver(k, r);
    if (r->state != L4T_RECV)
        return 0;
    if (timeout_ns == 0) {
        r->state = L4T_READY;
        return -L4_ETIMEOUT;
    }
    arm_timeout(k, r, timeout_ns);
    return 1;
}

/* ---- interrupts ---- */

static void irq_to(struct l4_kernel *k, unsigned irq, struct l4_thread *r, bool wake)
{
    r->msg = (struct l4_msg){.label = L4_LABEL_IRQ, .nmr = 1, .mr = {irq}};
    r->from = L4_IRQ_SENDER(irq);
    r->received++;
    k->ipcs++;
    k->irqs[irq].pending = false;
    simtime_t start = know(k);
    observed(k, r->from, r->id, L4_LABEL_IRQ, start, 0);
    finish(k, r, 0, start + k->ipc_cost, wake);
}

static void irq_pending_deliver(struct l4_kernel *k, struct l4_thread *r)
{
    for (unsigned i = 0; i < L4_MAX_IRQS; i++)
        if (k->irqs[i].pending && k->irqs[i].handler == r->id &&
            (r->partner == L4_ANY || r->partner == L4_IRQ_SENDER(i))) {
            irq_to(k, i, r, false); /* the receiver is the caller */
            return;
        }
}

int l4_irq_attach(struct l4_kernel *k, unsigned irq, uint32_t tid)
{
    if (irq >= L4_MAX_IRQS || !live(k, tid))
        return -L4_ENOPARTNER;
    if (k->irqs[irq].handler && live(k, k->irqs[irq].handler))
        return -L4_EBUSY;
    k->irqs[irq].handler = tid;
    k->irqs[irq].pending = false;
    return 0;
}

void l4_irq_raise(struct l4_kernel *k, unsigned irq)
{
    if (irq >= L4_MAX_IRQS)
        return;
    struct l4_thread *r = live(k, k->irqs[irq].handler);
    if (r && accepts(r, L4_IRQ_SENDER(irq)))
        irq_to(k, irq, r, true);
    else
        k->irqs[irq].pending = true; /* level kept until the handler receives */
}

/* ---- faults and exits: calls the kernel makes on the thread's behalf ---- */

int l4_page_fault(struct l4_kernel *k, uint32_t tid, uint64_t addr, uint8_t rights)
{
    struct l4_thread *t = live(k, tid);
    if (!t)
        return -L4_ENOPARTNER;
    struct l4_msg m = {.label = L4_LABEL_PAGEFAULT, .nmr = 2, .mr = {addr, rights}};
    struct l4_fpage w = {.base = addr & ~(L4_PAGE - 1), .order = 0, .rights = L4_RWX};
    return l4_call(k, tid, t->pager, &m, &w, L4_NEVER);
}

int l4_vcpu_exit(struct l4_kernel *k, uint32_t tid, const struct l4_msg *exit)
{
    struct l4_thread *t = live(k, tid);
    if (!t)
        return -L4_ENOPARTNER;
    struct l4_msg m = *exit;
    m.label = L4_LABEL_EXCEPTION;
    m.item = L4_ITEM_NONE;
    return l4_call(k, tid, t->exc_handler, &m, NULL, L4_NEVER);
}

/* ---- deletion ---- */

void l4_task_delete(struct l4_kernel *k, int task)
{
    if (task <= 0 || task >= L4_MAX_TASKS || !k->tasks[task].alive)
        return;
    simtime_t now = evq_now(k->q);
    for (int i = 0; i < L4_MAX_THREADS; i++) {
        struct l4_thread *t = &k->threads[i];
        if (t->state != L4T_FREE && L4_TASK_OF(t->id) == (uint32_t)task) {
            evq_cancel(k->q, t->timeout);
            t->timeout = 0;
            t->state = L4T_DEAD;
        }
    }
    k->tasks[task].alive = false;
    /* threads waiting on a dead partner fail */
    for (int i = 0; i < L4_MAX_THREADS; i++) {
        struct l4_thread *t = &k->threads[i];
        if ((t->state == L4T_SEND || (t->state == L4T_RECV && t->partner != L4_ANY)) &&
            L4_TASK_OF(t->partner) == (uint32_t)task)
            finish(k, t, -L4_ENOPARTNER, now, true);
    }
    for (int i = 0; i < k->nmaps; i++)
        if (k->maps[i].used && k->maps[i].task == (uint32_t)task)
            k->pages_revoked += (uint64_t)revoke(k, i, true);
}
