#!/usr/bin/env python3
"""Generates the type-specific C headers of memory_pages from Jinja2 templates.

Bazel runs it as the py_binary //gen:mpgen, through the rules in defs.bzl and
//:states_headers (`bazel run //gen:mpgen -- --help`); users of other build
systems run it by hand (see README.md). Each subcommand writes one set of
headers:

  states    memory_pages/features.h and memory_pages/memory_pages.h: the
            permission-state types that the build's features allow.
  vec       one header of PagedVec types, a vector and its frozen form for
            each --vector NAME=TYPE (gen/paged_vec.py).
  fnref     one header of typed function references, from --signature
            NAME="RET(ARG, ...)" entries (templates/fn_ref.h.j2).

Run `mpgen.py SUBCOMMAND --help` for a subcommand's arguments. The input is
checked before anything is written; a bad entry stops the run with one line on
stderr that names it, and exit status 2.
"""

import argparse
import os
import shlex
import sys

import jinja2

from fn_ref import add_fnref_command
from gencore import GenError, render, write
from paged_vec import add_vec_command

READ, WRITE, EXEC = 1, 2, 4
PROT_NAMES = ((READ, "MP__PROT_READ"), (WRITE, "MP__PROT_WRITE"), (EXEC, "MP__PROT_EXEC"))


class State:
    """One permission state: its name suffix and the access it grants."""

    def __init__(self, name, prot, access):
        self.name = name
        self.prot = prot
        self.access = access
        self.type = "mp_pages_" + name
        self.readable = bool(prot & READ)
        self.writable = bool(prot & WRITE)
        self.executable = bool(prot & EXEC)
        self.prot_expr = " | ".join(c for bit, c in PROT_NAMES if prot & bit) or "MP__PROT_NONE"


def permission_states(allow_exec, deny_xw):
    """Returns the states a build with these features has, in a fixed order."""
    states = [
        State("none", 0, "no access: any read or write faults"),
        State("r", READ, "read access"),
        State("rw", READ | WRITE, "read and write access"),
    ]
    if allow_exec:
        states.append(State("rx", READ | EXEC, "read and execute access"))
        if not deny_xw:
            states.append(State("rwx", READ | WRITE | EXEC, "read, write and execute access"))
    return states


def add_states_command(sub):
    p = sub.add_parser("states", help="the permission-state headers")
    # The defaults are Bazel's (//:allow_exec off, //:deny_xw on), so that a
    # command line that names no feature gets the secure build: no executable
    # state, and never a page writable and executable at once.
    p.add_argument(
        "--allow-exec",
        action="store_true",
        help="feature allow_exec: executable states (mp_pages_rx) exist; off by default",
    )
    xw = p.add_mutually_exclusive_group()
    xw.add_argument(
        "--no-deny-xw",
        dest="deny_xw",
        action="store_false",
        help="turn feature deny_xw off: with --allow-exec, mp_pages_rwx exists "
        "(Bazel's --//:deny_xw=false)",
    )
    # --deny-xw changes nothing; it stays for command lines that spell the
    # default out.
    xw.add_argument(
        "--deny-xw",
        dest="deny_xw",
        action="store_true",
        help="feature deny_xw, on by default: no page is ever writable and executable",
    )
    p.set_defaults(deny_xw=True)
    p.add_argument(
        "--allow-dual-map",
        action="store_true",
        help="feature allow_dual_map: with --allow-exec, mp_pages_dual (one memory mapped "
        "read-write and read-execute at two addresses) exists; off by default",
    )
    p.add_argument("--features", required=True, help="output: memory_pages/features.h")
    p.add_argument("--header", required=True, help="output: memory_pages/memory_pages.h")
    p.set_defaults(run=run_states)


def run_states(args):
    states = permission_states(args.allow_exec, args.deny_xw)
    features = {
        "allow_exec": args.allow_exec,
        "deny_xw": args.deny_xw,
        "have_rx": any(s.name == "rx" for s in states),
        "have_rwx": any(s.name == "rwx" for s in states),
        "allow_dual_map": args.allow_dual_map,
        # The dual pair runs code, so it needs allow_exec as well.
        "have_dual": args.allow_exec and args.allow_dual_map,
    }
    write(
        (args.features, render("features.h.j2", features=features)),
        (
            args.header,
            render(
                "memory_pages.h.j2",
                states=states,
                have_rx=features["have_rx"],
                have_dual=features["have_dual"],
            ),
        ),
    )


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, like the generator's own."""

    def error(self, message):
        raise GenError(message)

    def parse_args(self, args=None, namespace=None):
        # argparse joins unrecognized arguments with spaces as they are, so an
        # empty one names nothing and one with spaces reads as several: quote
        # each as a shell would ('' for the empty one).
        args, extras = self.parse_known_args(args, namespace)
        if extras:
            self.error("unrecognized arguments: %s" % " ".join(shlex.quote(a) for a in extras))
        return args


def main(argv):
    parser = Parser(prog="mpgen.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    add_states_command(sub)
    add_vec_command(sub)
    add_fnref_command(sub)
    try:
        args = parser.parse_args(argv)
        args.run(args)
    except (GenError, OSError, jinja2.TemplateError) as e:
        # One line, even when the message quotes input with line breaks in it
        # (argparse quotes unrecognized arguments as they are).
        message = str(e).replace("\r", "\\r").replace("\n", "\\n")
        print("mpgen.py: error: %s" % message, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
