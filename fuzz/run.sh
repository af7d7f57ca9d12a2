#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang, outside Bazel, and runs
# each for a bounded time over its committed corpus (fuzz/corpus/<target>).
#
# Targets:
#   vec   fuzz/vec_fuzz.cc: a PagedVec driven by operation sequences, checked
#         against a model, with OS calls failing through the fault-injection
#         table of tests/internals.
# The generator's input is fuzzed by tests/reliability/gen_fuzz_test.py
# instead: the generator is Python, which libFuzzer cannot drive.
#
# The runtime and the target are built with AddressSanitizer and
# UndefinedBehaviorSanitizer. New inputs go to a scratch folder, never into
# the repository; a crash prints the input that caused it (base64) and fails.
# Prints, per target, "fuzz: <target>: N executions in S s" and exits
# non-zero if a target found a problem.
#
# Usage: fuzz/run.sh [SECONDS]          run each target for SECONDS (default 60)
#        fuzz/run.sh --merge SECONDS    run, then merge what the run found into
#                                       fuzz/corpus/<target> (minimized), for a
#                                       maintainer to commit
# Environment: CLANG, CLANGXX (default clang, clang++).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

merge=false
if [[ "${1:-}" == "--merge" ]]; then
    merge=true
    shift
fi
seconds=${1:-60}
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [[ "$seconds" -eq 0 ]]; then
    echo "usage: fuzz/run.sh [--merge] [SECONDS]" >&2
    exit 2
fi
cc=${CLANG:-clang}
cxx=${CLANGXX:-clang++}
if [[ -z "${CLANG:-}" ]]; then
    # clang, and its libFuzzer and sanitizer runtimes.
    tools/setup.sh clang libclang-rt-dev
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The headers of the default features, and the vector types of the target.
gen="$work/gen"
python3 gen/mpgen.py states --deny-xw \
    --features "$gen/memory_pages/features.h" --header "$gen/memory_pages/memory_pages.h"
python3 gen/mpgen.py vec --out "$gen/fuzz_vecs.h" \
    --vector fz_odd=odd3 --vector fz_wide=wide4100 --include fuzz/elems.h

# shellcheck disable=SC2054 # the commas separate sanitizers, not elements
sanitize=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1)
includes=(-I "$root" -I "$root/runtime/include" -I "$gen")
objects=()
for src in runtime/fn_ref.c runtime/jit_probe.c runtime/os_posix.c runtime/pages.c \
    runtime/registry.c runtime/status.c runtime/vec.c tests/internals/fault_injection.c; do
    obj="$work/$(basename "$src" .c).o"
    "$cc" -std=c11 -Wall -Wextra -Werror -fsanitize=fuzzer-no-link "${sanitize[@]}" \
        "${includes[@]}" -c "$src" -o "$obj"
    objects+=("$obj")
done

targets=(vec)
status=0
for target in "${targets[@]}"; do
    bin="$work/${target}_fuzz"
    "$cxx" -std=c++17 -Wall -Wextra -Werror -fsanitize=fuzzer "${sanitize[@]}" "${includes[@]}" \
        "fuzz/${target}_fuzz.cc" "${objects[@]}" -o "$bin"
    corpus="fuzz/corpus/$target"
    found="$work/found_$target"
    mkdir -p "$found" "$work/artifacts"
    log="$work/$target.log"
    start=$SECONDS
    run_status=0
    # The first folder receives new inputs; the committed corpus is read only.
    ASAN_OPTIONS=detect_leaks=1:handle_segv=1 "$bin" -max_total_time="$seconds" -timeout=20 \
        -max_len=4096 -print_final_stats=1 -artifact_prefix="$work/artifacts/" \
        "$found" "$corpus" >"$log" 2>&1 || run_status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    echo "fuzz: $target: ${runs:-0} executions in $((SECONDS - start)) s" \
        "($(find "$corpus" -type f | wc -l) corpus inputs, $(find "$found" -type f | wc -l) new)"
    grep -E '^vec_fuzz: ' "$log" || true
    if [[ $run_status -ne 0 ]]; then
        status=1
        echo "fuzz: $target FAILED (exit $run_status); the end of its log:"
        tail -n 60 "$log"
        for artifact in "$work"/artifacts/*; do
            [[ -f "$artifact" ]] || continue
            echo "fuzz: input $(basename "$artifact"), base64:"
            base64 -w 0 "$artifact"
            echo
        done
    elif $merge; then
        "$bin" -merge=1 "$corpus" "$found" >"$work/merge.log" 2>&1
        echo "fuzz: $target: corpus now $(find "$corpus" -type f | wc -l) inputs"
    fi
done
exit $status
