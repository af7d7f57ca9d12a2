"""Bazel macros that generate typed code over the memory_pages runtime.

    load("@memory_pages//gen:defs.bzl", "fn_ref_library", "paged_vec_library")

Each macro runs gen/mpgen.py at build time and wraps its output in a
cc_library named `name`, whose header is included as "<package>/<name>.h".
A bad entry stops the build with one line from the generator that names it.
"""

def _quote(text):
    """Quotes text for the shell of a genrule command."""
    return "'" + text.replace("'", "'\\''") + "'"

def _generated_library(name, subcommand, entry_flag, entries, hdrs, deps, memory_pages, **kwargs):
    package = native.package_name()
    includes = ["%s/%s" % (package, h) if package else h for h in hdrs]
    args = ["%s=%s" % (entry_flag, _quote("%s=%s" % (k, v))) for k, v in sorted(entries.items())]
    args += ["--include=" + _quote(h) for h in includes]
    native.genrule(
        name = name + "_generate",
        outs = [name + ".h"],
        cmd = "python3 $(location @memory_pages//gen:mpgen.py) %s --out $@ %s" % (
            subcommand,
            " ".join(args),
        ),
        tools = [
            "@memory_pages//gen:mpgen",
            "@memory_pages//gen:mpgen.py",
        ],
        visibility = ["//visibility:private"],
    )
    native.cc_library(
        name = name,
        hdrs = [name + ".h"] + hdrs,
        deps = deps + [memory_pages],
        **kwargs
    )

def paged_vec_library(name, vectors, hdrs = [], deps = [], memory_pages = "@memory_pages//:memory_pages", **kwargs):
    """A PagedVec type for each entry of vectors (shared/API.md section 5).

    Args:
      name: the cc_library; its header is "<package>/<name>.h".
      vectors: {vector type name: C element type}, e.g. {"u32_vec": "uint32_t"}.
      hdrs: headers of this package that declare the element types.
      deps: libraries those headers need.
      memory_pages: the library the code runs on; memory_pages's own fault
        injection tests pass //:memory_pages_fault_injection.
      **kwargs: passed to the cc_library (visibility, tags, ...).
    """
    _generated_library(name, "vec", "--vector", vectors, hdrs, deps, memory_pages, **kwargs)

def fn_ref_library(name, signatures, hdrs = [], deps = [], memory_pages = "@memory_pages//:memory_pages", **kwargs):
    """A typed function-reference type for each signature (shared/API.md section 4).

    Args:
      name: the cc_library; its header is "<package>/<name>.h".
      signatures: {reference type name: "ret(args)"}, e.g. {"binop_fn": "int64_t(int64_t, int64_t)"}.
      hdrs: headers of this package that declare types the signatures use.
      deps: libraries those headers need.
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
