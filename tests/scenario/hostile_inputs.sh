#!/usr/bin/env bash
# Input files a user or a scenario names are checked for type and size
# before use (issue 10, item 5): disk-check, a flash image and attack-matrix
# given a directory, an empty file, /dev/null, /dev/zero or a FIFO exit 2
# with a clear message and never hang; a private flash copy leaves nothing
# in TMPDIR; a written sector whose magic was zeroed is inconsistent, not
# "unwritten".
source "$(dirname "$0")/lib.bash"
cd "$WORK"
mkdir tmp
export TMPDIR=$WORK/tmp
: >empty
mkfifo fifo
expect2() { # expect2 WHAT PATTERN COMMAND...
  local what=$1 pat=$2; shift 2
  set +e
  timeout 60 "$@" >"$WORK/o" 2>"$WORK/e" </dev/null
  local rc=$?
  set -e
  check "$what exits 2 (got $rc)" [ "$rc" -eq 2 ]
  check "$what message: $(cat "$WORK/e")" grep -q -- "$pat" "$WORK/e"
}
expect2 "disk-check directory" "disk-check: .: a directory, expected a regular file" "$HOPSIM" disk-check .
expect2 "disk-check empty file" "disk-check: empty: empty file" "$HOPSIM" disk-check empty
expect2 "disk-check /dev/null" "/dev/null: a character device" "$HOPSIM" disk-check /dev/null
expect2 "disk-check /dev/zero" "/dev/zero: a character device" "$HOPSIM" disk-check /dev/zero
expect2 "disk-check FIFO" "disk-check: fifo: a FIFO, expected a regular file" "$HOPSIM" disk-check fifo
head -c 1000 /dev/zero >odd
expect2 "disk-check partial sector" "not a whole number of 512-byte sectors" "$HOPSIM" disk-check odd
head -c 5120 /dev/zero >blocks
expect2 "disk-check --partitions 0" "disk-check: --partitions 0: expected a whole number from 1 to 4096" \
  "$HOPSIM" disk-check blocks --partitions 0
expect2 "disk-check --partitions -1" "disk-check: --partitions -1: expected a whole number" \
  "$HOPSIM" disk-check blocks --partitions -1
expect2 "disk-check --partitions with no value" "disk-check: --partitions needs a value" \
  "$HOPSIM" disk-check blocks --partitions
expect2 "disk-check --block-size 1000" "disk-check: --block-size 1000: expected 512 or 4096" \
  "$HOPSIM" disk-check blocks --block-size 1000
expect2 "disk-check 4096-byte blocks, partial block" "5120 bytes, not a whole number of 4096-byte blocks" \
  "$HOPSIM" disk-check blocks --block-size 4096
expect2 "disk-check more partitions than blocks" "cannot hold 11 partitions of whole 512-byte blocks" \
  "$HOPSIM" disk-check blocks --partitions 11
expect2 "disk-check two images" "disk-check: unexpected argument 'odd'" "$HOPSIM" disk-check blocks odd

R=$SRC/workloads/scenarios/blk-randrw-verify.lua
expect2 "flash_image=/dev/zero" "blk-randrw-verify.lua:[0-9]*: image: flash image /dev/zero: a character device" \
  "$HOPSIM" run "$R" --quiet --set arch=uefi-rt --set flash_image=/dev/zero --set disk="$WORK/d0.img"
expect2 "flash_image=FIFO" "image: flash image fifo: a FIFO" \
  "$HOPSIM" run "$R" --quiet --set arch=uefi-rt --set flash_image=fifo --set disk="$WORK/d0.img"
expect2 "flash_image=empty" "image: flash image empty: empty file" \
  "$HOPSIM" run "$R" --quiet --set arch=uefi-rt --set flash_image=empty --set disk="$WORK/d0.img"
expect2 "flash_image too large" "image: flash image big.fd: 16777217 bytes, expected 16777216" \
  bash -c "head -c 16777217 /dev/zero >big.fd && exec '$HOPSIM' run '$R' --quiet --set arch=uefi-rt \
  --set flash_image=big.fd --set disk='$WORK/d0.img'"
