-- Deliberate error for test_scenario.c: the sandbox has no io (line 3).
machine { cpus = 1 }
local f = io.open("/etc/passwd")
