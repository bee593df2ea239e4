/*
 * Event channels, upcall dispatch, time and blocking (see events.h).
 *
 * Shared state: shared_info (mapped by the runtime at start-up) holds the
 * pending and mask bitmaps and vcpu_info[0]. Xen sets pending bits, the
 * selector and evtchn_upcall_pending; we clear them. Ordering rule of the
 * scan (Xen's, as in Linux and Mini-OS): clear evtchn_upcall_pending first,
 * then take the selector with xchg, then for each selected word handle
 * pending & ~mask, clearing each pending bit atomically *before* calling
 * its handler, so an event raised during the handler is seen again.
 *
 * Several vCPUs (smp.h): each has its own vcpu_info (selector, upcall
 * flag and mask), Xen raises a port's event on the vCPU it is bound to
 * (EVTCHNOP_bind_vcpu; vCPU 0 until then), and a vCPU's scan handles only
 * the ports bound to it, as Linux's 2-level scan masks with
 * cpu_evtchn_mask. The pending and mask bitmaps are shared, hence the
 * atomic bit operations. The upcall runs with this vCPU's delivery masked,
 * so its scan is never re-entered.
 */
#include "events.h"
#include "console.h"
#include "hypercall.h"
#include "runtime.h"
#include "smp.h"

shared_info_t *shared_info;
volatile unsigned long events_handled;
static unsigned long events_unhandled;

static struct {
    evtchn_handler_t fn;
    void *data;
    volatile unsigned running; /* vCPUs inside this port's handler now */
} handlers[NR_EVTCHN_PORTS];

/*
 * Call port's handler, if any. `running` counts the vCPUs inside it, for
 * evtchn_detach_sync. The handler's data is read before its function:
 * evtchn_set_handler stores the function first, so a function read here is
 * never paired with a later, cleared data pointer (x86 keeps both orders).
 */
static void run_handler(evtchn_port_t port)
{
    __atomic_add_fetch(&handlers[port].running, 1u, __ATOMIC_SEQ_CST);
    void *data = READ_ONCE(handlers[port].data);
    evtchn_handler_t fn = READ_ONCE(handlers[port].fn);
    if (fn)
        fn(port, data);
    else
        events_unhandled++;
    __atomic_sub_fetch(&handlers[port].running, 1u, __ATOMIC_SEQ_CST);
}

extern char hypervisor_callback[];
void do_hypervisor_callback(void);

/*
 * vCPU 0's program context as a thread beside the handlers (events.h,
 * events_program_priority): while it is runnable, vCPU 0's scan leaves the
 * other ports' work pending and masked (`deferred`) instead of running it;
 * the program context unmasks them when it next blocks. Ports that wake the
 * program context (`prog_port`: the store, the backend's wake channel, the
 * timer) are never deferred. `defer_lock` orders the unmask against an
 * explicit evtchn_mask from another vCPU (a broken ring's ports stay masked).
 */
static int prog_prio;
static volatile int prog_woken;
static volatile unsigned long deferred[NR_EVTCHN_PORTS / BITS_PER_LONG];
static volatile unsigned long prog_port[NR_EVTCHN_PORTS / BITS_PER_LONG];
static spinlock_t defer_lock = SPINLOCK_INIT;
volatile unsigned long events_deferred, events_prog_wakes;

/* The vCPU each port notifies (what EVTCHNOP_bind_vcpu set). */
static uint8_t port_cpu[NR_EVTCHN_PORTS];

static vcpu_info_t *vcpu0(void)
{
    return &shared_info->vcpu_info[smp_id()];
}

void events_init(void)
{
    vcpu0()->evtchn_upcall_mask = 1;
    for (unsigned i = 0; i < ARRAY_SIZE(shared_info->evtchn_mask); i++)
        shared_info->evtchn_mask[i] = ~0ul;
    struct callback_register cb = {
        .type = CALLBACKTYPE_event,
        .flags = 0,
        .address = (unsigned long)hypervisor_callback,
    };
    int rc = HYPERVISOR_callback_op(CALLBACKOP_register, &cb);
    if (rc)
        panic("CALLBACKOP_register failed: %d", rc);
}

/* ---- hypercall wrappers ---- */

int evtchn_alloc_unbound(domid_t remote, evtchn_port_t *port)
{
    struct evtchn_alloc_unbound op = {.dom = DOMID_SELF, .remote_dom = remote};
    int rc = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &op);
    if (!rc)
        *port = op.port;
    return rc;
}

