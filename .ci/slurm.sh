#!/usr/bin/env bash
# A real single-node Slurm on this machine, for the Slurm engine's tests (tests/engine/):
#   bash .ci/slurm.sh start   install (Debian slurm-wlm + munge) when missing, write the config,
#                             start munged, slurmctld and slurmd; wait until the node is idle
#   bash .ci/slurm.sh stop    stop the three daemons
# Runs as root; idempotent (a second start finds the cluster up and returns at once).
# One node (this host, its CPUs and memory), one partition "debug" (the default), no
# accounting database: the engine reads job states from squeue, and from sacct where a
# cluster has one.
set -euo pipefail

CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
SPOOL=/var/spool/slurm-metacurate
RUN=/run/slurm-metacurate

log() { echo "slurm.sh: $*" >&2; }

install_packages() {
  command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v sbatch >/dev/null \
    && command -v munged >/dev/null && return
  export DEBIAN_FRONTEND=noninteractive
  local pkgs=(slurm-wlm munge)
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null; }
}

start_munge() {
  if [ ! -s /etc/munge/munge.key ]; then
    install -d -o munge -g munge -m 700 /etc/munge
    dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
  fi
  chown munge:munge /etc/munge/munge.key
  chmod 400 /etc/munge/munge.key
  install -d -o munge -g munge -m 755 /run/munge /var/lib/munge /var/log/munge
  if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged
    for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && return; sleep 0.1; done
    log "munged did not start"; exit 1
  fi
}

write_conf() {
  local host node
  host=$(hostname -s)
  # "NodeName=<host> CPUs=.. Boards=.. SocketsPerBoard=.. ... RealMemory=..": this machine.
  node=$(slurmd -C | head -1)
  install -d -m 755 "$CONF_DIR" "$SPOOL/ctld" "$SPOOL/d" "$RUN"
  local tmp
  tmp=$(mktemp)
  cat >"$tmp" <<EOF
# Written by metacurate's .ci/slurm.sh: a single-node test cluster.
ClusterName=metacurate
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$SPOOL/ctld
SlurmdSpoolDir=$SPOOL/d
SlurmctldPidFile=$RUN/slurmctld.pid
SlurmdPidFile=$RUN/slurmd.pid
SlurmctldLogFile=$SPOOL/slurmctld.log
SlurmdLogFile=$SPOOL/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
ReturnToService=2
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
# No accounting database; per-task memory is sampled every second and a task over its
# --mem is killed (as on a cluster that enforces memory).
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/linux
JobAcctGatherFrequency=task=1
JobAcctGatherParams=OverMemoryKill
JobCompType=jobcomp/none
# Fast turnaround for tests: schedule on submit and on every completion (first in, first
# out), kill 1 s after the warning signal, keep finished jobs visible to squeue for 10 min.
SchedulerType=sched/builtin
SchedulerParameters=batch_sched_delay=0
MailProg=/bin/true
KillWait=1
OverTimeLimit=0
MinJobAge=600
InactiveLimit=0
SlurmdTimeout=30
DefMemPerCPU=1024
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO
EOF
  if ! cmp -s "$tmp" "$CONF"; then
    mv "$tmp" "$CONF"
    chmod 644 "$CONF"
    return 0  # changed
  fi
  rm -f "$tmp"
  return 1
}

node_ready() {
  local state
  state=$(sinfo -h -n "$(hostname -s)" -o %t 2>/dev/null || true)
  case "$state" in idle | mix | alloc) return 0 ;; *) return 1 ;; esac
}

# A process of the pid file that is running (not gone, not a zombie nobody reaped).
running() {
  local pid state
  [ -s "$1" ] || return 1
  pid=$(cat "$1")
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
  [ -n "$state" ] && [ "$state" != Z ]
}

stop_daemons() {
  scontrol shutdown >/dev/null 2>&1 || true
  local f
  for f in "$RUN/slurmd.pid" "$RUN/slurmctld.pid"; do
    if running "$f"; then kill "$(cat "$f")" 2>/dev/null || true; fi
  done
  for _ in $(seq 100); do
    running "$RUN/slurmd.pid" || running "$RUN/slurmctld.pid" || break
    sleep 0.1
  done
  rm -f "$RUN/slurmd.pid" "$RUN/slurmctld.pid"
}

start() {
  install_packages
  start_munge
  local changed=0
  write_conf && changed=1
  if [ $changed = 0 ] && node_ready; then
    log "up (node $(hostname -s), partition debug)"
    return
  fi
  stop_daemons
  # -c: no jobs recovered from an earlier life of this test cluster
  /usr/sbin/slurmctld -c
  for _ in $(seq 100); do scontrol ping 2>/dev/null | grep -q UP && break; sleep 0.1; done
  /usr/sbin/slurmd -c
  for _ in $(seq 150); do
    if node_ready; then
      log "up (node $(hostname -s), partition debug)"
      return
    fi
    scontrol update nodename="$(hostname -s)" state=resume >/dev/null 2>&1 || true
    sleep 0.2
  done
  log "the node did not become idle; see $SPOOL/slurmctld.log and $SPOOL/slurmd.log"
  sinfo >&2 || true
  exit 1
}

stop() {
  stop_daemons
  if running /run/munge/munged.pid; then kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true; fi
  log "stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
