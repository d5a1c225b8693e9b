#!/usr/bin/env bash
# What `make fuzz` needs beyond the build: clang with libFuzzer's runtime.
# Like tools/deps.sh: as root it installs the Debian packages, otherwise it
# prints the one command to run. docs/dependencies.md says why.
set -euo pipefail

pkgs=(clang libclang-rt-dev)
missing=()
for p in "${pkgs[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" -eq 0 ]; then
        echo "fuzz-deps: installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "fuzz-deps: missing Debian packages: ${missing[*]}" >&2
        echo "fuzz-deps: run this once, then try again:" >&2
        echo "    sudo apt-get install -y ${missing[*]}" >&2
        exit 1
    fi
fi
# The packages may be there under other names: what counts is that it links.
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }' \
    >"$probe/t.c"
if ! "${FUZZ_CC:-clang}" -fsanitize=fuzzer "$probe/t.c" -o "$probe/t" 2>/dev/null; then
    echo "fuzz-deps: ${FUZZ_CC:-clang} cannot link a libFuzzer target (-fsanitize=fuzzer)" >&2
    echo "fuzz-deps: install clang and libclang-rt-dev" >&2
    exit 1
fi
