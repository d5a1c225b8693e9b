#!/usr/bin/env bash
# Gradescope's setup step, run once when the autograder image is built
# (from /autograder/source, where autograder.zip is unpacked): installs the
# Debian packages the course builds with and builds the pristine course tree
# in grading mode, so each submission recompiles only its own files.
#
# AUTOGRADER_ROOT (default /autograder) is honoured by run_autograder; this
# script only needs to know where it lies itself.
set -euo pipefail
src=$(cd "$(dirname "$0")" && pwd)
cd "$src/course"
export DEBIAN_FRONTEND=noninteractive
if [ "$(id -u)" -eq 0 ] && ! command -v make >/dev/null; then
    apt-get update -qq && apt-get install -y -qq --no-install-recommends make >/dev/null
fi
tools/deps.sh
make --no-print-directory -j"$(nproc 2>/dev/null || echo 2)" GRADING=1 build >"$src/setup-build.log" 2>&1 || {
    tail -40 "$src/setup-build.log" >&2
    echo "setup: the course tree does not build" >&2
    exit 1
}
echo "setup: course tree built ($src/course)"
