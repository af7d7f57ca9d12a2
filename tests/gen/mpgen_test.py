"""Tests of the generator's command line and of its golden output.

Bad command lines stop mpgen.py with exactly one line on stderr that names
the problem, exit status 2, no Python traceback and no output; gencore's
checks name the bad entry; the output of `mpgen.py states` for the default
features, and of `mpgen.py vec` and `mpgen.py fnref` for the fixed inputs of
GOLDEN_RUNS, matches the golden files in tests/golden/ byte for byte, so a
template change shows up in review as a C diff; the output is the same on
every run; and the headers Bazel generated for this build are the
generator's output for the build's features.

Run by Bazel (bazel test //tests/gen:mpgen_test) or by hand from the
repository root:

    python3 tests/gen/mpgen_test.py               # run the tests
    python3 tests/gen/mpgen_test.py --regenerate  # rewrite tests/golden/
"""

import difflib
import os
import re
import subprocess
import sys
import tempfile
import unittest

# Paths inside the repository, which Bazel lays out the same way in the
# test's runfiles.
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
MPGEN = os.path.join(ROOT, "gen", "mpgen.py")
GOLDEN = os.path.join(ROOT, "tests", "golden")

# The default features (allow_exec off, deny_xw on) are what mpgen.py writes
# with no feature flag; the files it makes, relative to an include directory.
DEFAULT_FLAGS = []
OUTPUTS = ("memory_pages/features.h", "memory_pages/memory_pages.h")

# The vector and function-reference headers kept as golden files: for each,
# its path under tests/golden/ and the mpgen.py arguments that make it (the
# output, --out, is added). The inputs are fixed, and cover a vector of a
# scalar, of a struct (with an --include) and of a pointer, and a function
# reference of every signature shape the generator accepts: a void return,
# no arguments written `(void)` and `()`, sixteen arguments (the most),
# pointers and const pointers, struct, union, enum and typedef pointers (the
# --include declares the last two), float, double, long double and bool.
# The drop-hook golden has a vector whose elements have drop and clone
# functions and one with drop only (no _clone, no _resize), written as the
# JSON entries paged_vec_library passes.
GOLDEN_RUNS = (
    (
        "vec/golden_vecs.h",
        [
            "vec",
            "--vector", "u32_vec=uint32_t",
            "--vector", "point_vec=struct point",
            "--vector", "name_vec=const char *",
            "--include", "tests/vec/point.h",
        ],
    ),
    (
        "vec/golden_drop_vecs.h",
        [
            "vec",
            "--vector", 'res_vec={"type": "res", "drop": "res_drop", "clone": "res_clone"}',
            "--vector", 'res_move_vec={"drop": "res_drop", "type": "res"}',
            "--include", "tests/vec/drop_elem.h",
        ],
    ),
    (
        "fn_ref/golden_fns.h",
        [
            "fnref",
            "--signature", "tick_fn=void(void)",
            "--signature", "noarg_fn=int32_t()",
            "--signature", "many_fn=int64_t(int8_t, uint16_t, int, unsigned long, long long, "
            "size_t, intptr_t, char, short, unsigned, int32_t, uint64_t, ptrdiff_t, "
            "int_fast8_t, uint_least32_t, wchar_t)",
            "--signature", "ptr_fn=char *(const char *, void *, const void *const *, "
            "char *restrict)",
            "--signature", "node_fn=struct node *(struct node *, const union tag *, "
            "enum color *, my_type **)",
            "--signature", "float_fn=double(double, float, long double)",
            "--signature", "pred_fn=bool(bool, _Bool)",
            "--include", "pkg/my_types.h",
        ],
    ),
)

# Every feature combination: (allow_exec, deny_xw).
COMBINATIONS = [(False, True), (True, True), (True, False), (False, False)]

sys.path.insert(0, os.path.join(ROOT, "gen"))
import gencore  # noqa: E402  (found through the path above)


