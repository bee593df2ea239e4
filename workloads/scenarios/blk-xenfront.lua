-- blk-xenfront: a block frontend written only from Xen's public headers
-- (workloads/xenfront/xenfront.c: its own hypercall wrappers, xenstore
-- client and grant entries, none of hopsim's guest runtime) against the
-- shipped blkback (backend.elf) in dom0, the driver domain or the UEFI
-- runtime service. It learns the memory model from XENVER_get_features,
-- connects by the xenbus handshake, writes sectors and reads them back,
-- checks that bad requests are refused, and closes; every check is a guest
-- test mark.
local backend = import "lib/backend.lua"
local arch = param("arch", "xen-dom0", "xen-dom0 | xen-idd | uefi-rt")
local grants = param("grants", "map", "blkback grant handling: map | copy | persistent")
local disk = param("disk", "disk-xenfront.img", "disk image file")

scenario { name = "blk-xenfront", seed = 1, time_limit_ms = 5000 }
machine { cpus = 2, clock_ghz = 3.0, memory_mb = 96 }
local back = backend.declare { arch = arch, args = { target = 0, grants = grants } }
device { kind = "sas_hba", owner = back, disks = { { type = "ssd", image = disk, size_mb = 16, create = true } } }
domain { name = "xenfront", image = "xenfront.elf", memory_mb = 16, cpu = 1 }
connect { kind = "vbd", frontend = "xenfront", backend = back, devid = 51712 }
output { summary = true }
