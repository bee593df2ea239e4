/*
 * The small interfaces between device models and the platform.
 *
 * A device model never calls Unicorn and never knows addresses other than
 * its own register offsets: the platform (sim/platform.c) maps BARs into
 * the owning domain's vCPUs, charges MMIO access time, translates bus
 * addresses for DMA and routes interrupts. Models get time and scheduling
 * from the shared event queue, and report spans to the trace (a NULL trace
 * is allowed: tracing off, as in register-level tests).
 */
#ifndef HOPSIM_DEVICE_H
#define HOPSIM_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cost.h"
#include "evq.h"
#include "simtime.h"
#include "trace.h"

/*
 * Register access: size 1, 2, 4 (8-byte accesses arrive as two 4-byte ones,
 * low half first). `now` is the accessing vCPU's time, which may be ahead
 * of the event queue's clock (a slice runs atomically at its start):
 * effects must be scheduled at `now`, never at evq_now().
 */
struct mmio_ops {
    uint64_t (*read)(void *opaque, uint64_t offset, unsigned size, simtime_t now);
    void (*write)(void *opaque, uint64_t offset, uint64_t value, unsigned size, simtime_t now);
};

/*
 * DMA: the host pointer for bus addresses [bus, bus+len), or NULL when any
 * of it is outside memory the bus can reach (the device reports a DMA
 * error). A range never crosses a 4 KiB page: callers split.
 */
struct dma_ops {
    void *opaque;
    void *(*map)(void *opaque, uint64_t bus, uint64_t len, bool write);
    /*
     * Optional: address-translation time (IOMMU walks) the platform's map
     * calls accrued since the last call, and reset. A model's transfer is
     * timed before its bytes move, so a walk lengthens the device's next
     * transfer (dev_dma_time adds it).
     */
    simtime_t (*stall)(void *opaque);
};

/* An interrupt source: the platform turns it into MSI or INTx delivery. */
struct irq_line {
    void *opaque;
    void (*raise)(void *opaque, simtime_t when);
    void (*lower)(void *opaque, simtime_t when);
    /*
     * Request `req` has completed at the device and the host learns of it at
     * `when` (its completion interrupt, raised at `raised`, arrives; or the
     * entry lands while the interrupt is masked: `irq` NULL): the request
     * leaves the device's hop (H5) then, or earlier if its driver finds the
     * completion first. The platform traces the interrupt's flight (a span
     * named `irq`, argument `arg`) once it knows which. May be NULL: the
     * device traces the interrupt itself.
     */
    void (*complete)(void *opaque, uint64_t req, simtime_t raised, simtime_t when, const char *irq,
                     int64_t arg);
};

/* What every device model is given at creation. */
struct dev_env {
    struct evq *q;
    struct trace *tr; /* may be NULL */
    uint16_t place;   /* the device's trace track */
    const struct cost_profile *cost;
    double hz; /* core clock, for cycle-denominated costs */
    struct dma_ops dma;
    struct irq_line irq;
};

/* device.c: shared by the models */
/* A DMA transfer of `bytes`: dma_latency + bytes / pcie_bw (+ translation stall), in ps. */
simtime_t dev_dma_time(const struct dev_env *env, uint64_t bytes);
/* Device interrupt write to the interrupt at the CPU (msi_latency), in ps. */
simtime_t dev_msi_time(const struct dev_env *env);
/* Copy between buf and bus addresses, split at 4 KiB pages; false on a bad address. */
bool dev_dma_copy(const struct dev_env *env, uint64_t bus, void *buf, size_t len, bool to_host);

#endif
