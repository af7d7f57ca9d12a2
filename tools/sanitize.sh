#!/usr/bin/env bash
# Runs the test suite under the sanitizers and valgrind (issue 7). The
# default is the bounded set CI runs; --full runs everything:
#
#   step      default (CI)                          --full
#   asan      bazel test --config=asan //...        the same in all three
#             with rwx (the widest build; the       feature combinations
#             default build's memory errors are
#             valgrind's step, which runs it)
#   ubsan     --config=ubsan //... with rwx         all three combinations
#             (the widest build: ubsan checks
#             arithmetic and alignment, which no
#             feature switch changes)
#   tsan      every test whose name contains        //... (rwx)
#             "threads" or "race", with rwx (every
#             state, function references)
#   valgrind  every cc_test of the default           default and rwx
#             combination under memcheck
#
# asan and tsan also run the tests of the dual mapping (//tests/dual, which
# exists only with --config=dual) once each, in both modes: the rest of the
# suite gains nothing from that combination (tools/expected_tests.txt),
# but for tsan the code arena's, whose threads the thread-test query does
# not find by name and whose dual mode needs the combination.
#
# The sanitizer configs are in .bazelrc (gcc's sanitizers). Each step is one
# `bazel test` per combination; a run passes when Bazel says every test
# passed. Prints one line per run and, last, "sanitize: N runs passed, N
# failed (S s)". Exits non-zero when a run failed.
#
# Under valgrind, a few test cases cannot pass whatever the library does, and
# are left out by name (VALGRIND_EXCLUDED below, each with its reason);
# every other case runs. The tests that meet valgrind's limits themselves
# (the out-of-memory test, the valgrind-aware checks of the sweep) say so.
#
# Usage: tools/sanitize.sh [--full] [STEP...]   STEP: asan, ubsan, tsan,
#                                               valgrind (default: all four)
# Environment:
#   MP_BAZEL_OUTPUT_ROOT   --output_user_root for Bazel (as tools/test.sh)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

full=false
if [[ "${1:-}" == "--full" ]]; then
    full=true
    shift
