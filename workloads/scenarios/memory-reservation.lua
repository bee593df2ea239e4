-- memory-reservation: guest-side checks of the hypervisor's reservations
-- (workloads/tests/balloon_test.c, sim/xen/memory.c): current and maximum
-- reservation, the memory map, pages given back and populated again
-- (scrubbed), ballooning up to max_pages and no further, and hostile
-- reservation requests answered as Xen answers them. "other" is there to
-- be refused. --set touch=true ends by reading a page given back: the
-- domain must crash on it (docs/balloon.md).
local touch = param("touch", false, "end by reading a page given back (the domain must crash)")
scenario { name = "memory-reservation", seed = 1, time_limit_ms = 1000 }
machine { cpus = 1, clock_ghz = 3.0, memory_mb = 64 }
domain {
  name = "bt", image = "balloon_test.elf", memory_mb = 8, maxmem_mb = 12, cpu = 0,
  args = { role = "test", other = 2, touch = touch },
}
domain { name = "other", image = "balloon_test.elf", memory_mb = 8, cpu = 0, args = { role = "idle" } }
output { summary = false }
