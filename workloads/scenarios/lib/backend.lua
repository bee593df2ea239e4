-- The backend domain of the virtualized architectures: one image, backend.elf
-- (blkback and netback with the native SAS and e1000 drivers), placed as
--   xen-dom0  dom0, a privileged domain loaded from disk;
--   xen-idd   an isolated driver domain "idd": an unprivileged domU to which
--             dom0's toolstack assigns the PCI devices (passthrough) and whose
--             domid the backend directories name; dom0 (dom0.elf) keeps no
--             device and only outlives the others;
--   uefi-rt   the UEFI runtime service "hopsim-rt" in the platform SPI flash:
--             the firmware reads and measures it at boot, and the hypervisor
--             calls it (efi_rs_enter/leave) instead of switching to a dom0.
--
-- declare(o) declares it (and, for uefi-rt, the flash) and returns its name.
-- o: arch, args (the backend's arguments), memory_mb, flash_image,
--    flash_read, flash_mhz, setvariable_ms, xip, rt_cpu, backend_vcpus (the
--    backend domain's vCPUs -- the runtime service's CPUs under uefi-rt --
--    on physical CPUs 0 .. backend_vcpus-1; 1 by default).
--    on_crash (xen-idd: "destroy" or "restart", as xl.cfg).
local M = {}

M.arches = { "native", "xen-dom0", "xen-idd", "uefi-rt", "hvm-emul", "hosted", "l4-vmm" }

-- A shallow copy of t with the fields of extra added (either may be nil).
function M.copy(t, extra)
  local r = {}
  for k, v in pairs(t or {}) do r[k] = v end
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end

function M.known(arch, list)
  for _, a in ipairs(list or M.arches) do
    if a == arch then return true end
  end
  return false
end

-- An "arch: unknown architecture" error pointing at the caller's caller.
-- list: the architectures the calling placement offers (default: all of them).
function M.check(arch, list)
  if not M.known(arch, list) then
    local what = M.known(arch) and "this path has no placement for" or "unknown architecture"
    error(string.format("arch: %s '%s' (known: %s)", what, tostring(arch),
                        table.concat(list or M.arches, ", ")), 3)
  end
end

-- An integer option of place{} in lo..hi (nil: default), or an error at the caller's caller.
function M.count(name, v, default, lo, hi)
  if v == nil then return default end
  if math.type(v) ~= "integer" and not (type(v) == "number" and v == math.floor(v)) or v < lo or v > hi then
    error(string.format("%s: expected an integer from %d to %d, got %s", name, lo, hi,
                        tostring(v)), 3)
  end
  return math.tointeger(v)
end

-- hvm-emul: the unmodified native image `image` as an HVM guest (domid 1, the first
-- unprivileged domain); its device model (devmodel.elf) in dom0 owns the real devices.
-- Returns the device model's domain name.
--
-- hosted: the same two images in a hosted VMM's placement. The host OS kernel
-- ("host", mode "native": it runs on bare metal and owns the devices) holds the
-- device emulation (devmodel.elf: the host's drivers and the emulating process);
-- the VM ("vm", mode "hvm") runs on the host's CPU, so every exit that needs the
-- emulation is a world switch to the host and back.
--
-- o.domus (block path): that many guests ("hvm1", "hvm2", ... / "vm1", ...; one is
-- "hvm" / "vm"), domids 1..N, each with its own emulation in the device model (QEMU's
-- process per HVM domain; a hosted VMM's process per VM) and its own partition of the
-- disk; args_for(i) gives guest i's arguments. o.compromise_after: hostile code in the
-- first guest's emulation probes what its process can reach (needs domus >= 2);
-- o.dm_restrict (hvm-emul): each emulation deprivileged as xl.cfg's dm_restrict does.
function M.hvm(o, image, args_for)
  local mb = o.memory_mb or 32
  local hosted = o.arch == "hosted"
  local dm = hosted and "host" or "dom0"
  local n = M.count("domus", o.domus, 1, 1, 4)
  domain { name = dm, image = "devmodel.elf", memory_mb = 32, cpu = 0, privileged = true,
           mode = hosted and "native" or "pv",
           args = { guest = 1, guest_pages = mb * 256, fault_after = o.fault_after or 0,
                    role = hosted and "host" or "dom0", guests = n,
                    compromise_after = n > 1 and (o.compromise_after or 0) or 0,
                    dm_restrict = (not hosted and o.dm_restrict) and 1 or 0 } }
  for i = 1, n do
    local cpu = 0
    if not hosted and (o.cpus or 1) > 1 then cpu = 1 + (i - 1) % (o.cpus - 1) end
    domain { name = (hosted and "vm" or "hvm") .. (n > 1 and i or ""), image = image,
             memory_mb = mb, mode = "hvm", cpu = cpu, args = args_for(i) }
  end
  return dm
end

-- l4-vmm: the microkernel VMM (docs/l4.md). The driver server "drv" (an l4 task:
-- drvsrv.elf for dev "sas", netsrv.elf for dev "e1000") owns the device with its
-- native driver; each VM "vmI" runs the unmodified image `image` (mode "hvm") as
-- a task whose vCPU's exits go, as IPC, to its own user-level VMM task "vmmI"
-- (vmm.elf), which emulates the device and reaches the driver server by IPC.
-- args_for(i): VM i's arguments. o.fault_after: VMM 1's emulation faults at that
-- command; o.compromise_after: hostile code in VMM 1 probes what it can reach (VM 2
-- its victim) after that exit. Returns "drv".
function M.l4(o, image, args_for, dev)
  local mb = o.memory_mb or 32
  local n = M.count("domus", o.domus, 1, 1, 4)
  local cpus = o.cpus or 1
  dev = dev or "sas"
  domain { name = "drv", image = dev == "e1000" and "netsrv.elf" or "drvsrv.elf", memory_mb = 16,
           cpu = 0, mode = "l4" }
  for i = 1, n do
    local cpu = cpus > 1 and 1 + (i - 1) % (cpus - 1) or 0
    domain { name = "vmm" .. i, image = "vmm.elf", memory_mb = 16, cpu = cpu, mode = "l4",
             args = { vm = "vm" .. i, server = "drv", guest_pages = mb * 256, dev = dev, mac = i,
                      fault_after = i == 1 and (o.fault_after or 0) or 0,
                      compromise_after = i == 1 and n > 1 and (o.compromise_after or 0) or 0,
                      victim = n > 1 and "vm2" or nil } }
    domain { name = "vm" .. i, image = image, memory_mb = mb, mode = "hvm", vmm = "vmm" .. i,
             cpu = cpu, args = args_for(i) }
  end
  return "drv"
end

function M.declare(o)
  if o.arch == "uefi-rt" then
    -- the firmware locks the flash down before the OS runs (what chipsec's bios_wp and
    -- spi_lock want): PR0 over the BIOS region but the top 4 KiB sector, where
    -- SetVariable keeps the variable store; BLE + SMM_BWP; FLOCKDN
    flash { image = o.flash_image, read = o.flash_read or "fast", clock_mhz = o.flash_mhz or 50,
            setvariable_ms = o.setvariable_ms or 0,
            protect = { { base = 0x800000, limit = 0xffefff } },
            ble = true, smm_bwp = true, lock = true, xip = o.xip or false }
    domain { name = "rt", runtime_image = "hopsim-rt", mode = "rt", memory_mb = o.memory_mb or 32,
             cpu = 0, vcpus = o.backend_vcpus or 1, rt_cpu = o.rt_cpu or "dedicated",
             privileged = true, args = o.args,
             runtime_sha256 = (o.runtime_sha256 or "") ~= "" and o.runtime_sha256 or nil }
    return "rt"
  end
  if o.arch == "xen-idd" then
    domain { name = "dom0", image = "dom0.elf", memory_mb = 16, cpu = 0, privileged = true }
    domain { name = "idd", image = "backend.elf", memory_mb = o.memory_mb or 32, cpu = 0,
             vcpus = o.backend_vcpus or 1, on_crash = o.on_crash or "destroy", args = o.args }
    return "idd"
  end
  domain { name = "dom0", image = "backend.elf", memory_mb = o.memory_mb or 32, cpu = 0,
           vcpus = o.backend_vcpus or 1, privileged = true, args = o.args }
  return "dom0"
end

return M
