-- privop: a PV guest kernel executes one privileged instruction
-- (workloads/tests/privop.c). A PV kernel runs in ring 3: the instruction
-- raises #GP and, with no trap table, Xen crashes the domain -- so must the
-- simulator, naming the instruction. op=smc overwrites its own code (the
-- code pages are read + execute only: the store faults). op=none is the
-- control run. trap=true registers a #GP handler first
-- (HYPERVISOR_set_trap_table): Xen then bounces the fault to it instead of
-- crashing the domain, and the guest checks the frame it was given.
local op = param("op", "wrmsr", "cli | sti | wrmsr | rdmsr | cr0 | cr3 | swapgs | smc | none")
local trap = param("trap", false, "register a #GP handler (set_trap_table) before the instruction")
scenario { name = "privop", seed = 1, time_limit_ms = 100 }
machine { cpus = 1, clock_ghz = 3.0, memory_mb = 16 }
domain { name = "pv", image = "privop.elf", memory_mb = 8, cpu = 0, args = { op = op, trap = trap } }
