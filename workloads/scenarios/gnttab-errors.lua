-- gnttab-errors: guest-side tests of grant-table and event-channel error
-- paths (workloads/tests/gnttab_errors.c). "granter" (frontend, cpu 0)
-- grants pages and publishes refs and ports under its "gnttest" device;
-- "mapper" (privileged backend, cpu 1) tries bad refs, read-only
-- violations, unknown domains, addresses outside the grant window, bad
-- handles, bad copies, revoked grants, bad or closed ports and a masked
-- port. Each check is a guest test mark; the run must end with both
-- domains powered off.
scenario { name = "gnttab-errors", seed = 1, time_limit_ms = 1000 }
machine { cpus = 2, clock_ghz = 3.0, memory_mb = 64 }
domain {
  name = "mapper", image = "gnttab_errors.elf", memory_mb = 8, vcpus = 1, cpu = 1,
  privileged = true, args = { role = "mapper" },
}
domain {
  name = "granter", image = "gnttab_errors.elf", memory_mb = 8, vcpus = 1, cpu = 0,
  args = { role = "granter" },
}
connect { kind = "gnttest", frontend = "granter", backend = "mapper", devid = 0 }
output { summary = true }
