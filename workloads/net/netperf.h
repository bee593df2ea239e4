/*
 * The network test program (the patent's "function test program" for the
 * NIC), netperf-like, written against struct netdev so it runs unchanged
 * over the native e1000 driver and over netfront. See netperf.c for the
 * arguments.
 */
#ifndef NET_NETPERF_H
#define NET_NETPERF_H

#include "netdev.h"

/*
 * Run the test the domain's arguments describe on d and print its summary.
 * Checks are GCHECK marks; returns nonzero only if the test could not run
 * (bad arguments, no memory).
 */
int netperf_run(struct netdev *d);

#endif
