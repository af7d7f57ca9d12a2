#!/usr/bin/env bash
# Runs the main job of memory_pages on this machine: installs what is missing
# (tools/setup.sh), then builds and runs, with Bazel:
#   1. //examples:pages_demo, a short tour of pages, permission states, stale
#      handles and a fault (default features);
#   2. //examples/jit:jit_demo, the main job: an arithmetic expression
#      compiled to machine code in mp_pages_rx, called through a checked
#      function reference, checked against an interpreter and timed
#      (--config=exec, since it needs executable pages).
#
# Usage: tools/demo.sh [EXPRESSION [--from A] [--to B] [--samples N] [--rounds N]]
#   Arguments go to jit_demo (docs/jit.md); without any, it compiles
#   "x*x - 3*x + 7" for x from -1000000 to 1000000.
# Environment:
#   MP_BAZEL_OUTPUT_ROOT  --output_user_root for Bazel (default: Bazel's own).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

tools/setup.sh

startup=()
if [[ -n "${MP_BAZEL_OUTPUT_ROOT:-}" ]]; then
    startup+=("--output_user_root=$MP_BAZEL_OUTPUT_ROOT")
fi

# Bazel's progress and INFO lines are left out so the demos' own output
# stands alone; warnings and errors still show.
quiet=(--noshow_progress --ui_event_filters=-info --show_result=0)

if [[ $# -eq 0 ]]; then
    set -- "x*x - 3*x + 7" --from -1000000 --to 1000000
fi

echo "=== Pages and permission states (//examples:pages_demo)"
bazel "${startup[@]}" run "${quiet[@]}" -- //examples:pages_demo

echo
echo "=== The JIT (//examples/jit:jit_demo, --config=exec)"
bazel "${startup[@]}" run "${quiet[@]}" --config=exec -- //examples/jit:jit_demo "$@"
