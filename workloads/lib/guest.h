/*
 * The guest runtime in one include: programs include "guest.h" and define
 * int app_main(void). See each header for its part:
 *   runtime.h  start-up, exit, panic, start_info, our domid
 *   hypercall.h  HYPERVISOR_* wrappers over the hypercall page
 *   events.h   event channels, upcalls, blocking, time
 *   gnttab.h   grant tables (grant, map, unmap, copy)
 *   xenbus.h   xenstore client and XenBus handshake
 *   console.h  printf & co.      alloc.h  pages and malloc
 *   args.h     key=value args    str.h    string functions
 *   trace.h    trace marks and GCHECK test assertions
 */
#ifndef GUEST_GUEST_H
#define GUEST_GUEST_H

#include "xenif.h"
#include "alloc.h"
#include "args.h"
#include "console.h"
#include "events.h"
#include "gnttab.h"
#include "hypercall.h"
#include "runtime.h"
#include "str.h"
#include "trace.h"
#include "xenbus.h"

#endif
