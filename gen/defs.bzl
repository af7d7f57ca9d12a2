"""Bazel macros that generate typed code over the memory_pages runtime.

    load("@memory_pages//gen:defs.bzl", "fn_ref_library", "paged_vec_library")

Each macro runs the generator (@memory_pages//gen:mpgen, gen/mpgen.py) at
build time and wraps its output in a cc_library named `name`, whose header is
included as "<package>/<name>.h". A bad entry stops the build with one line
from the generator that names it.

`hdrs` takes labels: "point.h" or ":point.h" (this package), "//geo:point.h",
"@repo//geo:point.h", or a rule that generates headers. The generated header
includes each by its repository-relative path ("geo/point.h"), the path
cc_library gives it; the cc_library lists them in its own hdrs.
"""

def _include_path(f):
    """The path a dependent #includes header f by: its repository-relative path.

    That is the path cc_library gives a header it lists (without
    include_prefix or strip_include_prefix), for a source file and a generated
    one alike: File.short_path is it for this repository, and
    "../<repository>/<path>" for an external one.
    """
    path = f.short_path
    if path.startswith("../"):
        path = path.split("/", 2)[2]
    return path

def _mpgen_header_impl(ctx):
    args = ctx.actions.args()
    args.add(ctx.attr.subcommand)
    args.add("--out", ctx.outputs.out)

    # Each entry is one argument "--flag=NAME=VALUE", whatever spaces or
    # quotes the value holds: no shell runs in between.
    args.add_all(
        ["%s=%s=%s" % (ctx.attr.entry_flag, k, v) for k, v in sorted(ctx.attr.entries.items())],
    )
    args.add_all([_include_path(f) for f in ctx.files.hdrs], format_each = "--include=%s")

    # The generator writes #include lines and never reads the headers, so
    # they are not inputs: editing one does not rerun it.
    ctx.actions.run(
        executable = ctx.attr._mpgen[DefaultInfo].files_to_run,
        arguments = [args],
        outputs = [ctx.outputs.out],
        mnemonic = "MpGen",
        progress_message = "Generating %s" % ctx.outputs.out.short_path,
    )

# Runs the generator (//gen:mpgen) for one macro call. A rule rather than a
# genrule so that hdrs can be labels of any form, generated headers included:
# the include paths come from the files the labels name.
_mpgen_header = rule(
    implementation = _mpgen_header_impl,
    attrs = {
        # Not mandatory: with no entries the generator says what is missing.
        "entries": attr.string_dict(),
        "entry_flag": attr.string(mandatory = True),
        "hdrs": attr.label_list(allow_files = True),
        "out": attr.output(mandatory = True),
        "subcommand": attr.string(mandatory = True, values = ["fnref", "vec"]),
        "_mpgen": attr.label(
            default = "@memory_pages//gen:mpgen",
            executable = True,
            cfg = "exec",
        ),
    },
)

def _generated_library(name, subcommand, entry_flag, entries, hdrs, deps, memory_pages, **kwargs):
    _mpgen_header(
        name = name + "_generate",
        out = name + ".h",
        subcommand = subcommand,
        entry_flag = entry_flag,
        entries = entries,
        hdrs = hdrs,
        testonly = kwargs.get("testonly", False),
        tags = kwargs.get("tags", []),
        visibility = ["//visibility:private"],
    )
    native.cc_library(
        name = name,
        hdrs = [name + ".h"] + hdrs,
        deps = deps + [memory_pages],
        **kwargs
    )

def _vector_entry(value):
    """The generator's form of a vectors entry: a type as it is, a dict as
    JSON. Anything else becomes {"type": value}, so that the generator
    names the entry in its one-line error."""
    if type(value) == "string":
        return value
    if type(value) != "dict":
        value = {"type": value}
    return json.encode(value)

def paged_vec_library(name, vectors, hdrs = [], deps = [], memory_pages = "@memory_pages//:memory_pages", **kwargs):
    """A PagedVec type for each entry of vectors (shared/API.md section 5).

    Args:
      name: the cc_library; its header is "<package>/<name>.h".
      vectors: {vector type name: C element type}, e.g. {"u32_vec": "uint32_t"};
        an entry may be a dict naming the element type's drop function and
        optionally its clone function (docs/paged_vec.md):
        {"name_vec": {"type": "struct name", "drop": "name_drop", "clone": "name_clone"}}.
      hdrs: labels of the headers that declare the element types, of this
        package or any other ("point.h", ":point.h", "//geo:point.h",
        "@repo//geo:point.h", or a rule that generates them).
      deps: libraries those headers need: for a header of another
        repository, a library of that repository, which makes its
        repository-relative path includable.
      memory_pages: the library the code runs on; memory_pages's own fault
        injection tests pass //:memory_pages_fault_injection.
      **kwargs: passed to the cc_library (visibility, tags, ...).
    """
    entries = {k: _vector_entry(v) for k, v in vectors.items()}
    _generated_library(name, "vec", "--vector", entries, hdrs, deps, memory_pages, **kwargs)

def fn_ref_library(name, signatures, hdrs = [], deps = [], memory_pages = "@memory_pages//:memory_pages", **kwargs):
    """A typed function-reference type for each signature (shared/API.md section 4).

    Args:
      name: the cc_library; its header is "<package>/<name>.h".
      signatures: {reference type name: "ret(args)"}, e.g. {"binop_fn": "int64_t(int64_t, int64_t)"}.
      hdrs: labels of the headers that declare types the signatures use, in
        the forms paged_vec_library takes.
      deps: libraries those headers need, as for paged_vec_library.
      memory_pages: as for paged_vec_library.
      **kwargs: passed to the cc_library (visibility, tags, ...). In builds
        without allow_exec the library is incompatible with every platform.
    """

    # Function references exist only with allow_exec (the header is an
    # #error without it): elsewhere the library and everything that depends
    # on it are incompatible, so wildcard builds skip them.
    kwargs["target_compatible_with"] = select({
        "@memory_pages//:exec_allowed": [],
        "//conditions:default": ["@memory_pages//:requires_allow_exec"],
    }) + kwargs.get("target_compatible_with", [])
    _generated_library(name, "fnref", "--signature", signatures, hdrs, deps, memory_pages, **kwargs)
