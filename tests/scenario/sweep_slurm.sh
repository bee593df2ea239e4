#!/usr/bin/env bash
# hopsim sweep on a real Slurm: the test starts munged, slurmctld and slurmd
# (Debian's slurm-wlm and munge, installed by scripts/setup.sh) on localhost
# with a generated slurm.conf and munge key in a temporary directory, runs
# the same sweep locally (-j 2) and as a Slurm array job (--slurm), and
# checks that both give the same CSV. Everything it started is stopped and
# removed on exit. It is skipped (exit 77, shown as skipped by ctest) only
# when the Slurm or munge programs are missing or the daemons do not come up,
# saying which.
source "$(dirname "$0")/lib.bash"
HOPSIM=$(realpath "$HOPSIM")
skip() {
  echo "SKIP: $*" >&2
  exit 77
}
for p in munged mungekey slurmctld slurmd sbatch sinfo; do
  command -v $p >/dev/null || skip "$p not installed (scripts/setup.sh installs slurm-wlm and munge)"
done

T=$WORK/slurm
mkdir -p "$T/state" "$T/spool"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

mungekey -c -k "$T/munge.key" -b 1024
chmod 600 "$T/munge.key"
munged -F --force --key-file="$T/munge.key" --socket="$T/munge.sock" --pid-file="$T/munged.pid" \
  --log-file="$T/munged.log" --seed-file="$T/munged.seed" >"$T/munged.out" 2>&1 &
pids+=($!)

host=$(hostname -s)
port=$((20000 + RANDOM % 20000))
cat >"$T/slurm.conf" <<EOF
ClusterName=hopsimtest
SlurmctldHost=$host(127.0.0.1)
SlurmUser=$(id -un)
SlurmctldPort=$port
SlurmdPort=$((port + 1))
AuthType=auth/munge
AuthInfo=socket=$T/munge.sock
CredType=cred/munge
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/slurmctld.log
SlurmdLogFile=$T/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
NodeName=hopsim0 NodeHostname=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=1000 State=UNKNOWN
PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
export SLURM_CONF=$T/slurm.conf
for i in $(seq 50); do [ -S "$T/munge.sock" ] && break; sleep 0.1; done
[ -S "$T/munge.sock" ] || skip "munged did not start: $(tail -3 "$T/munged.log" 2>/dev/null)"
slurmctld -D -f "$SLURM_CONF" >"$T/slurmctld.out" 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" -N hopsim0 >"$T/slurmd.out" 2>&1 &
pids+=($!)
up=
for i in $(seq 60); do
  if sinfo -h -o %t 2>/dev/null | grep -qx idle; then up=1; break; fi
  sleep 0.5
done
[ -n "$up" ] || skip "slurmctld/slurmd did not come up: $(tail -3 "$T/slurmctld.log" "$T/slurmd.log" 2>/dev/null)"

S=$SRC/workloads/scenarios/blk-randread.lua
args=(--arch native,xen-dom0 --set iodepth=1,4 --set requests=40 --set disk_type=ssd)
rc=0
(cd "$WORK" && "$HOPSIM" sweep "$S" "${args[@]}" -j 2 --out "$WORK/local") >"$WORK/local.txt" 2>&1 || rc=$?
check "local sweep exits 0 (got $rc): $(tail -5 "$WORK/local.txt")" [ "$rc" -eq 0 ]
rc=0
(cd "$WORK" && "$HOPSIM" sweep "$S" "${args[@]}" --slurm --out "$WORK/slurm-run") >"$WORK/slurm.txt" 2>&1 || rc=$?
check "Slurm sweep exits 0 (got $rc): $(tail -5 "$WORK/slurm.txt")" [ "$rc" -eq 0 ]
check "an array job of 4 tasks was submitted" grep -q "#SBATCH --array=0-3" "$WORK/slurm-run/sweep.sbatch"
check "Slurm ran every point (a log per task)" [ "$(ls "$WORK"/slurm-run/point-*/log.txt | wc -l)" -eq 4 ]
check "the same CSV from Slurm as from local cores" cmp "$WORK/local/sweep.csv" "$WORK/slurm-run/sweep.csv"
check "CSV has a row per point and metric" [ "$(grep -c ',request.p99,' "$WORK/slurm-run/sweep.csv")" -eq 4 ]
finish
