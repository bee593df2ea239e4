-- Valid scenario for test_scenario.c, using every declaration. The test
-- checks the line numbers below: keep each statement on its line.
scenario { name = "pingpong-test", seed = 7, time_limit_ms = 500, arch = "xen-dom0" }
machine { cpus = 2, clock_ghz = 3.0, memory_mb = 256, profile = "default" }
local rounds = param("rounds", 100, "round trips")
domain { name = "pong", image = "pong.elf", memory_mb = 8, cpu = 1, privileged = true,
         args = { role = "back", verbose = true, ratio = 0.5, size = 4096.0 } }
domain { name = "ping", image = "ping.elf", vcpus = 2, args = { rounds = rounds, role = "front" } }
connect { kind = "pingpong", frontend = "ping", backend = "pong" }
output { trace_json = "out.json", summary = false }
