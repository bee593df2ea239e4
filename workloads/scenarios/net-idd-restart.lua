-- A network driver domain fails under traffic and is restarted: the IDD's
-- netback faults on the N-th packet it takes (fault_after, as a driver bug
-- would), the IDD crashes, dom0 and the domUs keep running. The toolstack
-- (on_crash = "restart", as xl.cfg) marks the dead backend's vifs Closed,
-- waits for the frontends to close, rebuilds the IDD with a new domid,
-- passes the NIC through to it and re-adds the vifs; each netfront
-- reconnects by the protocol, reposts its receive buffers and resubmits
-- the transmits that were in flight. Every frame's request completes, none
-- twice; the run reports how many were resubmitted.
--   hopsim run workloads/scenarios/net-idd-restart.lua
-- The injected fault recurs in every incarnation at its N-th packet, so N
-- must exceed what the new IDD takes (domus * count * #sizes - N + depth).
local net = import "lib/net.lua"
local count = param("count", 60, "frames per size per domU")
local sizes = param("sizes", "64,1514", "frame lengths, bytes (60..1514)")
local depth = param("depth", 8, "frames in flight per domU")
local domus = param("domus", 2, "domUs on the IDD")
local fault_after = param("fault_after", 150, "the IDD's netback faults on the N-th packet it takes")
local on_crash = param("on_crash", "restart", "restart | destroy: what the toolstack does when the IDD crashes")
local queues = param("queues", 1, "queues each netfront asks for")
local backend_vcpus = param("backend_vcpus", 1, "vCPUs of the IDD")
local iommu = param("iommu", false, "DMA remapping (VT-d) on")

scenario { name = "net-idd-restart", seed = 1, time_limit_ms = 60000 }
machine { cpus = 2 + backend_vcpus - 1, clock_ghz = 3.0, memory_mb = 64 + 32 * domus, iommu = iommu }
net.place {
  arch = "xen-idd", on_crash = on_crash, fault_after = fault_after, cpus = 2 + backend_vcpus - 1,
  domus = domus, backend_vcpus = backend_vcpus, queues = queues,
  nic = { link_gbps = 1, propagation_ns = 500, peer = "sink" },
  netperf = { mode = "stream", sizes = sizes, count = count, depth = depth, flows = 4 },
}
