"""Randomized input for the generator, gen/mpgen.py, in the manner of a fuzzer.

libFuzzer drives the generator through fuzz/gen_fuzz.cc, which embeds Python,
for a bounded time outside the tests (fuzz/run.sh); this test does the same job
within them, with a seeded random source: it builds thousands of command lines
for the `states`, `vec` and `fnref` subcommands from good and bad pieces
(names, element types, signatures, include paths, flags, output paths) and
mutations of them, runs the generator on each, and requires that

  - it either succeeds (exit 0, the output written, the same output on a second
    run) or refuses (exit 2, no output written, exactly one line on stderr,
    starting "mpgen.py: error: ", naming the text of a bad entry: each case
    records which of its pieces it made bad, and a refusal of a case with
    none is a failure too), and
  - it never raises: no traceback, no other exit status;
  - a sample of accepted vec and fnref inputs made of standard C types
    compiles, with the permission-state header of every feature combination,
    and the sample is not empty.

Most runs are in-process, through mpgen.main, for speed; a few go through the
command line to check the exit status a shell sees. Environment:
GEN_FUZZ_SEED (default 7) and GEN_FUZZ_CASES (default 1500) change the run.
"""

import contextlib
import io
import itertools
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

GEN_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "gen")
RUNTIME_INCLUDE = os.path.join(GEN_DIR, "..", "runtime", "include")
MPGEN = os.path.join(GEN_DIR, "mpgen.py")
sys.path.insert(0, GEN_DIR)

import mpgen  # noqa: E402  (needs the path above)

SEED = int(os.environ.get("GEN_FUZZ_SEED", "7"))
CASES = int(os.environ.get("GEN_FUZZ_CASES", "1500"))
COMPILE_SAMPLE = 9  # accepted inputs compiled per subcommand
CLI_SAMPLE = 15  # inputs run through the command line

GOOD_NAMES = ["point_vec", "u32_vec", "binop_fn", "tick", "V", "_x9", "a" * 60]
BAD_NAMES = [
    "", " ", "9lives", "int", "struct", "_Bool", "static_assert", "mp_vec", "MP_thing",
    "two words", "dash-name", "dot.name", "caf\u00e9", "x\ny", "tab\tname", "a=b", "$x",
    "\u0000", "'quote'", '"dq"', "\\",
]
# Element types the vec subcommand accepts, with the declarations they need.
STD_ELEMENT_TYPES = [
    "uint32_t", "int", "double", "char *", "const char *", "unsigned long long",
    "long double", "int8_t", "size_t", "void *", "bool", "_Bool", "unsigned", "short",
    "float",
]
OTHER_ELEMENT_TYPES = ["struct point", "struct point **", "union u", "enum e", "my_t"]
BAD_ELEMENT_TYPES = [
    "", "   ", "void", "const int", "volatile int", "int[3]", "int (*)(void)", "struct",
    "struct int", "*", "int * const", "_Atomic int", "typeof(x)", "int x", "static int",
    "struct a b", "int;", "int,", "caf\u00e9", "int *const *", "enum", "union",
    "int int", "long long long", "float long", "unsigned my_t", "_Complex", "signed unsigned",
    "short long", "long long double", "char _Complex", "struct point my_t",
    # Refused as docs/paged_vec.md says: no word after a '*', even where the
    # element itself would still be writable.
    "const void *const *",
]
WORDS = [
    "int", "char", "long", "short", "unsigned", "signed", "void", "const", "volatile",
    "restrict", "struct", "union", "enum", "float", "double", "_Bool", "bool", "size_t",
    "uint64_t", "my_t", "point", "static", "register", "_Atomic", "_Complex", "inline",
    "*", "*", "(", ")", ",", "...", "[", "]", "=", ";", "x", "0", "\u00e9", "\\", '"',
]
STD_SIGNATURES = [
    "int64_t(int64_t, int64_t)", "void(void)", "void()", "int32_t(void)",
    "double(double, double)", "const char *(void)", "void(int64_t *)",
    "unsigned(signed, long int, short unsigned int, long long)",
    "_Bool(char const * restrict, volatile int *const)", "long double(float, double)",
    "size_t(uintptr_t, int_fast8_t, uint_least64_t)", "void *(void *, size_t)",
]
OTHER_SIGNATURES = ["struct foo *(union bar **, enum baz *)", "my_type *(size_t)"]
BAD_SIGNATURES = [
    "", "int", "int(", "int)", "(int)", "int(int(int))", "int(...)", "int(int, ...)",
    "int(void, int)", "struct s(void)", "int(struct s)", "int(int x)", "int(,)",
    "int(int,)", "my_t(void)", "_Complex double(void)", "int(register int)",
    "int(int[3])", "int(*)(void)", "int(%s)" % ", ".join(["int"] * 17), "caf\u00e9(void)",
    "void(void) extra",
]
GOOD_INCLUDES = ["point.h", "a/b/c.h", "dir with space/x.h"]
# The basic type specifiers of C11 (6.7.2 paragraph 2), and bool of
# <stdbool.h>, written out here rather than taken from the generator, so that
# a word the generator forgot is tested too.
C11_BASIC_TYPE_SPECIFIERS = [
    "void", "char", "short", "int", "long", "float", "double", "signed", "unsigned",
    "_Bool", "_Complex", "bool",
]
BAD_INCLUDES = ["", 'q"uote.h', "new\nline.h", "back\\slash.h", "<stdio.h>"]