def flags_for(allow_exec, deny_xw, allow_dual_map=False):
    """The mpgen.py flags of a feature combination, each feature spelled out."""
    return (
        (["--allow-exec"] if allow_exec else [])
        + (["--deny-xw"] if deny_xw else ["--no-deny-xw"])
        + (["--allow-dual-map"] if allow_dual_map else [])
    )


def feature_macros(features_h):
    """The MP_* feature macros that a features.h (bytes) defines, as strings."""
    return dict(re.findall(r"^#define (MP_\w+) (\d)$", features_h.decode(), re.M))


def state_types(header):
    """The mp_pages_* state types that a memory_pages.h (bytes) defines."""
    return re.findall(r"^typedef struct mp_pages_(\w+) \{", header.decode(), re.M)


def run_mpgen(args, cwd=None, env=None):
    """Runs mpgen.py; returns (exit status, stdout, stderr)."""
    p = subprocess.run(
        [sys.executable, MPGEN] + args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        cwd=cwd,
        env=env,
    )
    return p.returncode, p.stdout, p.stderr


def generate_states(flags, out_dir, env=None):
    """Runs `mpgen.py states` into out_dir; returns {output name: bytes}."""
    paths = [os.path.join(out_dir, name) for name in OUTPUTS]
    status, _, stderr = run_mpgen(
        ["states"] + flags + ["--features", paths[0], "--header", paths[1]], env=env
    )
    if status != 0:
        raise AssertionError("mpgen.py states %s failed: %s" % (" ".join(flags), stderr))
    result = {}
    for name, path in zip(OUTPUTS, paths):
        with open(path, "rb") as f:
            result[name] = f.read()
    return result


def generate_golden_runs(out_dir, env=None):
    """Runs mpgen.py for each entry of GOLDEN_RUNS, writing into out_dir;
    returns {path under tests/golden/: bytes}."""
    result = {}
    for name, args in GOLDEN_RUNS:
        path = os.path.join(out_dir, name)
        status, _, stderr = run_mpgen(args + ["--out", path], env=env)
        if status != 0:
            raise AssertionError("mpgen.py %s for %s failed: %s" % (args[0], name, stderr))
        with open(path, "rb") as f:
            result[name] = f.read()
    return result


def diff(want, got, name):
    lines = difflib.unified_diff(
        want.decode("utf-8").splitlines(True),
        got.decode("utf-8").splitlines(True),
        "golden/" + name,
        "generated/" + name,
    )
    return "".join(lines)