fi
steps=("$@")
if [[ ${#steps[@]} -eq 0 ]]; then
    steps=(asan ubsan tsan valgrind)
fi
for step in "${steps[@]}"; do
    case "$step" in
    asan | ubsan | tsan | valgrind) ;;
    *)
        echo "usage: tools/sanitize.sh [--full] [asan|ubsan|tsan|valgrind ...]" >&2
        exit 2
        ;;
    esac
done

tools/setup.sh valgrind

startup=()
if [[ -n "${MP_BAZEL_OUTPUT_ROOT:-}" ]]; then
    startup+=("--output_user_root=$MP_BAZEL_OUTPUT_ROOT")
fi
declare -A combo_flags=([default]="" [exec]="--config=exec" [rwx]="--config=rwx")
if $full; then
    asan_combos=(default exec rwx)
    ubsan_combos=(default exec rwx)
    valgrind_combos=(default rwx)
else
    asan_combos=(rwx)
    ubsan_combos=(rwx)
    valgrind_combos=(default)
fi

# Test cases that cannot pass under valgrind, as a negative gtest filter
# (GTEST_FILTER, which tests without GoogleTest ignore):
#  - Wx*: the W^X tests read /proc/self/maps, where valgrind's own
#    translation cache is writable and executable;
#  - OsErrorTest.*, PagesTest/*.NewWithHalfOfSizeMax*,
#    VecTest/*.FailuresLeaveTheVectorUnchanged,
#    VecApiTest/*.ReserveExactRefusesTooMuch*, DifferentialTest/*: they
#    expect the kernel's ENOMEM for sizes beyond the address space, which
#    valgrind's address-space manager refuses with EINVAL (the differential
#    test also runs 10^6 operations per element size, minutes under
#    valgrind);
#  - CommitCharge.*, PrefaultCharge.*: they read the system's Committed_AS
#    around each step, and valgrind's own shadow memory moves it by hundreds
#    of MiB during a step (seen: +1307 MiB for a 1024 MiB commit);
#  - QuerySignal.*: it faults on purpose, into guard pages and read-only
#    pages, to check what the handler is told; memcheck reports each of
#    those accesses as an invalid read or write before the signal arrives.
VALGRIND_EXCLUDED="Wx*:OsErrorTest.*:PagesTest/*.NewWithHalfOfSizeMax*"
VALGRIND_EXCLUDED+=":VecTest/*.FailuresLeaveTheVectorUnchanged:DifferentialTest/*"
VALGRIND_EXCLUDED+=":VecApiTest/*.ReserveExactRefusesTooMuch*"
VALGRIND_EXCLUDED+=":CommitCharge.*:PrefaultCharge.*:QuerySignal.*"
VALGRIND=(/usr/bin/valgrind --quiet --error-exitcode=99 --leak-check=full
    --errors-for-leak-kinds=definite --smc-check=all-non-file)

passed=0
failed=0
failures=()
query_errors=$(mktemp)
trap 'rm -f "$query_errors"' EXIT

# Runs one `bazel test` and records it as passed or failed under a name.
run() {
    local name=$1
    shift
    local start=$SECONDS
    echo "=== sanitize: $name"
    if bazel "${startup[@]}" test --keep_going "$@"; then
        passed=$((passed + 1))
        echo "=== sanitize: $name passed ($((SECONDS - start)) s)"
    else
        failed=$((failed + 1))
        failures+=("$name")
        echo "=== sanitize: $name FAILED ($((SECONDS - start)) s)"
    fi
}

begin=$SECONDS
for step in "${steps[@]}"; do
    case "$step" in
    asan | ubsan)
        combos=("${asan_combos[@]}")
        if [[ $step == ubsan ]]; then
            combos=("${ubsan_combos[@]}")
        fi
        for combo in "${combos[@]}"; do
            # The combination's config sets an output directory suffix of
            # its own; one for both keeps these outputs apart from the plain
            # runs' (tools/test.sh), so neither rebuilds the other's.
            # shellcheck disable=SC2086 # the combination's flags are split on purpose
            run "$step [$combo]" --config="$step" ${combo_flags[$combo]} \
                --platform_suffix="-$step-$combo" -- //...
        done
        if [[ $step == asan ]]; then
            run "asan [dual] //tests/dual:all" --config=asan --config=dual \
                --platform_suffix=-asan-dual -- //tests/dual:all
        fi
        ;;
    tsan)
        # The dual pair's threads and races, with the window widened
        # (tests/dual/dual_fault_test.cc), and the code arena's, in both of
        # its modes (Arena.Threads, ArenaFault's racing tests).
        run "tsan [dual] //tests/dual:all //tests/arena:all" --config=tsan --config=dual \
            --platform_suffix=-tsan-dual -- //tests/dual:all //tests/arena:all
        if $full; then
            run "tsan [rwx]" --config=tsan --config=rwx --platform_suffix=-tsan-rwx -- //...
        else
            # A failed query, or one that finds nothing, would leave a run of
            # no targets, which Bazel passes: either is a failure of its own.
            thread_tests=()
            query_status=0
            query_out=$(bazel "${startup[@]}" query \
                'attr(name, "threads|race", tests(//...))' 2>"$query_errors") || query_status=$?
            if [[ -n "$query_out" ]]; then
                mapfile -t thread_tests <<<"$query_out"
            fi
            if [[ $query_status -ne 0 || ${#thread_tests[@]} -eq 0 ]]; then
                echo "=== sanitize: tsan: the query for the thread tests" \
                    "exited with $query_status and found ${#thread_tests[@]} targets:" >&2
                cat "$query_errors" >&2
                failed=$((failed + 1))
                failures+=("tsan (no thread tests found)")
            else
                echo "=== sanitize: tsan: ${#thread_tests[@]} thread tests: ${thread_tests[*]}"
                run "tsan [rwx] ${thread_tests[*]}" --config=tsan --config=rwx \
                    --platform_suffix=-tsan-rwx -- "${thread_tests[@]}"
            fi
        fi
        ;;
    valgrind)
        for combo in "${valgrind_combos[@]}"; do
            # shellcheck disable=SC2086
            run "valgrind [$combo]" ${combo_flags[$combo]} --test_lang_filters=cc \
                --test_timeout=900 --run_under="${VALGRIND[*]}" \
                --test_env=GTEST_FILTER="-$VALGRIND_EXCLUDED" -- //...
        done
        ;;
    esac
done

if [[ $failed -gt 0 ]]; then
    echo "Failed: ${failures[*]}"
fi
echo "sanitize: $passed runs passed, $failed failed ($((SECONDS - begin)) s)"
[[ $failed -eq 0 ]]
