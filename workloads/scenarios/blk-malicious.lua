-- A malicious frontend beside well-behaved ones, all served by one blkback:
-- every malformed request must be answered with BLKIF_RSP_ERROR (or the
-- evil frontend disconnected), nothing it sends may reach the disk, and
-- the other domUs' verified I/O must all complete.
local blk = import "lib/blk.lua"
local disk = param("disk", "disk-malicious.img", "disk image file")
local arch = param("arch", "xen-dom0", "xen-dom0 | xen-idd | uefi-rt (the backend under attack)")
local domus = param("domus", 2, "well-behaved domUs")

scenario { name = "blk-malicious", seed = 1, time_limit_ms = 60000 }
machine { cpus = 2, clock_ghz = 3.0, memory_mb = 96 + 32 * domus }
blk.place {
  arch = arch, cpus = 2, domus = domus, evil = true,
  disk = { type = "ssd", image = disk, size_mb = 64, create = true },
  fio = { rw = "randrw", bs = 4096, iodepth = 4, requests = 200, verify = 1,
          size = 8 * 1024 * 1024 },
  slice_bytes = 8 * 1024 * 1024,
}