int evtchn_bind_interdomain(domid_t remote, evtchn_port_t remote_port, evtchn_port_t *local)
{
    struct evtchn_bind_interdomain op = {.remote_dom = remote, .remote_port = remote_port};
    int rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &op);
    if (!rc)
        *local = op.local_port;
    return rc;
}

int evtchn_bind_virq(uint32_t virq, evtchn_port_t *port)
{
    struct evtchn_bind_virq op = {.virq = virq, .vcpu = 0};
    int rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &op);
    if (!rc)
        *port = op.port;
    return rc;
}

int evtchn_close(evtchn_port_t port)
{
    struct evtchn_close op = {.port = port};
    int rc = HYPERVISOR_event_channel_op(EVTCHNOP_close, &op);
    if (!rc && port < NR_EVTCHN_PORTS)
        port_cpu[port] = 0; /* a freed port notifies vCPU 0 when reused, as in Xen */
    return rc;
}

int evtchn_bind_ipi(unsigned cpu, evtchn_port_t *port)
{
    struct evtchn_bind_ipi op = {.vcpu = cpu};
    int rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_ipi, &op);
    if (!rc) {
        *port = op.port;
        if (op.port < NR_EVTCHN_PORTS)
            port_cpu[op.port] = (uint8_t)cpu;
    }
    return rc;
}

int evtchn_bind_vcpu(evtchn_port_t port, unsigned cpu)
{
    struct evtchn_bind_vcpu op = {.port = port, .vcpu = cpu};
    int rc = HYPERVISOR_event_channel_op(EVTCHNOP_bind_vcpu, &op);
    if (!rc && port < NR_EVTCHN_PORTS) {
        port_cpu[port] = (uint8_t)cpu;
        /* an event already pending was flagged on the old vCPU: raise it on the new one */
        if (evtchn_is_pending(port) && !evtchn_is_masked(port))
            evtchn_unmask(port);
    }
    return rc;
}

unsigned evtchn_cpu(evtchn_port_t port)
{
    return port < NR_EVTCHN_PORTS ? port_cpu[port] : 0;
}

int evtchn_send(evtchn_port_t port)
{
    struct evtchn_send op = {.port = port};
    return HYPERVISOR_event_channel_op(EVTCHNOP_send, &op);
}

int evtchn_status(domid_t dom, evtchn_port_t port, struct evtchn_status *st)
{
    *st = (struct evtchn_status){.dom = dom, .port = port};
    return HYPERVISOR_event_channel_op(EVTCHNOP_status, st);
}

int evtchn_unmask(evtchn_port_t port)
{
    struct evtchn_unmask op = {.port = port};
    return HYPERVISOR_event_channel_op(EVTCHNOP_unmask, &op);
}

/* ---- local bit operations ---- */

void evtchn_mask(evtchn_port_t port)
{
    if (port >= NR_EVTCHN_PORTS)
        return;
    if (!prog_prio) {
        set_bit_ul(port, shared_info->evtchn_mask);
        return;
    }
    /* masked for good: no longer a deferred port that events_block would unmask */
    int f = spin_lock_irqsave(&defer_lock);
    clear_bit_ul(port, deferred);
    set_bit_ul(port, shared_info->evtchn_mask);
    spin_unlock_irqrestore(&defer_lock, f);
}

void evtchn_clear(evtchn_port_t port)
{
    if (port < NR_EVTCHN_PORTS)
        clear_bit_ul(port, shared_info->evtchn_pending);
}

int evtchn_is_pending(evtchn_port_t port)
{
    return port < NR_EVTCHN_PORTS && test_bit_ul(port, shared_info->evtchn_pending);
}

int evtchn_is_masked(evtchn_port_t port)
{
    return port < NR_EVTCHN_PORTS && test_bit_ul(port, shared_info->evtchn_mask);
}

/* ---- handlers ---- */

void evtchn_set_handler(evtchn_port_t port, evtchn_handler_t fn, void *data)
{
    if (port >= NR_EVTCHN_PORTS)
        return;
    int f = irq_save();
    handlers[port].fn = fn;
    handlers[port].data = data;
    irq_restore(f);
}

int evtchn_attach(evtchn_port_t port, evtchn_handler_t fn, void *data)
{
    if (port >= NR_EVTCHN_PORTS)
        return -XEN_EINVAL;
    evtchn_set_handler(port, fn, data);
    return evtchn_unmask(port);
}

void evtchn_detach(evtchn_port_t port)
{
    evtchn_mask(port);
    evtchn_set_handler(port, NULL, NULL);
}

