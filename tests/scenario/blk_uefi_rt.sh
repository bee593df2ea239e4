#!/usr/bin/env bash
# uefi-rt: blkback + the SAS driver booted out of the platform SPI flash as a
# runtime service. Verified I/O completes; the boot line reports the SPI
# read time that the clock/mode arithmetic predicts and the SHA-256 of the
# image; one changed byte in the image changes the measurement; a corrupt
# flash image stops the run before anything runs; compare shows three
# architectures with all eight hops and runtime-service call spans.
source "$(dirname "$0")/lib.bash"
cd "$WORK"
SCN=$SRC/workloads/scenarios
ELF=$BUILD/guest/backend-rt.elf
set +e
"$HOPSIM" run "$SCN/blk-randrw-verify.lua" --quiet --set arch=uefi-rt --set disk="$WORK/d.img" \
  --trace-csv "$WORK/t.csv" >"$WORK/out" 2>"$WORK/err"
rc=$?
set -e
check "uefi-rt verify run exits 0 (got $rc): $(tail -2 "$WORK/err")" [ "$rc" -eq 0 ]
check "guest checks passed" grep -Eq "guest checks: [1-9][0-9]* passed, 0 failed" "$WORK/out"
check "disk image consistent" "$HOPSIM" disk-check "$WORK/d.img"
sha=$(sha256sum "$ELF" | cut -d' ' -f1)
check "measured sha256 is the image's" grep -q "measured sha256 $sha" "$WORK/out"
# boot time: 64-byte FAST READ cycles (opcode, 3 address, 1 dummy + data) at 50 MHz + overhead
len=$(sed -n 's/^boot: rt: runtime image \([0-9]*\) bytes.*/\1/p' "$WORK/out")
got=$(sed -n 's/.*read over SPI in \([0-9.]*\) us.*/\1/p' "$WORK/out")
want=$(awk -v n="$len" 'BEGIN { full = int(n / 64); rest = n % 64; t = full * ((5 + 64) * 8 / 50 + 1);
  if (rest) t += (5 + rest) * 8 / 50 + 1; printf "%.3f", t }')
check "boot time $got us = arithmetic $want us" awk -v a="$got" -v b="$want" 'BEGIN { exit !(a - b < 0.01 && b - a < 0.01) }'
# the UEFI hand-off: the image loaded as a runtime driver at memcpy_bw (8 GB/s), the domain
# running after read + load; the EFI_RUNTIME_SERVICES table checked, its CRC32 the one gzip
# (zlib's CRC-32) gives for "RUNTSERV", revision 2.100, 136 bytes, 14 x efi_rt_unsupported;
# ExitBootServices retried once (the flash driver frees its read buffer before the key
# check); SetVirtualAddressMap 1:1 over the tables page, the image's code and its data
load=$(grep '^boot: rt: loaded into ' "$WORK/out" || true)
check "load line: $load" grep -Eq '^boot: rt: loaded into EfiRuntimeServicesCode/Data: [0-9]+ bytes copied, [0-9]+ zeroed in [0-9.]+ us \(memcpy_bw\), running at [0-9.]+ us; 0 of 14 services in the image, the rest efi_rt_unsupported$' "$WORK/out"
check "load time = bytes at 8 GB/s, running at = read + load" awk -v l="$load" -v spi="$got" 'BEGIN {
  n = split(l, f, " "); for (i = 1; i <= n; i++) { if (f[i] == "copied,") c = f[i - 2]; if (f[i] == "zeroed") z = f[i - 1];
    if (f[i] == "in" && f[i + 2] == "us") t = f[i + 1]; if (f[i] == "running") r = f[i + 2] }
  w = (c + z) / 8e9 * 1e6; exit !(t - w < 0.002 && w - t < 0.002 && r - spi - t < 0.002 && spi + t - r < 0.002) }'
