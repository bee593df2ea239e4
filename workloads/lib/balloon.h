/*
 * The balloon driver (Linux's drivers/xen/balloon.c and xen-balloon.c):
 * with the argument balloon=1 it watches memory/target (KiB) in the
 * domain's xenstore directory and moves the domain's reservation to it --
 * giving pages back with XENMEM_decrease_reservation, taking them with
 * XENMEM_populate_physmap -- in batches of up to 512 pages run whenever
 * the program would block (events.h, events_set_idle_work).
 */
#ifndef GUEST_BALLOON_H
#define GUEST_BALLOON_H

#include <stdint.h>

/* Start it if the balloon argument is set; max_pfn: the end of RAM (memory map). */
void balloon_init(unsigned long max_pfn);

struct balloon_stats {
    unsigned long current_pages; /* what the domain holds, as the driver counts */
    unsigned long target_pages;
    unsigned long balloon_pages; /* frames in the balloon (ballooned out or never populated) */
    unsigned long released, populated, retries;
};
extern struct balloon_stats balloon_stats;

/* Give back up to n pages now (decrease_reservation): pages given back. */
unsigned long balloon_decrease(unsigned long n);
/* Take up to n pages now (populate_physmap): pages taken. */
unsigned long balloon_increase(unsigned long n);

#endif
