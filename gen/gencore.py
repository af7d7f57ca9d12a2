"""What every subcommand of mpgen.py shares: input checks, rendering, output."""

import os
import re

import jinja2

TEMPLATE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "templates")

# C11 keywords, and the C23 ones a modern compiler already reserves.
C_KEYWORDS = frozenset(
    """
    auto break case char const continue default do double else enum extern float
    for goto if inline int long register restrict return short signed sizeof static
    struct switch typedef union unsigned void volatile while _Alignas _Alignof
    _Atomic _Bool _Complex _Generic _Imaginary _Noreturn _Static_assert
    _Thread_local alignas alignof bool constexpr false nullptr static_assert
    thread_local true typeof typeof_unqual
    """.split()
)

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# The basic type specifiers of C11 6.7.2 (with C23's bool), and those among
# them that name a kind of type; the others modify one, and alone mean int.
TYPE_SPECIFIERS = frozenset(
    "void char short int long float double signed unsigned _Bool bool _Complex".split()
)
_TYPE_KINDS = ("void", "char", "int", "float", "double", "_Bool", "bool")
# What may go with each kind of type.
_MODIFIERS = {
    "void": frozenset(),
    "_Bool": frozenset(),
    "bool": frozenset(),
    "char": frozenset(["signed", "unsigned"]),
    "int": frozenset(["short", "long", "signed", "unsigned"]),
    "float": frozenset(["_Complex"]),
    "double": frozenset(["long", "_Complex"]),
}
TAGS = ("struct", "union", "enum")


class GenError(Exception):
    """A problem with the generator's input, reported as one line."""


def check_type_name(kind, name, taken):
    """Checks that name can be the name of a generated type.

    kind says what the name is for in the error ("vector", "signature"); taken
    is the set of names already generated, which this adds name to.
    """
    if not _IDENTIFIER.match(name):
        raise GenError("%s name %r is not a C identifier" % (kind, name))
    if name in C_KEYWORDS:
        raise GenError("%s name %r is a C keyword" % (kind, name))
    if name.lower().startswith("mp_"):
        raise GenError("%s name %r starts with mp_, which memory_pages reserves" % (kind, name))
    if name in taken:
        raise GenError("%s name %r is declared twice" % (kind, name))
    taken.add(name)


def base_type(words):
    """Classifies the words of a type without its qualifiers and pointers.

    C accepts one typedef name alone, struct, union or enum with a tag, or a
    combination of basic specifiers that C11 6.7.2 lists, in any order.
    Returns (spelling, kind): the type spelled canonically, and "void",
    "integer", "floating", "complex", "tagged" or "typedef". Raises
    ValueError saying what is wrong otherwise.
    """
    if not words:
        raise ValueError("a type is missing")
    if words[0] in TAGS:
        if len(words) < 2 or words[1] in C_KEYWORDS:
            raise ValueError("%s without a tag" % words[0])
        if len(words) > 2:
            raise ValueError("%r after %s %s" % (words[2], words[0], words[1]))
        return " ".join(words), "tagged"
    if not all(w in TYPE_SPECIFIERS for w in words):
        if len(words) == 1 and words[0] not in C_KEYWORDS:
            return words[0], "typedef"
        odd = next((w for w in words if w not in TYPE_SPECIFIERS), words[0])
        raise ValueError("%r is not a type keyword, and a typedef name stands alone" % odd)
    count = {w: words.count(w) for w in words}
    repeated = [w for w, n in count.items() if n > (2 if w == "long" else 1)]
    if repeated:
        raise ValueError("%r too many times" % repeated[0])
    kinds = [w for w in count if w in _TYPE_KINDS]
    if len(kinds) > 1:
        raise ValueError("both %r and %r" % (kinds[0], kinds[1]))
    kind = kinds[0] if kinds else "int"
    others = set(count) - {kind}
    wrong = sorted(others - _MODIFIERS[kind])
    if wrong:
        raise ValueError("%r does not go with %r" % (wrong[0], kind))
    for pair in (("signed", "unsigned"), ("short", "long")):
        if set(pair) <= others:
            raise ValueError("both %r and %r" % pair)
    longs = count.get("long", 0)
    if kind in ("float", "double"):
        if longs > 1:
            raise ValueError("'long long %s'" % kind)
        spelling = "long " * longs + kind
        if "_Complex" in others:
            return spelling + " _Complex", "complex"
        return spelling, "floating"
    if kind == "void":
        return "void", "void"
    if kind in ("_Bool", "bool"):
        return "bool", "integer"
    if kind == "char":
        sign = [w for w in ("signed", "unsigned") if w in others]
        return " ".join(sign + ["char"]), "integer"
    width = "short" if "short" in others else " ".join(["long"] * longs) or "int"
    return ("unsigned " if "unsigned" in others else "") + width, "integer"


def parse_assignment(kind, text):
    """Splits a NAME=VALUE command-line entry, naming it in the error."""
    name, sep, value = text.partition("=")
    if not sep or not value.strip():
        raise GenError("%s entry %r is not of the form NAME=VALUE" % (kind, text))
    return name.strip(), value.strip()


def _environment():
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(template, **context):
    """Renders templates/<template>, under a banner naming it and mpgen.py."""
    banner = "/* Generated by gen/mpgen.py from templates/%s. Do not edit. */\n" % template
    return banner + _environment().get_template(template).render(**context)


def check_include(path):
    """Checks that path can go between the quotes of an #include in a UTF-8
    header: not empty, no quote, backslash or control character, not
    starting with '<', and text (the command line may carry bytes that are
    not UTF-8, which Python keeps as lone surrogates)."""
    try:
        path.encode("utf-8")
        encodable = True
    except UnicodeEncodeError:
        encodable = False
    if (
        not encodable
        or not path
        or path.startswith("<")
        or any(c in '"\\' or ord(c) < 32 or ord(c) == 127 for c in path)
    ):
        raise GenError('include %r cannot be written as #include "..."' % path)
    return path


def write(*outputs):
    """Writes each (path, text) of outputs, making folders as needed, so that
    a failure leaves none of them written: every text is encoded and written
    to a temporary file beside its path first, and only when all are there
    do they take their paths. (Folders made on the way may stay.)"""
    for path, _ in outputs:
        # The one failure that a rename meets after its temporary file was
        # written; found first, so that no earlier output takes its path.
        if os.path.isdir(path):
            raise GenError("output %r is a folder" % path)
    temps = []
    try:
        for i, (path, text) in enumerate(outputs):
            data = text.encode("utf-8")
            directory = os.path.dirname(path)
            if directory:
                os.makedirs(directory, exist_ok=True)
            temp = "%s.%d.%d.tmp" % (path, os.getpid(), i)
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            temps.append(temp)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
        for temp, (path, _) in zip(temps, outputs):
            os.replace(temp, path)
    finally:
        for temp in temps:
            if os.path.exists(temp):
                os.remove(temp)
