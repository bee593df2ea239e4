-- Deliberate error for test_scenario.c: a misspelt key on line 3.
scenario { name = "typo" }
machine { cpus = 2, memroy = 64 }
