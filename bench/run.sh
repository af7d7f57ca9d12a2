#!/usr/bin/env bash
# Runs the benchmark suite of memory_pages (issue 5, docs/benchmarks.md):
# builds bench/ with -c opt and --config=dual, runs vec_bench (workloads 1,
# 2, 3, 4, 7, 8 of issue 11 and 9 of issue 13) and exec_bench (5, 6, dual)
# one after the other, then prints a table of every ratio against its goal
# and writes a PNG plot (bench/plot.py, with Debian's python3-matplotlib,
# installed here when missing).
#
# Usage: bench/run.sh [--tiny] [--rounds N] [--only W,...] [--out DIR]
#   --tiny     tiny sizes and one round: proves in seconds that every
#              benchmark builds, runs and checks its results (CI runs this);
#              its ratios judge nothing.
#   --rounds   rounds of every comparison; the best round counts (default 5).
#   --only     only these workloads, by their numbers in docs/benchmarks.md.
#   --out      where results.tsv and benchmarks.png go (default bench/results,
#              or a fresh temporary folder with --tiny, so that a tiny run
#              never replaces the recorded results).
# Environment:
#   MP_BAZEL_OUTPUT_ROOT  --output_user_root for Bazel (as tools/test.sh).
#
# The exit status is 0 when every benchmark ran and its results checked out;
# a missed goal is reported, not failed (timings are never asserted).
# Measure on a quiet machine: the load average is printed and recorded.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

tiny=false
out=""
bench_args=()
while [[ $# -gt 0 ]]; do
    case "$1" in
    --tiny)
        tiny=true
        bench_args+=(--tiny)
        ;;
    --rounds | --only)
        [[ $# -ge 2 ]] || {
            echo "bench/run.sh: $1 needs a value" >&2
            exit 2
        }
        bench_args+=("$1" "$2")
        shift
        ;;
    --out)
        [[ $# -ge 2 ]] || {
            echo "bench/run.sh: --out needs a folder" >&2
            exit 2
        }
        out="$2"
        shift
        ;;
    *)
        echo "usage: bench/run.sh [--tiny] [--rounds N] [--only W,...] [--out DIR]" >&2
        exit 2
        ;;
    esac
    shift
done
if [[ -z "$out" ]]; then
    if $tiny; then
        out=$(mktemp -d)
    else
        out="$root/bench/results"
    fi
fi
mkdir -p "$out"
tsv="$out/results.tsv"
png="$out/benchmarks.png"

tools/setup.sh
# The plot runs under Debian's own Python, which has Debian's matplotlib.
if ! /usr/bin/python3 -c "import matplotlib" 2>/dev/null; then
    as_root=()
    [[ $(id -u) -eq 0 ]] || as_root=(sudo)
    echo "bench/run.sh: installing python3-matplotlib"
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-matplotlib \
        </dev/null >/dev/null
fi

startup=()
if [[ -n "${MP_BAZEL_OUTPUT_ROOT:-}" ]]; then
    startup+=("--output_user_root=$MP_BAZEL_OUTPUT_ROOT")
fi
# -c opt is -O2; --config=dual gives the executable states that workloads 5
# and 6 need, and the dual pair of workload "dual" (it is exec plus
# allow_dual_map, which changes nothing else). No bazel-* links are made, so that this never moves the links
# of another build in the same tree.
build_flags=(-c opt --config=dual --symlink_prefix=/)
bazel "${startup[@]}" build "${build_flags[@]}" //bench:vec_bench //bench:exec_bench
bin=$(bazel "${startup[@]}" info "${build_flags[@]}" bazel-bin 2>/dev/null)

# Records one fact about the run as a "meta" line of the results file.
meta() {
    printf 'meta\t-\t%s\t-\t%s\t-\t-\t-\n' "$1" "$2" >>"$tsv"
}

: >"$tsv"
meta date "$(date -u +%Y-%m-%dT%H:%MZ)"
meta commit "$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
meta cpu "$(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) CPUs"
meta mode "$($tiny && echo tiny || echo full)"
meta "load before" "$(cut -d' ' -f1 /proc/loadavg)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"

status=0
"$bin/bench/vec_bench" "${bench_args[@]}" --tsv "$tsv" || status=1
"$bin/bench/exec_bench" "${bench_args[@]}" --tsv "$tsv" || status=1

meta "load after" "$(cut -d' ' -f1 /proc/loadavg)"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

MPLBACKEND=Agg /usr/bin/python3 bench/plot.py "$tsv" "$png" || status=1
echo "results: $tsv"
echo "plot: $png"
if [[ $status -ne 0 ]]; then
    echo "bench/run.sh: FAILED (see the messages above)" >&2
fi
exit $status