def pick(rng, good, bad, p_bad):
    """A good piece, or with probability p_bad a bad one."""
    return rng.choice(bad) if rng.random() < p_bad else rng.choice(good)


def random_words(rng):
    """A random sequence of type words and punctuation."""
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(0, 6)))


def mutate(rng, text):
    """Text with a random character inserted, deleted or replaced."""
    if not text or rng.random() < 0.3:
        return text + rng.choice(["*", ")", "(", ",", " ", "x", "\u00e9", "=", "\n"])
    i = rng.randrange(len(text))
    choice = rng.random()
    if choice < 0.33:
        return text[:i] + text[i + 1 :]
    if choice < 0.66:
        return text[:i] + rng.choice("()*, x_=;[]\\\"'\u00e9") + text[i + 1 :]
    return text[:i] + text[i] * 2 + text[i:]


class Case:
    """One generator input: its command line, and the pieces of it that were
    made bad (or may be bad), one of which a refusal must name."""

    def __init__(self, subcommand, args, pieces, std_types):
        self.subcommand = subcommand
        self.args = args
        self.pieces = pieces  # empty: every piece is good, so it must be accepted
        self.std_types = std_types  # only standard C types: compilable on its own

    def __repr__(self):
        return "mpgen.py %s %r" % (self.subcommand, self.args)


def entries_case(rng, subcommand, out):
    """A vec or fnref command line of one to four entries."""
    flag = "--vector" if subcommand == "vec" else "--signature"
    if subcommand == "vec":
        good, other, bad = STD_ELEMENT_TYPES, OTHER_ELEMENT_TYPES, BAD_ELEMENT_TYPES
    else:
        good, other, bad = STD_SIGNATURES, OTHER_SIGNATURES, BAD_SIGNATURES
    args, pieces = ["--out", out], []
    std_types = True
    names = []
    for _ in range(rng.randint(1, 4)):
        name = pick(rng, GOOD_NAMES, BAD_NAMES, 0.15)
        suspect = name in BAD_NAMES
        if names and rng.random() < 0.1:
            name = rng.choice(names)  # declared twice
        elif names and rng.random() < 0.1:
            name = rng.choice(names) + rng.choice(["_frozen", "_len", "_call", "_from"])
            suspect = True  # it may clash with what the other entry generates
        elif rng.random() < 0.3:
            name = "%s_%d" % (name, rng.randint(0, 99))
        # A name declared twice makes both entries suspect: the error may
        # name either declaration.
        twice = [n for n in names if n == name]
        suspect = suspect or bool(twice)
        names.append(name)
        roll = rng.random()
        if roll < 0.55:
            value = rng.choice(good)
        elif roll < 0.65:
            value, std_types = rng.choice(other), False
        elif roll < 0.8:
            value, suspect = rng.choice(bad), True
        elif roll < 0.9:
            value, std_types, suspect = mutate(rng, rng.choice(good)), False, True
        else:
            # Any identifier may be a typedef of the user's, so accepted
            # random words need not compile on their own.
            std_types, suspect = False, True
            value = random_words(rng) if subcommand == "vec" else "%s(%s)" % (
                random_words(rng),
                random_words(rng),
            )
        entry = "%s=%s" % (name, value)
        if rng.random() < 0.05:
            entry, suspect = rng.choice([name, "=" + value, name + "=", "=", ""]), True
        args += [flag, entry]
        if suspect:
            pieces += [name, value, entry] + [part.strip() for part in entry.partition("=")[::2]]
    for _ in range(rng.randint(0, 2)):
        include = pick(rng, GOOD_INCLUDES, BAD_INCLUDES, 0.3)
        args += ["--include", include]
        if include in BAD_INCLUDES:
            pieces.append(include)
    return Case(subcommand, args, pieces, std_types)


