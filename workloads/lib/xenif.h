/*
 * The Xen public interface as guest code sees it: every Xen header the
 * runtime and programs use, included in the right order (barriers before
 * io/ring.h). Headers are Xen's own (libxen-dev), used unmodified; the
 * interface version comes from the build (__XEN_INTERFACE_VERSION__).
 */
#ifndef GUEST_XENIF_H
#define GUEST_XENIF_H

#include <stddef.h>
#include <stdint.h>

#include "arch.h"

#include <xen/xen.h>
#include <xen/errno.h>
#include <xen/callback.h>
#include <xen/event_channel.h>
#include <xen/grant_table.h>
#include <xen/memory.h>
#include <xen/sched.h>
#include <xen/vcpu.h>
#include <xen/io/ring.h>
#include <xen/io/xenbus.h>
#include <xen/io/xs_wire.h>

#include <hopsim/abi.h>

#endif
