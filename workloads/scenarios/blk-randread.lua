-- Small random reads from a 15K SAS disk, through each architecture.
--   hopsim compare workloads/scenarios/blk-randread.lua --arch native,xen-dom0
-- The disk image (created, sparse) is disk-randread.img in the run's output
-- directory (hopsim-out/, --out DIR) unless --set disk=PATH.
local blk = import "lib/blk.lua"
local arch = param("arch", "xen-dom0", "native | xen-dom0 | xen-idd | uefi-rt | hvm-emul | hosted | l4-vmm")
local requests = param("requests", 200, "I/O requests per domU")
local bs = param("bs", 4096, "bytes per request")
local iodepth = param("iodepth", 1, "requests in flight per domU")
local disk_type = param("disk_type", "hdd", "hdd | ssd | nvme | ram")
local disk = param("disk", "disk-randread.img", "disk image file")
local flash_image = param("flash_image", "", "uefi-rt: platform flash image (default: build's platform.fd)")
local setvariable_ms = param("setvariable_ms", 0, "uefi-rt: a SetVariable erasing flash this many ms after the runtime service starts (0: none)")
local fault_after = param("fault_after", 0, "the backend faults on its N-th request (0: never)")
local rogue_after = param("rogue_after", 0, "a rogue backend driver DMAs into the frontend's memory with its N-th read (0: never)")
local compromise_after = param("compromise_after", 0, "hostile code in the first guest's device emulation or backend probes what it can reach after its N-th request (l4-vmm: VMM 1's N-th exit; hvm-emul, hosted: the emulation's N-th command; 0: never; needs domus >= 2)")
local dm_restrict = param("dm_restrict", false, "hvm-emul: each guest's device emulation deprivileged (its own uid, privcmd restricted to its domain), as xl.cfg's dm_restrict")
local iommu = param("iommu", false, "DMA remapping (VT-d) on: devices reach only what their owner may")
local rt_cpu = param("rt_cpu", "dedicated", "uefi-rt: runtime calls on a dedicated or the notifying CPU")
local xip = param("xip", false, "uefi-rt what-if: the runtime service executes in place from flash")
local domus = param("domus", 1, "domUs sharing the backend (xen-dom0); VMs, each with its own emulation (hvm-emul, hosted, l4-vmm)")
local cpus = param("cpus", 2, "physical CPUs")
local vanish = param("vanish", false, "the domUs power off without closing their vbd (the toolstack's clean-up)")
local grants = param("grants", "map", "blkback grant handling: map | copy | persistent")
local backend_vcpus = param("backend_vcpus", 1, "vCPUs of the backend domain (blkback binds its rings to them in turn)")
local queues = param("queues", 1, "rings each blkfront asks for (multi-queue-num-queues)")
local store = param("store", "hba", "hba | brd: blkback serves the disk behind the HBA, or a RAM disk in its own memory as a dom0 exporting Linux's brd (xen-dom0, xen-idd, uefi-rt)")
local sas_coal_us = param("sas_coal_us", 0, "HBA reply coalescing: an interrupt at most this many us after the first completion it holds; 0 off (native, xen-dom0, xen-idd, uefi-rt)")
local sas_coal_depth = param("sas_coal_depth", 0, "HBA reply coalescing: or once this many completions are held (0: the timeout alone)")

scenario { name = "blk-randread", seed = 1, time_limit_ms = 60000 }
machine { cpus = cpus, clock_ghz = 3.0, memory_mb = 64 + 32 * domus, iommu = iommu }
blk.place {
  arch = arch, rt_cpu = rt_cpu, xip = xip, fault_after = fault_after, rogue_after = rogue_after, compromise_after = compromise_after, dm_restrict = dm_restrict, flash_image = flash_image, setvariable_ms = setvariable_ms, cpus = cpus, domus = domus,
  grants = grants, backend_vcpus = backend_vcpus, queues = queues, store = store,
  sas_coal_us = sas_coal_us, sas_coal_depth = sas_coal_depth,
  disk = { type = disk_type, image = disk, size_mb = 1024, create = true },
  fio = { rw = "randread", bs = bs, iodepth = iodepth, requests = requests,
          size = 8 * 1024 * 1024, vanish = vanish and 1 or nil },
  slice_bytes = 8 * 1024 * 1024,
}
