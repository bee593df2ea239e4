#!/usr/bin/env bash
# Guest arguments are checked at load against the declarations each image
# carries (.hopsim.args): a misspelt name gets a did-you-mean, a bad value
# its range or choices, both at the scenario's file:line, exit 2, before
# anything runs (no console, no trace). The runtime-service image is read
# out of the flash. A guest's own fatal message shows even under --quiet.
source "$(dirname "$0")/lib.bash"
S=$SRC/workloads/scenarios
# every key a guest reads (arg_int/arg_str with a literal) is declared with ARG_* (args.h)
used=$(grep -rhoE 'arg_(int|str)\("[a-z_0-9]+"' "$SRC/workloads" | sed -E 's/.*"(.*)"/\1/' | sort -u)
declared=$(grep -rhoE 'ARG_[A-Z_]+\([a-z_0-9]+,' "$SRC/workloads" | sed -E 's/.*\((.*),/\1/' | sort -u)
missing=$(comm -23 <(echo "$used") <(echo "$declared") | tr '\n' ' ')
check "every guest argument read is declared with ARG_* in workloads/lib/args.h style (missing: $missing)" [ -z "$missing" ]
cp "$S/blk-randread.lua" "$WORK/br.lua"
line=$(grep -n '^blk.place' "$WORK/br.lua" | cut -d: -f1)
try() { # try DESCRIPTION EXPECTED-TEXT hopsim-args...
  local what=$1 want=$2
  shift 2
  local rc=0
  "$HOPSIM" run "$@" --quiet >"$WORK/out.txt" 2>"$WORK/err.txt" || rc=$?
  check "$what: exit 2 (got $rc)" [ "$rc" -eq 2 ]
  check "$what: message '$want' (got: $(cat "$WORK/err.txt"))" grep -qF -- "$want" "$WORK/err.txt"
  check "$what: nothing ran" [ ! -s "$WORK/out.txt" ]
}
sed 's/iodepth = iodepth,/iodpeth = 8,/' "$S/blk-randread.lua" >"$WORK/typo.lua"
try "iodpeth=8" "typo.lua:$line: domain 'domu1': args: unknown argument 'iodpeth' for blk_front.elf (did you mean 'iodepth'?)" "$WORK/typo.lua"
try "iodepth=0" "br.lua:$line: domain 'domu1': args: iodepth=0: out of range 1..64" "$WORK/br.lua" --set iodepth=0
sed 's/rw = "randread"/rw = "randred"/' "$S/blk-randread.lua" >"$WORK/rw.lua"
try "rw=randred" "rw.lua:$line: domain 'domu1': args: rw=randred: expected one of read|write|randread|randwrite|randrw (did you mean 'randread'?)" "$WORK/rw.lua"
sed 's/bs = bs,/bs = 1e9,/' "$S/blk-randread.lua" >"$WORK/bs.lua"
try "bs=1e9" "bs.lua:$line: domain 'domu1': args: bs=1000000000: out of range 512..45056" "$WORK/bs.lua"
try "bs=1000" "args: bs=1000: must be a multiple of 512" "$WORK/br.lua" --set bs=1000
try "native image" "domain 'native': args: iodepth=65: out of range 1..64" "$WORK/br.lua" --set arch=native --set iodepth=65
try "runtime image from flash" "domain 'rt': args: grants=mapp: expected one of map|copy|persistent (did you mean 'map'?)" "$WORK/br.lua" --set arch=uefi-rt --set domain.rt.args.grants=mapp
try "net sizes" "args: sizes=64,9000: '9000' is not an integer in 60..1514" "$S/net-rr.lua" --set sizes=64,9000

# numbers with units for numeric parameters: converted, or a hint
try "unit without a known unit" "--set requests=5us: '5us' has a unit, but the parameter's unit is not known" "$WORK/br.lua" --set requests=5us
try "unit of the wrong kind" "'5KiB' is a size, but setvariable_ms takes a time in ms" "$WORK/br.lua" --set arch=uefi-rt --set setvariable_ms=5KiB
try "4KiB is 4096 bytes" "args: iodepth=0" "$WORK/br.lua" --set bs=4KiB --set iodepth=0

# A value only the guest can judge: its own message is shown under --quiet
rc=0
(cd "$WORK" && "$HOPSIM" run "$WORK/br.lua" --quiet \
  --set domain.domu1.args.offset=999999999488 >"$WORK/out.txt" 2>"$WORK/err.txt") || rc=$?
check "guest refusal: exit 1 (got $rc)" [ "$rc" -eq 1 ]
check "guest's own message under --quiet" grep -q "\[domu1\] said: fio: offset=999999999488: outside the device" "$WORK/err.txt"
finish
