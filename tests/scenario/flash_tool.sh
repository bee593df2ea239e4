#!/usr/bin/env bash
# `hopsim flash build|inspect` end to end: build an image from a guest ELF,
# inspect it (exit 0, the file listed with the SHA-256 sha256sum gives),
# then corrupt one byte of the file's header and expect exit 1 with the
# precise message; usage errors exit 2. The default platform image made by
# the build (platform.fd) must inspect clean too.
source "$(dirname "$0")/lib.bash"
cd "$WORK"
ELF=$BUILD/guest/pingpong.elf
check "guest image exists" test -f "$ELF"

set +e
"$HOPSIM" flash build -o img.fd --size 4M --file hopsim-rt="$ELF" >build.out 2>&1
rc=$?
set -e
check "build exits 0 (got $rc): $(cat build.out)" [ "$rc" -eq 0 ]
check "image is 4 MiB" [ "$(stat -c %s img.fd)" -eq $((4 << 20)) ]

inspect() { # inspect IMAGE: sets rc, output in out (stdout) and err (stderr)
  set +e
  "$HOPSIM" flash inspect "$1" >out 2>err
  rc=$?
  set -e
}
inspect img.fd
check "inspect exits 0 (got $rc): $(cat err)" [ "$rc" -eq 0 ]
sum=$(sha256sum "$ELF" | cut -d' ' -f1)
size=$(stat -c %s "$ELF")
check "file listed by name" grep -q '"hopsim-rt" DRIVER (0x07)' out
check "payload size and SHA-256 match sha256sum" \
  grep -q "payload RAW at 0x0020007c, $size bytes, sha256 $sum" out
check "BIOS region listed" grep -q 'FLREG1 bios .*0x00200000-0x003fffff' out
check "result ok" grep -q '^result: ok, 1 volume(s), 1 file(s)' out

# Flip one byte of the file's Name GUID (file header at BIOS base + 0x48).
cp img.fd bad.fd
off=$((0x200000 + 0x48 + 3))
orig=$(od -An -tu1 -j "$off" -N1 bad.fd | tr -d ' ')
printf "$(printf '\\%03o' $((orig ^ 0x01)))" | dd of=bad.fd bs=1 seek="$off" conv=notrunc status=none
inspect bad.fd
check "corrupt image exits 1 (got $rc)" [ "$rc" -eq 1 ]
check "message names the field: $(cat err)" grep -q \
  'firmware volume at 0x200000: file at 0x200048 (.*): IntegrityCheck.Checksum.Header: expected 0x[0-9a-f]*, got 0x[0-9a-f]*' err
check "result CORRUPT" grep -q '^result: CORRUPT' out

# A bad descriptor signature.
cp img.fd desc.fd
printf '\x00' | dd of=desc.fd bs=1 seek=16 conv=notrunc status=none
inspect desc.fd
check "bad descriptor exits 1 (got $rc)" [ "$rc" -eq 1 ]
check "descriptor message: $(cat err)" grep -q \
  'flash descriptor: FLVALSIG (at 0x10): expected 0x0ff0a55a, got 0x0ff0a500' err

# Usage errors exit 2.
usage2() { # usage2 WHAT ARGS...
  local what=$1; shift
  set +e
  "$HOPSIM" flash "$@" >/dev/null 2>&1
  local r=$?
  set -e
  check "$what exits 2 (got $r)" [ "$r" -eq 2 ]
}
usage2 "build without -o" build --file x="$ELF"
usage2 "build without --file" build -o x.fd
usage2 "missing input file" build -o x.fd --file x=/nonexistent.elf
usage2 "bad size" build -o x.fd --size 3M --file x="$ELF"
# (2^44 + 1) MiB wrapped to 1 MiB before the shift was checked
usage2 "size that wraps" build -o x.fd --size 17592186044417M --file x="$ELF"
check "no image from a wrapping size" [ ! -e x.fd ]
usage2 "inspect missing image" inspect /nonexistent.fd
usage2 "unknown subcommand" frobnicate

if [ -f "$BUILD/platform.fd" ]; then
  inspect "$BUILD/platform.fd"
  check "platform.fd inspects clean (got $rc): $(cat err)" [ "$rc" -eq 0 ]
  check "platform.fd holds hopsim-rt" grep -q '"hopsim-rt"' out
  want=$(sha256sum "$BUILD/guest/backend-rt.elf" | cut -d' ' -f1)
  check "hopsim-rt is backend-rt.elf (sha256)" grep -q "$want" out
fi
finish