class BadCommandLines(unittest.TestCase):
    """Each bad command line gives one line on stderr and exit status 2."""

    def check_error(self, args, *names):
        """Runs mpgen.py with args in a fresh folder ({tmp} in args and names
        stands for it); expects a one-line error mentioning every string of
        names, and no file written."""
        with tempfile.TemporaryDirectory() as tmp:
            args = [a.replace("{tmp}", tmp) for a in args]
            status, stdout, stderr = run_mpgen(args, cwd=tmp)
            written = sorted(os.listdir(tmp))
        self.assertEqual(status, 2, "args %r, stderr %r" % (args, stderr))
        self.assertEqual(stdout, "", "args %r" % args)
        self.assertNotIn("Traceback", stderr)
        self.assertEqual(stderr.count("\n"), 1, "not one line: %r" % stderr)
        self.assertTrue(stderr.endswith("\n"), repr(stderr))
        self.assertTrue(stderr.startswith("mpgen.py: error: "), repr(stderr))
        for name in names:
            self.assertIn(name.replace("{tmp}", tmp), stderr, "args %r" % args)
        self.assertEqual(written, [], "a failed run wrote %s" % written)

    def test_no_subcommand(self):
        self.check_error([], "command")

    def test_unknown_subcommand(self):
        self.check_error(["frobnicate"], "frobnicate")

    def test_states_without_outputs(self):
        self.check_error(["states"], "--features", "--header")

    def test_states_without_header(self):
        self.check_error(["states", "--features", "f.h"], "--header")

    def test_option_without_its_value(self):
        self.check_error(["states", "--header", "h.h", "--features"], "--features")

    def test_unknown_option(self):
        self.check_error(["states", "--features", "f.h", "--header", "h.h", "--bogus"], "--bogus")

    def test_value_given_to_a_switch(self):
        self.check_error(
            ["states", "--allow-exec=yes", "--features", "f.h", "--header", "h.h"],
            "--allow-exec",
        )

    def test_stray_argument(self):
        self.check_error(["states", "--features", "f.h", "--header", "h.h", "extra"], "extra")

    def test_stray_arguments_are_quoted(self):
        # An empty stray argument, or one with a space, is still visible.
        self.check_error(["states", "--features", "f.h", "--header", "h.h", ""],
                         "unrecognized arguments: ''")
        self.check_error(["states", "--features", "f.h", "--header", "h.h", "two words"],
                         "unrecognized arguments: 'two words'")

    def test_unwritable_output(self):
        # The output is an existing folder, which cannot be opened as a file.
        self.check_error(["states", "--features", "{tmp}", "--header", "{tmp}/h.h"], "{tmp}")

    def test_deny_xw_and_its_opposite_together(self):
        self.check_error(
            ["states", "--deny-xw", "--no-deny-xw", "--features", "f.h", "--header", "h.h"],
            "--deny-xw",
            "--no-deny-xw",
        )

    def test_help_is_not_an_error(self):
        status, stdout, stderr = run_mpgen(["states", "--help"])
        self.assertEqual(status, 0, stderr)
        self.assertIn("--allow-exec", stdout)
        self.assertEqual(stderr, "")


class EntryChecks(unittest.TestCase):
    """gencore's checks of user entries, shared by the vec and fnref
    subcommands: each error is one line that names the bad entry."""

    def check_gen_error(self, call, *names):
        with self.assertRaises(gencore.GenError) as caught:
            call()
        message = str(caught.exception)
        self.assertNotIn("\n", message)
        for name in names:
            self.assertIn(name, message)

    def test_accepts_a_fresh_identifier(self):
        taken = set()
        gencore.check_type_name("vector", "point_vec", taken)
        self.assertEqual(taken, {"point_vec"})

    def test_rejects_what_is_not_an_identifier(self):
        for bad in ["", "1abc", "a-b", "a b", "a.b", "caf\u00e9", "a\nb"]:
            self.check_gen_error(
                lambda: gencore.check_type_name("vector", bad, set()), "vector", repr(bad)
            )

    def test_rejects_keywords(self):
        for bad in ["int", "struct", "_Bool", "bool", "typeof"]:
            self.check_gen_error(lambda: gencore.check_type_name("signature", bad, set()), bad)

    def test_rejects_the_reserved_prefix(self):
        for bad in ["mp_vec", "MP_thing", "Mp_x"]:
            self.check_gen_error(lambda: gencore.check_type_name("vector", bad, set()), bad)

    def test_rejects_a_name_declared_twice(self):
        taken = set()
        gencore.check_type_name("vector", "v", taken)
        self.check_gen_error(lambda: gencore.check_type_name("vector", "v", taken), "'v'", "twice")

    def test_splits_an_assignment(self):
        self.assertEqual(
            gencore.parse_assignment("vector", " v = struct point "), ("v", "struct point")
        )
        self.assertEqual(gencore.parse_assignment("vector", "v=a=b"), ("v", "a=b"))

    def test_rejects_an_assignment_without_a_value(self):
        for bad in ["v", "v=", "v=  ", ""]:
            self.check_gen_error(lambda: gencore.parse_assignment("vector", bad), repr(bad))


