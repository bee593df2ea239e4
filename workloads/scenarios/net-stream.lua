-- Stream throughput over the network path (netperf TCP_STREAM at packet
-- level): each domU keeps `depth` frames in flight to a sink on the far end
-- of the wire, which checks every payload; a sweep of frame sizes.
--   hopsim compare workloads/scenarios/net-stream.lua --arch native,xen-dom0,uefi-rt
local net = import "lib/net.lua"
local arch = param("arch", "xen-dom0", "native | xen-dom0 | xen-idd | uefi-rt | hvm-emul | hosted | l4-vmm")
local count = param("count", 200, "frames per size per domU")
local sizes = param("sizes", "64,1514", "frame lengths, bytes (60..1514)")
local depth = param("depth", 32, "frames in flight per domU")
local gbps = param("gbps", 1, "link speed: 1 or 10 GbE")
local grants = param("grants", "map", "netback TX: map (header copy + map) | copy")
local domus = param("domus", 1, "domUs sharing the NIC (xen-dom0, uefi-rt)")
local cpus = param("cpus", 2, "physical CPUs")
local backend_vcpus = param("backend_vcpus", 1, "vCPUs of the backend domain (netback binds its queues to them in turn)")
local queues = param("queues", 1, "queues each netfront asks for (multi-queue-num-queues)")
local flows = param("flows", 1, "flows each domU's requests are spread over (netfront picks a queue per flow)")
local split_evtchn = param("split_evtchn", false, "netback offers feature-split-event-channels (a TX and an RX channel per queue)")
local itr_ns = param("itr_ns", 0, "e1000 interrupt throttling (ITR, 256 ns units): at most one interrupt per this many ns; 0 off (native, xen-dom0, xen-idd, uefi-rt)")

scenario { name = "net-stream", seed = 1, time_limit_ms = 10000 }
machine { cpus = cpus, clock_ghz = 3.0, memory_mb = 64 + 16 * domus }
net.place {
  arch = arch, cpus = cpus, domus = domus, grants = grants, backend_vcpus = backend_vcpus,
  queues = queues, split_evtchn = split_evtchn, itr_ns = itr_ns,
  nic = { link_gbps = gbps, propagation_ns = 500, peer = "sink" },
  netperf = { mode = "stream", sizes = sizes, count = count, depth = depth, flows = flows },
}
