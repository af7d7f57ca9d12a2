"""Tests of the must-not-compile machinery itself: nc_compile.py records,
and nc_check.py judges, small C files written here, compiled with `cc`
against a features header of the default combination (allow_exec off,
deny_xw on).

The check must fail a case whose nc-when holds in none of the feature
combinations the suite runs in (it would never be tested), a case that
compiles, and a case that fails with another diagnostic than its own; it
must pass a file whose cases that apply here fail as expected, even when
another case applies only in other combinations.

Run by Bazel (bazel test //tests/nc:nc_tool_test) or by hand from the
repository root: python3 tests/nc/nc_tool_test.py
"""

import os
import subprocess
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
NC_COMPILE = os.path.join(HERE, "nc_compile.py")
NC_CHECK = os.path.join(HERE, "nc_check.py")

FEATURES_H = """#define MP_ALLOW_EXEC 0
#define MP_DENY_XW 1
#define MP_HAVE_RX 0
#define MP_HAVE_RWX 0
"""

# The control, and a case that applies in the default combination and fails
# as it says. Each test adds a case of its own after them.
PROLOGUE = """#include "memory_pages/features.h"
int known(int x);
/* nc-case: unknown_function
 * nc-expect: implicit declaration of function 'unknown'
 */
#ifdef NC_CASE_unknown_function
int nc_case(void) { return unknown(1); }
#endif
"""


def case(name, when, expect, body):
    when_line = " * nc-when: %s\n" % when if when else ""
    return "/* nc-case: %s\n%s * nc-expect: %s\n */\n#ifdef NC_CASE_%s\n%s\n#endif\n" % (
        name, when_line, expect, name, body)


class NcTool(unittest.TestCase):
    def judge(self, extra):
        """Compiles PROLOGUE + extra and judges it; returns (status, report)."""
        with tempfile.TemporaryDirectory() as tmp:
            os.makedirs(os.path.join(tmp, "memory_pages"))
            with open(os.path.join(tmp, "memory_pages", "features.h"), "w") as f:
                f.write(FEATURES_H)
            src = os.path.join(tmp, "t_nc.c")
            with open(src, "w") as f:
                f.write(PROLOGUE + extra)
            results = os.path.join(tmp, "results.json")
            compile_run = subprocess.run(
                [sys.executable, NC_COMPILE, "--src", src, "--out", results, "--compiler", "cc",
                 "--", "-fsyntax-only", "-std=c11", "-Werror=implicit-function-declaration",
                 "-I", tmp],
                capture_output=True, text=True)
            self.assertEqual(compile_run.returncode, 0, compile_run.stderr)
            check = subprocess.run([sys.executable, NC_CHECK, results],
                                   capture_output=True, text=True)
        return check.returncode, check.stdout

    def test_cases_that_fail_as_expected_pass(self):
        status, report = self.judge(case(
            "rx_only", "MP_HAVE_RX", "implicit declaration of function 'rx_thing'",
            "int nc_case(void) { return rx_thing(); }"))
        self.assertEqual(status, 0, report)
        self.assertIn("rx_only", report)
        self.assertIn("not applicable here", report)

    def test_a_case_that_never_runs_fails(self):
        # rwx without allow_exec is no combination the suite runs in.
        status, report = self.judge(case(
            "rwx_without_exec", "MP_HAVE_RWX && !MP_ALLOW_EXEC",
            "implicit declaration of function 'x'", "int nc_case(void) { return x(); }"))
        self.assertEqual(status, 1, report)
        self.assertIn("case rwx_without_exec: its nc-when (MP_HAVE_RWX && !MP_ALLOW_EXEC) "
                      "holds in none of the feature combinations", report)

    def test_a_case_that_never_runs_fails_whatever_the_file_defines(self):
        # The file cannot fake a combination: the macros are set after its
        # includes, for each combination in turn.
        status, report = self.judge(
            "#undef MP_HAVE_RWX\n#define MP_HAVE_RWX 1\n"
            + case("deny_and_rwx", "MP_DENY_XW && MP_HAVE_RWX",
                   "implicit declaration of function 'x'", "int nc_case(void) { return x(); }"))
        self.assertEqual(status, 1, report)
        self.assertIn("deny_and_rwx", report)
        self.assertIn("no run ever tests it", report)

    def test_a_case_that_compiles_fails(self):
        status, report = self.judge(case(
            "compiles", "", "anything", "int nc_case(void) { return known(1); }"))
        self.assertEqual(status, 1, report)
        self.assertIn("FAILED: it compiles", report)

    def test_a_case_with_another_diagnostic_fails(self):
        status, report = self.judge(case(
            "wrong_function", "", "implicit declaration of function 'expected_name'",
            "int nc_case(void) { return other_name(1); }"))
        self.assertEqual(status, 1, report)
        self.assertIn("without the expected diagnostic", report)


if __name__ == "__main__":
    unittest.main()
