#!/usr/bin/env bash
# Runs the whole test suite of memory_pages: installs what is missing
# (tools/setup.sh), runs `bazel test //...` in each of the three feature
# combinations of shared/API.md section 3, then, in the dual combination
# (allow_exec and allow_dual_map), only the targets that
# tools/expected_tests.txt lists for it (the ones it adds coverage to), then
# the outside-workspace test (tests/outside/run.sh).
#
# After each combination it prints what the reliability tests counted
# (faults injected, bad inputs tried, ...), from their logs, and how many
# GoogleTest skips (GTEST_SKIP) the run had, each with its reason. The last
# line it prints is "N passed, N failed": N counts test targets over the
# four combinations (a target that fails to build counts as failed), plus
# one for the outside-workspace test. A build failure outside any test target
# counts as one failure of its combination. So does each target that
# tools/expected_tests.txt lists for a combination but did not run there
# (Bazel skipped it as incompatible), each test target the list lacks, and,
# in a native x86-64 run, each skip whose reason cannot be true there
# (tools/test_results.py has the classes of reasons). The exit status is 0
# only when nothing failed and at least one test ran.
#
# Usage: tools/test.sh [extra bazel test options...]
#   The extra options go to every `bazel test` run.
# Environment:
#   MP_BAZEL_OUTPUT_ROOT  --output_user_root for this workspace's Bazel server
#                         (default: Bazel's own, ~/.cache/bazel).
#   MP_OUTSIDE_OUTPUT_ROOT  passed on to tests/outside/run.sh.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

tools/setup.sh

startup=()
if [[ -n "${MP_BAZEL_OUTPUT_ROOT:-}" ]]; then
    startup+=("--output_user_root=$MP_BAZEL_OUTPUT_ROOT")
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The feature combinations of shared/API.md sections 3 and 8, as .bazelrc
# configs.
combos=(default exec rwx dual)
declare -A combo_flags=([default]="" [exec]="--config=exec" [rwx]="--config=rwx"
    [dual]="--config=dual")

# The targets a combination runs: all of //... in the three of section 3;
# in dual, which only adds mp_pages_dual, the targets tools/expected_tests.txt
# lists for it, so that the suite is not run a fourth time whole.
targets_of() {
    if [[ $1 == dual ]]; then
        awk '{ sub(/#.*/, "") } { for (i = 2; i <= NF; i++) if ($i == "dual") print $1 }' \
            tools/expected_tests.txt
    else
        echo //...
    fi
}

# Whether this is a native run: x86-64 Linux, with no extra option that runs
# the tests under something (valgrind, an emulator) or builds them with a
# sanitizer or for another platform. In a native run, a GTEST_SKIP whose
# reason cannot hold natively fails the run (tools/test_results.py).
native=native
if [[ "$(uname -s) $(uname -m)" != "Linux x86_64" ]]; then
    native="not native: $(uname -s) $(uname -m)"
fi
for option in "$@"; do
    case "$option" in
    --run_under* | --config=asan | --config=ubsan | --config=tsan | --config=mingw | \
        --config=aarch64 | --config=i686 | --config=cross | --platforms*)
        native="not native: $option"
        ;;
    esac
done
if [[ $native == native ]]; then
    echo "=== a native run: GTEST_SKIP reasons are checked (tools/test_results.py)"
else
    echo "=== $native: GTEST_SKIP reasons are not checked"
fi

# Prints "<passed> <failed>" for one `bazel test` run, from its Build Event
# Protocol file ($1), combination ($2) and exit status ($3); lists every
# problem on stderr, every target skipped as incompatible in the file $4, and
# the count lines and GoogleTest skips of the test logs in the file $5. What
# counts as passed and failed: tools/test_results.py.
count_results() {
    python3 tools/test_results.py "$@" tools/expected_tests.txt "$native"
}

total_passed=0
total_failed=0
for combo in "${combos[@]}"; do
    mapfile -t targets < <(targets_of "$combo")
    echo "=== bazel test ${targets[*]} [$combo] ${combo_flags[$combo]}"
    bep="$work/bep_$combo.json"
    start=$SECONDS
    status=0
    # shellcheck disable=SC2086 # the combination's flags are split on purpose
    bazel "${startup[@]}" test --keep_going --build_event_json_file="$bep" \
        ${combo_flags[$combo]} "$@" -- "${targets[@]}" || status=$?
    if [[ ! -s "$bep" ]]; then
        echo "  [$combo] bazel wrote no build events (exit $status)" | tee -a "$work/problems" >&2
        counts="0 1"
    else
        counts=$(count_results "$bep" "$combo" "$status" "$work/skipped" \
            "$work/counts_$combo" 2>"$work/problems_$combo") ||
            counts="0 1"
        tee -a "$work/problems" <"$work/problems_$combo" >&2
    fi
    read -r passed failed <<<"$counts"
    if [[ -s "$work/counts_$combo" ]]; then
        echo "=== [$combo] what the reliability tests counted, and the GoogleTest skips"
        cat "$work/counts_$combo"
    fi
    echo "=== [$combo] $passed passed, $failed failed ($((SECONDS - start)) s)"
    total_passed=$((total_passed + passed))
    total_failed=$((total_failed + failed))
done

echo "=== tests/outside/run.sh (the library used from another Bazel workspace)"
start=$SECONDS
if tests/outside/run.sh; then
    total_passed=$((total_passed + 1))
    echo "=== [outside] passed ($((SECONDS - start)) s)"
else
    total_failed=$((total_failed + 1))
    echo "  [outside] tests/outside/run.sh failed" >>"$work/problems"
    echo "=== [outside] FAILED ($((SECONDS - start)) s)"
fi

if [[ -s "$work/skipped" ]]; then
    echo "Skipped as incompatible with the build (not counted):"
    cat "$work/skipped"
fi
if [[ -s "$work/problems" ]]; then
    echo "Not passed:"
    cat "$work/problems"
fi
echo "${total_passed} passed, ${total_failed} failed"
[[ $total_failed -eq 0 && $total_passed -gt 0 ]]
