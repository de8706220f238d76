#!/usr/bin/env bash
# The Slurm backend on a real Slurm (issue #28): installs Debian's slurm-wlm and munge if
# missing, starts a one-node cluster on this machine (munged, slurmctld, slurmd; its own config
# and ports), then
#   1. runs a 4-cell grid with the local backend and with --backend slurm and checks that the
#      results are the same;
#   2. submits a 1-cell grid, signals its task mid-run as the scheduler does before a time limit
#      (scancel --batch --signal=USR1), checks that the cell checkpointed and requeued itself, and
#      that the resumed run ends with the local backend's result;
#   3. runs a walk-forward grid whose second month warm-starts from the first (one array per
#      month, the second after the first) and checks its results equal the local backend's.
# Prints the wall times; stops its daemons on exit. Needs root (the daemons) and, to install,
# apt. Usage: scripts/slurm_test.sh [IMBARB_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

if [ "$(id -u)" != 0 ]; then
  echo "slurm_test: needs root to start slurmctld and slurmd (run it on a machine you control)" >&2
  exit 1
fi
if ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
  echo "== installing slurm-wlm and munge"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
fi

bin=${1:-}
if [ -z "$bin" ]; then
  cargo build -q -p imbarb
  bin=$root/target/debug/imbarb
fi

work=$(mktemp -d /var/tmp/imbarb-slurm.XXXXXX)
conf=$work/slurm.conf
export SLURM_CONF=$conf
cleanup() {
  scancel --user="$(id -un)" >/dev/null 2>&1 || true
  for pid in "$work/slurmd.pid" "$work/slurmctld.pid"; do
    [ -f "$pid" ] && kill "$(cat "$pid")" 2>/dev/null || true
  done
  sleep 1
  rm -rf "$work"
}
trap cleanup EXIT

# munge: one key, one daemon for the machine.
if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge
  dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
fi
chown munge:munge /etc/munge/munge.key && chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/lib/munge /var/log/munge && chown munge:munge /run/munge /var/lib/munge /var/log/munge
if ! munge -n >/dev/null 2>&1; then
  su -s /bin/sh munge -c munged
  sleep 1
fi
munge -n | unmunge >/dev/null || { echo "slurm_test: munged does not answer" >&2; exit 1; }

host=$(hostname -s)
mkdir -p "$work/state" "$work/spool"
cat >"$conf" <<EOF
ClusterName=imbarb-ci
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
SlurmctldPort=16817
SlurmdPort=16818
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
NodeName=$host CPUs=$(nproc) State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -f "$conf"
slurmd -f "$conf"
for _ in $(seq 1 30); do
  sinfo -h -o %T 2>/dev/null | grep -q idle && break
  sleep 1
done
sinfo -h -o %T | grep -q idle || {
  echo "slurm_test: the node never became idle:" >&2
  tail -n 20 "$work/slurmctld.log" "$work/slurmd.log" >&2
  exit 1
}
echo "== one-node Slurm cluster up ($host, $(nproc) CPUs)"

grid() { # NAME SEEDS CAPS STEPS
  cat >"$work/$1.toml" <<EOF
name = "$1"
seeds = $2
caps = $3
data = ["synthetic:2023-01-01..2023-02-28:seed=2"]
baselines = ["rule"]
set = { training = { learning_starts = 500, validate_every = 2000 } }
[[agents]]
name = "qr"
config = "$root/configs/qrdqn.toml"
steps = $4
EOF
}
same_results() { # A B: results.csv equal but for the run directory column
  diff <(cut -d, -f1-12 "$1/results.csv") <(cut -d, -f1-12 "$2/results.csv")
}

# 1. The same grid on both backends.
grid four "[0, 1]" '["none", 1.1]' 6000
t0=$(date +%s.%N)
"$bin" experiment "$work/four.toml" --out "$work/four-local" --jobs "$(nproc)" >/dev/null 2>&1
t1=$(date +%s.%N)
"$bin" experiment "$work/four.toml" --out "$work/four-slurm" --backend slurm \
  --max-parallel "$(nproc)" --poll-seconds 1 >/dev/null 2>"$work/four-slurm.err" || {
  cat "$work/four-slurm.err" >&2; exit 1; }
