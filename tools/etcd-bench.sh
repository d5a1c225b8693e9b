#!/usr/bin/env bash
# Optional: the bench-cluster workload against tinykv and a 3-member etcd
# cluster in the same run, so the figures sit side by side (docs/benchmark.md).
# etcd is not a dependency of the project: this script installs Debian's
# etcd-server and etcd-client if they are missing (root only) and is run
# by hand, never by CI.
#
#   tools/etcd-bench.sh [BIN_DIR] [bench-cluster flags...]
#
#   BIN_DIR            where bench-cluster and tinykv-server are (build/bin)
#   ETCD_BENCH_DIR     scratch directory (default build/etcd-bench), removed
#                      at the end
#   ETCD_BENCH_PORT    first of the 6 loopback ports etcd uses (default 32379)
#   TARGETS            which to measure, in order (default
#                      "standalone cluster etcd")
#
# What it runs, one after the other so they do not share the CPU:
#   standalone  one tinykv-server (synced writes, the default), bench-cluster
#               --addr (direct RPCs);
#   cluster     a scheduler and 3 stores on loopback (tools/cluster.sh, in
#               a directory of its own), bench-cluster --scheduler (the
#               client library, routed by region);
#   etcd        3 etcd members on loopback (each with its own data dir,
#               fsync on, as etcd always does), bench-cluster --etcd at the
#               leader's client URL (found with etcdctl).
# Every process it started is stopped on exit, whatever happens; every wait
# polls a condition with a bound.
set -euo pipefail

bin=build/bin
if [ $# -gt 0 ] && [ -d "$1" ]; then
    bin=$1
    shift
fi
bench=$bin/bench-cluster
server=$bin/tinykv-server
for b in "$bench" "$server"; do
    if [ ! -x "$b" ]; then
        echo "etcd-bench: $b is missing; run 'make build' first" >&2
        exit 1
    fi
done

if ! command -v etcd >/dev/null || ! command -v etcdctl >/dev/null; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "etcd-bench: etcd is not installed; as root: apt-get install etcd-server etcd-client" >&2
        exit 1
    fi
    echo "etcd-bench: installing etcd-server and etcd-client (Debian packages)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y etcd-server etcd-client >/dev/null
fi

dir=${ETCD_BENCH_DIR:-build/etcd-bench}
port=${ETCD_BENCH_PORT:-32379}
targets=${TARGETS:-standalone cluster etcd}
pids=()
cluster_started=""
cleanup() {
    if [ -n "$cluster_started" ]; then
        tools/cluster.sh stop "$dir/cluster" >/dev/null 2>&1 || true
    fi
    for p in "${pids[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    # Bounded: 10 s for a clean stop, then kill -9.
    for p in "${pids[@]}"; do
        for _ in $(seq 100); do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
rm -rf "$dir"
mkdir -p "$dir"

fail() {
    echo "etcd-bench: $*" >&2
    for f in "$dir"/*.log; do
        [ -s "$f" ] || continue
        echo "etcd-bench: $f ends with:" >&2
        tail -5 "$f" | sed 's/^/    /' >&2
    done
    exit 1
}

want() { [[ " $targets " == *" $1 "* ]]; }

# ---- tinykv standalone -----------------------------------------------------------
if want standalone; then
    "$server" --data-dir "$dir/tinykv" --addr 127.0.0.1:0 --log-level warn \
        >"$dir/tinykv.log" 2>&1 &
    spid=$!
    pids+=($spid)
    addr=""
    for _ in $(seq 100); do
        addr=$(sed -n 's/.*listening on \([^,]*\),.*/\1/p' "$dir/tinykv.log")
        [ -n "$addr" ] && break
        sleep 0.1
    done
    [ -n "$addr" ] || fail "tinykv-server did not start within 10 s"
    "$bench" --addr "$addr" --label tinykv-standalone "$@" ||
        fail "bench-cluster against the standalone tinykv-server failed"
    kill -TERM "$spid" 2>/dev/null || true
fi

# ---- tinykv cluster --------------------------------------------------------------
if want cluster; then
    cluster_started=1
    tools/cluster.sh start "$bin" "$dir/cluster" 3 >"$dir/cluster-start.log" 2>&1 ||
        fail "tools/cluster.sh could not start a 3-store cluster (see $dir/cluster-start.log)"
    sched=$(sed -n 's/^TINYKV_SCHEDULER=//p' "$dir/cluster/env")
    "$bench" --scheduler "$sched" --label tinykv-cluster-3-stores "$@" ||
        fail "bench-cluster against the tinykv cluster failed"
    tools/cluster.sh stop "$dir/cluster" >/dev/null 2>&1 || true
    cluster_started=""
fi

# ---- etcd ------------------------------------------------------------------------
want etcd || exit 0
cluster=""
for i in 1 2 3; do
    cluster+="${cluster:+,}m$i=http://127.0.0.1:$((port + 2 * i - 1))"
done
endpoints=""
for i in 1 2 3; do
    c=$((port + 2 * i - 2))
    p=$((port + 2 * i - 1))
    endpoints+="${endpoints:+,}http://127.0.0.1:$c"
    etcd --name "m$i" --data-dir "$dir/m$i" \
        --listen-client-urls "http://127.0.0.1:$c" --advertise-client-urls "http://127.0.0.1:$c" \
        --listen-peer-urls "http://127.0.0.1:$p" --initial-advertise-peer-urls "http://127.0.0.1:$p" \
        --initial-cluster "$cluster" --initial-cluster-state new \
        --initial-cluster-token tinykv-etcd-bench --logger zap --log-level error \
        >"$dir/etcd-m$i.log" 2>&1 &
    pids+=($!)
done
healthy=""
for _ in $(seq 150); do
    if ETCDCTL_API=3 etcdctl --endpoints="$endpoints" endpoint health >/dev/null 2>&1; then
        healthy=1
        break
    fi
    sleep 0.2
done
[ -n "$healthy" ] || fail "the 3 etcd members were not healthy within 30 s"
leader=""
for _ in $(seq 50); do
    leader=$(ETCDCTL_API=3 etcdctl --endpoints="$endpoints" endpoint status 2>/dev/null |
        awk -F', ' '$5 == "true" { print $1 }' | sed 's#^http://##')
    [ -n "$leader" ] && break
    sleep 0.2
done
[ -n "$leader" ] || fail "no etcd leader within 10 s"
"$bench" --etcd "$leader" --label etcd-3-members "$@" || fail "bench-cluster against etcd failed"