le() { local i out=""; for ((i = 0; i < $2; i++)); do out+=$(printf '\\x%02x' $((($1 >> (8 * i)) & 255))); done; printf '%s' "$out"; }
stub=$((0x$(nm "$ELF" | awk '$3 == "efi_rt_unsupported" { print $1 }')))
tbl=$(le 0x56524553544e5552 8)$(le $(((2 << 16) | 100)) 4)$(le 136 4)$(le 0 4)$(le 0 4)
for _ in $(seq 14); do tbl+=$(le "$stub" 8); done
crc=$(printf "$tbl" | gzip -c | tail -c8 | head -c4 | od -An -tx4 | tr -d ' \n')
check "runtime services table, CRC32 0x$crc, one ExitBootServices retry, SetVirtualAddressMap 1:1" \
  grep -Eq "^boot: rt: runtime services table at 0xff080, CRC32 0x$crc ok; ExitBootServices \(map key [0-9]+, 1 retry\); SetVirtualAddressMap 1:1, 3 runtime regions$" "$WORK/out"
# an image function efi_rt_get_time becomes GetTime; one in the data segment fails the
# hypervisor's check of the table: runtime services disabled, the domain never starts
entry=$(nm "$ELF" | awk '$3 == "blkback_init" { print $1 }')
objcopy --add-symbol "efi_rt_get_time=0x$entry,function,global" "$ELF" "$WORK/gt.elf"
"$HOPSIM" flash build -o "$WORK/gt.fd" --file hopsim-rt="$WORK/gt.elf" >/dev/null
"$HOPSIM" run "$SCN/blk-randrw-verify.lua" --quiet --set arch=uefi-rt --set requests=20 \
  --set disk="$WORK/gt.img" --set flash_image="$WORK/gt.fd" >"$WORK/gt" 2>&1 || true
check "GetTime from the image" grep -q "; 1 of 14 services in the image, the rest efi_rt_unsupported$" "$WORK/gt"
objcopy --add-symbol "efi_rt_get_time=.data:0x10,function,global" "$ELF" "$WORK/rs.elf"
"$HOPSIM" flash build -o "$WORK/rs.fd" --file hopsim-rt="$WORK/rs.elf" >/dev/null
set +e
"$HOPSIM" run "$SCN/blk-randrw-verify.lua" --quiet --set arch=uefi-rt --set requests=20 \
  --set disk="$WORK/rs.img" --set flash_image="$WORK/rs.fd" >"$WORK/rs" 2>"$WORK/rs.err"
rc=$?
set -e
check "bad runtime services table exits 2 (got $rc)" [ "$rc" -eq 2 ]
check "runtime services disabled: $(cat "$WORK/rs.err")" grep -Eq "^hopsim: .*blk-randrw-verify.lua:[0-9]+: runtime_image: rt: runtime services disabled: EFI_RUNTIME_SERVICES at 0xff080: GetTime 0x[0-9a-f]+ is in EfiRuntimeServicesData memory, expected EfiRuntimeServicesCode$" "$WORK/rs.err"
check "the runtime domain never ran" bash -c "! grep -q 'guest checks' '$WORK/rs'"
check "every request H1..H8" bash -c "[ \"\$(awk -F, 'NR > 1 && \$3 == \"hop\" { s[\$1] = s[\$1] substr(\$2, 2) } END { for (r in s) if (s[r] != \"12345678\") bad++; print bad + 0 }' '$WORK/t.csv')\" = 0 ]"
check "runtime-service calls in H3" grep -q ",H3,rs_enter," "$WORK/t.csv"
check "no world switch into the backend" bash -c "! grep -q ',world_switch,rt,' '$WORK/t.csv'"
pcr1=$(sed -n 's/^boot: PCR0 //p' "$WORK/out")
# one changed byte (a character of a symbol name) -> another measurement
cp "$ELF" "$WORK/mod.elf"
off=$(grep -abo "blkback_init" "$WORK/mod.elf" | tail -1 | cut -d: -f1)
printf 'X' | dd of="$WORK/mod.elf" bs=1 seek="$off" conv=notrunc status=none
"$HOPSIM" flash build -o "$WORK/mod.fd" --file hopsim-rt="$WORK/mod.elf" >/dev/null
"$HOPSIM" run "$SCN/blk-randrw-verify.lua" --quiet --set arch=uefi-rt --set requests=20 \
  --set disk="$WORK/d2.img" --set flash_image="$WORK/mod.fd" >"$WORK/out2" 2>&1
