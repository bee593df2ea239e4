#!/usr/bin/env bash
# docs/scenarios.md cannot drift from the code: every key each declaration
# accepts (asked of the loader itself, through its "known keys" message),
# every parameter of every shipped scenario and lab (asked of the loader
# through its "the scenario's parameters are" message), every library
# function, every connect kind the scenarios use and every metric must be
# on the page, in its section.
source "$(dirname "$0")/lib.bash"
DOC=$SRC/docs/scenarios.md
cd "$WORK"
# section TITLE: the lines from the heading "### TITLE" to the next heading
section() { awk -v h="### $1" '$0 == h { on = 1; next } /^##/ { on = 0 } on' "$DOC"; }

for d in scenario machine domain connect device flash output; do
  echo "$d { zzzz_unknown = 1 }" >probe.lua
  keys=$("$HOPSIM" run probe.lua 2>&1 | sed -n 's/.*known keys: \(.*\))$/\1/p' | tr -d ',' || true)
  check "$d: the loader lists its keys" [ -n "$keys" ]
  text=$(section "\`$d{}\`")
  for k in $keys; do
    check "$d{}: key '$k' documented in docs/scenarios.md" grep -qF "\`$k\`" <<<"$text"
  done
done

for s in "$SRC"/workloads/scenarios/*.lua "$SRC"/docs/labs/*.lua; do
  rel=${s#"$SRC"/}
  text=$(section "\`$rel\`")
  check "$rel: has a section in docs/scenarios.md" [ -n "$text" ]
  params=$("$HOPSIM" run "$s" --set zzzz_unknown=1 2>&1 | sed -n "s/.*the scenario's parameters are: //p" | tr -d ',)' || true)
  for p in $params; do
    check "$rel: parameter '$p' documented" grep -qF "| \`$p\` |" <<<"$text"
  done
done

for lib in "$SRC"/workloads/scenarios/lib/*.lua; do
  name=$(basename "$lib" .lua)
  for fn in $(sed -n 's/^function M\.\([a-z_]*\)(.*/\1/p' "$lib"); do
    check "library function $name.$fn documented" grep -qE "\`$name\.$fn[({]" "$DOC"
  done
done

for kind in $(grep -rhoE 'connect *\{ *kind = "[a-z_0-9-]+"' "$SRC/workloads/scenarios" "$SRC/docs/labs" | sed 's/.*"\(.*\)"/\1/' | sort -u); do
  check "connect kind '$kind' documented" grep -qF "\`$kind\`" <<<"$(section '`connect{}`')"
done

for m in $(grep -oE '^ *\{"[^"]+", UNIT_' "$SRC/sim/scenario/expect.c" | sed 's/.*{"\(.*\)", UNIT_/\1/'); do
  check "metric '$m' documented" grep -qF "| \`$m\` |" "$DOC"
done
finish
