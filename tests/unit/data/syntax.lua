-- Deliberate error for test_scenario.c: a Lua syntax error on line 3.
machine { cpus = 2 }
domain { name = "a" image = "ping.elf" }