def states_case(rng, tmp):
    """A states command line with random features and output paths."""
    args = [f for f in ("--allow-exec", rng.choice(["--deny-xw", "--no-deny-xw"]))
            if rng.random() < 0.5]
    pieces = []
    for flag, name in (("--features", "features.h"), ("--header", "memory_pages.h")):
        if rng.random() < 0.05:
            pieces.append(flag)  # a required argument left out
            continue
        path = os.path.join(tmp, "memory_pages", name)
        if rng.random() < 0.05:
            path = rng.choice(["/proc/no/such/dir/x.h", tmp, "/dev/null/x.h"])
            pieces.append(path)
        args += [flag, path]
    return Case("states", args, pieces, True)


def argv_mutation(rng, case):
    """The case with its command line broken: a flag unknown or without value.
    The error may name the token inserted, deleted or appended, or a
    neighbour of it: the option before it, now without its value, or the
    argument after it, now without its option."""
    args = list(case.args)
    roll = rng.random()
    if roll < 0.4:
        k = rng.randint(0, len(args))
        token = rng.choice(["--bogus", "-x", "--out=", "--"])
        pieces = [token] + args[max(k - 1, 0) : k + 1]
        if token == "--out=":
            pieces.append("")  # an empty output path, quoted as ''
        args.insert(k, token)
    elif roll < 0.7 and args:
        k = rng.randrange(len(args))
        pieces = args[max(k - 1, 0) : k + 2]
        del args[k]
    else:
        token = rng.choice(["--vector", "--signature", "--include", "--out"])
        pieces = [token]
        args.append(token)
    return Case(case.subcommand, args, case.pieces + pieces, False)


