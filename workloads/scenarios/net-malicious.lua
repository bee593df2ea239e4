-- A malicious netfront beside well-behaved ones, all served by one netback:
-- every malformed TX request must be answered with XEN_NETIF_RSP_ERROR (or
-- the evil vif disconnected), a flood into a vif that posts no RX buffers
-- only costs that vif its frames, and the other domUs' request/response
-- traffic must all complete with intact payloads.
local net = import "lib/net.lua"
local arch = param("arch", "xen-dom0", "xen-dom0 | xen-idd | uefi-rt (the backend under attack)")
local attack = param("attack", "chain", "the fatal attack: chain (never-ending fragment chain) | overflow (ring indices)")
local domus = param("domus", 2, "well-behaved domUs")
local backend_vcpus = param("backend_vcpus", 1, "vCPUs of the backend domain (netback binds its queues to them in turn)")
local queues = param("queues", 1, "queues each well-behaved netfront asks for (the evil one asks for one)")
local split_evtchn = param("split_evtchn", false, "netback offers feature-split-event-channels")

scenario { name = "net-malicious", seed = 1, time_limit_ms = 10000 }
machine { cpus = 2, clock_ghz = 3.0, memory_mb = 96 + 16 * domus }
net.place {
  arch = arch, cpus = 2, domus = domus, evil = attack, backend_vcpus = backend_vcpus,
  queues = queues, split_evtchn = split_evtchn,
  nic = { link_gbps = 1, propagation_ns = 500, peer = "echo" },
  netperf = { mode = "rr", sizes = "60,1514", count = 40, depth = 2, timeout_ms = 200 },
}
