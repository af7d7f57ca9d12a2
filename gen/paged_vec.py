"""The `vec` subcommand of mpgen.py: PagedVec types (shared/API.md section 5).

    mpgen.py vec --out geometry_vecs.h --vector point_vec='struct point' \\
        --vector u32_vec=uint32_t --include geometry/point.h \\
        --vector 'name_vec={"type": "struct name", "drop": "name_drop"}'

writes one header with, for each vector V of element type T, the types V,
V_frozen and V_sealed and their functions: thin static inline wrappers over
the untyped vector core of the runtime (runtime/vec.c). An entry whose value
starts with '{' is a JSON object, the form paged_vec_library's dict entries
take: "type" (required), and the element type's "drop" and "clone" functions
(optional).
"""

import hashlib
import json
import os
import re

from gencore import C_KEYWORDS, TAGS, TYPE_SPECIFIERS, GenError, base_type
from gencore import check_include, check_type_name, parse_assignment, render, write

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# The generated functions of a vector V are V_<name> for these names, and
# those of its frozen form V_frozen_<name> for FROZEN_FUNCTIONS.
FUNCTIONS = (
    "new with_capacity new_opts len capacity data data_mut at at_mut push pop insert remove "
    "swap_remove extend truncate clear reserve reserve_exact push_within_capacity insert_n "
    "remove_range shrink_to_fit freeze free"
).split()
# Generated only when the elements can be copied: a type without a drop
# function, or one whose entry also names clone.
CLONING_FUNCTIONS = "resize clone".split()
# The keys of an entry written as a JSON object.
ENTRY_KEYS = ("type", "drop", "clone")
FROZEN_FUNCTIONS = "len data at free thaw seal".split()
# And those of its sealed form V_sealed (shared/API.md section 8).
SEALED_FUNCTIONS = "len data at".split()

# Keywords that may name an element type, and the qualifiers that may appear
# in one only to the left of a '*' (they qualify what a pointer points to:
# the elements themselves must be writable).
TYPE_KEYWORDS = TYPE_SPECIFIERS | frozenset(TAGS)
QUALIFIERS = frozenset("const volatile restrict _Atomic".split())
_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)|(\*))")


class Vector:
    """One vector type to generate: its name, C element type, and the names
    of the element type's drop and clone functions (None when it has none)."""

    def __init__(self, name, type_, drop=None, clone=None):
        self.name = name
        self.type = type_
        self.drop = drop
        self.clone = clone
        # What the template passes to the runtime.
        self.size = "sizeof(%s)" % type_
        self.drop_arg = name + "_elem_drop_" if drop else "NULL"
        self.clone_arg = name + "_elem_clone_" if clone else "NULL"
        self.has_clone = drop is None or clone is not None

    def generated_names(self):
        """Every identifier the header defines for this vector."""
        frozen = self.name + "_frozen"
        sealed = self.name + "_sealed"
        functions = FUNCTIONS + (CLONING_FUNCTIONS if self.has_clone else [])
        adapters = [self.drop_arg, self.clone_arg]
        return (
            [self.name, frozen, sealed, self.name + "_INIT"]
            + ["%s_%s" % (self.name, f) for f in functions]
            + ["%s_%s" % (frozen, f) for f in FROZEN_FUNCTIONS]
            + ["%s_%s" % (sealed, f) for f in SEALED_FUNCTIONS]
            + [a for a in adapters if a != "NULL"]
        )


def check_function_name(name, key, value):
    """Checks the drop or clone function that vector name's entry names."""
    if not isinstance(value, str):
        raise GenError("vector %r: %r must name a C function, not %s" % (name, key, json.dumps(value)))
    if not _IDENTIFIER.match(value) or value in C_KEYWORDS:
        raise GenError("vector %r: %s function %r is not a C identifier" % (name, key, value))
    return value


def parse_entry(name, value):
    """Parses the value of a vector entry: a C type, or a JSON object with
    "type" and optionally "drop" and "clone". Returns the Vector."""
    if not value.startswith("{"):
        return Vector(name, check_element_type(name, value))
    try:
        spec = json.loads(value)
    except ValueError as problem:
        raise GenError("vector %r: entry %r is not a JSON object: %s" % (name, value, problem))
    if not isinstance(spec, dict):
        raise GenError("vector %r: entry %r is not a JSON object" % (name, value))
    unknown = sorted(k for k in spec if k not in ENTRY_KEYS)
    if unknown:
        raise GenError(
            "vector %r: unknown key %r (an entry has %s)"
            % (name, unknown[0], ", ".join(repr(k) for k in ENTRY_KEYS))
        )
    type_ = spec.get("type")
    if not isinstance(type_, str):
        raise GenError("vector %r: \"type\" must be a C type, not %s" % (name, json.dumps(type_)))
    fns = {k: check_function_name(name, k, spec[k]) for k in ("drop", "clone") if k in spec}
    return Vector(name, check_element_type(name, type_), fns.get("drop"), fns.get("clone"))


