/*
 * netback's checks of a single-slot transmit request (io/netif.h): a pure
 * function of the request's size and offset and the vif's MTU, with no
 * guest-runtime dependencies, so the same code runs in the backend and,
 * compiled for the host, in the netif fuzz target (tests/fuzz/fuzz_netif.c).
 */
#ifndef NETIF_CHECK_H
#define NETIF_CHECK_H

#include <stdint.h>

#define NETIF_CHECK_ETH_HLEN 14u
#define NETIF_CHECK_PAGE_SIZE 4096u

/* NULL if a frame of `size` bytes at `offset` in its page fits an `mtu` vif, else why not. */
static inline const char *netif_check_tx(uint16_t size, uint16_t offset, unsigned mtu)
{
    if (size < NETIF_CHECK_ETH_HLEN)
        return "shorter than an Ethernet header";
    if (size > mtu + NETIF_CHECK_ETH_HLEN)
        return "larger than the MTU";
    if ((unsigned)offset + size > NETIF_CHECK_PAGE_SIZE)
        return "crosses the end of its page";
    return 0;
}

#endif
