#!/usr/bin/env bash
# `make autograder`: packs build/autograder.zip for Gradescope from a fresh
# handout tree.
#
#   tools/autograder/make-zip.sh HANDOUT_DIR ZIP
#
# The zip holds setup.sh, run_autograder, autograder.conf and
# grade-submission.sh at its top (Gradescope unpacks it in
# /autograder/source) and course/: the pristine handout, without any build.
set -euo pipefail
handout=${1:?usage: make-zip.sh HANDOUT_DIR ZIP}
zip_path=${2:?usage: make-zip.sh HANDOUT_DIR ZIP}
here=$(cd "$(dirname "$0")" && pwd)
stage=$(dirname "$zip_path")/autograder
rm -rf "$stage" "$zip_path"
mkdir -p "$stage/course"
cp "$here/setup.sh" "$here/run_autograder" "$here/autograder.conf" "$here/../grade-submission.sh" "$stage/"
(cd "$handout" && tar -cf - --exclude=./build .) | (cd "$stage/course" && tar -xf -)
chmod +x "$stage/setup.sh" "$stage/run_autograder" "$stage/grade-submission.sh"
zip_abs=$(cd "$(dirname "$zip_path")" && pwd)/$(basename "$zip_path")
(cd "$stage" && zip -qr "$zip_abs" .)
rm -rf "$stage"
echo "autograder: $zip_path ($(du -k "$zip_path" | cut -f1) kB; settings from tools/autograder/autograder.conf)"