class StatesOutput(unittest.TestCase):
    """What `mpgen.py states` generates for each feature combination."""

    def generate(self, allow_exec, deny_xw):
        with tempfile.TemporaryDirectory() as tmp:
            return generate_states(flags_for(allow_exec, deny_xw), tmp)

    def test_default_output_matches_the_golden_files(self):
        check_golden(self, self.generate(False, True))

    def test_output_is_the_same_on_every_run(self):
        for allow_exec, deny_xw in COMBINATIONS:
            runs = []
            for seed in ("0", "4242"):
                env = dict(os.environ, PYTHONHASHSEED=seed)
                with tempfile.TemporaryDirectory() as tmp:
                    runs.append(generate_states(flags_for(allow_exec, deny_xw), tmp, env))
            for other in runs[1:]:
                self.assertEqual(runs[0], other, "features %s" % ((allow_exec, deny_xw),))

    def test_each_combination_has_exactly_its_states(self):
        expected = {
            (False, True): ["none", "r", "rw", "r_sealed"],
            (False, False): ["none", "r", "rw", "r_sealed"],
            (True, True): ["none", "r", "rw", "rx", "r_sealed", "rx_sealed"],
            (True, False): ["none", "r", "rw", "rx", "rwx", "r_sealed", "rx_sealed"],
        }
        for features, states in expected.items():
            header = self.generate(*features)["memory_pages/memory_pages.h"].decode()
            found = re.findall(r"^typedef struct mp_pages_(\w+) \{", header, re.M)
            self.assertEqual(found, states, "features %s" % (features,))

    def test_features_header_matches_the_flags(self):
        for allow_exec, deny_xw in COMBINATIONS:
            text = self.generate(allow_exec, deny_xw)["memory_pages/features.h"].decode()
            macros = dict(re.findall(r"^#define (MP_\w+) (\d)$", text, re.M))
            self.assertEqual(
                macros,
                {
                    "MP_ALLOW_EXEC": str(int(allow_exec)),
                    "MP_DENY_XW": str(int(deny_xw)),
                    "MP_HAVE_RX": str(int(allow_exec)),
                    "MP_HAVE_RWX": str(int(allow_exec and not deny_xw)),
                    "MP_ALLOW_DUAL_MAP": "0",
                    "MP_HAVE_DUAL": "0",
                },
            )

    def test_functions_follow_the_access_of_each_state(self):
        header = self.generate(True, False)["memory_pages/memory_pages.h"].decode()
        functions = set(re.findall(r"\b(mp_pages_\w+)\(", header))
        states = {"none": "", "r": "r", "rw": "rw", "rx": "rx", "rwx": "rwx"}
        for s, access in states.items():
            t = "mp_pages_" + s
            for f in ("new", "new_opts", "len", "free", "advise"):
                self.assertIn("%s_%s" % (t, f), functions)
            self.assertEqual(t + "_data" in functions, "r" in access, t)
            self.assertEqual(t + "_data_mut" in functions, "w" in access, t)
            self.assertEqual(t + "_discard" in functions, s == "rw", t)
            for other in states:
                self.assertEqual(t + "_into_" + other in functions, other != s, t)

    def test_outputs_carry_the_do_not_edit_banner(self):
        got = self.generate(False, True)
        for name, template in zip(OUTPUTS, ("features.h.j2", "memory_pages.h.j2")):
            first = got[name].decode().splitlines()[0]
            self.assertIn("templates/" + template, first)
            self.assertIn("gen/mpgen.py", first)
            self.assertIn("Do not edit", first)


def check_golden(test, got):
    """Asserts that each output of got ({path under tests/golden/: bytes})
    is its golden file, byte for byte."""
    for name in sorted(got):
        with open(os.path.join(GOLDEN, name), "rb") as f:
            want = f.read()
        test.assertTrue(
            want == got[name],
            "%s differs from tests/golden/%s; if the change is intended, run "
            "`python3 tests/gen/mpgen_test.py --regenerate` and review the diff:\n%s"
            % (name, name, diff(want, got[name], name)),
        )


