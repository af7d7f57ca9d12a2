#!/usr/bin/env bash
# Runs the test suite of memory_pages for the cross targets: Windows x86-64
# (mingw-w64, run under wine), Linux aarch64 (run under qemu-aarch64-static)
# and Linux i686 (gcc -m32; run natively where the kernel executes 32-bit x86
# programs, else under qemu-i386-static: toolchains/run_i686.sh decides, and
# this script prints which). It first installs, with apt-get,
# whatever the chosen targets need and is missing (tools/setup.sh does the
# same for the host build). toolchains/BUILD holds the toolchains,
# docs/platforms.md says what runs where.
#
# Every target runs `bazel test --keep_going //...` in each feature
# combination of MP_CROSS_COMBOS. The default is exec alone: that build has
# every test of the default build too, plus the executable states, function
# references and the JIT demo, and emulation makes each run slow. The last
# line printed is "N passed, N failed", counting those runs; the exit status
# is 0 only when every run passed. On every target the tests of the dual
# mapping (//tests/dual:all) run once more, with --config=dual.
#
# Usage: tools/cross_test.sh [all|mingw|aarch64|i686]... [-- extra bazel test options]
#   With no target, or "all", runs all three.
# Environment:
#   MP_BAZEL_OUTPUT_ROOT  --output_user_root for the Bazel server (default:
#                         Bazel's own, as tools/test.sh).
#   MP_CROSS_COMBOS       the feature combinations to run, from default,
#                         exec and rwx (default "exec").
#   MP_CROSS_PATTERN      the target pattern (default //...).
#   MP_WINEPREFIX         the scratch wine prefix (default
#                         /tmp/memory_pages-wine-UID); it is kept between runs
#                         because setting one up takes about half a minute.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

targets=()
while [[ $# -gt 0 && "$1" != "--" ]]; do
    case "$1" in
    all) targets+=(mingw aarch64 i686) ;;
    mingw | aarch64 | i686) targets+=("$1") ;;
    *)
        echo "cross_test: unknown target '$1' (all, mingw, aarch64, i686)" >&2
        exit 2
        ;;
    esac
    shift
