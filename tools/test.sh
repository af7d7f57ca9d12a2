#!/usr/bin/env bash
# Runs the whole test suite of memory_pages: installs what is missing
# (tools/setup.sh), runs `bazel test //...` in each of the three feature
# combinations, then the outside-workspace test (tests/outside/run.sh).
#
# After each combination it prints what the reliability tests counted
# (faults injected, bad inputs tried, ...), from their logs. The last line it
# prints is "N passed, N failed": N counts test targets over
# the three combinations (a target that fails to build counts as failed), plus
# one for the outside-workspace test. A build failure outside any test target
# counts as one failure of its combination. The exit status is 0 only when
# nothing failed and at least one test ran.
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

# The feature combinations of shared/API.md section 3, as .bazelrc configs.
combos=(default exec rwx)
declare -A combo_flags=([default]="" [exec]="--config=exec" [rwx]="--config=rwx")

# Prints "<passed> <failed>" for one `bazel test` run, from its Build Event
# Protocol file ($1), combination ($2) and exit status ($3); lists every test
# that did not pass on stderr, every skipped one in the file $4, and the
# count lines of the test logs in the file $5. A test
# passes when its summary says PASSED or FLAKY; a test target with no summary
# failed to build or did not run, unless Bazel skipped it as incompatible with
# the build (a fn_ref test without allow_exec, say), which is not counted.
count_results() {
    python3 - "$@" <<'EOF'
import json
import re
import sys

bep_path, combo, exit_code, skipped_path, counts_path = sys.argv[1:6]
exit_code = int(exit_code)
tests, summaries, skipped, logs = set(), {}, set(), []
with open(bep_path) as bep:
    for line in bep:
        event = json.loads(line)
        event_id = event["id"]
        if "testResult" in event_id:
            for output in event.get("testResult", {}).get("testActionOutput", []):
                if output.get("name") == "test.log" and output.get("uri", "").startswith("file://"):
                    logs.append((event_id["testResult"]["label"], output["uri"][len("file://"):]))
        if "targetConfigured" in event_id:
            kind = event.get("configured", {}).get("targetKind", "")
            if kind.endswith("_test rule"):
                tests.add(event_id["targetConfigured"]["label"])
        elif "targetCompleted" in event_id:
            if event.get("aborted", {}).get("reason") == "SKIPPED":
                skipped.add(event_id["targetCompleted"]["label"])
        elif "testSummary" in event_id:
            label = event_id["testSummary"]["label"]
            summaries[label] = event["testSummary"].get("overallStatus", "NO_STATUS")

passed = failed = 0
with open(skipped_path, "a") as skipped_file:
    for label in sorted(tests):
        status = summaries.get(label)
        if status in ("PASSED", "FLAKY"):
            passed += 1
        elif status is None and label in skipped:
            print(f"  [{combo}] {label}", file=skipped_file)
        else:
            failed += 1
            print(f"  [{combo}] {label}: {status or 'FAILED TO BUILD / DID NOT RUN'}",
                  file=sys.stderr)
if exit_code != 0 and failed == 0:
    # Bazel failed, but no test target shows it: a non-test target failed to
    # build, a BUILD file failed to load, or no test target exists (exit 4).
    failed += 1
    print(f"  [{combo}] bazel test //... exited with {exit_code} outside any test", file=sys.stderr)
# The counts the reliability tests print (issue 7): faults injected, bad
# inputs tried, mappings and out-of-memory refusals, thread rounds, generator
# inputs.
count_line = re.compile(
    r"^\[ (faults|sweep) +\] .* in total$|^\[ (budget|oom|threads) +\] |^gen_fuzz: ")
with open(counts_path, "w") as counts:
    for label, path in sorted(logs):
        try:
            with open(path, errors="replace") as log:
                for text in log:
                    if count_line.match(text):
                        print(f"  {label}: {text.rstrip()}", file=counts)
        except OSError:
            pass  # a test that did not run has no log; its failure is counted above
print(passed, failed)
EOF
}

total_passed=0
total_failed=0
for combo in "${combos[@]}"; do
    echo "=== bazel test //... [$combo] ${combo_flags[$combo]}"
    bep="$work/bep_$combo.json"
    start=$SECONDS
    status=0
    # shellcheck disable=SC2086 # the combination's flags are split on purpose
    bazel "${startup[@]}" test --keep_going --build_event_json_file="$bep" \
        ${combo_flags[$combo]} "$@" -- //... || status=$?
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
        echo "=== [$combo] what the reliability tests counted"
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
