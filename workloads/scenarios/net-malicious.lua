-- A malicious netfront beside well-behaved ones, all served by one netback:
-- every malformed TX request must be answered with XEN_NETIF_RSP_ERROR (or
-- the evil vif disconnected), a flood into a vif that posts no RX buffers
-- only costs that vif its frames, and the other domUs' request/response
-- traffic must all complete with intact payloads.
local net = import "lib/net.lua"
local arch = param("arch", "xen-dom0", "xen-dom0 | xen-idd | uefi-rt (the backend under attack)")
local attack = param("attack", "chain", "the fatal attack: chain (never-ending fragment chain) | overflow (ring indices)")
local domus = param("domus", 2, "well-behaved domUs")

scenario { name = "net-malicious", seed = 1, time_limit_ms = 10000 }
machine { cpus = 2, clock_ghz = 3.0, memory_mb = 96 + 16 * domus }
net.place {
  arch = arch, cpus = 2, domus = domus, evil = attack,
  nic = { link_gbps = 1, propagation_ns = 500, peer = "echo" },
  netperf = { mode = "rr", sizes = "60,1514", count = 40, depth = 2, timeout_ms = 200 },
}