pcr2=$(sed -n 's/^boot: PCR0 //p' "$WORK/out2")
check "PCR0 present ($pcr1)" [ -n "$pcr1" ]
check "one byte changes PCR0 ($pcr2)" [ -n "$pcr2" ] && [ "$pcr1" != "$pcr2" ]
# a corrupt FFS header: the firmware refuses and nothing runs
cp "$WORK/mod.fd" "$WORK/bad.fd"
printf '\x00' | dd of="$WORK/bad.fd" bs=1 seek=$((0x800048 + 16)) conv=notrunc status=none
set +e
"$HOPSIM" run "$SCN/blk-randrw-verify.lua" --quiet --set arch=uefi-rt --set disk="$WORK/d3.img" \
  --set flash_image="$WORK/bad.fd" >"$WORK/out3" 2>"$WORK/err3"
rc=$?
set -e
check "corrupt flash exits 2 (got $rc)" [ "$rc" -eq 2 ]
check "corrupt flash reported: $(cat "$WORK/err3")" grep -qi "checksum" "$WORK/err3"
check "nothing ran" bash -c "! grep -q 'guest checks' '$WORK/out3'"
# SetVariable erasing an NVRAM sector during I/O: the backend's calls wait on efi_rs_lock
"$HOPSIM" run "$SCN/blk-randread.lua" --quiet --set arch=uefi-rt --set disk_type=ssd \
  --set requests=100 --set disk="$WORK/sv.img" --set setvariable_ms=2 \
  --trace-csv "$WORK/sv.csv" >"$WORK/sv" 2>&1
check "SetVariable call traced" grep -q ",rs_call,SetVariable," "$WORK/sv.csv"
check "a backend call waited on efi_rs_lock" grep -q ",lock_wait,efi_rs_lock," "$WORK/sv.csv"
maxus=$(awk '$1 == "end-to-end" { print $6 }' "$WORK/sv")
check "I/O stalled behind the erase (max $maxus us >= tSE 45 ms)" awk -v m="$maxus" 'BEGIN { exit !(m >= 45000) }'
# runtime calls on the notifying CPU need no wake-up IPI: H3 is shorter than on a dedicated CPU
h3() { "$HOPSIM" run "$SCN/blk-randread.lua" --quiet --set arch=uefi-rt --set disk_type=ssd \
         --set requests=50 --set disk="$WORK/$1.img" --set rt_cpu=$1 | awk '$1 == "H3" { print $4 }'; }
ded=$(h3 dedicated)
noti=$(h3 notifying)
check "H3 on the notifying CPU ($noti us) < dedicated ($ded us)" awk -v a="$noti" -v b="$ded" 'BEGIN { exit !(a + 0 < b + 0) }'
# execute-in-place what-if: code fetched from flash on every i-cache miss
"$HOPSIM" run "$SCN/blk-randread.lua" --quiet --set arch=uefi-rt --set disk_type=ssd \
  --set requests=50 --set disk="$WORK/x.img" --set xip=true >"$WORK/xip" 2>&1
check "XIP line fills reported" grep -Eq "^xip: rt executed in place from flash: [1-9][0-9]* cache-line fills" "$WORK/xip"
xmax=$(awk '$1 == "end-to-end" { print $6 }' "$WORK/xip")
check "XIP cold misses show in the worst request ($xmax us > 300 us)" awk -v m="$xmax" 'BEGIN { exit !(m > 300) }'
# compare: three columns
"$HOPSIM" compare "$SCN/blk-randread.lua" --arch native,xen-dom0,uefi-rt --set requests=20 \
  --set disk_type=ssd --set disk="$WORK/c.img" >"$WORK/cmp" 2>&1
check "compare prints three architectures" grep -Eq "native +xen-dom0 +uefi-rt" "$WORK/cmp"
finish
