#!/usr/bin/env bash
# Installs the Debian packages TinyKV-C builds with, when any is missing.
# As root it runs apt-get itself; otherwise it prints the one command to run.
# docs/dependencies.md says why each package is here.
set -euo pipefail

pkgs=(
    gcc make
    libleveldb-dev libprotobuf-c-dev protobuf-c-compiler libcmocka-dev libuv1-dev
    clang-format cppcheck
    zip unzip
)

missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    echo "deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
    echo "deps: missing Debian packages: ${missing[*]}" >&2
    echo "deps: run this once, then try again:" >&2
    echo "    sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
