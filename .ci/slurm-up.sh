#!/usr/bin/env bash
# Start a single-node SLURM cluster on this machine, for the tests that need a real SLURM
# (tests/test_slurm.py). Debian/Ubuntu; needs root (or password-less sudo).
#
#   .ci/slurm-up.sh          install slurm-wlm and munge if missing, write the configuration,
#                            start munged, slurmctld and slurmd, wait until the node is idle
#   .ci/slurm-down.sh        stop them again
#
# The cluster: one node (this host, CPUs from nproc, 90 % of the memory), one partition `debug`,
# select/cons_tres with cores and memory as consumables, no cgroups (proctrack/linuxproc,
# task/none), no accounting; GPUs as gres only if /dev/nvidia* exist. Idempotent: a cluster that
# already answers with the node idle is left alone. Exit status 0 only when `sinfo` shows the node
# idle. Environment: SLURM_UP_TIMEOUT (seconds to wait for the node, default 90).
set -euo pipefail

start=$(date +%s)
say() { echo "slurm-up: $*" >&2; }
die() { say "$*"; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
        exec sudo -n -E "$0" "$@"
    fi
    die "needs root (or password-less sudo) to install and start SLURM"
fi

node_state() { timeout 10 sinfo -h -N -o '%T' 2>/dev/null | head -n1 | tr -d '*~#!%$@^-'; }
running() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# (sinfo takes about 10 s to give up on a controller that is not there: ask only if one runs)
if command -v sinfo >/dev/null && { running /run/slurmctld.pid || pgrep -x slurmctld >/dev/null; } \
        && [ "$(node_state)" = idle ]; then
    say "already up: $(sinfo -h -N -o '%N %T %c CPUs %m MB' | head -n1)"
    exit 0
fi

# --- install (only what is missing) ---------------------------------------------------------------
if ! command -v slurmctld >/dev/null || ! command -v slurmd >/dev/null || ! command -v sbatch >/dev/null \
        || ! command -v munged >/dev/null; then
    command -v apt-get >/dev/null || die "slurm-wlm is not installed and there is no apt-get to install it"
    say "installing slurm-wlm and munge (apt-get)"
    t0=$(date +%s)
    # no daemon is started by the packages' scripts: this script starts them itself
    policy=/usr/sbin/policy-rc.d
    own_policy=0
    if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; own_policy=1; fi
    apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null; }
    ok=1
    apt_install 2>/dev/null || { apt-get update -qq >/dev/null && apt_install; } || ok=0
    [ "$own_policy" = 1 ] && rm -f "$policy"
    [ "$ok" = 1 ] || die "apt-get install slurm-wlm munge failed"
    say "installed in $(( $(date +%s) - t0 )) s: $(dpkg-query -W -f='${Version}' slurmctld) slurm, $(dpkg-query -W -f='${Version}' munge) munge"
fi

# --- munge ----------------------------------------------------------------------------------------
id munge >/dev/null 2>&1 || die "the munge package did not create its 'munge' user"
install -d -o munge -g munge -m 0700 /etc/munge /var/lib/munge /var/log/munge
install -d -o munge -g munge -m 0755 /run/munge
if [ ! -s /etc/munge/munge.key ]; then
    if command -v mungekey >/dev/null; then mungekey --create --keyfile=/etc/munge/munge.key
    else dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none; fi
fi
chown munge:munge /etc/munge/munge.key
chmod 0400 /etc/munge/munge.key
if ! munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    # a stale pid or socket file from a killed munged blocks a new one
    pidfile=/run/munge/munged.pid
    if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then rm -f "$pidfile" /run/munge/munge.socket.2*; fi
    runuser -u munge -- /usr/sbin/munged || die "munged did not start (see /var/log/munge/munged.log)"
    for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
    munge -n | unmunge >/dev/null || die "munge does not work (see /var/log/munge/munged.log)"
fi

# --- configuration --------------------------------------------------------------------------------
host=$(hostname -s)
cpus=$(nproc)
mem_mb=$(awk '/^MemTotal:/ {printf "%d", $2 / 1024 * 0.9}' /proc/meminfo)
gpu_files=$(compgen -G '/dev/nvidia[0-9]*' || true)
gpus=$(printf '%s' "$gpu_files" | grep -c . || true)
conf_dir=/etc/slurm
install -d -m 0755 "$conf_dir" /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
gres_node=""
if [ "$gpus" -gt 0 ]; then
    gres_node=" Gres=gpu:$gpus"
    printf '%s\n' "$gpu_files" | sed 's/^/Name=gpu File=/' >"$conf_dir/gres.conf"
else
    rm -f "$conf_dir/gres.conf"
fi
cat >"$conf_dir/slurm.conf" <<EOF
# written by surrogate's .ci/slurm-up.sh: a single-node test cluster
ClusterName=surrogate-ci
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
SwitchType=switch/none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SlurmdParameters=config_overrides
ReturnToService=2
KillWait=5
MinJobAge=60
MailProg=/bin/true
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
${gres_node:+GresTypes=gpu}
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb$gres_node State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF

# --- daemons --------------------------------------------------------------------------------------
if running /run/slurmctld.pid; then
    scontrol reconfigure >/dev/null 2>&1 || true
else
    slurmctld -c || die "slurmctld did not start: $(tail -n 20 /var/log/slurm/slurmctld.log 2>/dev/null)"
fi
running /run/slurmd.pid || slurmd || die "slurmd did not start: $(tail -n 20 /var/log/slurm/slurmd.log 2>/dev/null)"

deadline=$(( $(date +%s) + ${SLURM_UP_TIMEOUT:-90} ))
resumed=0
while :; do
    state=$(node_state || true)
    [ "$state" = idle ] && break
    if [ "$resumed" = 0 ] && [[ "$state" =~ ^(down|drain|drained|draining|fail)$ ]]; then
        scontrol update nodename="$host" state=resume >/dev/null 2>&1 || true
        resumed=1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
        say "the node is '${state:-not answering}' after ${SLURM_UP_TIMEOUT:-90} s"
        sinfo -N -l 2>&1 | sed 's/^/  /' >&2 || true
        tail -n 15 /var/log/slurm/slurmctld.log /var/log/slurm/slurmd.log 2>&1 | sed 's/^/  /' >&2 || true
        exit 1
    fi
    sleep 1
done
say "up in $(( $(date +%s) - start )) s: $(sinfo -h -N -o '%N %T, %c CPUs, %m MB, partition %P' | head -n1)${gres_node:+, $gpus GPU(s)}"