t2=$(date +%s.%N)
same_results "$work/four-local" "$work/four-slurm"
echo "== 4-cell grid: local and Slurm results identical; wall time local $(awk "BEGIN { printf \"%.1f\", $t1 - $t0 }") s, Slurm $(awk "BEGIN { printf \"%.1f\", $t2 - $t1 }") s"
# A second submission finds nothing to do.
again=$("$bin" experiment "$work/four.toml" --out "$work/four-slurm" --backend slurm --poll-seconds 1 2>&1)
case "$again" in
  *"nothing to submit"*) ;;
  *) echo "slurm_test: a finished grid was submitted again: $again" >&2; exit 1 ;;
esac

# 2. A cell signalled mid-run checkpoints, requeues and resumes to the same result.
grid one "[0]" '["none"]' 40000
"$bin" experiment "$work/one.toml" --out "$work/one-local" >/dev/null 2>&1
"$bin" experiment "$work/one.toml" --out "$work/one-slurm" --backend slurm --no-wait >/dev/null 2>&1
job=$(tail -n 1 "$work/one-slurm/slurm/jobs.jsonl" | sed 's/.*"job_id":"\([^"]*\)".*/\1/')
log=$work/one-slurm/slurm/cell-0.log
# Signalled once it has validated (trained for a while), long before its end.
for _ in $(seq 1 120); do
  [ -s "$work/one-slurm/runs/qr-capnone-seed0/metrics.jsonl" ] && break
  sleep 0.5
done
scancel --batch --signal=USR1 "${job}_0"
for _ in $(seq 1 60); do
  grep -q "stopped at step" "$log" 2>/dev/null && break
  sleep 0.5
done
grep -q "stopped at step" "$log" || { echo "slurm_test: the cell did not checkpoint on USR1:" >&2; cat "$log" >&2; exit 1; }
stopped=$(grep -o "stopped at step [0-9]*" "$log" | tail -1)
# Slurm holds a requeued job for a while before it is eligible again: start it now.
for _ in $(seq 1 20); do
  squeue -h -j "$job" -o %T | grep -q PENDING && break
  sleep 0.5
done
scontrol update JobId="${job}_0" StartTime=now
for _ in $(seq 1 240); do
  [ -z "$(squeue -h -j "$job")" ] && break
  sleep 0.5
done
[ -z "$(squeue -h -j "$job")" ] || { echo "slurm_test: the requeued cell never finished" >&2; exit 1; }
grep -q '"status": "finished"' "$work/one-slurm/runs/qr-capnone-seed0/manifest.json"
"$bin" experiment "$work/one.toml" --out "$work/one-slurm" --evaluate-only >/dev/null 2>&1
same_results "$work/one-local" "$work/one-slurm"
echo "== signalled cell ($stopped), requeued and resumed: same result as the local run"

# 3. Walk-forward months: the second month's array starts after the first's.
cat >"$work/wf.toml" <<EOF
name = "wf"
seeds = [0, 1]
data = ["synthetic:2023-01-01..2023-04-30:seed=4"]
baselines = ["rule"]
set = { data = { split = "walk-forward-monthly:2023-03..2023-04:7" }, training = { learning_starts = 500, warm_start_steps = 800, validate_every = 800 } }
[[agents]]
name = "qr"
config = "$root/configs/qrdqn.toml"
steps = 1600
EOF
"$bin" experiment "$work/wf.toml" --out "$work/wf-local" --jobs "$(nproc)" >/dev/null 2>&1
"$bin" experiment "$work/wf.toml" --out "$work/wf-slurm" --backend slurm --poll-seconds 1 \
  >/dev/null 2>"$work/wf-slurm.err" || { cat "$work/wf-slurm.err" >&2; exit 1; }
grep -q "dependency=afterok" "$work/wf-slurm/slurm/array-2023-04.sbatch"
same_results "$work/wf-local" "$work/wf-slurm"
echo "== walk-forward grid (2 months x 2 seeds, warm-started): one array per month, same results as local"
