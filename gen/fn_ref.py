"""The `fnref` subcommand of mpgen.py: typed function references.

Each --signature NAME=SIG entry, SIG being "RET(ARG, ...)", becomes a type
NAME with NAME_from, NAME_from_rx_sealed, NAME_from_span (a span of a code
arena), NAME_valid, NAME_call, NAME_raw, NAME_from_rwx in builds where mp_pages_rwx exists (shared/API.md sections 4
and 8), and NAME_from_dual in builds where mp_pages_dual exists (section 8).
A signature has 0 to 16 arguments; the return type and every argument are
integer, floating-point or pointer types, or void (as the return type, or as
the whole argument list).
Anything else (structs or unions by value, arrays, function pointers,
variadic functions, typedef names the generator cannot classify) is refused
with one line naming the signature.
"""

import re

from gencore import TAGS, TYPE_SPECIFIERS, GenError, base_type
from gencore import check_include, check_type_name, parse_assignment, render, write

MAX_ARGS = 16
# The functions generated for each signature NAME are NAME followed by these.
FUNCTION_SUFFIXES = (
    "_from",
    "_from_rx_sealed",
    "_from_rwx",
    "_from_span",
    "_valid",
    "_call",
    "_raw",
)
# And NAME_from_dual, in builds where mp_pages_dual exists.
FUNCTION_SUFFIXES += ("_from_dual",)

# Typedef names of the C standard library that name integer types. A typedef
# of the user's own is accepted only behind a pointer, since the generator
# cannot tell what it stands for.
STD_INTEGER_TYPEDEFS = frozenset(
    ["size_t", "ptrdiff_t", "wchar_t", "intptr_t", "uintptr_t", "intmax_t", "uintmax_t"]
    + [
        "%s%s%d_t" % (sign, kind, bits)
        for sign in ("", "u")
        for kind in ("int", "int_least", "int_fast")
        for bits in (8, 16, 32, 64)
    ]
)

QUALIFIERS = frozenset(["const", "volatile", "restrict"])
# Words that can never appear in a supported parameter type.
REFUSED_WORDS = frozenset(["_Complex", "_Imaginary", "_Atomic", "register", "static", "inline"])

_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)|(\*)|(\S))")


class CType:
    """One parameter or return type: its C spelling and its kind."""

    def __init__(self, text, kind, tags=()):
        self.text = text
        self.kind = kind  # "void", "integer", "floating" or "pointer"
        self.tags = tags  # (keyword, tag) of structs and unions it points to


class Signature:
    """One function-reference type to generate."""

    def __init__(self, name, ret, args):
        self.name = name
        self.ret = ret
        self.args = args

    @property
    def spelling(self):
        """The signature as the generated code spells it."""
        return "%s(%s)" % (self.ret.text, ", ".join(a.text for a in self.args) or "void")

    @property
    def params(self):
        """The C parameters of NAME_call after the reference, as text."""
        params = [_declarator(a.text) + "a%d" % i for i, a in enumerate(self.args)]
        if self.ret.kind != "void":
            params.append(_declarator(self.ret.text) + "*ret")
        return params

    def raw_declarator(self, inner):
        """Declares inner (say "(**out)") as the function type, pointed to as inner says."""
        return "%s%s(%s)" % (
            _declarator(self.ret.text),
            inner,
            ", ".join(a.text for a in self.args) or "void",
        )

    @property
    def raw_cast(self):
        """The code pointer of a reference f, as a pointer to the signature."""
        return "(%s)f->ref_.code" % self.raw_declarator("(*)")

    @property
    def call(self):
        """The C expression that calls the code of a reference f."""
        args = ", ".join("a%d" % i for i in range(len(self.args)))
        return "(%s)(%s)" % (self.raw_cast, args)


def _declarator(type_text):
    """Returns type_text ready to be followed by a name: "char *" stays, "int" gets no space."""
    return type_text if type_text.endswith("*") else type_text + " "


def _tokenize(text, fail):
    tokens = []
    for m in _TOKEN.finditer(text):
        word, star, other = m.groups()
        if other is not None:
            fail("unexpected %r" % other)
        if word is not None or star is not None:
            tokens.append(word or star)
    return tokens


def _base_type(words, fail):
    """Classifies the specifiers of a type without its pointers.

    Returns (C spelling, kind, tags); kind is "void", "integer", "floating",
    or "opaque" for a struct, union or typedef name that only a pointer may
    point to.
    """
    try:
        spelling, kind = base_type(words)
    except ValueError as problem:
        named = len(words) > 1 and words[-1] not in TYPE_SPECIFIERS | frozenset(TAGS)
        hint = " (parameter names are not allowed)" if named else ""
        fail("%r is not a valid type%s: %s" % (" ".join(words), hint, problem))
    if kind == "tagged":
        tags = ((words[0], words[1]),) if words[0] != "enum" else ()
        return spelling, "opaque", tags
    if kind == "typedef":
        return spelling, "integer" if spelling in STD_INTEGER_TYPEDEFS else "opaque", ()
    return spelling, kind, ()


