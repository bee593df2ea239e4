-- Lab 2: grants map vs copy vs persistent (docs/labs/lab2-grants.md).
-- blkback reaches the frontend's data pages in one of three ways:
--   map         GNTTABOP_map_grant_ref per page, unmap + TLB flush after
--   copy        GNTTABOP_copy: the hypervisor copies the bytes
--   persistent  pages mapped once (feature-persistent) and reused
-- Run it three times:  hopsim sweep docs/labs/lab2-grants.lua --set grants=map,copy,persistent
local blk = import "lib/blk.lua"
local grants = param("grants", "map", "map | copy | persistent")
local requests = param("requests", 100, "I/O requests")

scenario { name = "lab2-grants", seed = 1, time_limit_ms = 2000 }
machine { cpus = 2, clock_ghz = 3.0, memory_mb = 96 }
blk.place {
  arch = "xen-dom0", cpus = 2, grants = grants,
  disk = { type = "ssd", image = "lab2.img", size_mb = 64, create = true },
  fio = { rw = "randrw", bs = 8192, iodepth = 4, requests = requests, seed = 7, verify = 1,
          size = 8 * 1024 * 1024 },
}
-- Every mode moves the same data correctly (verify = 1 checks every read) ...
expect { "status == ok", "guest_checks.failed == 0", "guest_checks.passed > 0",
         string.format("requests >= %d", requests) }
-- ... but with different hypervisor operations (8 KiB = two pages a request).
if grants == "map" then
  expect { string.format("span.grant_map.count >= %d", 2 * requests),
           string.format("span.grant_unmap.count >= %d", 2 * requests),
           -- one flush per unmap hypercall, not per page: blkback unmaps a request's pages
           -- in one batch (Xen's gnttab_unmap_grant_ref flushes once per batch)
           string.format("span.tlb_flush.count >= %d", requests),
           "span.grant_copy.count == 0" }
elseif grants == "copy" then
  expect { string.format("span.grant_copy.count >= %d", 2 * requests),
           "span.grant_map.count < 5" }
else
  expect { "span.grant_map.count < 20", "span.tlb_flush.count < 20",
           "span.grant_copy.count == 0" }
end
