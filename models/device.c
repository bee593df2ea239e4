/*
 * Helpers every device model shares, over the interfaces in device.h: the
 * time a DMA transfer and an MSI take (from the cost profile), and a DMA
 * copy that splits a transfer at 4 KiB pages, as dma_ops requires.
 */
#include "device.h"

#include <string.h>

simtime_t dev_dma_time(const struct dev_env *env, uint64_t bytes)
{
    simtime_t stall = env->dma.stall ? env->dma.stall(env->dma.opaque) : 0;
    return cost_ps(env->cost, C_DMA_LATENCY, env->hz) + cost_bytes_ps(env->cost, C_PCIE_BW, bytes) +
           stall;
}

simtime_t dev_msi_time(const struct dev_env *env)
{
    return cost_ps(env->cost, C_MSI_LATENCY, env->hz);
}

bool dev_dma_copy(const struct dev_env *env, uint64_t bus, void *buf, size_t len, bool to_host)
{
    uint8_t *p = buf;
    if (!env->dma.map)
        return false;
    while (len > 0) {
        size_t chunk = 4096 - (size_t)(bus & 4095);
        chunk = chunk < len ? chunk : len;
        if (bus + chunk < bus)
            return false; /* wraps the bus address space */
        void *m = env->dma.map(env->dma.opaque, bus, chunk, to_host);
        if (!m)
            return false;
        if (to_host)
            memcpy(m, p, chunk);
        else
            memcpy(p, m, chunk);
        bus += chunk;
        p += chunk;
        len -= chunk;
    }
    return true;
}
