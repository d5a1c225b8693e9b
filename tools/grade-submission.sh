#!/usr/bin/env bash
# Grades one student submission against the instructor's pristine handout.
#
#   tools/grade-submission.sh --pristine DIR [--out DIR] [--jobs N]
#                             [--keep] [--grade-arg ARG]... SUB
#
# SUB is a tree, a .zip or a .tar.gz (.tgz). Only the files listed in the
# pristine handout's STUDENT_FILES are taken from it; they are copied onto a
# copy of the pristine tree (its build/ included, so only the student's files
# are recompiled), which is built in grading mode (no -Werror; a file that
# does not compile is graded as the handout's stub of it) and graded with
# the pristine tree's own grader and test catalogue. So tests, points, time
# limits, the grader, the Makefile and the harness are always the
# instructor's. A file the submission changed outside STUDENT_FILES is
# ignored and listed in the report.
#
# Writes OUT (default build/submission): results.json, junit.xml, summary.tsv, logs/,
# lint.txt, ignored.txt, build.log. Exit status: 0 graded (whatever the
# score), 2 bad usage or a submission that cannot be read. Everything it
# makes lives under OUT; the working copy (OUT/work) is removed unless --keep.
set -euo pipefail

pristine="" out="build/submission" jobs="" keep=0 grade_args=()
usage() {
    sed -n '4,5p' "$0" | sed 's/^# \{0,1\}//' >&2
    exit 2
}
while [ $# -gt 0 ]; do
    case "$1" in
    --pristine) pristine=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    --jobs) jobs=${2:?}; shift 2 ;;
    --keep) keep=1; shift ;;
    --grade-arg) grade_args+=("${2:?}"); shift 2 ;;
    -h | --help) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --) shift; break ;;
    -*) echo "grade-submission: unknown option $1" >&2; usage ;;
    *) break ;;
    esac