expect2 "attack-matrix /dev/zero" "attack-matrix: /dev/zero: a character device" "$HOPSIM" attack-matrix /dev/zero
expect2 "attack-matrix FIFO ELF" "attack-matrix: fifo: a FIFO" \
  "$HOPSIM" attack-matrix "$BUILD/platform.fd" fifo
expect2 "flash inspect FIFO" "fifo: not a regular file" "$HOPSIM" flash inspect fifo

# a uefi-rt run works on a nameless copy of the flash image: nothing is left in TMPDIR
"$HOPSIM" run "$R" --quiet --set arch=uefi-rt --set requests=20 --set disk="$WORK/d1.img" \
  >/dev/null 2>"$WORK/e"
check "uefi-rt run with a private flash copy: $(tail -2 "$WORK/e")" [ $? -eq 0 ]
check "nothing left in TMPDIR ($(ls tmp))" [ -z "$(ls -A tmp)" ]

# disk-check: a written sector whose 8-byte magic was zeroed is inconsistent
"$HOPSIM" run "$R" --quiet --set arch=native --set requests=20 --set disk="$WORK/d2.img" \
  >/dev/null 2>&1
"$HOPSIM" disk-check d2.img >"$WORK/dc" 2>&1
check "written image is consistent: $(cat "$WORK/dc")" grep -q ", 0 inconsistent, 0 from" "$WORK/dc"
off=$(LC_ALL=C grep -obUaF 'HOPSPBLK' d2.img | head -1 | cut -d: -f1)
check "a written sector found ($off)" [ -n "$off" ]
head -c 8 /dev/zero | dd of=d2.img bs=1 seek="$off" conv=notrunc status=none
set +e
"$HOPSIM" disk-check d2.img >"$WORK/dc" 2>&1
rc=$?
set -e
check "zeroed magic fails disk-check (got $rc): $(cat "$WORK/dc")" [ "$rc" -eq 1 ]
check "zeroed magic counted inconsistent" grep -q ", 1 inconsistent, " "$WORK/dc"

# an altered runtime image (item 8): boots with a warning when nothing is pinned, refused when
# the scenario pins the golden measurement
ELF=$BUILD/guest/backend-rt.elf
objcopy --add-symbol hopsim_mutant=0x1000,global "$ELF" mut.elf
"$HOPSIM" flash build -o mut.fd --file hopsim-rt=mut.elf >/dev/null
good=$(sha256sum "$ELF" | cut -d' ' -f1)
mut=$(sha256sum mut.elf | cut -d' ' -f1)
"$HOPSIM" run "$R" --quiet --set arch=uefi-rt --set requests=10 --set flash_image=mut.fd \
  --set disk="$WORK/m1.img" >"$WORK/o" 2>"$WORK/e"
check "unpinned altered image boots: $(tail -2 "$WORK/e")" [ $? -eq 0 ]
check "unpinned altered image warns" grep -q "^hopsim: warning: rt: runtime image hopsim-rt measures sha256 $mut, not the build's backend-rt.elf ($good); it boots because the scenario pins no runtime_sha256" "$WORK/e"
expect2 "pinned golden refuses the altered image" \
  "blk-randrw-verify.lua:[0-9]*: runtime_image: rt: measured sha256 $mut, but the scenario pins runtime_sha256 = $good: refused" \
  "$HOPSIM" run "$R" --quiet --set arch=uefi-rt --set requests=10 --set flash_image=mut.fd \
  --set disk="$WORK/m2.img" --set runtime_sha256="$good"
"$HOPSIM" run "$R" --quiet --set arch=uefi-rt --set requests=10 --set disk="$WORK/m3.img" \
  --set runtime_sha256="$good" >"$WORK/o" 2>"$WORK/e"
check "pinned genuine image boots without a warning: $(tail -2 "$WORK/e")" \
  bash -c "[ $? -eq 0 ] && ! grep -q warning '$WORK/e'"

