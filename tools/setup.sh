#!/usr/bin/env bash
# Installs, with apt-get, whatever this project needs and is missing on a
# Debian 12 machine: Bazel 4.2.3 (bazel-bootstrap), the C and C++ compilers,
# Python's Jinja2 for the generator, Debian's GoogleTest sources, xbyak (the
# header-only x86 assembler of tests/assembler), clang-format and npm (which
# fetches buildifier for tools/check_format.sh).
#
# It is idempotent: when everything is there it prints nothing and installs
# nothing. It runs apt-get as root, through sudo when not root already.
#
# Usage: tools/setup.sh [PACKAGE...]
#   PACKAGE: more Debian packages that a heavier check needs (tools/sanitize.sh
#   and fuzz/run.sh ask for theirs this way).
set -euo pipefail

# Debian packages the build, the tests and the checks use. The generator runs
# under /usr/bin/python3 (Bazel's strict action environment), so Jinja2 must
# come from Debian, not from a virtualenv.
packages=(
    bazel-bootstrap
    ca-certificates
    clang-format
    g++
    gcc
    git
    googletest
    libxbyak-dev
    make
    python3
    python3-jinja2
)
packages+=("$@")

missing=()
for package in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
    if [[ "$status" != "installed" ]]; then
        missing+=("$package")
    fi
done

# npm may come from Debian's package or from another Node.js distribution
# (NodeSource ships npm inside its nodejs package, and Debian's npm conflicts
# with it), so any npm on PATH is good enough.
if ! command -v npm >/dev/null 2>&1; then
    missing+=(npm)
fi

if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

if [[ $(id -u) -eq 0 ]]; then
    as_root=()
else
    as_root=(sudo)
fi

# apt's own output goes to a log that is printed only when a step fails;
# otherwise one line per package says what was installed.
log=$(mktemp)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
for step in update install; do
    args=(update)
    if [[ $step == install ]]; then args=(install -y "${missing[@]}"); fi
    if ! "${as_root[@]}" apt-get -q "${args[@]}" </dev/null >"$log" 2>&1; then
        cat "$log" >&2
        echo "setup: apt-get $step failed (its output is above)" >&2
        exit 1
    fi
done
for package in "${missing[@]}"; do
    echo "setup: installed $package"
done