def run_in_process(argv):
    """Runs mpgen.main(argv); returns (status, stderr). Raises what it raises."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = mpgen.main(argv)
    return status, err.getvalue()


def outputs_of(case):
    """The files a case writes when it succeeds."""
    a = case.args
    flags = ("--out",) if case.subcommand != "states" else ("--features", "--header")
    return [a[i + 1] for i in range(len(a) - 1) if a[i] in flags]


def names_a_piece(line, pieces):
    """Whether the error line names one of the pieces (the bad ones of its
    case), as given or as repr(). An empty piece is named by its repr, '';
    an output path also by the folder on its way that could not be made."""
    for piece in pieces:
        if not piece:
            if "''" in line:
                return True
        elif piece in line or repr(piece)[1:-1] in line or piece.replace("\n", "\\n") in line:
            return True
        elif piece.startswith("/"):
            folder = os.path.dirname(piece)
            while folder not in ("/", ""):
                if repr(folder) in line:
                    return True
                folder = os.path.dirname(folder)
    return False


def read_all(paths):
    """The bytes of each file of paths."""
    contents = []
    for path in paths:
        with open(path, "rb") as f:
            contents.append(f.read())
    return contents


class GeneratorFuzz(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="gen_fuzz_")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def fresh_dir(self, i):
        d = os.path.join(self.tmp, "case%d" % i)
        os.makedirs(d)
        return d

    def check(self, case, status, stderr):
        """Checks one run; returns True when the generator accepted it."""
        outputs = outputs_of(case)
        if status == 0:
            self.assertEqual(stderr, "", case)
            for path in outputs:
                with open(path, encoding="utf-8") as f:
                    self.assertIn("Do not edit.", f.readline(), case)
            return True
        self.assertEqual(status, 2, "%r: exit %r, stderr %r" % (case, status, stderr))
        self.assertTrue(stderr.endswith("\n"), "%r: %r" % (case, stderr))
        self.assertEqual(stderr.count("\n"), 1, "%r: not one line: %r" % (case, stderr))
        self.assertTrue(stderr.startswith("mpgen.py: error: "), "%r: %r" % (case, stderr))
        self.assertNotIn("Traceback", stderr, case)
        self.assertTrue(case.pieces, "%r: refused, but every piece of it is good: %r"
                        % (case, stderr))
        self.assertTrue(
            names_a_piece(stderr, case.pieces),
            "%r: the error names none of the bad pieces %r: %r" % (case, case.pieces, stderr),
        )
        # Input is checked before anything is written, and an output that
        # cannot be written stops the others too (states writes two files).
        for path in outputs:
            if os.path.isfile(path):
                self.fail("%r: refused, but wrote %s" % (case, path))
        return False

    def make_case(self, rng, i):
        d = self.fresh_dir(i)
        roll = rng.random()
        if roll < 0.15:
            case = states_case(rng, d)
        else:
            case = entries_case(rng, "vec" if roll < 0.6 else "fnref", os.path.join(d, "x.h"))
        if rng.random() < 0.08:
            case = argv_mutation(rng, case)
        return case

    def test_random_inputs(self):
        rng = random.Random(SEED)
        accepted, refused, repeated = 0, 0, 0
        to_compile = {"vec": [], "fnref": []}
        for i in range(CASES):
            case = self.make_case(rng, i)
            argv = [case.subcommand] + case.args
            try:
                status, stderr = run_in_process(argv)
            except BaseException as e:  # a traceback, whatever it is
                self.fail("%r raised %s: %s" % (case, type(e).__name__, e))
            if self.check(case, status, stderr):
                accepted += 1
                if i % 10 == 0:
                    # Deterministic output: a second run writes the same bytes.
                    first = read_all(outputs_of(case))
                    self.assertEqual(run_in_process(argv)[0], 0, case)
                    second = read_all(outputs_of(case))
                    self.assertEqual(first, second, "%r: output differs between runs" % case)
                    repeated += 1
                if case.subcommand in to_compile and case.std_types:
                    to_compile[case.subcommand].append(case)
            else:
                refused += 1
        self.assertGreater(accepted, CASES // 10, "too few inputs accepted to mean much")
        self.assertGreater(refused, CASES // 10, "too few inputs refused to mean much")
        compiled = self.compile_sample(rng, to_compile)
        # A sample that compiled nothing would check nothing: every kind of
        # header must have been compiled, and accepted, at least once.
        for subcommand, count in sorted(compiled.items()):
            self.assertGreater(count, 0, "no %s header was compiled" % subcommand)
        compiled = sum(compiled.values())
        cli = self.run_cli_sample(rng)
        print(
            "gen_fuzz: %d inputs (seed %d): %d accepted, %d refused with one line naming "
            "the entry, %d rerun identically, %d compiled, %d through the command line"
            % (CASES, SEED, accepted, refused, repeated, compiled, cli)
        )

    def compiler(self):
        """The C compiler to check generated code with."""
        cc = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
        if cc is None:
            self.fail("no C compiler on PATH to compile generated headers with")
        return cc

    def compile_sample(self, rng, to_compile):
        """Compiles some accepted headers; returns how many of each
        subcommand's headers compiled without an error."""
        cc = self.compiler()
        compiled = {subcommand: 0 for subcommand in to_compile}
        # The three feature combinations: default, exec, rwx.
        combos = [[], ["--allow-exec"], ["--allow-exec", "--no-deny-xw"]]
        for combo_index, combo in enumerate(combos):
            inc = os.path.join(self.tmp, "states%d" % combo_index)
            status, err = run_in_process(
                ["states"] + combo + [
                    "--features", os.path.join(inc, "memory_pages", "features.h"),
                    "--header", os.path.join(inc, "memory_pages", "memory_pages.h"),
                ]
            )
            self.assertEqual(status, 0, err)
            for subcommand, cases in sorted(to_compile.items()):
                if subcommand == "fnref" and not combo:
                    continue  # function references need allow_exec
                sample = rng.sample(cases, min(COMPILE_SAMPLE // len(combos) + 1, len(cases)))
                for case in sample:
                    header = outputs_of(case)[0]
                    source = header + ".c"
                    with open(source, "w", encoding="utf-8") as f:
                        f.write('#include "%s"\nint main(void) { return 0; }\n' % header)
                    # The case's includes name headers that do not exist:
                    # give each an empty file.
                    stub = os.path.join(self.tmp, "stubs%d" % sum(compiled.values()))
                    a = case.args
                    for hdr in [a[j + 1] for j in range(len(a) - 1) if a[j] == "--include"]:
                        path = os.path.join(stub, hdr)
                        os.makedirs(os.path.dirname(path), exist_ok=True)
                        open(path, "w").close()
                    proc = subprocess.run(
                        [cc, "-std=c11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only",
                         "-I", inc, "-I", RUNTIME_INCLUDE, "-I", stub, source],
                        capture_output=True,
                        text=True,
                    )
                    self.assertEqual(proc.returncode, 0, "%r, %s:\n%s" % (case, combo, proc.stderr))
                    compiled[subcommand] += 1
        return compiled

    def test_element_types_agree_with_the_compiler(self):
        """Every combination of up to three basic type specifiers (1884 of
        them): the vec subcommand accepts exactly those that a C11 compiler
        accepts as the type of an object."""
        import paged_vec

        words = sorted(C11_BASIC_TYPE_SPECIFIERS)
        combos = [c for n in (1, 2, 3) for c in itertools.product(words, repeat=n)]
        lines = ["#include <stdbool.h>"]
        accepted = {}  # source line -> (type, accepted)
        for i, combo in enumerate(combos):
            text = " ".join(combo)
            try:
                paged_vec.check_element_type("v", text)
                ok = True
            except mpgen.GenError:
                ok = False
            lines.append("static %s x_%d;" % (text, i))
            accepted[len(lines)] = (text, ok)
        source = os.path.join(self.tmp, "specifiers.c")
        with open(source, "w") as f:
            f.write("\n".join(lines) + "\n")
        proc = subprocess.run(
            [self.compiler(), "-std=c11", "-pedantic-errors", "-fsyntax-only", "-fmax-errors=0",
             source],
            capture_output=True, text=True,
        )
        errors = {int(m.group(1)) for m in re.finditer(r"specifiers\.c:(\d+):\d+: error", proc.stderr)}
        disagree = ["%r %s" % (text, "accepted, the compiler refuses" if ok else
                               "refused, the compiler accepts")
                    for line, (text, ok) in sorted(accepted.items()) if ok == (line in errors)]
        self.assertEqual([], disagree[:10], "%d of %d disagree" % (len(disagree), len(combos)))
        print("gen_fuzz: %d combinations of type specifiers, %d accepted, all as the C compiler"
              % (len(combos), sum(ok for _, ok in accepted.values())))

    def run_cli_sample(self, rng):
        """Runs some inputs through the command line: exit 0 or 2, never a traceback."""
        for i in range(CLI_SAMPLE):
            case = self.make_case(rng, CASES + i)
            retry = 0
            while any("\0" in arg for arg in case.args):
                # A NUL byte cannot be on a command line: take another case
                # (in a folder of its own).
                retry += 1
                case = self.make_case(rng, CASES + CLI_SAMPLE * retry + i)
            proc = subprocess.run(
                [sys.executable, MPGEN, case.subcommand] + case.args,
                capture_output=True,
                text=True,
            )
            self.check(case, proc.returncode, proc.stderr)
        return CLI_SAMPLE


if __name__ == "__main__":
    unittest.main()
