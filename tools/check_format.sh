#!/usr/bin/env bash
# Checks that the tracked sources are formatted as committed:
#   - C and C++ (*.c *.h *.cc *.cpp, except tests/golden/, which holds
#     generator output kept byte for byte) with clang-format 14 and the
#     .clang-format at the root;
#   - BUILD, WORKSPACE, *.BUILD, *.bazel and *.bzl files with buildifier
#     8.2.1, which is fetched from npm (@bazel/buildifier) on first use into
#     a folder outside the repository.
# It names every file that would change and exits nonzero if there is one.
#
# Usage: tools/check_format.sh [--fix]
#   --fix  rewrites the files in place instead of checking them.
# Environment:
#   MP_TOOLS_DIR  where buildifier is installed
#                 (default: ~/.cache/memory_pages/tools).
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

fix=0
case "${1:-}" in
"") ;;
--fix) fix=1 ;;
*)
    echo "usage: tools/check_format.sh [--fix]" >&2
    exit 2
    ;;
esac

buildifier_version=8.2.1
clang_format_major=14

# clang-format: the versioned binary if there is one, else the default one
# if it is version 14; other versions lay code out differently.
clang_format=$(command -v "clang-format-$clang_format_major" || command -v clang-format || true)
if [[ -z "$clang_format" ]] ||
    ! "$clang_format" --version | grep -q "version $clang_format_major\."; then
    echo "check_format: clang-format $clang_format_major is missing (run tools/setup.sh)" >&2
    exit 1
fi

# buildifier: installed once per machine with npm, outside the repository.
tools_dir=${MP_TOOLS_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/memory_pages/tools}
prefix="$tools_dir/buildifier-$buildifier_version"
buildifier="$prefix/node_modules/.bin/buildifier"
if [[ ! -x "$buildifier" ]] || ! "$buildifier" --version 2>/dev/null | grep -q "$buildifier_version"; then
    if ! command -v npm >/dev/null 2>&1; then
        echo "check_format: npm is missing (run tools/setup.sh)" >&2
        exit 1
    fi
    echo "check_format: installing buildifier $buildifier_version into $prefix"
    mkdir -p "$prefix"
    npm install --prefix "$prefix" --no-audit --no-fund --loglevel=error \
        "@bazel/buildifier@$buildifier_version" </dev/null >/dev/null
fi
if ! "$buildifier" --version | grep -q "$buildifier_version"; then
    echo "check_format: $buildifier is not buildifier $buildifier_version" >&2
    exit 1
fi

mapfile -t c_files < <(git ls-files -- '*.c' '*.h' '*.cc' '*.cpp' ':!:tests/golden/**')
mapfile -t bazel_files < <(git ls-files -- 'BUILD' '*/BUILD' 'WORKSPACE' '*/WORKSPACE' \
    '*.BUILD' '*.bazel' '*.bzl')

if [[ $fix -eq 1 ]]; then
    if [[ ${#c_files[@]} -gt 0 ]]; then "$clang_format" -i -- "${c_files[@]}"; fi
    if [[ ${#bazel_files[@]} -gt 0 ]]; then "$buildifier" -- "${bazel_files[@]}"; fi
    echo "check_format: formatted ${#c_files[@]} C/C++ and ${#bazel_files[@]} Bazel files"
    exit 0
fi

drift=()
for file in "${c_files[@]}"; do
    if ! "$clang_format" --dry-run -Werror -- "$file" >/dev/null 2>&1; then
        drift+=("$file (clang-format)")
    fi
done
for file in "${bazel_files[@]}"; do
    if ! message=$("$buildifier" --mode=check -- "$file" 2>&1); then
        # "FILE # reformat" alone is drift; an error (a syntax error) is shown.
        case "$message" in
        *"error"*) drift+=("$file (buildifier: ${message%%$'\n'*})") ;;
        *) drift+=("$file (buildifier)") ;;
        esac
    fi
done

echo "check_format: ${#c_files[@]} C/C++ files, ${#bazel_files[@]} Bazel files checked"
if [[ ${#drift[@]} -gt 0 ]]; then
    echo "check_format: not formatted (tools/check_format.sh --fix rewrites them):" >&2
    printf '  %s\n' "${drift[@]}" >&2
    exit 1
fi
echo "check_format: no drift"