# stuck mutants (item 8): an altered runtime image that spins in its request loop, and one
# that returns from it at once, never finish their work; each run exits 1 and says why
patch_at() { # patch_at ELF SYMBOL HEXBYTES OUT: overwrite the symbol's first bytes
  local addr off="" type o v p f rest
  cp "$1" "$4"
  addr=$((0x$(nm "$1" | awk -v s="$2" '$3 == s { print $1 }')))
  while read -r type o v p f rest; do
    if [ "$type" = LOAD ] && [ "$addr" -ge $((v)) ] && [ "$addr" -lt $((v + f)) ]; then
      off=$((o + addr - v))
      break
    fi
  done < <(readelf -lW "$1")
  printf "$3" | dd of="$4" bs=1 seek="$off" conv=notrunc status=none
}
patch_at "$ELF" blkback_poll '\xeb\xfe' spin.elf  # jmp .
patch_at "$ELF" blkback_poll '\xc3' noop.elf      # ret
for m in spin noop; do
  "$HOPSIM" flash build -o $m.fd --file hopsim-rt=$m.elf >/dev/null
  set +e
  timeout 120 "$HOPSIM" run "$R" --quiet --set arch=uefi-rt --set requests=10 \
    --set flash_image=$m.fd --set disk="$WORK/$m.img" --set scenario.time_limit_ms=50 \
    >"$WORK/o" 2>"$WORK/e"
  rc=$?
  set -e
  check "stuck mutant $m exits 1 (got $rc)" [ "$rc" -eq 1 ]
  case $m in
  spin) why="time limit (50.000 ms) reached with work unfinished: still running: rt" ;;
  noop) why="deadlock at t=.*rt vcpu0 is blocked" ;;
  esac
  check "stuck mutant $m says why: $(tail -1 "$WORK/e")" grep -q "run failed: $why" "$WORK/e"
done

# errors after evaluation still name the scenario's file:line: key (issue 10, item 7)
printf 'garbage\n' >bad.elf
cat >img.lua <<'LUA'
machine { cpus = 1, memory_mb = 64 }
domain { name = "a", image = "bad.elf", memory_mb = 8 }
LUA
expect2 "image that is no ELF" "img.lua:2: image: ./bad.elf: not an ELF file" "$HOPSIM" run img.lua --quiet
cat >o.lua <<'LUA'
machine { cpus = 1, memory_mb = 64 }
domain { name = "a", image = "pingpong.elf", memory_mb = 8, args = { role = "back" } }
output { trace_json = "t.json" }
LUA
expect2 "output file that cannot be opened" "o.lua:3: output: cannot open trace file '/proc/self/t.json'" \
  "$HOPSIM" run o.lua --quiet --out /proc/self
cat >pc.lua <<'LUA'
machine { cpus = 1, memory_mb = 64 }
domain { name = "a", image = "pingpong.elf", memory_mb = 8, args = { role = "back" } }
output { pcap = "t.pcap" }
LUA
expect2 "pcap file that cannot be opened" "pc.lua:3: output: pcap: /proc/self/t.pcap:" \
  "$HOPSIM" run pc.lua --quiet --out /proc/self
# a capture asked for with no wire in the machine is still written: a pcap without frames
set +e
"$HOPSIM" run pc.lua --quiet --out "$WORK/pc" >/dev/null 2>&1
set -e
check "pcap without a wire: an empty capture ($(stat -c %s "$WORK/pc/t.pcap" 2>&1))" \
  [ "$(stat -c %s "$WORK/pc/t.pcap" 2>/dev/null)" = 24 ]
# a garbage profile's bytes are shown escaped, never raw
cp "$SRC/profiles/default.profile" g.profile
printf '\033[31mRED\007 1 cycles src\n' >>g.profile
cat >p.lua <<'LUA'
machine { cpus = 1, memory_mb = 64, profile = "g.profile" }
domain { name = "a", image = "pingpong.elf", memory_mb = 8, args = { role = "back" } }
LUA
expect2 "garbage profile" 'g.profile:[0-9]*: \\x1b\[31mRED\\x07: unknown parameter' "$HOPSIM" run p.lua --quiet
check "no raw escape byte on stderr" bash -c "! LC_ALL=C grep -q \$'\\033' '$WORK/e'"
finish