done
if [[ $# -gt 0 ]]; then shift; fi
if [[ ${#targets[@]} -eq 0 ]]; then targets=(mingw aarch64 i686); fi

# ---- Set-up: the host build's packages, then each target's ----------------

tools/setup.sh

# Debian packages per target. Recommended packages are left out: wine's
# alone pull in hundreds of megabytes of fonts and desktop libraries.
# gcc-12-multilib, not gcc-multilib: the latter removes the aarch64 cross
# compilers. i686 needs qemu-user-static on kernels whose IA-32 emulation is
# off; it is installed everywhere, so that the target runs the same wherever
# the tests end up.
declare -A packages=(
    [mingw]="gcc-mingw-w64-x86-64-posix g++-mingw-w64-x86-64-posix wine wine64"
    [aarch64]="gcc-aarch64-linux-gnu g++-aarch64-linux-gnu qemu-user-static"
    [i686]="gcc-12-multilib g++-12-multilib qemu-user-static"
)
missing=()
for target in "${targets[@]}"; do
    for package in ${packages[$target]}; do
        status=$(dpkg-query -W -f='${db:Status-Status}' "$package" 2>/dev/null || true)
        if [[ "$status" != "installed" && " ${missing[*]} " != *" $package "* ]]; then
            missing+=("$package")
        fi
    done
done
if [[ ${#missing[@]} -gt 0 ]]; then
    as_root=()
    if [[ $(id -u) -ne 0 ]]; then as_root=(sudo); fi
    echo "cross_test: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${as_root[@]}" apt-get update -qq
    "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" </dev/null
fi

startup=()
if [[ -n "${MP_BAZEL_OUTPUT_ROOT:-}" ]]; then
    startup+=("--output_user_root=$MP_BAZEL_OUTPUT_ROOT")
fi
read -r -a combos <<<"${MP_CROSS_COMBOS:-exec}"
declare -A combo_flags=([default]="" [exec]="--config=exec" [rwx]="--config=rwx")
pattern=${MP_CROSS_PATTERN:-//...}

# ---- Wine: one scratch prefix and one persistent server for every test ------

wine_prefix=${MP_WINEPREFIX:-/tmp/memory_pages-wine-$(id -u)}
stop_wineserver() {
    WINEPREFIX="$wine_prefix" wineserver -k >/dev/null 2>&1 || true
}
for target in "${targets[@]}"; do
    if [[ "$target" == mingw ]]; then
        start=$SECONDS
        echo "=== wine: preparing $wine_prefix"
        mkdir -p "$wine_prefix"
        # The server's output is detached: a test runner that inherits its
        # pipes waits for it forever.
        if [[ ! -f "$wine_prefix/system.reg" ]]; then
            WINEPREFIX="$wine_prefix" WINEDEBUG=-all wineboot --init </dev/null >/dev/null 2>&1
        fi
        WINEPREFIX="$wine_prefix" wineserver -p </dev/null >/dev/null 2>&1 &
        trap stop_wineserver EXIT
        echo "=== wine: ready ($((SECONDS - start)) s)"
    fi
done

# ---- i686: natively or under qemu-i386-static ---------------------------------

# The wrapper that runs every i686 test (toolchains/run_i686.sh) tries a tiny
# 32-bit program each time and runs the test natively when the kernel executes
# it, under qemu-i386-static when the kernel refuses it (IA-32 emulation off).
# The same probe here says which way this run goes; a probe that neither runs
# nor is refused is an error.
for target in "${targets[@]}"; do
    if [[ "$target" == i686 ]]; then
        if ! i686_mode=$(toolchains/run_i686.sh --probe); then
            echo "cross_test: i686: cannot tell whether to run natively or under qemu-i386-static" >&2
            exit 1
        fi
        case "$i686_mode" in
        native) echo "=== i686: running natively (the host kernel executes 32-bit x86 binaries)" ;;
        qemu) echo "=== i686: running under qemu-i386-static (host kernel does not execute 32-bit binaries)" ;;
        *)
            echo "cross_test: i686: the probe of toolchains/run_i686.sh printed '$i686_mode'" >&2
            exit 1
            ;;
        esac
    fi
done

# ---- The runs -----------------------------------------------------------------

passed=0
failed=0
not_passed=()

# Runs `bazel test` of a pattern for a target in one feature combination
# (its name and its flags) and counts the run.
run_tests() {
    local target=$1 combo=$2 flags=$3 pattern=$4
    shift 4
    echo "=== bazel test $pattern [$target, $combo]"
    local start=$SECONDS status=0
    # The feature combinations set --platform_suffix too; the last one
    # given wins, so each target and combination gets its own output
    # directory here, and switching between them rebuilds nothing.
    # shellcheck disable=SC2086 # the combination's flags are split on purpose
    bazel "${startup[@]}" test --keep_going --config="$target" \
        --test_env=MP_WINEPREFIX="$wine_prefix" $flags \
        --platform_suffix="-$target-$combo" "$@" -- "$pattern" || status=$?
    if [[ $status -eq 0 ]]; then
        passed=$((passed + 1))
        echo "=== [$target, $combo] passed ($((SECONDS - start)) s)"
    else
        failed=$((failed + 1))
        not_passed+=("$target, $combo: bazel exited with $status")
        echo "=== [$target, $combo] FAILED, bazel exited with $status ($((SECONDS - start)) s)"
    fi
}

for target in "${targets[@]}"; do
    for combo in "${combos[@]}"; do
        if [[ -z "${combo_flags[$combo]+set}" ]]; then
            echo "cross_test: unknown feature combination '$combo'" >&2
            exit 2
        fi
        run_tests "$target" "$combo" "${combo_flags[$combo]}" "$pattern" "$@"
    done
    # The dual mapping is platform code of its own (a memfd on Linux, a
    # section on Windows): its tests run on every target, in a combination
    # of their own that changes nothing else (tools/expected_tests.txt):
    # aarch64 for the instruction cache of two views of one memory, i686 for
    # 32-bit sizes and offsets of the memfd and its mappings, mingw for the
    # section.
    run_tests "$target" dual --config=dual //tests/dual:all "$@"
done

if [[ ${#not_passed[@]} -gt 0 ]]; then
    echo "Not passed:"
    printf '  %s\n' "${not_passed[@]}"
fi
echo "${passed} passed, ${failed} failed"
[[ $failed -eq 0 ]]