void evtchn_detach_sync(evtchn_port_t port)
{
    evtchn_detach(port);
    if (port >= NR_EVTCHN_PORTS)
        return;
    /* Linux's free_irq -> synchronize_irq: a handler another vCPU entered before the detach
       finishes before its data may go away; give the CPU back while it does */
    while (__atomic_load_n(&handlers[port].running, __ATOMIC_SEQ_CST))
        HYPERVISOR_sched_op(SCHEDOP_yield, NULL);
}

int evtchn_unbind(evtchn_port_t port)
{
    evtchn_detach(port);
    int rc = evtchn_close(port);
    evtchn_clear(port);
    return rc;
}

/* ---- delivery ---- */

void irq_disable(void)
{
    vcpu0()->evtchn_upcall_mask = 1;
    barrier();
}

void irq_enable(void)
{
    vcpu_info_t *v = vcpu0();
    barrier();
    v->evtchn_upcall_mask = 0;
    barrier();
    /* Anything that arrived while masked: handle it here (no hypercall needed). */
    while (unlikely(READ_ONCE(v->evtchn_upcall_pending))) {
        v->evtchn_upcall_mask = 1;
        barrier();
        events_scan();
        barrier();
        v->evtchn_upcall_mask = 0;
        barrier();
    }
}

int irq_save(void)
{
    if (!shared_info)
        return 1; /* before events_init: nothing is delivered yet */
    vcpu_info_t *v = vcpu0();
    int old = v->evtchn_upcall_mask;
    if (!old)
        irq_disable();
    return old;
}

void irq_restore(int flags)
{
    if (!flags)
        irq_enable();
}

/* Port after the last one each vCPU handled: its next scan starts there. */
static uint16_t scan_next[SMP_MAX_CPUS];

/* Word w's pending, unmasked ports among `allow` (a snapshot), each handled once, in order. */
static void scan_word(unsigned me, unsigned w, unsigned long allow)
{
    shared_info_t *s = shared_info;
    unsigned long bits = READ_ONCE(s->evtchn_pending[w]) & ~READ_ONCE(s->evtchn_mask[w]) & allow;
    while (bits) {
        unsigned b = ctz_ulong(bits);
        bits &= bits - 1;
        evtchn_port_t port = w * BITS_PER_LONG + b;
        if (port_cpu[port] != me)
            continue;
        if (me == 0 && prog_woken && !test_bit_ul(port, prog_port)) {
            /* the program context runs first: this work waits, pending and masked */
            set_bit_ul(port, shared_info->evtchn_mask);
            set_bit_ul(port, deferred);
            events_deferred++;
            continue;
        }
        if (!test_and_clear_bit_ul(b, &s->evtchn_pending[w]))
            continue; /* another vCPU took it */
        events_handled++;
        scan_next[me] = (uint16_t)((port + 1) % NR_EVTCHN_PORTS);
        run_handler(port);
    }
}

/*
 * Linux's evtchn_2l_handle_events: the scan starts after the port this vCPU
 * handled last (current_word_idx / current_bit_idx) and takes each port that
 * was pending when its word was read once, so a busy low-numbered port cannot
 * starve a higher one. An event raised meanwhile sets its selector bit and
 * the upcall flag again and is taken by the next scan.
 */
void events_scan(void)
{
    shared_info_t *s = shared_info;
    unsigned me = smp_id();
    vcpu_info_t *v = &s->vcpu_info[me];
    WRITE_ONCE(v->evtchn_upcall_pending, 0);
    unsigned long sel = xchg_ulong(&v->evtchn_pending_sel, 0);
    unsigned sw = scan_next[me] / BITS_PER_LONG;
    unsigned long from = ~0ul << (scan_next[me] % BITS_PER_LONG);
    for (unsigned i = 0; i <= BITS_PER_LONG; i++) {
        unsigned w = (sw + i) % BITS_PER_LONG;
        if (!(sel & (1ul << w)))
            continue;
        unsigned long allow = i == 0 ? from : i == BITS_PER_LONG ? ~from : ~0ul;
        if (allow)
            scan_word(me, w, allow);
    }
}

void evtchn_run(evtchn_port_t port)
{
    if (port >= NR_EVTCHN_PORTS)
        return;
    int f = irq_save();
    events_handled++;
    run_handler(port);
    irq_restore(f);
}

/*
 * Called by hypervisor_callback (start.S) with delivery masked. Scans again
 * while an event came in meanwhile, as Linux's __xen_evtchn_do_upcall loops on
 * evtchn_upcall_pending, rather than taking a new upcall for it.
 */
