/*
 * net_front.elf, a domU of the virtualized architectures: the test program
 * over netfront. Arguments: devid=N (default: our lowest-numbered vif),
 * rx_bufs=N (receive buffers posted per queue, 64), queues=N (queues asked
 * for, 1..8: Linux's xennet_max_queues, which defaults to the guest's
 * vCPUs -- one here), and the test program's
 * (netperf.c). The connection is closed even when the test could not run,
 * so the backend can finish.
 */
#include "netfront.h"
#include "netperf.h"

ARG_INT(devid, -1, INT32_MAX, "the vif to open (-1: the first)");
ARG_INT(rx_bufs, 1, NET_RX_RING_SIZE, "receive buffers posted per queue");
ARG_INT(queues, 1, NETIF_MAX_QUEUES, "queues asked for (Linux's xennet_max_queues)");

int app_main(void)
{
    struct netdev *d = netfront_open((int)arg_int("devid", -1), (unsigned)arg_int("rx_bufs", 64),
                                     (unsigned)arg_int("queues", 1));
    if (!d)
        return 1;
    int rc = netperf_run(d);
    netdev_close(d);
    return rc;
}
