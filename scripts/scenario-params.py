#!/usr/bin/env python3
"""Print the parameter tables of docs/scenarios.md ("Shipped scenarios and labs")
from the param() calls of workloads/scenarios/*.lua and docs/labs/*.lua.
Run from the repository root and paste the output over that part of the page;
tests/scenario/scenario_docs.sh says when the page lacks a parameter."""
import glob
import re

PARAM = re.compile(r'param\(\s*"([^"]+)"\s*,\s*("(?:[^"\\]|\\.)*"|[^,]+?)\s*,\s*"((?:[^"\\]|\\.)*)"\s*\)')

for f in sorted(glob.glob("workloads/scenarios/*.lua")) + sorted(glob.glob("docs/labs/*.lua")):
    text = open(f).read()
    head = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        head.append(line[2:].strip())
    print("### `%s`\n" % f)
    if head:
        print(" ".join(h for h in head if h) + "\n")
    params = PARAM.findall(text)
    if not params:
        print("No parameters.\n")
        continue
    print("| parameter | default | what |\n|---|---|---|")
    for name, default, what in params:
        print("| `%s` | `%s` | %s |" % (name, default.strip(), what.replace("|", "\\|")))
    print()
