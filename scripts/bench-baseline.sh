#!/usr/bin/env bash
# Build another revision of hopsim beside this tree and run bench_net's
# side-by-side comparison against it: the whole `hopsim run` of net-stream
# (xen-dom0, 1514-byte frames) by both binaries, alternately, in one run.
#   scripts/bench-baseline.sh [REV] [COUNT]    (default REV: 4942b9a, round 1)
# The revision is exported with `git archive` into $BASELINE_DIR (default
# /tmp/hopsim-baseline-REV) and built there once; this tree must be built
# in build/ (cmake --build build --target bench_net).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rev=${1:-4942b9a}
count=${2:-10000}
dir=${BASELINE_DIR:-/tmp/hopsim-baseline-$rev}
if [ ! -x "$dir/build/hopsim" ]; then
  mkdir -p "$dir"
  git -C "$here" archive "$rev" | tar -x -C "$dir"
  cmake -S "$dir" -B "$dir/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$dir/build" -j2 >/dev/null
fi
exec "$here/build/bench/bench_net" "$count" --baseline "$dir"
