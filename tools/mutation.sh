#!/usr/bin/env bash
# The project's mutation check (`make mutation`): do the graded suites reject
# plausible wrong code? Each tools/mutants/<suite>/*.patch plants one bug a
# student could write in the reference solution. For each, in a scratch copy
# of the tree (build/mutation/tree, never the working tree), apply the patch,
# build, run that suite, and revert. A mutant is killed when the build stays
# green and at least one test of its suite fails; a survivor passes them all
# and needs a new test or an argument that it is equivalent (the rules are in
# docs/contributing.md): a patch whose header has a line "Equivalent: <why>" is one
# argued equivalent, and its survival is expected (reported, not counted
# as a failure). A patch that no longer applies or does not compile is
# reported as broken (fix the patch: it tests nothing).
#
#   tools/mutation.sh [SUITE...]     default: every folder under tools/mutants/
#
# Writes build/mutation/report.txt (one line per mutant, a summary per suite
# and a total) and exits 1 if any mutant survived or is broken.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# Suites are folder names under tools/mutants/: check them before any copying.
for a in "$@"; do
    case "$a" in
    -h | --help) sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "mutation: unknown option $a (tools/mutation.sh --help says more)" >&2; exit 2 ;;
    *) [ -d "tools/mutants/$a" ] || { echo "mutation: no suite '$a' under tools/mutants/" >&2; exit 2; } ;;
    esac
done
out=$root/build/mutation
tree=$out/tree
mkdir -p "$out"
report=$out/report.txt
: >"$report"

say() { echo "$*" | tee -a "$report"; }

# The scratch copy: every file git tracks or would track (new files too),
# as they are now in the working tree. Its build/ persists between runs, so
# each mutant costs an incremental build.
echo "mutation: copying the tree to $tree"
mkdir -p "$tree"
# Files are rewritten only where they differ, and then get a fresh mtime, so
# make rebuilds exactly what changed (also what the last run left mutated).
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
    [ -f "$f" ] || continue
    if ! cmp -s "$f" "$tree/$f"; then
        mkdir -p "$tree/$(dirname "$f")"
        cp "$f" "$tree/$f"
    fi
done

if [ $# -gt 0 ]; then
    suites=("$@")
else
    suites=()
    for d in tools/mutants/*/; do suites+=("$(basename "$d")"); done
fi

# A mutant needs one failing test to be killed: --fail-fast stops the suite
# there (a mutant that hangs every test would otherwise cost each test's limit).
run_suite() { # suite logfile [grader option] -> grader exit status
    make -C "$tree" --no-print-directory -s -j2 build >"$2" 2>&1 || return 100
    "$tree/build/bin/grade" ${3:+"$3"} --out "$tree/build/grade" --suite "$1" "$tree"/build/tests/* >>"$2" 2>&1
}

total=0
equiv_all=0
killed_all=0
bad=0
start_all=$SECONDS
for suite in "${suites[@]}"; do
    patches=(tools/mutants/"$suite"/*.patch)
    [ -e "${patches[0]}" ] || { say "$suite: no mutants"; continue; }
    start=$SECONDS
    if ! run_suite "$suite" "$out/$suite.baseline.log"; then
        say "$suite: the unmutated tree fails its own suite; see $out/$suite.baseline.log"
        bad=$((bad + 1))
        continue
    fi
    killed=0
    equiv=0
    n=0
    survivors=()
    for p in "${patches[@]}"; do
        name=$(basename "$p" .patch)
        log=$out/$suite.$name.log
        n=$((n + 1))
        # A dry run first: a patch whose later hunks fail would otherwise
        # leave its earlier ones in the tree, mutating every run after it.
        if ! patch -d "$tree" -p1 --silent --forward --dry-run <"$p" >"$log" 2>&1 ||
            ! patch -d "$tree" -p1 --silent --forward -r - <"$p" >>"$log" 2>&1; then
            say "  $suite/$name: BROKEN (the patch does not apply)"
            bad=$((bad + 1))
            continue
        fi
        t0=$SECONDS
        run_suite "$suite" "$log" --fail-fast
        rc=$?
        secs=$((SECONDS - t0))
        patch -d "$tree" -p1 --silent -R -r - <"$p" >>"$log" 2>&1
        if [ $rc -eq 100 ]; then
            say "  $suite/$name: BROKEN (does not build; see $log)"
            bad=$((bad + 1))
        elif [ $rc -ne 0 ]; then
            killed=$((killed + 1))
            by=$(grep -oE '(FAIL|TIMEOUT|CRASH)[A-Z]* +[a-z0-9]+/[a-z0-9_]+' "$log" |
                awk '{print $2}' | sed 's|.*/||' | head -3 | paste -sd, -)
            say "  $suite/$name: killed by ${by:-the suite} (${secs} s)"
        elif grep -q '^Equivalent:' "$p"; then
            equiv=$((equiv + 1))
            say "  $suite/$name: survived, argued equivalent (${secs} s)"
        else
            survivors+=("$name")
            say "  $suite/$name: SURVIVED (${secs} s)"
        fi
    done
    say "$suite: $killed/$((n - equiv)) killed$([ $equiv -gt 0 ] && echo " (and $equiv equivalent)") in $((SECONDS - start)) s${survivors[*]:+; survivors: ${survivors[*]}}"
    total=$((total + n - equiv))
    equiv_all=$((equiv_all + equiv))
    killed_all=$((killed_all + killed))
done
if [ $total -gt 0 ]; then
    say "total: $killed_all/$total killed ($((100 * killed_all / total))%), $equiv_all argued equivalent, in $((SECONDS - start_all)) s"
fi
[ $killed_all -eq $total ] && [ $bad -eq 0 ]
