#!/usr/bin/env bash
# Stop the single-node SLURM cluster that .ci/slurm-up.sh started (slurmd, slurmctld, munged),
# each by its own pid file. The packages and the configuration stay.
set -uo pipefail
say() { echo "slurm-down: $*" >&2; }
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null && sudo -n true 2>/dev/null; then exec sudo -n "$0" "$@"; fi
    say "needs root"; exit 1
fi
stop() {  # stop NAME PIDFILE
    local pid
    [ -f "$2" ] && pid=$(cat "$2") && kill -0 "$pid" 2>/dev/null || { say "$1 not running"; return 0; }
    kill -TERM "$pid"
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || { say "stopped $1 ($pid)"; return 0; }; sleep 0.1; done
    say "$1 ($pid) ignores SIGTERM; sending SIGKILL"; kill -KILL "$pid" 2>/dev/null || true
}
# the jobs first: without slurmd their processes would live on
command -v squeue >/dev/null && timeout 10 squeue -h -o %i 2>/dev/null | xargs -r timeout 10 scancel 2>/dev/null || true
stop slurmd /run/slurmd.pid
stop slurmctld /run/slurmctld.pid
stop munged /run/munge/munged.pid
