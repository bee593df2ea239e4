-- Receive stream (netperf's receive side at packet level): the guest sends
-- one "go" frame; the host at the far end of the wire then sends `count`
-- test frames to the guest's address, one every gap_ns. Each received
-- frame is a request that starts at the NIC (H5) -- H6 and H7 through
-- netback and the hypervisor when virtualized -- and ends when the test
-- program has checked its payload (H8).
--   hopsim compare workloads/scenarios/net-rx.lua --arch native,xen-dom0,uefi-rt
local net = import "lib/net.lua"
local arch = param("arch", "xen-dom0", "native | xen-dom0 | xen-idd | uefi-rt | hvm-emul | hosted | l4-vmm")
local count = param("count", 200, "frames the far host sends")
local len = param("len", 1514, "frame length, bytes (60..1514)")
local gap_ns = param("gap_ns", 20000, "between frame starts, ns")
local gbps = param("gbps", 1, "link speed: 1 or 10 GbE")
local cpus = param("cpus", 2, "physical CPUs")

-- the receiver's address: the NIC's own natively, the vif's (xl's default for
-- domu1, devid 0) when virtualized
local nic_mac = "52:54:00:12:34:56"
local dst = arch == "native" and nic_mac or "00:16:3e:00:00:01"

scenario { name = "net-rx", seed = 1, time_limit_ms = 10000 }
machine { cpus = cpus, clock_ghz = 3.0, memory_mb = 80 }
net.place {
  arch = arch, cpus = cpus, domus = 1,
  nic = { mac = nic_mac, link_gbps = gbps, propagation_ns = 500, peer = "source",
          peer_dst = dst, peer_count = count, peer_len = len, peer_gap_ns = gap_ns,
          peer_start_us = 10 },
  netperf = { mode = "rx", count = count, timeout_ms = 20 },
}
