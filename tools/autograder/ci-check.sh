#!/usr/bin/env bash
# CI's check of the autograder package, off Gradescope: unpacks
# build/autograder.zip under an AUTOGRADER_ROOT in build/, runs setup.sh once,
# then run_autograder on three submissions:
#
#   handout    the handout as students get it: 0 points on graded tests;
#   reference  this tree (only its student files count): full score;
#   tampered   the handout with a test's points raised to 500, a test body
#              emptied, and lint broken in a student file: the score is the
#              handout's, the report lists the test files as ignored and lint
#              as failed.
#
#   tools/autograder/ci-check.sh [ZIP]      (default build/autograder.zip)
set -euo pipefail
cd "$(dirname "$0")/../.."
zip=${1:-build/autograder.zip}
root=$PWD/build/autograder-ci
rm -rf "$root"
mkdir -p "$root/source"
unzip -q "$zip" -d "$root/source"
AUTOGRADER_ROOT=$root "$root/source/setup.sh"

# The "score"/"max_score" numbers and the output of results.json, without
# needing a JSON tool on the CI machine.
field() { sed -n "s/^  \"$1\": \([0-9]*\),\$/\1/p" "$root/results/results.json"; }

grade_case() { # NAME: grade $root/submission, keep its results as results-NAME.json
    rm -rf "$root/results" "$root/grading"
    AUTOGRADER_ROOT=$root "$root/source/run_autograder" >"build/autograder-ci-$1.log" 2>&1 || {
        tail -30 "build/autograder-ci-$1.log"
        echo "ci-check: run_autograder failed on the $1 submission" >&2
        exit 1
    }
    cp "$root/results/results.json" "build/autograder-ci-$1.json"
    echo "ci-check: $1: score $(field score) of $(field max_score)"
}
expect() { # WHAT CONDITION...
    local what=$1
    shift
    if ! "$@"; then
        echo "ci-check: $what (results: $root/results/results.json)" >&2
        exit 1
    fi
}

course=$root/source/course
submission() { rm -rf "$root/submission"; mkdir -p "$root/submission"; }

# 1. the handout, untouched.
submission
(cd "$course" && tar -cf - --exclude=./build .) | (cd "$root/submission" && tar -xf -)
grade_case handout
expect "the handout should score 0" [ "$(field score)" = 0 ]
max=$(field max_score)
expect "the handout's max_score should be above 0" [ "$max" -gt 0 ]

# 2. the reference: this whole tree; only its student files may count.
submission
git ls-files -z | xargs -0 tar -cf - | (cd "$root/submission" && tar -xf -)
grade_case reference
expect "the reference should score full marks ($max)" [ "$(field score)" = "$max" ]

# 3. the tampered handout.
submission
(cd "$course" && tar -cf - --exclude=./build .) | (cd "$root/submission" && tar -xf -)
sub=$root/submission
# Raise the first graded test's points to 500, in whichever test file has it.
t=$(grep -rlE '\{ "project1", "[a-z_]+", [0-9]+,' "$sub/tests/project1" | head -1)
sed -i -E '0,/\{ "project1", "([a-z_]+)", [0-9]+,/s//{ "project1", "\1", 500,/' "$t"
expect "the tampering should have raised a test to 500 points in $t" grep -q '", 500,' "$t"
# Empty the body of every static test function in another test file: each
# would pass without checking anything.
t2=$(grep -c '^static void test_' "$sub"/tests/project1/*_test.c | grep -v "^$t:" |
    sort -t: -k2,2nr | head -1 | cut -d: -f1)
before=$(wc -l <"$t2")
awk '/^static void test_.*\(void \*\*state\)$/ {print; getline; print "{"; print "    (void)state;"; skip=1; next}
     skip && /^}/ {skip=0}
     !skip {print}' "$t2" >"$t2.new" && mv "$t2.new" "$t2"
expect "the tampering should have emptied the test bodies of $t2" [ "$(wc -l <"$t2")" -lt "$before" ]
# Break lint in a student file (valid C, badly formatted).
s=$(grep -v '^#' "$sub/STUDENT_FILES" | head -1)
echo 'static int   lint_breaker (void)   { return 0; }' >>"$sub/$s"
grade_case tampered
expect "tampering must not change the score" [ "$(field score)" = 0 ]
expect "tampering must not change max_score" [ "$(field max_score)" = "$max" ]
for f in "${t#"$sub"/}" "${t2#"$sub"/}"; do
    expect "the report should list $f as ignored" grep -q "$f (changed)" "$root/results/results.json"
done
expect "the report should say lint failed" grep -q 'lint: FAILED' "$root/results/results.json"
echo "ci-check: handout 0/$max, reference $max/$max, tampered 0/$max with the tampering listed"
rm -rf "$root"
