/*
 * The balloon driver, after Linux's drivers/xen/xen-balloon.c (the watch)
 * and drivers/xen/balloon.c (the worker).
 *
 * watch_target: a watch on memory/target; its value is KiB, the new target
 * is that many pages (balloon_set_new_target; a PV guest's target_diff is
 * 0). The worker (balloon_process) moves current_pages toward
 * target_pages by at most 512 pages a step (the frame_list of one page):
 *
 *  - decrease_reservation: pages taken from the page allocator, their p2m
 *    (start_info.mfn_list) entries set to INVALID_P2M_ENTRY, their frame
 *    numbers (gfns: the guest is auto-translated) handed back with
 *    XENMEM_decrease_reservation; the pfns go into the balloon.
 *  - increase_reservation: pfns out of the balloon populated with
 *    XENMEM_populate_physmap; each p2m entry set to the frame the
 *    hypervisor returns in the list (its gfn, or the machine frame for a
 *    domain whose mfn_list holds machine frames) and the page freed into
 *    the allocator. It may get fewer than asked (max_pages, host memory).
 *
 * A step that falls short is retried with Linux's back-off: 1 s, doubling
 * up to 32 s (balloon_stats.schedule_delay / max_schedule_delay); a
 * full step resets it. With the balloon empty there is nothing to
 * populate (no memory hotplug): the driver waits for the next target.
 * RAM above start_info.nr_pages (up to the memory map's end) starts in the
 * balloon, as Linux's xen_extra_mem does. Linux reports through sysfs
 * (current_kb, target_kb), not xenstore; here a console line marks each
 * target taken and reached, and balloon_stats holds the counts.
 *
 * The steps run in program context when vCPU 0 would block
 * (events_set_idle_work), never inside a xenstore request.
 */
#include "balloon.h"

#include "alloc.h"
#include "args.h"
#include "console.h"
#include "events.h"
#include "hypercall.h"
#include "runtime.h"
#include "xenbus.h"

ARG_BOOL(balloon, "run the balloon driver: follow memory/target in xenstore (docs/balloon.md)");

#define BATCH 512 /* Linux: frame_list[PAGE_SIZE / sizeof(xen_pfn_t)] */
#define INVALID_P2M_ENTRY (~0ul)
#define DELAY_MIN_NS 1000000000ull  /* schedule_delay 1 s */
#define DELAY_MAX_NS 32000000000ull /* max_schedule_delay 32 s */

struct balloon_stats balloon_stats;

static xen_pfn_t frame_list[BATCH];
static unsigned long old_p2m[BATCH];
static uint32_t *ballooned; /* pfns in the balloon, a stack */
static unsigned long *p2m;
static int watch_fired, canceled, moving;
static uint64_t next_try, delay = DELAY_MIN_NS;

static long reservation_op(unsigned op, unsigned long n)
{
    struct xen_memory_reservation r = {.nr_extents = n, .extent_order = 0, .domid = DOMID_SELF};
    set_xen_guest_handle(r.extent_start, frame_list);
    return HYPERVISOR_memory_op(op, &r);
}

unsigned long balloon_decrease(unsigned long n)
{
    unsigned long i = 0;
    if (n > BATCH)
        n = BATCH;
    for (; i < n; i++) {
        void *p = page_alloc(1);
        if (!p)
            break;
        frame_list[i] = virt_to_pfn(p);
        old_p2m[i] = p2m[frame_list[i]];
        p2m[frame_list[i]] = INVALID_P2M_ENTRY;
    }
    long done = i ? reservation_op(XENMEM_decrease_reservation, i) : 0;
    if (done < 0)
        done = 0;
    for (unsigned long k = 0; k < i; k++) {
        unsigned long pfn = frame_list[k];
        if (k < (unsigned long)done) {
            ballooned[balloon_stats.balloon_pages++] = (uint32_t)pfn;
            continue;
        }
        p2m[pfn] = old_p2m[k]; /* not given back: still ours */
        page_free(pfn_to_virt(pfn), 1);
    }
    balloon_stats.current_pages -= (unsigned long)done;
    balloon_stats.released += (unsigned long)done;
    return (unsigned long)done;
}

