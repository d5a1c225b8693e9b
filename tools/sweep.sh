#!/usr/bin/env bash
# The seed sweep: many seeds of every randomized test of a suite, in
# parallel, and a table of which seeds fail.
#
#   tools/sweep.sh --suite S [--test NAME] [--seeds N] [--from F] [--jobs J]
#                  [--stop] [--shrink] [--out DIR] BINARY...
#   (make sweep SUITE=project2b SEEDS=200 JOBS=2 [TEST=name] [FROM=1] [STOP=1] [SHRINK=1])
#
# Each run is one process, `SEED=s BINARY --run suite/name`, with the test's
# own time limit (the fourth column of --list), exactly what the replay
# command `make S TEST=name SEED=s` does. Seeds are F .. F+N-1 (F: 1).
#
# Which tests are randomized is learnt, not listed: the first round runs
# seed F of every test of the suite with TKV_SEED_MARK set, and a test that
# takes its seeds from tkv_for_each_seed() says so (tests/harness/seeds.c);
# only those get the other seeds.
#
# Each run's trace and page go to DIR/<test>/seed<s>/ ($TKV_TRACE_DIR); at
# the end only the first (lowest) failing seed's are kept. --stop skips a
# test's remaining seeds once one failed. --shrink replays each test's first
# failure with SHRINK=1 (smaller sizes of the same seed, see
# tests/harness/test.h) and shows the smallest failing run it found.
#
# Exit status: 0 when no run failed, 1 when some did, 2 on bad usage.
set -uo pipefail

suite="" only="" seeds=20 from=1 jobs=2 stop=0 shrink=0 out=build/sweep
bins=()
while [ $# -gt 0 ]; do
    case "$1" in
    --suite) suite="$2"; shift 2 ;;
    --test) only="$2"; shift 2 ;;
    --seeds) seeds="$2"; shift 2 ;;
    --from) from="$2"; shift 2 ;;
    --jobs) jobs="$2"; shift 2 ;;
    --stop) stop=1; shift ;;
    --shrink) shrink=1; shift ;;
    --out) out="$2"; shift 2 ;;
    -h | --help) sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "sweep: unknown option $1 (tools/sweep.sh --help says more)" >&2; exit 2 ;;
    *) bins+=("$1"); shift ;;
    esac
