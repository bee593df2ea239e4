#!/usr/bin/env bash
# Every C source and header follows the project's .clang-format.
source "$(dirname "$0")/lib.bash"
cd "$SRC"
dirs=$(for d in include sim models firmware-model workloads tests bench; do [ -d "$d" ] && echo "$d"; done)
# shellcheck disable=SC2086
files=$(find $dirs -name '*.[ch]' | sort)
for f in $files; do
  if clang-format --dry-run -Werror "$f" >/dev/null 2>&1; then ok; else bad "$f is not clang-formatted"; fi
done
finish