unsigned long balloon_increase(unsigned long n)
{
    if (n > BATCH)
        n = BATCH;
    if (n > balloon_stats.balloon_pages)
        n = balloon_stats.balloon_pages;
    if (!n)
        return 0;
    for (unsigned long i = 0; i < n; i++)
        frame_list[i] = ballooned[balloon_stats.balloon_pages - 1 - i];
    long done = reservation_op(XENMEM_populate_physmap, n);
    if (done < 0)
        done = 0;
    for (long i = 0; i < done; i++) {
        unsigned long pfn = ballooned[--balloon_stats.balloon_pages];
        p2m[pfn] = frame_list[i]; /* what the hypervisor returned: the frame for mfn_list */
        page_free(pfn_to_virt(pfn), 1);
    }
    balloon_stats.current_pages += (unsigned long)done;
    balloon_stats.populated += (unsigned long)done;
    return (unsigned long)done;
}

static void read_target(void)
{
    long kb;
    if (xs_read_int(XBT_NIL, "memory/target", &kb) < 0 || kb < 0)
        return; /* no target (Linux: "ok, for domain0 at least") */
    unsigned long target = (unsigned long)kb / (PAGE_SIZE / 1024);
    if (target == balloon_stats.target_pages)
        return;
    balloon_stats.target_pages = target;
    canceled = 0;
    moving = 1;
    next_try = 0;
    printf("balloon: target %lu KiB (holds %lu KiB)\n", (unsigned long)kb,
           balloon_stats.current_pages * (PAGE_SIZE / 1024));
}

/* One step of balloon_process. */
static void balloon_work(void)
{
    if (watch_fired) {
        watch_fired = 0;
        read_target();
    }
    struct balloon_stats *s = &balloon_stats;
    if (canceled || s->current_pages == s->target_pages || time_now_ns() < next_try)
        return;
    unsigned long want, got;
    if (s->target_pages > s->current_pages) {
        want = s->target_pages - s->current_pages;
        if (!s->balloon_pages) {
            canceled = 1; /* Linux: no hotplug, BP_ECANCELED */
            printf("balloon: target above RAM: holds %lu KiB, nothing left to populate\n",
                   s->current_pages * (PAGE_SIZE / 1024));
            return;
        }
        want = want < BATCH ? want : BATCH;
        want = want < s->balloon_pages ? want : s->balloon_pages;
        got = balloon_increase(want);
    } else {
        want = s->current_pages - s->target_pages;
        want = want < BATCH ? want : BATCH;
        got = balloon_decrease(want);
    }
    if (got < want) { /* BP_EAGAIN: back off */
        s->retries++;
        next_try = time_now_ns() + delay;
        delay = delay * 2 < DELAY_MAX_NS ? delay * 2 : DELAY_MAX_NS;
    } else {
        delay = DELAY_MIN_NS;
    }
    if (moving && s->current_pages == s->target_pages) {
        moving = 0;
        printf("balloon: at target, holds %lu KiB (%lu pages given back, %lu populated)\n",
               s->current_pages * (PAGE_SIZE / 1024), s->released, s->populated);
    }
}

/* Asked with delivery off: is there a step to take now? */
static int balloon_pending(void)
{
    if (xs_talking)
        return 0;
    if (xs_poll_watch("balloon", NULL, 0))
        watch_fired = 1;
    if (watch_fired)
        return 1;
    const struct balloon_stats *s = &balloon_stats;
    if (canceled || s->current_pages == s->target_pages)
        return 0;
    if (time_now_ns() >= next_try)
        return 1;
    timer_wake_by(next_try);
    return 0;
}

void balloon_init(unsigned long max_pfn)
{
    if (!arg_int("balloon", 0))
        return;
    unsigned long n = start_info->nr_pages;
    p2m = (unsigned long *)start_info->mfn_list;
    ballooned = page_zalloc((max_pfn * sizeof(*ballooned) + PAGE_SIZE - 1) / PAGE_SIZE);
    if (!ballooned)
        panic("balloon: no memory for the balloon's list");
    balloon_stats.current_pages = balloon_stats.target_pages = n;
    /* RAM above nr_pages starts in the balloon, lowest pfn on top */
    for (unsigned long pfn = max_pfn; pfn > n; pfn--)
        ballooned[balloon_stats.balloon_pages++] = (uint32_t)(pfn - 1);
    int rc = xs_watch("memory/target", "balloon");
    if (rc < 0)
        panic("balloon: cannot watch memory/target: %d", rc);
    events_set_idle_work(balloon_pending, balloon_work);
    printf("balloon: %lu KiB, up to %lu KiB\n", n * (PAGE_SIZE / 1024),
           max_pfn * (PAGE_SIZE / 1024));
}
