-- pingpong: two domains exchange one message per round through a granted
-- page and an event channel, connected as a Xen split device of class
-- "pingpong" through xenstore. "ping" (frontend) sends `rounds`
-- requests of `bytes` payload bytes; "pong" (privileged backend)
-- maps the grant, checks the request, answers every byte + 1, unmaps
-- (unless persistent = 1) and notifies back. Every round shows hops
-- H1 H2 H3 H4 H6 H7 H8 (no device: no H5), and the frontend checks each
-- reply with a guest test mark.
--
-- By default both domains share one physical CPU, so every notification
-- also costs a world switch; --set cpus=2 gives each domain its own CPU
-- (the wake-up then costs an IPI instead).
local rounds = param("rounds", 100, "round trips")
local bytes = param("bytes", 64, "payload bytes per message (0..4064)")
local persistent = param("persistent", 0, "1: the backend keeps the grant mapped")
local cpus = param("cpus", 1, "physical CPUs (1: both domains share cpu 0)")

scenario { name = "pingpong", seed = 1, time_limit_ms = 1000 + rounds }
machine { cpus = cpus, clock_ghz = 3.0, memory_mb = 64 }
domain {
  name = "pong", image = "pingpong.elf", memory_mb = 8, vcpus = 1, cpu = cpus > 1 and 1 or 0,
  privileged = true, args = { role = "back", persistent = persistent },
}
domain {
  name = "ping", image = "pingpong.elf", memory_mb = 8, vcpus = 1, cpu = 0,
  args = { role = "front", rounds = rounds, bytes = bytes },
}
connect { kind = "pingpong", frontend = "ping", backend = "pong", devid = 0 }
output { summary = true }
