#!/usr/bin/env bash
# Run one libFuzzer target for a while (README "Fuzzing"):
#   scripts/fuzz.sh TARGET SECONDS     TARGET: xenstore fv elf profile blkif netif scenario
#   scripts/fuzz.sh --build            only (re)build the targets
#   scripts/fuzz.sh --list             the targets
# Builds tests/fuzz with clang (ASan + UBSan + libFuzzer) into $FUZZ_BUILD
# (default build-fuzz/), starts from the seed corpus tests/fuzz/corpus/TARGET
# and keeps what it learns in $FUZZ_BUILD/corpus/TARGET (the seeds are not
# touched). A crash or a failed invariant leaves its input in
# $FUZZ_BUILD/findings/TARGET/ and the script exits non-zero. The last line
# is a summary: target, seconds, executions, corpus size, findings.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
B=${FUZZ_BUILD:-$ROOT/build-fuzz}
TARGETS="xenstore fv elf profile blkif netif scenario"

build() {
  if [ ! -f "$B/CMakeCache.txt" ]; then
    cmake -S "$ROOT/tests/fuzz" -B "$B" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug >/dev/null
  fi
  cmake --build "$B" -j2 >/dev/null
}

case "${1:-}" in
  --build) build; exit 0 ;;
  --list) echo "$TARGETS"; exit 0 ;;
  ""|-h|--help) sed -n 2,12p "$0"; exit 2 ;;
esac
T=$1
SECS=${2:-60}
case " $TARGETS " in *" $T "*) ;; *) echo "fuzz.sh: unknown target '$T' (targets: $TARGETS)" >&2; exit 2 ;; esac
[[ "$SECS" =~ ^[0-9]+$ ]] || { echo "fuzz.sh: SECONDS must be a whole number" >&2; exit 2; }
build
mkdir -p "$B/corpus/$T" "$B/findings/$T"
LOG="$B/fuzz-$T.log"
set +e
(cd "$B" && ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  "$B/fuzz_$T" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
  -print_final_stats=1 -artifact_prefix="$B/findings/$T/" \
  "$B/corpus/$T" "$ROOT/tests/fuzz/corpus/$T") >"$LOG" 2>&1
rc=$?
set -e
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$LOG" | tail -1)
corpus=$(find "$B/corpus/$T" -type f | wc -l)
found=$(find "$B/findings/$T" -type f | wc -l)
echo "fuzz $T: ${SECS}s, ${execs:-0} executions, corpus $corpus new inputs, $found findings (log $LOG)"
if [ "$rc" -ne 0 ] || [ "$found" -ne 0 ]; then
  grep -E "ERROR|SUMMARY|abort|deadly" "$LOG" | head -5 >&2 || true
  exit 1
fi
