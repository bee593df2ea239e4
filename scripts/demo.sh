#!/usr/bin/env bash
# The main demonstration: installs what is missing, builds hopsim, runs the
# ping-pong scenario (two domains crossing through an event channel and a
# granted page) and writes its traces to out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
mkdir -p out
./build/hopsim run workloads/scenarios/pingpong.lua --quiet \
  --trace-json out/pingpong.json --trace-csv out/pingpong.csv
echo
echo "traces: out/pingpong.json (open in https://ui.perfetto.dev or chrome://tracing), out/pingpong.csv"
