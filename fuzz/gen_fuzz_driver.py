"""The Python half of fuzz/gen_fuzz.cc, the libFuzzer target of the generator.

An input is a command line of gen/mpgen.py: its arguments separated by NUL
bytes (a final NUL is allowed), decoded as UTF-8 with surrogateescape, as
Python decodes a real argv, so that any bytes can reach the generator. The
first argument is the subcommand, passed as it is, so that unknown ones are
fuzzed too. Every value of an output option (--out, --features, --header, or
any abbreviation of them that argparse would accept, also in the --opt=VALUE
form) is replaced by a path inside a scratch folder, so that the fuzzer never
writes anywhere else.

run_one() runs mpgen.main on the command line in-process and checks the
generator's contract:

  - main returns 0 (outputs written) or 2 (refused) and never raises; the
    SystemExit(0) of --help, after printing the help, is the one exception;
  - an accepted input writes nothing on stdout or stderr, and every file it
    writes starts with the generator's banner; run again, it writes the same
    bytes;
  - a refused input writes nothing on stdout, exactly one line on stderr that
    starts "mpgen.py: error: ", and no file, even when the refusal is an OS
    error met while writing one of several outputs.

A broken contract raises ContractBroken, whose message names the command line
and whose cause is the generator's own exception, if any.
"""

import contextlib
import io
import os
import shutil
import sys
import tempfile

GEN_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "gen")
sys.path.insert(0, GEN_DIR)

import gencore  # noqa: E402  (needs the path above)
import mpgen  # noqa: E402

OUTPUT_OPTIONS = ("--out", "--features", "--header")
ERROR_PREFIX = "mpgen.py: error: "
BANNER = "Do not edit."

# The scratch folder of this process, made by setup(); each input runs in a
# fresh folder "case" inside it.
scratch = None


class ContractBroken(Exception):
    """The generator did something its contract forbids."""


def setup():
    """Makes the scratch folder. Returns the path prefixes of the files whose
    lines the fuzzer traces: the generator's modules and its templates, whose
    compiled code Jinja2 names after the template file, its path normalized."""
    global scratch
    scratch = tempfile.mkdtemp(prefix="gen_fuzz_")
    templates = os.path.normpath(gencore.TEMPLATE_DIR)
    return (os.path.join(GEN_DIR, ""), os.path.join(templates, ""))


def cleanup():
    """Removes the scratch folder."""
    shutil.rmtree(scratch, ignore_errors=True)


def is_output_option(name):
    """Whether argparse would take name, an argument up to its first '=',
    for an output option: the option itself or an abbreviation of it
    (ambiguous ones included, which argparse refuses anyway)."""
    abbreviates = any(option.startswith(name) for option in OUTPUT_OPTIONS)
    return len(name) > 2 and name.startswith("--") and abbreviates


def confine(value, slot, case_dir):
    """A path inside case_dir for the output value given at argument slot.
    The value, with its '/' replaced, stays the file name: the generator
    derives an include guard from it, and a name too long for the OS is a
    refusal worth reaching. Names like '' or '..' make a folder the output,
    which the generator refuses with an OS error."""
    return os.path.join(case_dir, "out%d" % slot, value.replace("/", "_"))


def command_line(data, case_dir):
    """The argv of mpgen.main for the input data, outputs inside case_dir."""
    if data.endswith(b"\0"):
        data = data[:-1]
    argv = [piece.decode("utf-8", "surrogateescape") for piece in data.split(b"\0")] if data else []
    for i, arg in enumerate(argv):
        name, sep, value = arg.partition("=")
        if not is_output_option(name):
            continue
        if sep:
            argv[i] = name + "=" + confine(value, i, case_dir)
        elif i + 1 < len(argv):
            # Whatever follows, even another option: argparse might take it
            # as the value.
            argv[i + 1] = confine(argv[i + 1], i + 1, case_dir)
    return argv


def run_generator(argv):
    """Runs mpgen.main(argv) with stdout and stderr captured. Returns (status,
    stdout, stderr), status None for the SystemExit(0) of --help. Raises
    ContractBroken if main raises anything else."""
    out, err = io.StringIO(), io.StringIO()
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            status = mpgen.main(argv)
    except SystemExit as e:
        if e.code != 0:
            raise ContractBroken("mpgen.main(%r) raised SystemExit(%r)" % (argv, e.code)) from e
        status = None
    except BaseException as e:
        raise ContractBroken("mpgen.main(%r) raised %s" % (argv, type(e).__name__)) from e
    return status, out.getvalue(), err.getvalue()


def written(case_dir):
    """The files under case_dir, each path mapped to its bytes."""
    files = {}
    for folder, _, names in os.walk(case_dir):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as f:
                files[path] = f.read()
    return files


def run_one(data):
    """Runs and checks one input. Returns "accepted", "refused" or "help";
    raises ContractBroken."""
    case_dir = os.path.join(scratch, "case")
    shutil.rmtree(case_dir, ignore_errors=True)
    os.mkdir(case_dir)
    argv = command_line(data, case_dir)

    def require(ok, what, *details):
        if not ok:
            raise ContractBroken("mpgen.main(%r): %s" % (argv, what % details))

    status, out, err = run_generator(argv)
    if status is None:
        require(out and not err, "--help printed %r on stdout and %r on stderr", out, err)
        require(not written(case_dir), "--help wrote %r", written(case_dir))
        return "help"
    require(status in (0, 2), "returned %r, not 0 or 2", status)
    require(not out, "wrote %r on stdout", out)
    if status == 2:
        require(
            err.startswith(ERROR_PREFIX) and err.endswith("\n") and err.count("\n") == 1,
            "refused without one line starting %r: %r",
            ERROR_PREFIX,
            err,
        )
        require(not written(case_dir), "refused (%r), but wrote %r", err, written(case_dir))
        return "refused"
    require(not err, "accepted, but wrote %r on stderr", err)
    first = written(case_dir)
    require(first, "accepted, but wrote no file")
    for path, text in first.items():
        require(BANNER.encode() in text.split(b"\n", 1)[0], "wrote %s without the banner", path)
    again = run_generator(argv)
    require(again == (0, "", ""), "accepted once, then returned %r", again)
    require(written(case_dir) == first, "wrote different bytes when run again")
    return "accepted"
