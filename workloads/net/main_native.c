/*
 * net_native.elf, the `native` architecture of the network path: the test
 * program, the native network layer and the e1000 driver in one kernel,
 * driving the NIC directly (hops H1, H4, H5, H8). Arguments: tx_ring=N,
 * rx_ring=N (256), itr_ns=N (0), and the test program's (netperf.c).
 */
#include "e1000drv.h"
#include "native_net.h"
#include "netperf.h"

ARG_INT_STEP(tx_ring, 8, E1K_MAX_RING, 8, "transmit descriptors");
ARG_INT_STEP(rx_ring, 8, E1K_MAX_RING, 8, "receive descriptors");
ARG_INT(itr_ns, 0, 0xFFFF * 256, "interrupt throttling interval (0: off)");

int app_main(void)
{
    struct e1k_params p = {.tx_ring = (unsigned)arg_int("tx_ring", E1K_DEFAULT_RING),
                           .rx_ring = (unsigned)arg_int("rx_ring", E1K_DEFAULT_RING),
                           .itr_ns = (unsigned)arg_int("itr_ns", 0)};
    struct e1k *n;
    int rc = e1k_probe(&p, &n);
    if (rc) {
        printf("net_native: no usable e1000: %d\n", rc);
        return 1;
    }
    struct netdev *d = native_net_open(n);
    if (!d)
        return 1;
    rc = netperf_run(d);
    netdev_close(d);
    return rc;
}