done
[ $# -eq 1 ] || usage
sub=$1
[ -n "$pristine" ] || { echo "grade-submission: --pristine DIR is required" >&2; exit 2; }
[ -f "$pristine/STUDENT_FILES" ] || {
    echo "grade-submission: $pristine has no STUDENT_FILES; is it a handout (make handout)?" >&2
    exit 2
}
[ -e "$sub" ] || { echo "grade-submission: $sub does not exist" >&2; exit 2; }
if [ -n "$jobs" ] && ! [[ "$jobs" =~ ^[1-9][0-9]*$ ]]; then
    echo "grade-submission: --jobs must be a whole number of 1 or more, not '$jobs'" >&2
    exit 2
fi
jobs=${jobs:-$(nproc 2>/dev/null || echo 2)}
pristine=$(cd "$pristine" && pwd)
sub_abs=$(cd "$(dirname "$sub")" && pwd)/$(basename "$sub")

# Old results go first, so a run that stops early leaves none behind.
rm -rf "$out"
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=$out/work
cleanup() { [ "$keep" = 1 ] || rm -rf "$work" "$out/unpacked"; }
trap cleanup EXIT

# ---- the pristine tree: built once, in grading mode, with its catalogue ----
if ! make -C "$pristine" --no-print-directory -j"$jobs" GRADING=1 build >"$out/pristine-build.log" 2>&1; then
    echo "grade-submission: the pristine tree $pristine does not build; see $out/pristine-build.log" >&2
    exit 2
fi
pbuild=$pristine/build/grading
catalog=$pbuild/catalog.tsv
if [ ! -s "$catalog" ] || [ -n "$(find "$pbuild/tests" -newer "$catalog" -type f 2>/dev/null | head -1)" ]; then
    # Private name, then rename: several gradings may share one pristine tree.
    : >"$catalog.$$"
    for bin in "$pbuild"/tests/*; do
        [ -x "$bin" ] || continue
        "$bin" --list | sed "s|^|$(basename "$bin")\t|" >>"$catalog.$$"
    done
    mv "$catalog.$$" "$catalog"
fi

# ---- unpack the submission ----
case "$sub" in
*.zip | *.tar.gz | *.tgz)
    mkdir -p "$out/unpacked"
    case "$sub" in
    *.zip)
        # unzip refuses entries with "../" and strips a leading "/": a
        # submission writes nowhere but here.
        unzip -q -o "$sub_abs" -x '*/build/*' '__MACOSX/*' -d "$out/unpacked" >"$out/unpack.log" 2>&1 ||
            { echo "grade-submission: cannot unzip $sub: $(head -1 "$out/unpack.log")" >&2; exit 2; }
        ;;
    *) tar -xzf "$sub_abs" -C "$out/unpacked" --no-same-owner --no-same-permissions \
           --exclude='*/build/*' 2>"$out/unpack.log" ||
           { echo "grade-submission: cannot read $sub: $(head -1 "$out/unpack.log")" >&2; exit 2; } ;;
    esac
    root=$out/unpacked
    ;;
*)
    [ -d "$sub" ] || { echo "grade-submission: $sub is not a folder, .zip or .tar.gz" >&2; exit 2; }
    root=$sub_abs
    ;;
esac
# A submission packed as one folder (tinykv/...): descend until the student
# files appear, at most three levels.
first_file=$(grep -v '^#' "$pristine/STUDENT_FILES" | head -1)
for _ in 1 2 3; do
    [ -e "$root/$first_file" ] && break
    mapfile -t entries < <(find "$root" -mindepth 1 -maxdepth 1 ! -name '__MACOSX' ! -name '.*')
    [ ${#entries[@]} -eq 1 ] && [ -d "${entries[0]}" ] || break
    root=${entries[0]}
done

# ---- the working copy: pristine tree + the student's files ----
rm -rf "$work"
cp -a "$pristine" "$work"
rm -rf "$work/build/grade"
: >"$out/ignored.txt"
: >"$out/missing.txt"
taken=0
while IFS= read -r f; do
    case "$f" in '' | '#'*) continue ;; esac
    if [ -f "$root/$f" ] && [ ! -L "$root/$f" ]; then
        cp "$root/$f" "$work/$f"
        touch "$work/$f" # newer than the pristine objects: recompiled
        taken=$((taken + 1))
    else
        echo "$f" >>"$out/missing.txt"
    fi
done <"$pristine/STUDENT_FILES"

# Files outside STUDENT_FILES that differ from the handout: ignored, listed.
(cd "$root" && find . \( -name build -o -name .git -o -name __MACOSX \) -prune -o -type f -print) |
    sed 's|^\./||' | sort | while IFS= read -r f; do
    grep -qxF "$f" "$pristine/STUDENT_FILES" && continue
    case "$f" in STUDENT_FILES | .tinykv-handout) continue ;; esac
    if [ ! -f "$pristine/$f" ]; then
        echo "$f (added)"
    elif ! cmp -s "$root/$f" "$pristine/$f"; then
        echo "$f (changed)"
    fi
done >>"$out/ignored.txt"
while IFS= read -r f; do echo "$f (missing: the handout's version was graded)"; done \
    <"$out/missing.txt" >>"$out/ignored.txt"
rm -f "$out/missing.txt"

echo "grade-submission: $sub: $taken student file(s) taken, $(wc -l <"$out/ignored.txt") ignored or missing"

# ---- build, lint, grade ----
make -C "$work" --no-print-directory -j"$jobs" GRADING=1 STUB_DIR="$pristine" build \
    >"$out/build.log" 2>&1 || true
grep -E 'warning:|error:|GRADE ' "$out/build.log" | head -40 || true
lint_files=$(grep -v '^#' "$pristine/STUDENT_FILES" | grep -E '\.[ch]$' | tr '\n' ' ')
make -C "$work" --no-print-directory lint-report GRADE_OUT="$out" LINT_FILES="$lint_files" \
    >/dev/null 2>&1 || true
bins=()
while IFS=$'\t' read -r name _; do
    case " ${bins[*]-} " in *" $work/build/grading/tests/$name "*) ;;
    *) bins+=("$work/build/grading/tests/$name") ;; esac
done <"$catalog"
rc=0
(cd "$work" && "$pbuild/bin/grade" --out "$out" --jobs "$jobs" --catalog "$catalog" \
    --build-errors "$work/build/grading/build-errors" --lint "$out/lint.txt" \
    --ignored "$out/ignored.txt" ${grade_args[@]+"${grade_args[@]}"} "${bins[@]}") || rc=$?
# The grader says 1 when a test failed: that is a grade, not an error.
[ $rc -le 1 ] || exit $rc
exit 0