void do_hypervisor_callback(void)
{
    do
        events_scan();
    while (READ_ONCE(vcpu0()->evtchn_upcall_pending));
}

void events_program_priority(void)
{
    prog_prio = 1;
}

void evtchn_program_port(evtchn_port_t port)
{
    if (port < NR_EVTCHN_PORTS)
        set_bit_ul(port, prog_port);
}

void events_wake_program(void)
{
    if (prog_prio && smp_id() == 0 && !prog_woken) {
        prog_woken = 1;
        events_prog_wakes++;
    }
}

/* vCPU 0's program context is about to block: the work it deferred runs now. */
static void run_deferred(void)
{
    prog_woken = 0;
    for (unsigned w = 0; w < ARRAY_SIZE(deferred); w++) {
        if (!READ_ONCE(deferred[w]))
            continue;
        int f = spin_lock_irqsave(&defer_lock);
        unsigned long bits = xchg_ulong(&deferred[w], 0);
        while (bits) {
            evtchn_port_t port = w * BITS_PER_LONG + ctz_ulong(bits);
            bits &= bits - 1;
            if (READ_ONCE(handlers[port].fn))
                evtchn_unmask(port); /* Xen raises it again if it is still pending */
        }
        spin_unlock_irqrestore(&defer_lock, f);
    }
}

static int (*idle_pending)(void);
static void (*idle_work)(void);
static int idle_running;

void events_set_idle_work(int (*pending)(void), void (*work)(void))
{
    idle_pending = pending;
    idle_work = work;
}

void events_block(void)
{
    if (prog_prio && smp_id() == 0)
        run_deferred();
    /*
     * Deferred work runs here, where program context would otherwise wait
     * (as a kernel's worker runs when its CPU would idle): asked with
     * delivery still off, run with it on, then back to the caller's
     * WAIT_UNTIL as a spurious wake-up, so an event handled meanwhile is
     * never slept through.
     */
    if (idle_work && !idle_running && smp_id() == 0 && idle_pending()) {
        idle_running = 1;
        irq_enable();
        idle_work();
        idle_running = 0;
        return;
    }
    HYPERVISOR_sched_op(SCHEDOP_block, NULL);
    /* Xen re-enabled delivery; the upcall normally ran on the way back. */
    irq_enable();
}

void events_wait(void)
{
    irq_disable();
    if (READ_ONCE(vcpu0()->evtchn_upcall_pending))
        irq_enable();
    else
        events_block();
}

/* ---- time ---- */

uint64_t time_now_ns(void)
{
    volatile struct vcpu_time_info *t = &vcpu0()->time;
    uint32_t ver;
    uint64_t now;
    do {
        ver = t->version;
        rmb();
        now = t->system_time;
        rmb();
    } while ((ver & 1) || ver != t->version);
    return now;
}

static uint64_t timer_deadline; /* vCPU 0's armed singleshot timer, 0: none */

int timer_set(uint64_t abs_ns)
{
    struct vcpu_set_singleshot_timer t = {.timeout_abs_ns = abs_ns, .flags = 0};
    if (smp_id() == 0)
        timer_deadline = abs_ns;
    return HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, smp_id(), &t);
}

static evtchn_port_t timer_port;
static int timer_bound;
static void timer_handler(evtchn_port_t port, void *data);

static void timer_bind(void)
{
    if (timer_bound)
        return;
    int rc = evtchn_bind_virq(VIRQ_TIMER, &timer_port);
    if (rc)
        panic("bind VIRQ_TIMER failed: %d", rc);
    evtchn_attach(timer_port, timer_handler, NULL);
    evtchn_program_port(timer_port); /* it wakes the program context: never deferred */
    timer_bound = 1;
}

void timer_wake_by(uint64_t abs_ns)
{
    timer_bind();
    if (!timer_deadline || timer_deadline <= time_now_ns() || abs_ns < timer_deadline)
        timer_set(abs_ns);
}

static void timer_handler(evtchn_port_t port, void *data)
{
    (void)port;
    (void)data;
}

void sleep_until_ns(uint64_t abs_ns)
{
    timer_bind();
    while (time_now_ns() < abs_ns) {
        if (timer_set(abs_ns))
            return;
        WAIT_UNTIL(time_now_ns() >= abs_ns || evtchn_is_pending(timer_port));
    }
}

void sleep_ns(uint64_t ns)
{
    sleep_until_ns(time_now_ns() + ns);
}
