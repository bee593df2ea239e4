-- A driver domain fails under I/O and is restarted: the IDD's blkback faults
-- on the N-th request it takes (fault_after, as a driver bug would), the IDD
-- crashes, dom0 and the domUs keep running. The toolstack (on_crash =
-- "restart", as xl.cfg) marks the dead backend's vbds Closed, waits for the
-- frontends to close, rebuilds the IDD with a new domid, passes the HBA
-- through to it and re-adds the vbds; each blkfront reconnects by the
-- protocol and resubmits what was in flight. Every request completes, none
-- twice; the run reports how many were resubmitted.
--   hopsim run workloads/scenarios/blk-idd-restart.lua
-- The injected fault recurs in every incarnation at its N-th request, so N
-- must exceed what the new IDD serves (domus * requests - N + iodepth).
local blk = import "lib/blk.lua"
local requests = param("requests", 60, "I/O requests per domU")
local iodepth = param("iodepth", 4, "requests in flight per domU")
local domus = param("domus", 2, "domUs on the IDD")
local fault_after = param("fault_after", 70, "the IDD's backend faults on the N-th request it takes")
local on_crash = param("on_crash", "restart", "restart | destroy: what the toolstack does when the IDD crashes")
local iommu = param("iommu", false, "DMA remapping (VT-d) on")
local disk = param("disk", "disk-idd-restart.img", "disk image file")

scenario { name = "blk-idd-restart", seed = 1, time_limit_ms = 60000 }
machine { cpus = 2, clock_ghz = 3.0, memory_mb = 64 + 32 * domus, iommu = iommu }
blk.place {
  arch = "xen-idd", on_crash = on_crash, fault_after = fault_after, cpus = 2, domus = domus,
  disk = { type = "ssd", image = disk, size_mb = 1024, create = true },
  fio = { rw = "randread", bs = 4096, iodepth = iodepth, requests = requests,
          size = 8 * 1024 * 1024 },
  slice_bytes = 8 * 1024 * 1024,
}
