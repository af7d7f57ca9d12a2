#!/usr/bin/env python3
"""Compiles the control and the must-not-compile cases of a C file (nc.bzl).

    nc_compile.py --src FILE.c --out RESULTS.json --compiler CC -- FLAGS...

Reads the cases from the comments of FILE.c (see nc.bzl), finds which of them
apply by preprocessing their nc-when conditions after the file itself (and
in which of the suite's feature combinations they would apply: a case that
applies in none is never tested, and nc_check.py fails it),
compiles the file once with no case selected (the control) and once per case
that applies, with -DNC_CASE_<name>, and writes every compiler result to
RESULTS.json for nc_check.py to judge. Compiler failures are results, not
errors: this exits non-zero only when the file's case comments are malformed
or the compiler cannot be run, with one line on stderr that says why.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

# A comment block that declares a case, and its fields.
_CASE_BLOCK = re.compile(r"/\*\s*nc-case:(.*?)\*/", re.S)
_FIELD = re.compile(r"^\s*\*?\s*(nc-[a-z]+):\s*(.*?)\s*$")
_CASE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


class CaseError(Exception):
    """A malformed case declaration, reported as one line."""


def parse_cases(text):
    """Returns the cases of a source file as dicts: name, when, expect."""
    cases = []
    for block in _CASE_BLOCK.finditer(text):
        fields = {}
        for line in ("nc-case:" + block.group(1)).splitlines():
            m = _FIELD.match(line)
            if not m:
                if line.strip(" *"):
                    raise CaseError("unexpected line in a case comment: %r" % line.strip())
                continue
            key, value = m.groups()
            if key not in ("nc-case", "nc-when", "nc-expect"):
                raise CaseError("unknown field %s in a case comment" % key)
            if key in fields:
                raise CaseError("field %s given twice in case %r" % (key, fields.get("nc-case")))
            fields[key] = value
        name = fields.get("nc-case", "")
        if not _CASE_NAME.match(name):
            raise CaseError("case name %r is not a C identifier" % name)
        if any(c["name"] == name for c in cases):
            raise CaseError("case %r is declared twice" % name)
        if not fields.get("nc-expect"):
            raise CaseError("case %r has no nc-expect" % name)
        try:
            re.compile(fields["nc-expect"])
        except re.error as e:
            raise CaseError("case %r: bad nc-expect regex: %s" % (name, e))
        if not re.search(r"#\s*(ifdef\s+NC_CASE_%s\b|if\s+defined\s*\(\s*NC_CASE_%s\s*\))"
                         % (name, name), text):
            raise CaseError("case %r has no #ifdef NC_CASE_%s block" % (name, name))
        cases.append({"name": name, "when": fields.get("nc-when", ""),
                      "expect": fields["nc-expect"]})
    declared = {c["name"] for c in cases}
    for used in sorted(set(re.findall(r"\bNC_CASE_([A-Za-z0-9_]+)", text)) - declared):
        raise CaseError("block NC_CASE_%s has no nc-case comment" % used)
    if not cases:
        raise CaseError("no nc-case comment found")
    return cases


def run(command):
    """Runs a compiler command; returns its exit status and its output."""
    p = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       universal_newlines=True, errors="replace")
    return p.returncode, p.stdout


# The feature combinations the test suite runs in (tools/test.sh runs it in
# each; shared/API.md section 3), with the value of each feature macro of
# memory_pages/features.h in it. A case runs only in the combinations whose
# macros make its nc-when hold, so one whose nc-when holds in none of these
# is never tested anywhere; nc_check.py fails it.
_NO_DUAL = {"MP_ALLOW_DUAL_MAP": 0, "MP_HAVE_DUAL": 0}
COMBINATIONS = (
    ("default", dict(_NO_DUAL, MP_ALLOW_EXEC=0, MP_DENY_XW=1, MP_HAVE_RX=0, MP_HAVE_RWX=0)),
    ("exec", dict(_NO_DUAL, MP_ALLOW_EXEC=1, MP_DENY_XW=1, MP_HAVE_RX=1, MP_HAVE_RWX=0)),
    ("rwx", dict(_NO_DUAL, MP_ALLOW_EXEC=1, MP_DENY_XW=0, MP_HAVE_RX=1, MP_HAVE_RWX=1)),
    # allow_exec and allow_dual_map (.bazelrc's --config=dual).
    ("dual", {"MP_ALLOW_EXEC": 1, "MP_DENY_XW": 1, "MP_HAVE_RX": 1, "MP_HAVE_RWX": 0,
              "MP_ALLOW_DUAL_MAP": 1, "MP_HAVE_DUAL": 1}),
)


def applicable(compiler, flags, src, cases):
    """Evaluates each case's nc-when after the file's own includes: with the
    feature macros of this build, and again with those of each combination
    of COMBINATIONS (redefined after the includes, so other macros the file
    defines keep their values). Returns (the names of the cases that apply
    here, {case name: the combinations it applies in}), or raises with the
    preprocessor's output when the conditions cannot be evaluated."""
    with tempfile.TemporaryDirectory() as tmp:
        probe = os.path.join(tmp, "nc_probe.c")
        with open(probe, "w") as f:
            f.write('#include "%s"\n' % os.path.abspath(src))
            for c in cases:
                f.write("#if %s\nnc_applies_%s\n#endif\n" % (c["when"] or "1", c["name"]))
            for combo, macros in COMBINATIONS:
                for macro, value in sorted(macros.items()):
                    f.write("#undef %s\n#define %s %d\n" % (macro, macro, value))
                for c in cases:
                    f.write("#if %s\nnc_in_%s_applies_%s\n#endif\n"
                            % (c["when"] or "1", combo, c["name"]))
        pre_flags = [x for x in flags if x != "-fsyntax-only"]
        status, output = run([compiler] + pre_flags + ["-E", "-P", probe])
    if status != 0:
        raise CaseError("the nc-when conditions do not preprocess:\n" + output)
    found = set(re.findall(r"\bnc_applies_([A-Za-z0-9_]+)\b", output))
    combos = {c["name"]: [] for c in cases}
    for combo, name in re.findall(r"\bnc_in_([a-z]+)_applies_([A-Za-z0-9_]+)\b", output):
        combos[name].append(combo)
    return [c["name"] for c in cases if c["name"] in found], combos


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--src", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--compiler", required=True)
    parser.add_argument("flags", nargs="*")
    args = parser.parse_args(argv)
    # The compiler's messages in plain ASCII English, whatever the host says.
    os.environ["LC_ALL"] = "C"

    try:
        with open(args.src, encoding="utf-8") as f:
            cases = parse_cases(f.read())
        compile_src = [args.compiler] + args.flags + [args.src]
        status, output = run(compile_src)
        results = {
            "src": args.src,
            "command": compile_src,
            "control": {"status": status, "output": output},
            "cases": [],
        }
        applies, combos = applicable(args.compiler, args.flags, args.src, cases)
        results["combinations"] = [combo for combo, _ in COMBINATIONS]
    except (CaseError, OSError) as e:
        print("nc_compile.py: %s: %s" % (args.src, e), file=sys.stderr)
        return 1

    for c in cases:
        entry = dict(c, applies=c["name"] in applies, applies_in=combos[c["name"]])
        if entry["applies"]:
            entry["status"], entry["output"] = run(
                [args.compiler] + args.flags + ["-DNC_CASE_" + c["name"], args.src])
        results["cases"].append(entry)
    with open(args.out, "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1, sort_keys=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
