-- Lab 3: the runtime-service design's trade-offs (docs/labs/lab3-runtime-service.md).
-- The same backend image as dom0 (xen-dom0) or as a UEFI runtime service in
-- SPI flash, called by the hypervisor (uefi-rt); on its own CPU (dedicated)
-- or on the CPU that notified (notifying); and a SetVariable that erases a
-- flash sector while I/O runs (setvariable_ms > 0).
local blk = import "lib/blk.lua"
local arch = param("arch", "uefi-rt", "xen-dom0 | uefi-rt")
local rt_cpu = param("rt_cpu", "dedicated", "uefi-rt: dedicated | notifying")
local setvariable_ms = param("setvariable_ms", 0, "uefi-rt: a SetVariable this many ms in (0: none)")
local requests = param("requests", 100, "I/O requests")

scenario { name = "lab3-runtime-service", seed = 1, time_limit_ms = 5000 }
machine { cpus = 2, clock_ghz = 3.0, memory_mb = 96 }
blk.place {
  arch = arch, cpus = 2, rt_cpu = rt_cpu, setvariable_ms = setvariable_ms,
  disk = { type = "ssd", image = "lab3.img", size_mb = 64, create = true },
  fio = { rw = "randread", bs = 4096, iodepth = 1, requests = requests, seed = 1,
          size = 8 * 1024 * 1024 },
}
expect { "status == ok", string.format("requests == %d", requests) }
if arch == "xen-dom0" then
  expect { "span.rs_call.count == 0", "span.rs_enter.count == 0" }
else
  -- the hypervisor calls the backend: efi_rs_enter / efi_rs_leave, no dom0 to schedule
  expect { string.format("span.rs_call.count >= %d", requests) }
  if rt_cpu == "notifying" then
    -- called right there: no wake-up of another CPU (wake_ipi, 3 us), but the runtime
    -- service finds the caches full of the frontend's lines (refill, sim/xen/refill.c)
    expect { "H3.mean < 3us" }
  else
    expect { "H3.mean > 2us" }   -- an IPI wakes the runtime service's CPU
  end
  if setvariable_ms > 0 then
    expect { "request.max > 10ms" }  -- the erase holds the runtime-services lock
  else
    expect { "request.max < 1ms" }
  end
end
