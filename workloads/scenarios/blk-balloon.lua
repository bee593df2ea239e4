-- blk-balloon: memory moves between two domUs while both read from a SAS
-- SSD through blkfront / blkback (xen-dom0). The host's RAM is exactly what
-- the domains start with, so domu2 can grow only by what domu1 gives back.
-- The toolstack (mem_set{}, xl mem-set) first lowers domu1's target by
-- `move_mb`, then raises domu2's by as much; later it moves the memory
-- back. Each domU's balloon driver (workloads/lib/balloon.c, args balloon =
-- true) follows memory/target with XENMEM_decrease_reservation and
-- XENMEM_populate_physmap between its I/O. The run prints what each domain
-- held over time and writes it to reservation.csv (docs/balloon.md).
local requests = param("requests", 3000, "I/O requests per domU")
local iodepth = param("iodepth", 4, "requests in flight per domU")
local disk_type = param("disk_type", "ssd", "hdd | ssd | nvme | ram")
local move_mb = param("move_mb", 8, "MiB moved from domu1 to domu2 and back")
local first_ms = param("first_ms", 2, "when domu1's target drops (ms)")
local second_ms = param("second_ms", 6, "when domu2's target rises (ms)")
local back_ms = param("back_ms", 12, "when the memory moves back: domu2 down, then domu1 up 4 ms later (ms)")
local cpus = param("cpus", 3, "physical CPUs (dom0 on cpu 0, the domUs after it)")

local MEM, DOM0 = 24, 24
scenario { name = "blk-balloon", seed = 1, time_limit_ms = 60000 }
machine { cpus = cpus, clock_ghz = 3.0, memory_mb = DOM0 + 2 * MEM }
domain { name = "dom0", image = "backend.elf", memory_mb = DOM0, cpu = 0, privileged = true,
         args = { target = 0, grants = "map" } }
device { kind = "sas_hba", owner = "dom0",
         disks = { { type = disk_type, image = "disk-balloon.img", size_mb = 64, create = true } } }
for i = 1, 2 do
  local name = "domu" .. i
  domain { name = name, image = "blk_front.elf", memory_mb = MEM, maxmem_mb = MEM + move_mb,
           cpu = cpus > 1 and 1 + (i - 1) % (cpus - 1) or 0,
           args = { rw = "randread", bs = 4096, iodepth = iodepth, requests = requests, seed = i,
                    offset = (i - 1) * 16 * 1024 * 1024, size = 16 * 1024 * 1024, balloon = true } }
  connect { kind = "vbd", frontend = name, backend = "dom0", devid = 51712 }
end
mem_set { domain = "domu1", at_ms = first_ms, target_mb = MEM - move_mb }
mem_set { domain = "domu2", at_ms = second_ms, target_mb = MEM + move_mb }
mem_set { domain = "domu2", at_ms = back_ms, target_mb = MEM }
mem_set { domain = "domu1", at_ms = back_ms + 4, target_mb = MEM }
output { summary = true, reservation_csv = "reservation.csv" }
expect {
  "requests >= " .. 2 * requests,
  "dom.domu1.pages_released >= " .. move_mb * 256, "dom.domu2.pages_populated >= " .. move_mb * 256,
  "dom.domu1.memory == " .. MEM .. "MiB", "dom.domu2.memory == " .. MEM .. "MiB",
}
