#!/usr/bin/env python3
"""Counts the results of one `bazel test //...` run of tools/test.sh.

Usage: test_results.py BEP COMBO EXIT_CODE SKIPPED_FILE COUNTS_FILE EXPECTED NATIVE

  BEP           the run's Build Event Protocol file (--build_event_json_file)
  COMBO         the feature combination: default, exec, rwx or dual
  EXIT_CODE     bazel's exit status
  SKIPPED_FILE  gets a line for every target Bazel skipped as incompatible
  COUNTS_FILE   gets the count lines of the reliability tests' logs and the
                GoogleTest skips of the run, with their reasons
  EXPECTED      tools/expected_tests.txt: the targets each combination must run
  NATIVE        "native" when the run is a native x86-64 Linux run without
                valgrind, sanitizers or an emulator; anything else (the
                reason it is not) turns the native skip check off

Prints "<passed> <failed>" on stdout and every problem on stderr. A test
passes when its summary says PASSED or FLAKY. Each of these counts as one
failure:
  - a test target with no summary that Bazel did not skip as incompatible
    (it failed to build or did not run);
  - bazel failing outside any test target;
  - a target of EXPECTED for this combination that did not run (skipped as
    incompatible, or not in the build at all), a target that ran although
    EXPECTED does not list it for this combination, and a test target of
    //... that EXPECTED does not list at all;
  - in a native run, a GTEST_SKIP whose reason cannot hold there (see
    SKIP_REASONS below), or whose reason is in no class at all.
"""
import json
import re
import sys

COMBOS = ("default", "exec", "rwx", "dual")

# Every reason a GTEST_SKIP gives (grep -rn GTEST_SKIP tests examples), in
# classes: the regular expression that matches the reason, and the
# combinations of a native run (x86-64 Linux, no valgrind, no sanitizer, no
# emulator) in which that reason can be true. A skip in a native run whose
# reason's class does not include the run's combination fails the run: the
# test meant to check something here and did not. A skip whose reason
# matches no class fails a native run too, so that a new skip must be
# classified here before it may pass. The first class that matches decides.
SKIP_REASONS = [
    # The tools that some skips blame are not there natively: no emulator
    # (qemu-user, wine), no valgrind, no sanitizer runtime.
    (r"qemu|emulat|wine|valgrind|sanitizer", ()),
    # Facts that every Linux kernel gives: /proc/self/maps and smaps,
    # mincore, the RSS in /proc/self/status, and VmFlags for mlock and
    # madvise advice ("lo", "dd", "hg"; transparent huge pages present and
    # turned on is checked by its own skips first).
    (r"not linux|only linux has|windows does not have|no /proc/self/(maps|smaps)|no mappings view|which this os lacks|does not report which pages are"
     r" resident|cannot tell what is mapped|no way to read this process's rss|does not show"
     r" (in /proc/self/smaps )?here", ()),
    # tests/fn_ref/test_code.h has code for x86-64, and examples/jit a code
    # generator.
    (r"no (test code|code generator) for this architecture", ()),
    # The build decides: only the default build lacks executable pages, only
    # rwx allows every access, and rwx pages exist in rwx alone (dual is
    # exec with mp_pages_dual added).
    (r"no executable pages in this build", ("default",)),
    (r"no rwx pages in this build", ("default", "exec", "dual")),
    (r"this build allows every access", ("rwx",)),
    # mp_pages_dual exists in the dual combination alone.
    (r"no dual pairs in this build", ("default", "exec", "rwx")),
    (r"a build with deny_xw=false may have W\+X pages", ("rwx",)),
    # Limits and settings of the machine, which a native run may have:
    # RLIMIT_MEMLOCK (the tests probe mlock alone before they skip), the
    # kernel's transparent huge pages, the pool of reserved huge pages.
    (r"may not lock .* pages?:", COMBOS),
    (r"kernel has no transparent huge pages|transparent huge pages are turned off", COMBOS),
    # Memory sealing needs Linux 6.10+ on a 64-bit kernel (tests/seal): a
    # native run on an older kernel checks MP_ENOTSUP and skips the rest.
    (r"has no mseal \(linux 6\.10\+", COMBOS),
    # Placement asks for mappings one by one with PROCMAP_QUERY on Linux
    # 6.11+ (tests/internals/near_sys_fault_test.cc); an older kernel reads
    # the file, which every other placement test checks.
    (r"kernel has no procmap_query \(linux 6\.11\+", COMBOS),
    (r"no free huge page", COMBOS),
]

# The count lines the reliability tests print (issue 7): faults injected, bad
# inputs tried, mappings and out-of-memory refusals, thread rounds, generator
# inputs.
COUNT_LINE = re.compile(
    r"^\[ (faults|sweep) +\] .* in total$|^\[ (budget|oom|threads) +\] |^gen_fuzz: ")

