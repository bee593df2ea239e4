/*
 * Fuzz target: netback's transmit-request checks (workloads/net/netif_check.h),
 * the guest code itself compiled for the host, on a raw netif_tx_request_t
 * and an MTU from the input. An accepted request must hold a whole Ethernet
 * header, fit the MTU and stay inside its granted page -- what netback then
 * copies and hands to the NIC.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <xen/io/netif.h>

#include "net/netif_check.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    netif_tx_request_t r;
    uint16_t mtu_in;
    if (size < sizeof(r) + sizeof(mtu_in))
        return 0;
    memcpy(&r, data, sizeof(r));
    memcpy(&mtu_in, data + sizeof(r), sizeof(mtu_in));
    unsigned mtu = 68 + mtu_in % (1508 - 68 + 1); /* netback's mtu= range */
    if (netif_check_tx(r.size, r.offset, mtu))
        return 0;
    if (r.size < 14 || r.size > mtu + 14 || (unsigned)r.offset + r.size > 4096)
        abort();
    return 0;
}
