"""Sets up what a workspace needs to build @memory_pages offline with Bazel 4.

Bazel 4.2.3 downloads @rules_cc, @rules_java and @remote_coverage_tools on
first use. These machines reach no download host, so memory_pages_deps()
declares small local stand-ins for them, made from files in this repository,
and a @googletest built from Debian's sources in /usr/src/googletest. A
repository the calling workspace already declares is left alone.

It also registers the Python 3 toolchain of //third_party/python, which runs
the generator (@memory_pages//gen:mpgen, a py_binary) under /usr/bin/python3:
Bazel 4's own asks for `python`, which Debian 12 does not have. Toolchains
registered before the call take precedence over it.
"""

def _standin_repository_impl(rctx):
    for label, dest in rctx.attr.files.items():
        rctx.symlink(rctx.path(label), dest)
    rctx.file("WORKSPACE", "workspace(name = \"%s\")\n" % rctx.name)

_standin_repository = repository_rule(
    implementation = _standin_repository_impl,
    attrs = {"files": attr.label_keyed_string_dict(allow_files = True)},
    doc = "A repository made of files of this one, each linked to its destination path.",
)

def _maybe(rule, name, **kwargs):
    if not native.existing_rule(name):
        rule(name = name, **kwargs)

def memory_pages_deps(register_python_toolchain = True):
    """Declares the offline stand-ins and @googletest, unless already declared.

    Args:
      register_python_toolchain: whether to register memory_pages's Python 3
        toolchain; a workspace whose own Python toolchain has Jinja2 can pass
        False.
    """
    _maybe(
        _standin_repository,
        name = "rules_cc",
        files = {
            Label("@memory_pages//third_party/rules_cc/cc:defs.bzl"): "cc/defs.bzl",
            Label("@memory_pages//third_party/rules_cc/cc:BUILD"): "cc/BUILD",
        },
    )
    _maybe(
        _standin_repository,
        name = "rules_java",
        files = {
            Label("@memory_pages//third_party/rules_java/java:defs.bzl"): "java/defs.bzl",
            Label("@memory_pages//third_party/rules_java/java:BUILD"): "java/BUILD",
        },
    )
    _maybe(
        _standin_repository,
        name = "remote_coverage_tools",
        files = {Label("@memory_pages//third_party/remote_coverage_tools:BUILD"): "BUILD"},
    )
    _maybe(
        native.new_local_repository,
        name = "googletest",
        path = "/usr/src/googletest",
        build_file = "@memory_pages//third_party:googletest.BUILD",
    )
    if register_python_toolchain:
        native.register_toolchains("@memory_pages//third_party/python:python3_toolchain")