# GoogleTest's output for a skipped test: "<file>:<line>: Skipped", the
# reason (one or more lines), then "[  SKIPPED ] Suite.Name (N ms)". The
# summary at the end lists the names again without the time; those lines
# are not counted.
SKIP_START = re.compile(r"^.*:\d+: Skipped$")
SKIP_END = re.compile(r"^\[  SKIPPED \] (\S+) \(\d+ ms\)$")


def read_expected(path):
    """Returns {label: set of combinations} from tools/expected_tests.txt."""
    expected = {}
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.split("#", 1)[0].split()
            if not line:
                continue
            label, combos = line[0], set(line[1:])
            unknown = combos - set(COMBOS)
            if not combos or unknown:
                raise SystemExit(f"{path}:{number}: {line[0]}: combinations must be from "
                                 f"{', '.join(COMBOS)}, not {' '.join(sorted(unknown)) or 'none'}")
            expected[label] = combos
    return expected


def skips_of_log(path):
    """Returns [(test name, reason)] for every GoogleTest skip in a test log."""
    skips, reason = [], None
    with open(path, errors="replace") as log:
        for text in log:
            text = text.rstrip("\n")
            end = SKIP_END.match(text)
            if end:
                skips.append((end.group(1), " ".join(reason or []).strip()))
                reason = None
            elif SKIP_START.match(text):
                reason = []
            elif reason is not None:
                reason.append(text.strip())
    return skips


def skip_problem(reason, combo):
    """Returns why a skip with this reason may not happen in a native run of
    combo, or None if it may."""
    for pattern, combos in SKIP_REASONS:
        if re.search(pattern, reason, re.IGNORECASE):
            if combo in combos:
                return None
            return f"cannot be true in a native {combo} run (class /{pattern}/)"
    return "matches no class of SKIP_REASONS in tools/test_results.py: classify it there"


def main():
    bep_path, combo, exit_code, skipped_path, counts_path, expected_path, native = sys.argv[1:8]
    exit_code = int(exit_code)
    expected = read_expected(expected_path)
    tests, summaries, skipped, logs = set(), {}, set(), []
    with open(bep_path) as bep:
        for line in bep:
            event = json.loads(line)
            event_id = event["id"]
            if "testResult" in event_id:
                for output in event.get("testResult", {}).get("testActionOutput", []):
                    uri = output.get("uri", "")
                    if output.get("name") == "test.log" and uri.startswith("file://"):
                        logs.append((event_id["testResult"]["label"], uri[len("file://"):]))
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

    def problem(text):
        print(f"  [{combo}] {text}", file=sys.stderr)

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
                problem(f"{label}: {status or 'FAILED TO BUILD / DID NOT RUN'}")
    if exit_code != 0 and failed == 0:
        # Bazel failed, but no test target shows it: a non-test target failed
        # to build, a BUILD file failed to load, or no test target exists.
        failed += 1
        problem(f"bazel test //... exited with {exit_code} outside any test")

    # The second source: what must run in this combination.
    must_run = {label for label, combos in expected.items() if combo in combos}
    for label in sorted(must_run):
        if label not in tests:
            failed += 1
            problem(f"{label}: listed in tools/expected_tests.txt, but not in the build")
        elif label in skipped and label not in summaries:
            failed += 1
            problem(f"{label}: must run in {combo} (tools/expected_tests.txt), but Bazel "
                    "skipped it as incompatible")
    for label in sorted(tests - must_run):
        if label not in expected:
            failed += 1
            problem(f"{label}: a test target that tools/expected_tests.txt does not list")
        elif label in summaries:
            failed += 1
            problem(f"{label}: ran in {combo}, where tools/expected_tests.txt says it cannot: "
                    "correct the list")

    # The reliability tests' counts, and every GoogleTest skip.
    skips = []
    with open(counts_path, "w") as counts:
        for label, path in sorted(logs):
            try:
                with open(path, errors="replace") as log:
                    for text in log:
                        if COUNT_LINE.match(text):
                            print(f"  {label}: {text.rstrip()}", file=counts)
                skips += [(label, name, reason) for name, reason in skips_of_log(path)]
            except OSError:
                pass  # a test that did not run has no log; its failure is counted above
        targets = len({label for label, _, _ in skips})
        print(f"  {len(skips)} GTEST_SKIPs in {targets} test targets", file=counts)
        for label, name, reason in skips:
            print(f"    {label} {name}: {reason}", file=counts)
    if native == "native":
        for label, name, reason in skips:
            why = skip_problem(reason, combo)
            if why is not None:
                failed += 1
                problem(f"{label} {name} skipped natively: \"{reason}\" {why}")
    print(passed, failed)


if __name__ == "__main__":
    main()