def check_element_type(name, text):
    """Checks that text names a complete, writable C object type that fits in
    `T x;` and `T *p;`, and returns it with its spaces normalised.

    Accepted: identifiers and keywords of a type name, then any number of
    '*'. Arrays, function types and anything else need a typedef first.
    """
    tokens = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            if text[pos:].strip() == "":
                break
            raise GenError(
                "vector %r: element type %r is not a type name this generator accepts "
                "(identifiers, keywords and '*' only; use a typedef for arrays and functions)"
                % (name, text)
            )
        tokens.append(m.group(1) or m.group(2))
        pos = m.end()
    words = [t for t in tokens if t != "*"]
    if not words:
        raise GenError("vector %r: element type %r names no type" % (name, text))
    stars = tokens.index("*") if "*" in tokens else len(tokens)
    if any(t != "*" for t in tokens[stars:]):
        raise GenError(
            "vector %r: element type %r has a word after its '*': a qualifier there would "
            "make the elements read-only, and anything else is not a type" % (name, text)
        )
    base = tokens[:stars]
    for word in base:
        if word in QUALIFIERS:
            if stars == len(tokens):
                raise GenError(
                    "vector %r: element type %r is %s: a vector writes its elements"
                    % (name, text, word)
                )
        elif word in C_KEYWORDS and word not in TYPE_KEYWORDS:
            raise GenError("vector %r: element type %r contains the keyword %r" % (name, text, word))
    plain = [w for w in base if w not in QUALIFIERS]
    try:
        base_type(plain)
    except ValueError as problem:
        raise GenError("vector %r: element type %r is not a C type: %s" % (name, text, problem))
    if plain == ["void"] and stars == len(tokens):
        raise GenError("vector %r: element type 'void' has no size" % name)
    out = " ".join(base)
    if stars < len(tokens):
        out += " " + "".join(tokens[stars:])
    return out


def parse_vectors(entries):
    """Parses and checks NAME=TYPE entries; returns the vectors sorted by name."""
    taken = set()
    vectors = []
    for entry in entries:
        name, value = parse_assignment("vector", entry)
        check_type_name("vector", name, taken)
        vectors.append(parse_entry(name, value))
    # A vector's generated names must not meet another's: x_frozen is both a
    # vector of its own and the frozen form of x, x_len a vector and a function.
    owner = {}
    for v in sorted(vectors, key=lambda v: v.name):
        for generated in v.generated_names():
            other = owner.get(generated)
            if other is not None and other != v.name:
                raise GenError(
                    "vector %r generates %r, which vector %r also generates" % (v.name, generated, other)
                )
            owner[generated] = v.name
    return sorted(vectors, key=lambda v: v.name)


def include_guard(out, vectors):
    """A guard unique to the output's file name and its vectors, so that two
    headers of the same name in different packages can meet in one file."""
    stem = re.sub(r"[^A-Za-z0-9]", "_", os.path.basename(out)).upper()
    digest = hashlib.sha1(
        "\n".join("%s=%s %s %s" % (v.name, v.type, v.drop, v.clone) for v in vectors).encode("utf-8")
    ).hexdigest()[:8]
    return "MPGEN_VEC_%s_%s" % (stem, digest.upper())


def add_vec_command(sub):
    p = sub.add_parser("vec", help="PagedVec types, one per --vector")
    p.add_argument("--out", required=True, help="output: the header to write")
    p.add_argument(
        "--vector",
        action="append",
        required=True,
        metavar="NAME=TYPE",
        help="a vector type NAME of elements of the C type TYPE; repeatable. TYPE may be a "
        'JSON object {"type": TYPE, "drop": FN, "clone": FN} naming the functions '
        "void FN(TYPE *) run on every element the vector discards and "
        "mp_status FN(TYPE *dst, const TYPE *src) that copies one",
    )
    p.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="HDR",
        help='a header the element types need, written as #include "HDR"; repeatable',
    )
    p.set_defaults(run=run_vec)


def run_vec(args):
    vectors = parse_vectors(args.vector)
    includes = [check_include(h) for h in args.include]
    width = max(len(v.name) for v in vectors) + 2
    text = render(
        "paged_vec.h.j2",
        vectors=vectors,
        includes=includes,
        width=width,
        guard=include_guard(args.out, vectors),
    )
    write((args.out, text))
