"""Runs the build-without-Bazel commands of docs/jit.md and docs/paged_vec.md.

Each document shows, in one ```sh block, how to generate the headers with
gen/mpgen.py and compile the runtime with a program `prog.c`. This test
copies the generator, the templates and the runtime into a scratch checkout,
writes a small prog.c (and the header it names) that uses what the block
generates, runs the block exactly as the document prints it, then runs the
program. So a document that names files that do not compile on this
platform (os_windows.c on Linux), or flags the generator does not take,
fails here. It needs a C compiler called `cc`, as the documents do.

Run by Bazel (bazel test //tests/gen:docs_build_test) or by hand from the
repository root: python3 tests/gen/docs_build_test.py
"""

import os
import re
import shutil
import subprocess
import tempfile
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")

# A program for the commands of docs/jit.md: a function reference made from
# executable pages goes stale when they are freed. It runs no generated
# code, so it is the same on every processor. It also checks that the
# documented command line kept W^X: no mp_pages_rwx.
JIT_PROG = r"""
#include <stdio.h>
#include "pkg/jit_fns.h"

int main(void) {
#if MP_HAVE_RWX || !MP_DENY_XW
    puts("prog: the documented build has writable and executable pages");
    return 1;
#else
    mp_pages_rw rw;
    mp_pages_rx rx;
    binop_fn f;
    if (mp_pages_rw_new(1, &rw) != MP_OK) return 2;
    if (mp_pages_rw_into_rx(&rw, &rx) != MP_OK) return 3;
    if (binop_fn_from(&rx, 0, &f) != MP_OK || !binop_fn_valid(&f)) return 4;
    if (mp_pages_rx_free(&rx) != MP_OK || binop_fn_valid(&f)) return 5;
    puts("prog: ok");
    return 0;
#endif
}
"""

# A program for the commands of docs/paged_vec.md, with the header they
# include: vectors of both declared types, and the default features.
VEC_PROG = r"""
#include <stdio.h>
#include "geometry/geometry_vecs.h"

int main(void) {
#if MP_ALLOW_EXEC || MP_HAVE_RX || !MP_DENY_XW
    puts("prog: the documented build is not the default one");
    return 1;
#else
    point_vec v;
    u32_vec u;
    struct point p = {3, 4};
    if (point_vec_new(&v) != MP_OK || u32_vec_new(&u) != MP_OK) return 5;
    if (point_vec_push(&v, p) != MP_OK || u32_vec_push(&u, 7) != MP_OK) return 2;
    if (point_vec_at(&v, 0)->y != 4 || *u32_vec_at(&u, 0) != 7) return 3;
    if (point_vec_free(&v) != MP_OK || u32_vec_free(&u) != MP_OK) return 4;
    puts("prog: ok");
    return 0;
#endif
}
"""
POINT_H = "struct point {\n    int x, y;\n};\n"


def build_commands(doc):
    """The ```sh block of docs/<doc> that runs `mpgen.py states`."""
    with open(os.path.join(ROOT, "docs", doc), encoding="utf-8") as f:
        blocks = re.findall(r"^```sh\n(.*?)^```$", f.read(), re.S | re.M)
    found = [b for b in blocks if "gen/mpgen.py states" in b]
    if len(found) != 1:
        raise AssertionError("docs/%s has %d sh blocks that run `mpgen.py states`, "
                             "not one" % (doc, len(found)))
    return found[0]


class DocumentedBuilds(unittest.TestCase):
    def run_documented_build(self, doc, files):
        commands = build_commands(doc)
        with tempfile.TemporaryDirectory() as tmp:
            for d in ("gen", "templates", "runtime"):
                # The runfiles are links; the checkout gets real files.
                shutil.copytree(os.path.join(ROOT, d), os.path.join(tmp, d), symlinks=False)
            for name, text in files.items():
                os.makedirs(os.path.dirname(os.path.join(tmp, name)), exist_ok=True)
                with open(os.path.join(tmp, name), "w", encoding="utf-8") as f:
                    f.write(text)
            build = subprocess.run(["sh", "-e", "-c", commands], cwd=tmp,
                                   capture_output=True, text=True)
            self.assertEqual(build.returncode, 0, "the commands of docs/%s fail:\n%s\n%s%s"
                             % (doc, commands, build.stdout, build.stderr))
            run = subprocess.run([os.path.join(tmp, "prog")], capture_output=True, text=True)
            self.assertEqual((run.returncode, run.stdout), (0, "prog: ok\n"),
                             "the program built by docs/%s: %s" % (doc, run.stderr))

    def test_jit_md_builds_and_runs(self):
        self.run_documented_build("jit.md", {"prog.c": JIT_PROG})

    def test_paged_vec_md_builds_and_runs(self):
        self.run_documented_build("paged_vec.md",
                                  {"prog.c": VEC_PROG, "geometry/point.h": POINT_H})


if __name__ == "__main__":
    unittest.main()
