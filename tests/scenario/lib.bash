# Shared helpers for scenario tests: sourced, not run. Each test script is
# called as: SCRIPT HOPSIM_BINARY SOURCE_DIR BUILD_DIR
set -euo pipefail
HOPSIM=$1
SRC=$2
BUILD=$3
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { echo "FAIL: $*" >&2; fail=$((fail + 1)); }
check() { # check DESCRIPTION COMMAND...
  local what=$1; shift
  if "$@"; then ok; else bad "$what"; fi
}
finish() {
  echo "$pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
