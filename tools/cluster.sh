#!/usr/bin/env bash
# `make cluster` and `make cluster-stop`: a scheduler and N stores on loopback.
#
#   tools/cluster.sh start BIN_DIR CLUSTER_DIR STORES   (make cluster)
#   tools/cluster.sh stop  CLUSTER_DIR                  (make cluster-stop)
#
# start: tinykv-scheduler, then STORES tinykv-server stores, each on a free
# loopback port, each with its data and logs under CLUSTER_DIR:
#
#   CLUSTER_DIR/env               TINYKV_SCHEDULER=host:port
#                                 (export $(cat CLUSTER_DIR/env) for tinykv-ctl)
#   CLUSTER_DIR/scheduler.pid     one pid file per process
#   CLUSTER_DIR/storeN.pid
#   CLUSTER_DIR/scheduler/, storeN/   data dirs (kept across runs: a second
#                                 `make cluster` restarts the same cluster,
#                                 or only the processes that are down)
#   CLUSTER_DIR/*.log             what each process said on stderr
#
# The first store bootstraps the cluster; the others join, and the
# scheduler's replica checker gives the first region a peer on each (at
# most 3). cluster-check --replicate waits for that, adding a missing
# replica itself as an operator would if the scheduler has not yet, and
# returns once a write and a read go through the cluster, or fails within
# a bound, stopping what it started.
#
# The scheduler keeps its default --max-store-down-ms (30 min): a store
# killed by hand and restarted (make demo does) is not rebuilt elsewhere
# meanwhile. A store restarted with a wiped data dir at its old address is
# replaced at once anyway (docs/cluster.md, "When a store dies").
#
# stop: SIGTERM to every process named in a pid file, then waits (bounded)
# until each is gone; only what is still there after 10 s gets SIGKILL.
set -euo pipefail

die() {
    echo "cluster: $*" >&2
    exit 1
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# wait_line FILE PID: the address in the "listening on ADDR," line of FILE.
wait_line() {
    local file=$1 pid=$2 addr=""
    for _ in $(seq 400); do
        addr=$(sed -n 's/.*: listening on \([^,]*\),.*/\1/p' "$file" 2>/dev/null | head -1)
        [ -n "$addr" ] && { echo "$addr"; return 0; }
        kill -0 "$pid" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

stop() {
    local dir=$1 left=0
    shopt -s nullglob
    local pids=("$dir"/*.pid)
    [ ${#pids[@]} -gt 0 ] || { echo "cluster: nothing running in $dir"; return 0; }
    for f in "${pids[@]}"; do
        alive "$f" && kill -TERM "$(cat "$f")" 2>/dev/null || true
    done
    for _ in $(seq 200); do
        left=0
        for f in "${pids[@]}"; do alive "$f" && left=1; done
        [ $left -eq 0 ] && break
        sleep 0.05
    done
    for f in "${pids[@]}"; do
        if alive "$f"; then
            echo "cluster: $(basename "$f" .pid) did not stop within 10 s: SIGKILL" >&2
            kill -KILL "$(cat "$f")" 2>/dev/null || true
        fi
        rm -f "$f"
    done
    echo "cluster: stopped (data kept in $dir; rm -rf it for a fresh cluster)"
}

start_scheduler() { # dir addr
    local dir=$1 addr=$2
    rm -f "$dir/scheduler.out"
    nohup "$bin/tinykv-scheduler" --data-dir "$dir/scheduler" --addr "$addr" \
        --log-level warn >"$dir/scheduler.out" 2>>"$dir/scheduler.log" </dev/null &
    echo $! >"$dir/scheduler.pid"
    sched=$(wait_line "$dir/scheduler.out" "$(cat "$dir/scheduler.pid")") ||
        { tail "$dir/scheduler.log" >&2; false; }
    echo "TINYKV_SCHEDULER=$sched" >"$dir/env"
    echo "cluster: scheduler on $sched"
}

start_store() { # dir i
    local dir=$1 i=$2 addr
    rm -f "$dir/store$i.out"
    nohup "$bin/tinykv-server" --scheduler "$sched" --data-dir "$dir/store$i" \
        --addr 127.0.0.1:0 --region-split-size "${SPLIT_SIZE:-1M}" --log-level warn \
        >"$dir/store$i.out" 2>>"$dir/store$i.log" </dev/null &
    echo $! >"$dir/store$i.pid"
    addr=$(wait_line "$dir/store$i.out" "$(cat "$dir/store$i.pid")") ||
        { tail "$dir/store$i.log" >&2; false; }
    echo "cluster: $(sed -n 's/^tinykv-server: \(store [0-9]*\).*/\1/p' "$dir/store$i.out") on $addr (data in $dir/store$i)"
}

# Starts what is not running: all of it the first time; after a kill -9
# (make demo, or by hand) only the processes that are gone, on their data
# dirs. A scheduler started again keeps its address (from CLUSTER_DIR/env),
# so the stores that kept running find it.
start() {
    bin=$1
    local dir=$2 n=$3
    for b in tinykv-scheduler tinykv-server cluster-check; do
        [ -x "$bin/$b" ] || die "$bin/$b is missing; run 'make build' first"
    done
    [[ "$n" =~ ^[1-9][0-9]*$ ]] || die "STORES must be a positive number, not '$n'"
    mkdir -p "$dir"
    local up=() down=()
    for name in scheduler $(seq -f 'store%g' "$n"); do
        if alive "$dir/$name.pid"; then up+=("$name"); else down+=("$name"); fi
    done
    if [ ${#down[@]} -eq 0 ]; then
        echo "cluster: already running in $dir ($(cat "$dir/env")); 'make cluster-stop' stops it"
        return 0
    fi
    if [ ${#up[@]} -gt 0 ]; then
        echo "cluster: ${up[*]} running; starting ${down[*]}"
        # What failed to start is reported; what was running is left alone.
        trap 'echo "cluster: start failed" >&2' ERR
    else
        trap 'echo "cluster: start failed; stopping what started" >&2; stop "$dir" >/dev/null' ERR
    fi
    sched=""
    [ -f "$dir/env" ] && sched=$(sed -n 's/^TINYKV_SCHEDULER=//p' "$dir/env")
    for name in "${down[@]}"; do
        rm -f "$dir/$name.pid"
        case "$name" in
        scheduler) start_scheduler "$dir" "${sched:-127.0.0.1:0}" ;;
        store*) start_store "$dir" "${name#store}" ;;
        esac
    done

    # Replicas, then a write and a read through the cluster (bounded).
    "$bin/cluster-check" --replicate "$sched" >"$dir/replicate.out" 2>&1 ||
        { cat "$dir/replicate.out" >&2; false; }
    trap - ERR
    echo "cluster: serving; 'export \$(cat $dir/env)' sets TINYKV_SCHEDULER; 'make cluster-stop' stops it"
}

case "${1:-}" in
start) start "${2:-build/bin}" "${3:-build/cluster}" "${4:-3}" ;;
stop) stop "${2:-build/cluster}" ;;
*)
    echo "usage: tools/cluster.sh start BIN_DIR CLUSTER_DIR STORES | stop CLUSTER_DIR" >&2
    exit 2
    ;;
esac
