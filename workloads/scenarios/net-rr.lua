-- Request/response latency over the network path (netperf TCP_RR at packet
-- level): each domU sends a frame, the peer host echoes it, the domU checks
-- the answer byte for byte; a sweep of frame sizes.
--   hopsim compare workloads/scenarios/net-rr.lua --arch native,xen-dom0,uefi-rt
local net = import "lib/net.lua"
local arch = param("arch", "xen-dom0", "native | xen-dom0 | xen-idd | uefi-rt | hvm-emul | hosted | l4-vmm")
local count = param("count", 50, "transactions per size per domU")
local sizes = param("sizes", "64,512,1514", "frame lengths, bytes (60..1514)")
local depth = param("depth", 1, "transactions in flight per domU")
local answer = param("answer", "echo", "echo | reqresp: what the peer sends back")
local resp_len = param("resp_len", 64, "reqresp: answer length, bytes")
local service_ns = param("service_ns", 0, "peer service time per frame, ns")
local gbps = param("gbps", 1, "link speed: 1 or 10 GbE")
local grants = param("grants", "map", "netback TX: map (header copy + map) | copy")
local domus = param("domus", 1, "domUs sharing the NIC (xen-dom0, uefi-rt)")
local cpus = param("cpus", 2, "physical CPUs")
local msi = param("msi", true, "the NIC offers MSI (false: INTx only, the driver's fallback)")
local rt_cpu = param("rt_cpu", "dedicated", "uefi-rt: runtime calls on a dedicated or the notifying CPU")
local iommu = param("iommu", false, "DMA remapping (VT-d) on: devices reach only what their owner may")
local backend_vcpus = param("backend_vcpus", 1, "vCPUs of the backend domain (netback binds its queues to them in turn)")
local queues = param("queues", 1, "queues each netfront asks for (multi-queue-num-queues)")
local flows = param("flows", 1, "flows each domU's requests are spread over (netfront picks a queue per flow)")
local split_evtchn = param("split_evtchn", false, "netback offers feature-split-event-channels (a TX and an RX channel per queue)")
local itr_ns = param("itr_ns", 0, "e1000 interrupt throttling (ITR, 256 ns units): at most one interrupt per this many ns; 0 off (native, xen-dom0, xen-idd, uefi-rt)")

scenario { name = "net-rr", seed = 1, time_limit_ms = 10000 }
machine { cpus = cpus, clock_ghz = 3.0, memory_mb = 64 + 16 * domus, iommu = iommu }
net.place {
  arch = arch, cpus = cpus, domus = domus, grants = grants, backend_vcpus = backend_vcpus,
  queues = queues, split_evtchn = split_evtchn, itr_ns = itr_ns, rt_cpu = rt_cpu,
  nic = { msi = msi, link_gbps = gbps, propagation_ns = 500, peer = answer, peer_service_ns = service_ns,
          peer_resp_len = resp_len },
  netperf = { mode = "rr", sizes = sizes, count = count, depth = depth, answer = answer, flows = flows },
}
