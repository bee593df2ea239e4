-- Deliberate error for test_scenario.c: the sandbox has no os (line 3).
machine { cpus = 1 }
os.exit(1)
