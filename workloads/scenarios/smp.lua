-- smp: guest-side tests of a multi-vCPU PV domain (workloads/tests/smp_test.c):
-- secondary vCPUs brought up with VCPUOP_initialise / VCPUOP_up, each on its
-- own physical CPU; event channels moved between vCPUs with EVTCHNOP_bind_vcpu
-- (the handler runs where the channel is bound); spinlocks under contention.
-- Each check is a guest test mark; the run must end with the domain powered off.
local vcpus = param("vcpus", 4, "vCPUs of the test domain (2..8)")
scenario { name = "smp", seed = 1, time_limit_ms = 1000 }
machine { cpus = vcpus, clock_ghz = 3.0, memory_mb = 32 }
domain { name = "smp", image = "smp_test.elf", memory_mb = 8, vcpus = vcpus, cpu = 0 }
output { summary = true }