class VecAndFnRefOutput(unittest.TestCase):
    """What `mpgen.py vec` and `mpgen.py fnref` generate for the fixed
    inputs of GOLDEN_RUNS."""

    def generate(self, env=None):
        with tempfile.TemporaryDirectory() as tmp:
            return generate_golden_runs(tmp, env)

    def test_output_matches_the_golden_files(self):
        check_golden(self, self.generate())

    def test_output_is_the_same_on_every_run(self):
        runs = [self.generate(dict(os.environ, PYTHONHASHSEED=seed)) for seed in ("0", "4242")]
        self.assertEqual(runs[0], runs[1])

    def test_outputs_carry_the_do_not_edit_banner(self):
        got = self.generate()
        for name, args in GOLDEN_RUNS:
            template = {"vec": "paged_vec.h.j2", "fnref": "fn_ref.h.j2"}[args[0]]
            first = got[name].decode().splitlines()[0]
            self.assertEqual(
                first,
                "/* Generated by gen/mpgen.py from templates/%s. Do not edit. */" % template,
            )

    def test_every_function_has_a_one_line_comment(self):
        # The full text is in docs/paged_vec.md and docs/jit.md; the header
        # keeps a one-line summary above each function, for IDE hovers.
        for name, text in sorted(self.generate().items()):
            lines = text.decode().splitlines()
            functions = [i for i, line in enumerate(lines) if line.startswith("static inline ")]
            self.assertTrue(functions, name)
            for i in functions:
                above = lines[i - 1]
                self.assertTrue(
                    above.startswith("/* ") and above.endswith(" */"),
                    "%s: no one-line comment above %r" % (name, lines[i]),
                )


class SecureDefaults(unittest.TestCase):
    """The command line's defaults are Bazel's (//:allow_exec off, //:deny_xw
    on): a command line that leaves a feature out gets the secure setting,
    and only an explicit --no-deny-xw gives pages that are writable and
    executable at once."""

    def generate(self, flags):
        with tempfile.TemporaryDirectory() as tmp:
            got = generate_states(flags, tmp)
        return feature_macros(got[OUTPUTS[0]]), state_types(got[OUTPUTS[1]]), got[OUTPUTS[1]]

    def test_no_flag_gives_neither_exec_nor_rwx(self):
        macros, states, header = self.generate([])
        self.assertEqual(
            macros,
            {"MP_ALLOW_EXEC": "0", "MP_DENY_XW": "1", "MP_HAVE_RX": "0", "MP_HAVE_RWX": "0",
             "MP_ALLOW_DUAL_MAP": "0", "MP_HAVE_DUAL": "0"},
        )
        self.assertEqual(states, ["none", "r", "rw", "r_sealed"])
        self.assertNotIn(b"mp_pages_rx", header)
        self.assertNotIn(b"mp_pages_rwx", header)

    def test_allow_exec_alone_keeps_deny_xw(self):
        macros, states, header = self.generate(["--allow-exec"])
        self.assertEqual(
            macros,
            {"MP_ALLOW_EXEC": "1", "MP_DENY_XW": "1", "MP_HAVE_RX": "1", "MP_HAVE_RWX": "0",
             "MP_ALLOW_DUAL_MAP": "0", "MP_HAVE_DUAL": "0"},
        )
        self.assertEqual(states, ["none", "r", "rw", "rx", "r_sealed", "rx_sealed"])
        self.assertNotIn(b"mp_pages_rwx", header)

    def test_no_deny_xw_is_the_only_way_to_rwx(self):
        macros, states, header = self.generate(["--allow-exec", "--no-deny-xw"])
        self.assertEqual(
            macros,
            {"MP_ALLOW_EXEC": "1", "MP_DENY_XW": "0", "MP_HAVE_RX": "1", "MP_HAVE_RWX": "1",
             "MP_ALLOW_DUAL_MAP": "0", "MP_HAVE_DUAL": "0"},
        )
        self.assertEqual(states, ["none", "r", "rw", "rx", "rwx", "r_sealed", "rx_sealed"])
        self.assertIn(b"mp_pages_rwx_data_mut", header)

    def test_deny_xw_spelled_out_changes_nothing(self):
        # Command lines written when --deny-xw had to be given keep working
        # and mean what they meant.
        for base in ([], ["--allow-exec"]):
            self.assertEqual(self.generate(base + ["--deny-xw"]), self.generate(base))

    def test_no_deny_xw_without_allow_exec_gives_no_executable_state(self):
        # As Bazel's deny_xw=false alone: it changes only the macro.
        macros, states, _ = self.generate(["--no-deny-xw"])
        self.assertEqual(macros["MP_DENY_XW"], "0")
        self.assertEqual(macros["MP_HAVE_RX"], "0")
        self.assertEqual(macros["MP_HAVE_RWX"], "0")
        self.assertEqual(states, ["none", "r", "rw", "r_sealed"])


