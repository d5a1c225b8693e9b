#!/usr/bin/env bash
# Proves a handout is fit to hand out: it builds with -Werror, every graded
# test of a stripped stage fails there, and every other test (frame tests,
# stages kept by FROM) passes. Called by `make handout-check` and CI.
#
#   tools/handout-check.sh HANDOUT_DIR [FROM]      FROM: project1 (default) ... project4c
set -euo pipefail
case "${1:-}" in
-h | --help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
-*) echo "handout-check: unknown option $1 (usage: handout-check.sh HANDOUT_DIR [FROM])" >&2; exit 2 ;;
esac
dir=${1:?usage: handout-check.sh HANDOUT_DIR [FROM]}
from=${2:-project1}
from=$(echo "$from" | tr 'A-Z' 'a-z')
case "$from" in project*) ;; *) from="project$from" ;; esac

echo "handout-check: building $dir"
make -C "$dir" --no-print-directory build >"$dir/build.log" 2>&1 || {
    echo "handout-check: the handout does not build; the end of $dir/build.log:" >&2
    tail -30 "$dir/build.log" >&2
    exit 1
}
echo "handout-check: running every suite; graded tests from $from on must fail"
"$dir/build/bin/grade" --out "$dir/build/grade" --expect-fail-from "$from" "$dir"/build/tests/*
