-- The network path placed per architecture: the same test program, e1000
-- driver and netback, only their placement and the transition costs differ.
--
--   native    one kernel: netperf, a thin network layer and the native e1000
--             driver in one domain on bare metal, owning the NIC. Hops H1,
--             H4, H5, H8.
--   xen-dom0  netback + the e1000 driver in dom0 (backend.elf, owns the NIC,
--             bridges the vifs to the wire); netfront + netperf in each domU.
--   xen-idd   the same backend image in the isolated driver domain "idd",
--             to which the toolstack assigns the NIC (lib/backend.lua).
--   uefi-rt   the same backend image as the runtime service in the platform
--             flash (lib/backend.lua).
--   hvm-emul  the unmodified net_native.elf as an HVM guest; its e1000 register
--             accesses exit to the hypervisor and become ioreqs to the device
--             model in dom0 (devmodel.elf), which emulates the e1000 and carries
--             the frames through dom0's real e1000 driver (docs/hvm-emul.md).
--   hosted    the same two images in a hosted VMM's placement: the host OS owns
--             the NIC and holds the emulation; the VM world-switches with it.
--   l4-vmm    the unmodified net_native.elf in a VM on the microkernel; its exits
--             are IPC to its user-level VMM (vmm.elf, the emulated e1000), which
--             reaches the network driver server (netsrv.elf, the real e1000
--             driver) by IPC (lib/backend.lua, docs/l4.md).
--
-- A request/response transaction is one request: H1 app -> netfront, H2 on
-- the TX ring, H3 to the backend, H4 netback -> NIC, H5 the NIC, the wire,
-- the peer and back until the answer is in netback, H6 onto the frontend's
-- RX ring, H7 to the frontend, H8 to the app. A stream frame's request ends
-- with its transmit completion (H5 = DMA and wire until TX done).
--
-- place{ arch, cpus, domus = N, netperf = {...}, nic = {...}, grants = "map",
--        evil = nil, backend_vcpus = 1 (the backend's vCPUs, on pCPUs
--        0..N-1; netback offers multi-queue-max-queues = N and binds its
--        queues to them in turn), queues = 1 (queues each netfront asks
--        for), split_evtchn = false (netback offers
--        feature-split-event-channels), itr_ns = 0 (the e1000 driver that owns
--        the NIC programs ITR with it: interrupt throttling, 0 off; native,
--        xen-dom0, xen-idd, uefi-rt), fault_after, on_crash (xen-idd) }
-- declares the domains, the NIC, its wire and peer, and the vifs. nic: the
-- device{} keys of an e1000 (link_gbps, peer, ...). DomUs go on the pCPUs
-- after the backend's when there are any.
local M = {}
local backend = import "lib/backend.lua"

M.arches = backend.arches

local copy = backend.copy

function M.place(o)
  backend.check(o.arch, M.arches)
  local cpus = o.cpus or 1
  local domus = backend.count("domus", o.domus, 1, 1, 64)
  local itr = o.itr_ns or 0
  if itr ~= 0 and (o.arch == "l4-vmm" or o.arch == "hvm-emul" or o.arch == "hosted") then
    -- there the NIC's driver (netsrv.elf, devmodel.elf) takes no parameters; the unmodified
    -- guest's ITR write reaches the emulated e1000, which does not throttle
    error(string.format("itr_ns: not for arch '%s' (native, xen-dom0, xen-idd, uefi-rt)", o.arch), 2)
  end
  if o.arch == "native" then
    domain { name = "native", image = "net_native.elf", memory_mb = o.memory_mb or 16, cpu = 0,
             mode = "native", privileged = true, args = copy(o.netperf, { itr_ns = itr }) }
    device(copy(o.nic, { kind = "e1000", owner = "native" }))
    return
  end
  if o.arch == "l4-vmm" then
    if o.evil then
      error("arch: 'l4-vmm' runs unmodified guests; a malicious netfront needs a netback", 2)
    end
    local drv = backend.l4(copy(o, { memory_mb = o.memory_mb or 16 }), "net_native.elf",
                           function() return copy(o.netperf) end, "e1000")
    device(copy(o.nic, { kind = "e1000", owner = drv }))
    return
  end
  if o.arch == "hvm-emul" or o.arch == "hosted" then
    if o.evil then
      error(string.format("arch: '%s' runs one unmodified guest; a malicious netfront needs a netback", o.arch), 2)
    end
    local dm = backend.hvm(copy(o, { domus = 1 }), "net_native.elf", function() return copy(o.netperf) end)
    device(copy(o.nic, { kind = "e1000", owner = dm }))
    return
  end
  local bv = backend.count("backend_vcpus", o.backend_vcpus, 1, 1, 32)
  local back = backend.declare(copy(o, { args = { grants = o.grants or "map",
    split_evtchn = o.split_evtchn and 1 or 0, fault_after = o.fault_after or 0, itr_ns = itr } }))
  device(copy(o.nic, { kind = "e1000", owner = back }))
  for i = 1, domus do
    local name = "domu" .. i
    domain { name = name, image = "net_front.elf", memory_mb = o.memory_mb or 16,
             cpu = cpus > bv and bv + (i - 1) % (cpus - bv) or (cpus > 1 and 1 + (i - 1) % (cpus - 1) or 0),
             args = copy(o.netperf, { queues = o.queues or 1 }) }
    connect { kind = "vif", frontend = name, backend = back, devid = 0 }
  end
  if o.evil then
    domain { name = "evil", image = "net_evil.elf", memory_mb = 16,
             cpu = cpus > 1 and 1 or 0, args = { attack = o.evil } }
    connect { kind = "vif", frontend = "evil", backend = back, devid = 0 }
  end
end

return M