def parse_type(text, fail):
    """Parses one return or parameter type; fail(message) raises."""
    tokens = _tokenize(text, fail)
    for t in tokens:
        if t in REFUSED_WORDS:
            fail("%r in %r is not supported" % (t, text.strip()))
    first_star = tokens.index("*") if "*" in tokens else len(tokens)
    base_tokens = tokens[:first_star]
    if "restrict" in base_tokens:
        fail("restrict applies to pointers only, in %r" % text.strip())
    quals = sorted(set(t for t in base_tokens if t in QUALIFIERS))
    base, kind, tags = _base_type([t for t in base_tokens if t not in QUALIFIERS], fail)
    # The pointer part: each star with the qualifiers that follow it.
    levels = []
    for t in tokens[first_star:]:
        if t == "*":
            levels.append([])
        elif t in QUALIFIERS:
            levels[-1].append(t)
        else:
            fail("unexpected %r after '*' in %r" % (t, text.strip()))
    if not levels:
        if kind == "opaque":
            fail(
                "%r is not an integer, floating-point, pointer or void type"
                " (pass a pointer to it)" % text.strip()
            )
        # Qualifiers of a value passed by copy do not change the call.
        return CType(base, kind)
    # The outermost pointer's own qualifiers do not change the call either;
    # restrict deeper inside would, and C++ has no restrict at all.
    for level in levels[:-1]:
        if "restrict" in level:
            fail("restrict is allowed on the outermost pointer only, in %r" % text.strip())
    spelled = " ".join(quals + [base]) + " "
    for level in levels[:-1]:
        spelled += "*" + "".join(q + " " for q in sorted(set(level)))
    spelled += "*"
    return CType(spelled, "pointer", tags)


def parse_signature(name, text):
    """Parses "RET(ARG, ...)" into a Signature; errors name the signature."""

    def fail(message):
        raise GenError("signature %s=%r: %s" % (name, text, message))

    m = re.match(r"\s*([^()]*?)\s*\(([^()]*)\)\s*\Z", text)
    if not m:
        if text.count("(") > 1:
            fail("function pointer types are not supported (pass a void * or a pointer to a struct)")
        fail("expected RET(ARG, ...), e.g. int64_t(int64_t, int64_t)")
    ret_text, args_text = m.groups()
    if not ret_text:
        fail("the return type is missing")
    ret = parse_type(ret_text, fail)
    args = []
    if args_text.strip() not in ("", "void"):
        for i, part in enumerate(args_text.split(",")):
            if part.strip() == "...":
                fail("variadic functions are not supported")
            if not part.strip():
                fail("argument %d is empty" % (i + 1))
            arg = parse_type(part, fail)
            if arg.kind == "void":
                fail("argument %d is void; write (void) or () for no arguments" % (i + 1))
            args.append(arg)
    if len(args) > MAX_ARGS:
        fail("%d arguments, more than %d" % (len(args), MAX_ARGS))
    return Signature(name, ret, args)


def add_fnref_command(sub):
    p = sub.add_parser("fnref", help="typed function-reference headers")
    p.add_argument("--out", required=True, help="output: the header")
    p.add_argument(
        "--signature",
        action="append",
        required=True,
        metavar="NAME=SIG",
        help='a reference type and its C signature, e.g. binop_fn="int64_t(int64_t, int64_t)"',
    )
    p.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="HDR",
        help="a header the signatures need, included as \"HDR\"",
    )
    p.set_defaults(run=run_fnref)


def run_fnref(args):
    taken = set()
    signatures = []
    for entry in args.signature:
        name, text = parse_assignment("signature", entry)
        check_type_name("signature", name, taken)
        signatures.append(parse_signature(name, text))
    for s in signatures:
        for suffix in FUNCTION_SUFFIXES:
            if s.name + suffix in taken:
                raise GenError(
                    "signature name %r clashes with a function generated for signature %r"
                    % (s.name + suffix, s.name)
                )
    for hdr in args.include:
        check_include(hdr)
    signatures.sort(key=lambda s: s.name)
    tags = sorted(set(t for s in signatures for c in [s.ret] + s.args for t in c.tags))
    # Named after the types it defines, each prefixed by its length so that
    # no two sets of names give the same guard.
    guard = "MP_FN_REFS_%s_H" % "_".join("%d%s" % (len(s.name), s.name) for s in signatures)
    text = render(
        "fn_ref.h.j2", signatures=signatures, includes=args.include, tags=tags, guard=guard
    )
    write((args.out, text))
