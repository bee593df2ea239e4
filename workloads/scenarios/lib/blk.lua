-- The block I/O path placed per architecture: the same driver images, only
-- their placement and the transition costs differ (docs/architecture.md).
--
--   native    one kernel: the test program, a thin block layer and the native
--             SAS driver in one domain running on bare metal (mode "native"),
--             owning the HBA. Hops H1, H4, H5, H8.
--   xen-dom0  classic Xen: blkback + the native SAS driver in dom0 (backend.elf,
--             owns the HBA); blkfront + the test program in each domU. All
--             eight hops.
--   xen-idd   the same backend image in an isolated driver domain "idd", a
--             domU the toolstack assigns the HBA to; dom0 keeps no device.
--   uefi-rt   the patent's design: the same backend image is the UEFI runtime
--             service "hopsim-rt" in the platform SPI flash (lib/backend.lua).
--   l4-vmm    the microkernel VMM: the unmodified native image in each VM, its exits
--             as IPC to a user-level VMM task per VM, a driver-server task with the
--             native SAS driver (lib/backend.lua, docs/l4.md).
--
-- place{ arch, cpus, disk = {...}, fio = {...}, domus = N, grants = "map",
--        evil = false, msi = true (false: the HBA offers INTx only),
--        backend_vcpus = 1 (the backend's vCPUs, on pCPUs 0..N-1; blkback offers
--        multi-queue-max-queues = N and binds its rings to them in turn),
--        queues = 1 (rings each blkfront asks for),
--        sas_coal_us = 0, sas_coal_depth = 0 (the HBA's reply coalescing, programmed
--        by the native SAS driver that owns it: native, xen-dom0, xen-idd, uefi-rt) }
--        declares the domains, the device and the connections. DomUs go on the pCPUs after the backend's
--        when there are any.
local M = {}
local backend = import "lib/backend.lua"

M.arches = backend.arches

local VBD = 51712 -- xvda: major 202, minor 0

local copy = backend.copy

-- the HBA's reply coalescing, for the placements whose native SAS driver takes arguments
local function coalescing(o)
  local us, depth = o.sas_coal_us or 0, o.sas_coal_depth or 0
  if (us ~= 0 or depth ~= 0) and o.arch ~= "native" and o.arch ~= "xen-dom0"
     and o.arch ~= "xen-idd" and o.arch ~= "uefi-rt" then
    error(string.format("sas_coal_us: not for arch '%s' (native, xen-dom0, xen-idd, uefi-rt)", o.arch), 3)
  end
  if us == 0 and depth ~= 0 then
    error("sas_coal_depth: needs sas_coal_us > 0 (the timeout turns coalescing on)", 3)
  end
  if us == 0 then return {} end -- the driver's defaults: off
  return { sas_coal_us = us, sas_coal_depth = depth }
end

function M.place(o)
  backend.check(o.arch)
  local coal = coalescing(o)
  local cpus = o.cpus or 1
  local domus = backend.count("domus", o.domus, 1, 1, 64)
  local bv = backend.count("backend_vcpus", o.backend_vcpus, 1, 1, 32)
  if o.store and o.store ~= "hba" and o.store ~= "brd" then
    error(string.format("store: expected hba or brd, got '%s'", tostring(o.store)), 3)
  end
  if o.store == "brd" and (o.arch == "native" or o.arch == "l4-vmm" or o.arch == "hvm-emul"
                           or o.arch == "hosted") then
    error(string.format("store=brd: not for arch '%s' (blkback's: xen-dom0, xen-idd, uefi-rt)",
                        o.arch), 3)
  end
  if o.arch == "native" then
    domain { name = "native", image = "blk_native.elf", memory_mb = o.memory_mb or 32, cpu = 0,
             mode = "native", privileged = true, args = copy(o.fio, copy(coal, { target = 0 })) }
    device { kind = "sas_hba", owner = "native", msi = o.msi ~= false, disks = { o.disk } }
    return
  end
  if o.arch == "l4-vmm" then
    local slice = o.slice_bytes or 0
    -- the driver server gives each VM its own partition of the disk (drvsrv.c): a VM's
    -- region starts at its partition's block 0
    local drv = backend.l4(o, "blk_native.elf", function(i)
      local a = copy(o.fio, { target = 0, offset = o.fio.offset or 0 })
      if slice > 0 then a.size = slice end
      return a
    end)
    device { kind = "sas_hba", owner = drv, msi = o.msi ~= false, disks = { o.disk } }
    return
  end
  if o.arch == "hvm-emul" or o.arch == "hosted" then
    -- with several guests each emulation gives its guest a partition of the disk
    -- (emu_sas.c) that starts at block 0, as a VM's own disk image does
    local slice = domus > 1 and (o.slice_bytes or 0) or 0
    local dm = backend.hvm(o, "blk_native.elf", function(i)
      local a = copy(o.fio, { target = 0 })
      if slice > 0 then a.size = slice end
      return a
    end)
    device { kind = "sas_hba", owner = dm, msi = o.msi ~= false, disks = { o.disk } }
    return
  end
  local back = backend.declare(copy(o, {
    args = { target = 0, grants = o.grants or "map", store = o.store or "hba",
             fault_after = o.fault_after or 0,
             sas_coal_us = coal.sas_coal_us, sas_coal_depth = coal.sas_coal_depth,
             rogue_after = o.rogue_after or 0, compromise_after = o.compromise_after or 0,
             -- the probe's aim: domu2's region of the disk
             victim_sector = ((o.fio.offset or 0) + (o.slice_bytes or 0)) // 512 } }))
  device { kind = "sas_hba", owner = back, msi = o.msi ~= false, disks = { o.disk } }
  -- each domU works on its own slice of the disk
  local slice = o.slice_bytes or 0
  for i = 1, domus do
    local name = "domu" .. i
    local args = copy(o.fio, { offset = (o.fio.offset or 0) + (i - 1) * slice,
                               queues = o.queues or 1 })
    if slice > 0 then args.size = slice end
    domain { name = name, image = "blk_front.elf", memory_mb = o.memory_mb or 32,
             cpu = cpus > bv and bv + (i - 1) % (cpus - bv) or (cpus > 1 and 1 + (i - 1) % (cpus - 1) or 0),
             args = args }
    connect { kind = "vbd", frontend = name, backend = back, devid = VBD }
  end
  if o.evil then
    domain { name = "evil", image = "blk_evil.elf", memory_mb = 16,
             cpu = cpus > 1 and 1 or 0 }
    connect { kind = "vbd", frontend = "evil", backend = back, devid = VBD }
  end
end

return M
