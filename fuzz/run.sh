#!/usr/bin/env bash
# Builds the libFuzzer targets of fuzz/ with clang, outside Bazel, and runs
# each for a bounded time over its committed corpus (fuzz/corpus/<target>).
#
# Targets:
#   vec   fuzz/vec_fuzz.cc: a PagedVec driven by operation sequences, checked
#         against a model, with OS calls failing through the fault-injection
#         table of tests/internals.
#   arena fuzz/arena_fuzz.cc: a code arena (issue 15), flip or dual, driven
#         by operation sequences against a model, with OS calls failing
#         through the fault-injection table; built with allow_exec and
#         allow_dual_map.
#   gen   fuzz/gen_fuzz.cc: the generator, gen/mpgen.py, run in an embedded
#         CPython (Debian's, the one Bazel runs it with) on command lines
#         decoded from the input, its contract checked by
#         fuzz/gen_fuzz_driver.py; the pairs of lines it runs are the coverage
#         libFuzzer sees; fuzz/gen.dict gives it the options and type words.
#         tests/reliability/gen_fuzz_test.py fuzzes the generator too, with a
#         seeded random source, as part of the tests.
#
# The runtime and the targets are built with AddressSanitizer and
# UndefinedBehaviorSanitizer (of gen, the C++ half: the interpreter is
# Debian's). New inputs go to a scratch folder, never into the repository; a
# crash prints the input that caused it (base64) and fails. Prints, per
# target, "fuzz: <target>: N executions in S s" and the target's own counts
# ("vec_fuzz: ...", "gen_fuzz: ..."), and exits non-zero if a target found a
# problem.
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
    # clang, and its libFuzzer and sanitizer runtimes; Python's headers and
    # library for the gen target.
    tools/setup.sh clang libclang-rt-dev python3-dev
fi
# Debian's Python, which the generator runs under in the build (with Debian's
# Jinja2); the python3-config first on PATH may belong to another Python.
python_config=/usr/bin/python3-config

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# The headers of the default features, and the vector types of the target.
gen="$work/gen"
python3 gen/mpgen.py states \
    --features "$gen/memory_pages/features.h" --header "$gen/memory_pages/memory_pages.h"
python3 gen/mpgen.py vec --out "$gen/fuzz_vecs.h" \
    --vector fz_odd=odd3 --vector fz_wide=wide4100 --include fuzz/elems.h

# The arena target's build: allow_exec and allow_dual_map, and its function
# reference type.
gen_exec="$work/gen_exec"
python3 gen/mpgen.py states --allow-exec --allow-dual-map \
    --features "$gen_exec/memory_pages/features.h" --header "$gen_exec/memory_pages/memory_pages.h"
python3 gen/mpgen.py fnref --out "$gen_exec/arena_fuzz_fns.h" \
    --signature binop_fn="int64_t(int64_t, int64_t)"

# shellcheck disable=SC2054 # the commas separate sanitizers, not elements
sanitize=(-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1)
includes=(-I "$root" -I "$root/runtime/include" -I "$gen")
# Every source of the runtime but the other platform's OS layer, as
# runtime/BUILD compiles them for Linux.
runtime_sources=()
for src in runtime/*.c; do
    [[ $src == runtime/os_windows.c ]] || runtime_sources+=("$src")
done

# Compiles the runtime and the fault injection against the headers in $2,
# into objects named $1*.o, and lists them in the array compiled_objects.
compile_runtime() {
    local prefix=$1 gen_dir=$2 src obj
    compiled_objects=()
    for src in "${runtime_sources[@]}" tests/internals/fault_injection.c; do
        obj="$work/$prefix$(basename "$src" .c).o"
        "$cc" -std=c11 -Wall -Wextra -Werror -fsanitize=fuzzer-no-link "${sanitize[@]}" \
            -DMP_FAULT_INJECTION -I "$root" -I "$root/runtime/include" -I "$gen_dir" \
            -c "$src" -o "$obj"
        compiled_objects+=("$obj")
    done
}
compile_runtime "" "$gen"
objects=("${compiled_objects[@]}")
# The runtime again for the arena target, with its features.
compile_runtime exec_ "$gen_exec"
exec_objects=("${compiled_objects[@]}")

targets=(vec arena gen)
status=0
for target in "${targets[@]}"; do
    bin="$work/${target}_fuzz"
    if [[ $target == gen ]]; then
        # Linked with the interpreter, and told where the driver is.
        read -r -a py_includes <<<"$("$python_config" --includes)"
        read -r -a py_libs <<<"$("$python_config" --embed --ldflags)"
        "$cxx" -std=c++17 -Wall -Wextra -Werror -fsanitize=fuzzer "${sanitize[@]}" \
            "${py_includes[@]}" -DGEN_FUZZ_ROOT="\"$root\"" fuzz/gen_fuzz.cc "${py_libs[@]}" \
            -o "$bin"
        # No leak check: the interpreter is never finalized and keeps what it
        # allocated (modules, interned strings, caches) until the process
        # ends, which LeakSanitizer would report as leaks at exit.
        asan_options=detect_leaks=0:handle_segv=1
    elif [[ $target == arena ]]; then
        "$cxx" -std=c++17 -Wall -Wextra -Werror -fsanitize=fuzzer "${sanitize[@]}" \
            -I "$root" -I "$root/runtime/include" -I "$gen_exec" fuzz/arena_fuzz.cc \
            "${exec_objects[@]}" -o "$bin"
        asan_options=detect_leaks=1:handle_segv=1
    else
        "$cxx" -std=c++17 -Wall -Wextra -Werror -fsanitize=fuzzer "${sanitize[@]}" \
            "${includes[@]}" "fuzz/${target}_fuzz.cc" "${objects[@]}" -o "$bin"
        asan_options=detect_leaks=1:handle_segv=1
    fi
    corpus="fuzz/corpus/$target"
    found="$work/found_$target"
    artifacts="$work/artifacts_$target"
    mkdir -p "$found" "$artifacts"
    log="$work/$target.log"
    start=$SECONDS
    run_status=0
    # The first folder receives new inputs; the committed corpus is read only.
    # TMPDIR: the gen target's scratch folder goes inside ours, removed with
    # it even when the target crashes.
    dict=()
    if [[ -f "fuzz/$target.dict" ]]; then
        dict=(-dict="fuzz/$target.dict")
    fi
    ASAN_OPTIONS=$asan_options TMPDIR="$work" "$bin" -max_total_time="$seconds" -timeout=20 \
        -max_len=4096 -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" \
        "$found" "$corpus" >"$log" 2>&1 || run_status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    echo "fuzz: $target: ${runs:-0} executions in $((SECONDS - start)) s" \
        "($(find "$corpus" -type f | wc -l) corpus inputs, $(find "$found" -type f | wc -l) new)"
    grep -E '^(vec|arena|gen)_fuzz: ' "$log" || true
    if [[ $run_status -ne 0 ]]; then
        status=1
        echo "fuzz: $target FAILED (exit $run_status); the end of its log:"
        tail -n 80 "$log"
        for artifact in "$artifacts"/*; do
            [[ -f "$artifact" ]] || continue
            echo "fuzz: input $(basename "$artifact"), base64:"
            base64 -w 0 "$artifact"
            echo
        done
    elif $merge; then
        ASAN_OPTIONS=$asan_options TMPDIR="$work" "$bin" -merge=1 "$corpus" "$found" \
            >"$work/merge.log" 2>&1
        echo "fuzz: $target: corpus now $(find "$corpus" -type f | wc -l) inputs"
    fi
done
exit $status