done
if [ -z "$suite" ] || [ ${#bins[@]} -eq 0 ]; then
    echo "usage: make sweep SUITE=project2b [SEEDS=200] [JOBS=2] [TEST=name] [FROM=1] [STOP=1] [SHRINK=1]" >&2
    exit 2
fi
for n in "$seeds" "$from" "$jobs"; do
    case "$n" in '' | *[!0-9]*) echo "sweep: '$n' is not a number" >&2; exit 2 ;; esac
done
[ "$seeds" -ge 1 ] && [ "$jobs" -ge 1 ] || { echo "sweep: SEEDS and JOBS must be at least 1" >&2; exit 2; }
# The runs choose their own seed; a SEEDS or SEED from make must not leak in.
unset SEEDS SEED

dir="$out/$suite"
rm -rf "$dir" && mkdir -p "$dir"
# The suite's tests: binary, name, time limit.
list="$dir/tests"
: >"$list"
for b in "${bins[@]}"; do
    "$b" --list 2>/dev/null | awk -F'\t' -v s="$suite" -v t="$only" -v b="$b" \
        '$1 == s && (t == "" || $2 == t) { print b "\t" $2 "\t" $4 }' >>"$list"
done
if [ ! -s "$list" ]; then
    echo "sweep: no tests in suite '$suite'${only:+ named '$only'}" >&2
    exit 2
fi

# One run: binary name limit seed. Writes DIR/<name>/seed<s>/{log,rc}.
run_one() {
    local bin="$1" name="$2" limit="$3" seed="$4" d="$SWEEP_DIR/$2"
    if [ "$SWEEP_STOP" = 1 ] && [ -e "$d/failed" ]; then
        return 0
    fi
    mkdir -p "$d/seed$seed"
    SEED="$seed" TKV_TRACE_DIR="$d/seed$seed" TKV_SEED_MARK="$d/seed$seed/seeded" \
        timeout "$limit" "$bin" --run "$SWEEP_SUITE/$name" >"$d/seed$seed/log" 2>&1
    local rc=$?
    echo "$rc" >"$d/seed$seed/rc"
    if [ "$rc" -ne 0 ]; then
        echo "$seed" >>"$d/failed"
        printf 'FAIL  %s SEED=%s%s\n' "$name" "$seed" "$([ "$rc" -eq 124 ] && echo ' (time limit)')"
    fi
}
export -f run_one
export SWEEP_DIR="$dir" SWEEP_SUITE="$suite" SWEEP_STOP="$stop"

total=$(wc -l <"$list")
echo "sweep: $suite, $total tests, seeds $from..$((from + seeds - 1)), $jobs at a time, in $dir"
# Round one: seed F of everything, learning which tests are randomized.
while IFS=$'\t' read -r b n l; do printf '%s\0%s\0%s\0%s\0' "$b" "$n" "$l" "$from"; done <"$list" |
    xargs -0 -n 4 -P "$jobs" bash -c 'run_one "$@"' _
randomized="$dir/randomized"
: >"$randomized"
while IFS=$'\t' read -r b n l; do
    [ -s "$dir/$n/seed$from/seeded" ] && printf '%s\t%s\t%s\n' "$b" "$n" "$l" >>"$randomized"
done <"$list"
echo "sweep: $(wc -l <"$randomized") of $total tests are randomized; running the other seeds"
# Round two: the other seeds of the randomized ones, seed-major so every
# test gets its low seeds first.
if [ "$seeds" -gt 1 ] && [ -s "$randomized" ]; then
    for ((s = from + 1; s < from + seeds; s++)); do
        while IFS=$'\t' read -r b n l; do printf '%s\0%s\0%s\0%s\0' "$b" "$n" "$l" "$s"; done <"$randomized"
    done | xargs -0 -n 4 -P "$jobs" bash -c 'run_one "$@"' _
fi

# Keep the first failure's trace and page per test; drop the rest.
any=0
table="$dir/table.txt"
{
    printf '%-40s %6s %6s  %s\n' "test" "runs" "failed" "failing seeds"
    while IFS=$'\t' read -r b n l; do
        d="$dir/$n"
        runs=$(ls -d "$d"/seed* 2>/dev/null | wc -l)
        if [ -s "$d/failed" ]; then
            any=1
            sort -n "$d/failed" -o "$d/failed"
            first=$(head -1 "$d/failed")
            nf=$(wc -l <"$d/failed")
            shown=$(head -12 "$d/failed" | tr '\n' ' ')
            [ "$nf" -gt 12 ] && shown="$shown..."
            printf '%-40s %6s %6s  %s\n' "$n" "$runs" "$nf" "$shown"
            for s in "$d"/seed*; do [ "$s" = "$d/seed$first" ] || rm -rf "$s"; done
            page=$(ls "$d/seed$first"/*.html 2>/dev/null | head -1)
            printf '%-40s   first: make %s TEST=%s SEED=%s\n' "" "$SWEEP_SUITE" "$n" "$first"
            [ -n "$page" ] && printf '%-40s   page:  %s\n' "" "$page"
            printf '%-40s   log:   %s\n' "" "$d/seed$first/log"
        else
            [ "$runs" -gt 0 ] && printf '%-40s %6s %6s\n' "$n" "$runs" 0
            rm -rf "$d"/seed*
        fi
    done <"$randomized"
    nr=$(($(wc -l <"$list") - $(wc -l <"$randomized")))
    if [ "$nr" -gt 0 ]; then
        # Tests without seeds ran once; a failure there is not seed-dependent.
        while IFS=$'\t' read -r b n l; do
            grep -q "	$n	" "$randomized" && continue
            if [ -s "$dir/$n/failed" ]; then
                any=1
                printf '%-40s %6s %6s  (not randomized: fails on every seed) log: %s\n' "$n" 1 1 \
                    "$dir/$n/seed$from/log"
            else
                rm -rf "${dir:?}/$n"
            fi
        done <"$list"
        echo "($nr tests without seeds ran once)"
    fi
} >"$table"
echo
cat "$table"
echo "table: $table"

if [ "$shrink" = 1 ] && [ "$any" = 1 ]; then
    while IFS=$'\t' read -r b n l; do
        [ -s "$dir/$n/failed" ] || continue
        grep -q "	$n	" "$randomized" || continue
        first=$(head -1 "$dir/$n/failed")
        echo
        echo "shrinking $n SEED=$first (log: $dir/$n/shrink.log)"
        # The replays are smaller than the run, so a few limits cover them.
        SEED="$first" SHRINK=1 TKV_TRACE_DIR="$dir/$n/seed$first" timeout $((l * 8)) \
            "$b" --run "$suite/$n" >"$dir/$n/shrink.log" 2>&1
        sed -n '/^shrink:/,$p' "$dir/$n/shrink.log"
    done <"$randomized"
fi
exit "$any"
