-- Mixed random reads and writes with end-to-end verification: every written
-- sector carries a self-describing pattern, checked on every read and in a
-- final pass; `hopsim disk-check` verifies the image afterwards.
local blk = import "lib/blk.lua"
local arch = param("arch", "xen-dom0", "native | xen-dom0 | xen-idd | uefi-rt | hvm-emul | hosted | l4-vmm")
local rw = param("rw", "randrw", "read | write | randread | randwrite | randrw")
local requests = param("requests", 300, "I/O requests per domU")
local bs = param("bs", 8192, "bytes per request")
local iodepth = param("iodepth", 4, "requests in flight")
local disk = param("disk", "disk-verify.img", "disk image file")
local grants = param("grants", "map", "blkback grant handling: map | copy | persistent")
local flash_image = param("flash_image", "", "uefi-rt: platform flash image (default: build's platform.fd)")
local domus = param("domus", 1, "domUs sharing the backend (xen-dom0); VMs, each with its own emulation and disk partition (hvm-emul, hosted, l4-vmm)")
local runtime_sha256 = param("runtime_sha256", "", "uefi-rt: the runtime image's golden SHA-256 (an image that differs is refused; empty: not pinned, a differing image boots with a warning)")
local msi = param("msi", true, "the HBA offers MSI (false: INTx only, the drivers' fallback)")
local backend_vcpus = param("backend_vcpus", 1, "vCPUs of the backend domain")
local queues = param("queues", 1, "rings each blkfront asks for")
local store = param("store", "hba", "hba | brd: the disk behind the HBA, or a RAM disk in blkback's own memory (Linux's brd)")
local cpus = param("cpus", 2, "physical CPUs")

scenario { name = "blk-verify", seed = 1, time_limit_ms = 60000 }
machine { cpus = cpus, clock_ghz = 3.0, memory_mb = 64 + 32 * domus }
blk.place {
  arch = arch, flash_image = flash_image, runtime_sha256 = runtime_sha256, cpus = cpus, domus = domus, grants = grants, msi = msi, store = store,
  backend_vcpus = backend_vcpus, queues = queues,
  disk = { type = "ssd", image = disk, size_mb = 64, create = true },
  fio = { rw = rw, bs = bs, iodepth = iodepth, requests = requests, verify = 1,
          size = 8 * 1024 * 1024 },
  slice_bytes = 8 * 1024 * 1024,
}
