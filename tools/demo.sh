#!/usr/bin/env bash
# Runs the main job of memory_pages on this machine: installs what is missing
# (tools/setup.sh), then builds and runs the demo with Bazel.
#
# The main job is //examples:pages_demo, a tour of pages and permission
# states, until the JIT demo (examples/jit) takes its place.
#
# Usage: tools/demo.sh [extra bazel run options...]
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

# Bazel's progress and INFO lines are left out so the demo's own output
# stands alone; warnings and errors still show.
bazel "${startup[@]}" run --noshow_progress --ui_event_filters=-info --show_result=0 "$@" -- \
    //examples:pages_demo
