#!/usr/bin/env bash
# The main demonstration: installs what is missing, builds hopsim, and
# compares small random reads through `native`, `xen-dom0` and `uefi-rt` --
# the same driver code, placed differently -- once on a 15K SAS disk and
# once on a SAS SSD, with the uefi-rt boot line (the backend read out of SPI
# flash and measured), the SSD run with every design; then network
# request/response through every design.
# Per-hop tables on stdout; JSON + CSV traces (and pcaps) in out/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
mkdir -p out
rm -f out/disk-hdd.img out/disk-ssd.img
echo "### 4 KiB random reads, 15K SAS HDD"
./build/hopsim compare workloads/scenarios/blk-randread.lua --arch native,xen-dom0,uefi-rt \
  --set disk=out/disk-hdd.img --trace-dir out/hdd --csv out/compare-hdd.csv
echo
echo "### 4 KiB random reads, SAS SSD: every design, the same SAS driver"
./build/hopsim compare workloads/scenarios/blk-randread.lua \
  --arch native,xen-dom0,xen-idd,hvm-emul,hosted,uefi-rt \
  --set disk_type=ssd --set disk=out/disk-ssd.img --trace-dir out/ssd --csv out/compare-ssd.csv
echo
echo "### network request/response: 64, 512, 1514-byte frames echoed by a peer over 1 GbE"
./build/hopsim compare workloads/scenarios/net-rr.lua \
  --arch native,xen-dom0,xen-idd,hvm-emul,hosted,uefi-rt \
  --trace-dir out/net --csv out/compare-net.csv
echo
echo "### privileged code per architecture"
./build/hopsim size-report
echo
echo "### security scenarios: verdicts measured on the flash, controller and boot models"
./build/hopsim attack-matrix
echo
echo "### the live view: one frame, 1 ms after the first request of the SSD run under xen-dom0"
./build/hopsim view out/ssd/blk-randread-xen-dom0.json --screenshot out/view-xen-dom0.png --at 1ms
echo "out/view-xen-dom0.png (watch a run live: ./build/hopsim run SCENARIO --view)"
echo
echo "traces: out/hdd/*.json, out/ssd/*.json (open in https://ui.perfetto.dev or chrome://tracing)"
echo "        out/hdd/*.csv, out/ssd/*.csv (a row per span); tables: out/compare-*.csv"
echo "        out/net/*.json, *.csv; out/net/*.pcap (the wire: tshark -r out/net/net-rr-xen-dom0.pcap)"
