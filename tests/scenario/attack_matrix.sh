#!/usr/bin/env bash
# hopsim attack-matrix: each verdict is what the models measured -- the SPI
# controller refusing or accepting the attacker's cycles, measured boot's
# PCR0 -- on private copies of the build's platform flash.
source "$(dirname "$0")/lib.bash"
"$HOPSIM" attack-matrix "$BUILD/platform.fd" "$BUILD/guest/backend-rt.elf" >"$WORK/m" 2>"$WORK/e"
check "attack-matrix exits 0: $(cat "$WORK/e")" [ $? -eq 0 ]
row() { grep -F "$1" "$WORK/m"; }
check "dom0 on disk: compromised" bash -c "grep -F 'rewrites backend.elf on disk' '$WORK/m' | grep -q ' compromised '"
check "protections on: blocked" bash -c "grep -F 'protections on' '$WORK/m' | grep -q ' blocked .*refused (SMM_BWP\|refused (PR'"
check "BLE + SMM_BWP: blocked" bash -c "grep -F 'BLE + SMM_BWP only' '$WORK/m' | grep -q ' blocked '"
check "SetVariable stalls I/O" bash -c "grep -F 'SetVariable erases flash' '$WORK/m' | grep -q ' stalled '"
check "Speed Racer: writes land, PCR0 differs" bash -c "grep -F 'Speed Racer' '$WORK/m' | grep -q ' detected .*SMIs raced.*PCR0 .* != golden'"
check "protections off: detected by PCR0" bash -c "grep -F 'protections off' '$WORK/m' | grep -q ' detected .*!= golden'"
check "a backend fault loses I/O under both" [ "$(grep -F 'fault inside the backend' "$WORK/m" | grep -c ' I/O lost .*29 of 100')" -eq 2 ]
check "malicious frontend blocked under both" [ "$(grep -F 'malicious frontend' "$WORK/m" | grep -c ' blocked .* 0 failed')" -eq 2 ]
check "the build's flash is untouched" "$HOPSIM" flash inspect "$BUILD/platform.fd"
finish
