#!/usr/bin/env python3
"""Judges the results that nc_compile.py recorded for a must-not-compile test.

    nc_check.py RESULTS.json

Passes (exit 0) when the control compiled, at least one case applied, every
case that applied failed to compile with output matching its nc-expect
regex, and every case applies in at least one of the feature combinations
the suite runs in (default, exec, rwx, dual): a case whose nc-when holds in none
of them would never be tested, in any run. Prints one line per case, saying
whether it ran, and the compiler's output for everything that went wrong.
"""

import json
import re
import sys

# Colour escapes that some toolchains make the compiler print.
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def main(argv):
    if len(argv) != 1:
        print("usage: nc_check.py RESULTS.json", file=sys.stderr)
        return 2
    with open(argv[0], encoding="utf-8") as f:
        results = json.load(f)
    for entry in [results["control"]] + results["cases"]:
        if "output" in entry:
            entry["output"] = _ANSI.sub("", entry["output"])

    problems = []
    print("must-not-compile cases of %s" % results["src"])
    print("command: %s" % " ".join(results["command"]))
    control = results["control"]
    if control["status"] == 0:
        print("  control (no case selected): compiles, as it must")
    else:
        print("  control (no case selected): FAILED to compile")
        problems.append("the control does not compile:\n" + control["output"])

    ran = 0
    for case in results["cases"]:
        name = case["name"]
        if not case["applies_in"]:
            print("  %-40s FAILED: never runs (nc-when: %s)" % (name, case["when"]))
            problems.append(
                "case %s: its nc-when (%s) holds in none of the feature combinations "
                "the suite runs in (%s), so no run ever tests it"
                % (name, case["when"], ", ".join(results["combinations"])))
        if not case["applies"]:
            print("  %-40s not applicable here (nc-when: %s)" % (name, case["when"]))
            continue
        ran += 1
        if case["status"] == 0:
            verdict = "FAILED: it compiles"
        elif re.search(case["expect"], case["output"]):
            verdict = "ok: fails with the expected diagnostic"
        else:
            verdict = "FAILED: fails, but without the expected diagnostic"
        print("  %-40s %s" % (name, verdict))
        if not verdict.startswith("ok"):
            problems.append("case %s: %s\n  expected: %s\n  compiler output:\n%s"
                            % (name, verdict, case["expect"], case["output"]))
    print("%d of %d cases ran in this configuration" % (ran, len(results["cases"])))
    if ran == 0:
        problems.append("no case applies in this configuration, so nothing was checked")

    for p in problems:
        print("\n" + p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