class DualMapping(unittest.TestCase):
    """--allow-dual-map gives mp_pages_dual only together with --allow-exec,
    whatever deny_xw says, and nothing else changes."""

    def generate(self, flags):
        with tempfile.TemporaryDirectory() as tmp:
            got = generate_states(flags, tmp)
        return feature_macros(got[OUTPUTS[0]]), got[OUTPUTS[1]]

    def test_alone_gives_no_dual_type(self):
        macros, header = self.generate(["--allow-dual-map"])
        self.assertEqual(macros["MP_ALLOW_DUAL_MAP"], "1")
        self.assertEqual(macros["MP_HAVE_DUAL"], "0")
        self.assertNotIn(b"mp_pages_dual", header)
        self.assertNotIn(b"internal/dual.h", header)

    def test_with_allow_exec_gives_the_dual_type_and_its_functions(self):
        for deny_xw in (True, False):
            macros, header = self.generate(flags_for(True, deny_xw, True))
            self.assertEqual(macros["MP_HAVE_DUAL"], "1")
            functions = set(re.findall(r"\b(mp_pages_dual\w*)\(", header.decode()))
            self.assertEqual(
                functions,
                {
                    "mp_pages_dual_" + f
                    for f in ("new", "new_opts", "len", "data_mut", "code", "sync", "into_rx",
                              "free")
                },
            )
            # Everything else is as without the flag.
            without = self.generate(flags_for(True, deny_xw))[1].decode()
            self.assertEqual(state_types(header)[:-1], state_types(without.encode()))
            self.assertEqual(state_types(header)[-1], "dual")

    def test_default_stays_off(self):
        macros, _ = self.generate([])
        self.assertEqual(macros["MP_ALLOW_DUAL_MAP"], "0")


class BazelOutput(unittest.TestCase):
    """The headers that //:states_headers made for this build (given as test
    data) are exactly what the generator makes for the build's features."""

    def test_bazel_headers_are_the_generator_output_for_these_features(self):
        if "TEST_SRCDIR" not in os.environ:
            self.skipTest("only under `bazel test`, which builds the headers")
        built = {}
        for name in OUTPUTS:
            with open(os.path.join(ROOT, name), "rb") as f:
                built[name] = f.read()
        macros = dict(
            re.findall(r"^#define (MP_\w+) (\d)$", built[OUTPUTS[0]].decode(), re.M)
        )
        allow_exec = macros["MP_ALLOW_EXEC"] == "1"
        deny_xw = macros["MP_DENY_XW"] == "1"
        dual = macros["MP_ALLOW_DUAL_MAP"] == "1"
        with tempfile.TemporaryDirectory() as tmp:
            want = generate_states(flags_for(allow_exec, deny_xw, dual), tmp)
        for name in OUTPUTS:
            self.assertTrue(want[name] == built[name], diff(want[name], built[name], name))


def regenerate():
    """Rewrites the golden files: the states headers for the default
    features, and the headers of GOLDEN_RUNS."""
    got = generate_states(DEFAULT_FLAGS, GOLDEN)
    got.update(generate_golden_runs(GOLDEN))
    for name in sorted(got):
        print("wrote tests/golden/%s" % name)


if __name__ == "__main__":
    if sys.argv[1:] == ["--regenerate"]:
        regenerate()
    else:
        unittest.main()
