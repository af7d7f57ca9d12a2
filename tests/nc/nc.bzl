"""Must-not-compile tests for C code, in the manner of Pigweed's and M*LIB's.

    load("@memory_pages//tests/nc:nc.bzl", "nc_test")

    nc_test(
        name = "states_nc_test",
        src = "states_nc.c",
        deps = [],  # libraries whose headers the cases include
    )

The source file compiles on its own: that is the control. Each case is a
block that only a definition of NC_CASE_<name> turns on, with a comment just
before it that names the case, the diagnostic it must cause (a Python
regular expression searched for in the compiler's output) and, optionally,
the feature combinations it applies to (a preprocessor expression evaluated
after the file's own includes):

    /* nc-case: data_mut_on_r
     * nc-when: MP_HAVE_RX
     * nc-expect: implicit declaration of function 'mp_pages_r_data_mut'
     */
    #ifdef NC_CASE_data_mut_on_r
    ...
    #endif

At build time, every case that applies is compiled with the C compiler of the
target's C++ toolchain, in the target's configuration (so the feature flags
of memory_pages apply), with -fsyntax-only -std=c11
-Werror=incompatible-pointer-types -Werror=implicit-function-declaration and
the include paths of //:memory_pages and deps; the results are recorded.
The test then passes only if the control compiled, at least one case
applied, every case that applied failed with its expected diagnostic, and
every case applies in at least one of the feature combinations the suite
runs in (default, exec, rwx; nc_compile.py evaluates each nc-when with the
feature macros of each, set after the file's includes), so that no case is
silently never tested. Write nc-when in the feature macros of
memory_pages/features.h. It lists the cases it ran and the ones that did
not apply.
"""

load("@bazel_tools//tools/build_defs/cc:action_names.bzl", "C_COMPILE_ACTION_NAME")
load("@bazel_tools//tools/cpp:toolchain_utils.bzl", "find_cpp_toolchain")

# The flags every case is compiled with, after the toolchain's own.
_NC_FLAGS = [
    "-fsyntax-only",
    "-std=c11",
    "-Werror=incompatible-pointer-types",
    "-Werror=implicit-function-declaration",
]

def _nc_compile_impl(ctx):
    cc_toolchain = find_cpp_toolchain(ctx)
    feature_configuration = cc_common.configure_features(
        ctx = ctx,
        cc_toolchain = cc_toolchain,
        requested_features = ctx.features,
        unsupported_features = ctx.disabled_features,
    )
    compilation = cc_common.merge_cc_infos(
        cc_infos = [dep[CcInfo] for dep in ctx.attr.deps],
    ).compilation_context
    variables = cc_common.create_compile_variables(
        feature_configuration = feature_configuration,
        cc_toolchain = cc_toolchain,
        user_compile_flags = _NC_FLAGS,
        include_directories = compilation.includes,
        quote_include_directories = compilation.quote_includes,
        system_include_directories = compilation.system_includes,
        preprocessor_defines = compilation.defines,
    )
    compiler = cc_common.get_tool_for_action(
        feature_configuration = feature_configuration,
        action_name = C_COMPILE_ACTION_NAME,
    )
    flags = cc_common.get_memory_inefficient_command_line(
        feature_configuration = feature_configuration,
        action_name = C_COMPILE_ACTION_NAME,
        variables = variables,
    )
    env = cc_common.get_environment_variables(
        feature_configuration = feature_configuration,
        action_name = C_COMPILE_ACTION_NAME,
        variables = variables,
    )

    args = ctx.actions.args()
    args.add(ctx.file._driver)
    args.add("--src", ctx.file.src)
    args.add("--out", ctx.outputs.results)
    args.add("--compiler", compiler)
    args.add("--")
    args.add_all(flags)
    ctx.actions.run_shell(
        command = 'exec python3 "$@"',
        arguments = [args],
        inputs = depset(
            [ctx.file.src, ctx.file._driver],
            transitive = [compilation.headers, cc_toolchain.all_files],
        ),
        outputs = [ctx.outputs.results],
        env = env,
        mnemonic = "NcCompile",
        progress_message = "Compiling the must-not-compile cases of %s" % ctx.file.src.short_path,
    )
    return [DefaultInfo(files = depset([ctx.outputs.results]))]

_nc_compile = rule(
    implementation = _nc_compile_impl,
    attrs = {
        "src": attr.label(allow_single_file = [".c"], mandatory = True),
        "deps": attr.label_list(providers = [CcInfo]),
        "results": attr.output(mandatory = True),
        "_driver": attr.label(
            default = Label("//tests/nc:nc_compile.py"),
            allow_single_file = True,
        ),
        "_cc_toolchain": attr.label(
            default = Label("@bazel_tools//tools/cpp:current_cc_toolchain"),
        ),
    },
    toolchains = ["@bazel_tools//tools/cpp:toolchain_type"],
    fragments = ["cpp"],
    incompatible_use_toolchain_transition = True,
    doc = "Compiles the control and each must-not-compile case of src; records the results.",
)

def _nc_check_test_impl(ctx):
    launcher = ctx.actions.declare_file(ctx.label.name + ".sh")
    ctx.actions.write(
        output = launcher,
        content = "#!/bin/sh\nexec python3 '%s' '%s'\n" % (
            ctx.file._checker.short_path,
            ctx.file.results.short_path,
        ),
        is_executable = True,
    )
    return [DefaultInfo(
        executable = launcher,
        runfiles = ctx.runfiles(files = [ctx.file._checker, ctx.file.results]),
    )]

_nc_check_test = rule(
    implementation = _nc_check_test_impl,
    attrs = {
        "results": attr.label(allow_single_file = True, mandatory = True),
        "_checker": attr.label(
            default = Label("//tests/nc:nc_check.py"),
            allow_single_file = True,
        ),
    },
    test = True,
    doc = "Passes when the recorded results show the control compiling and every case failing as expected.",
)

def nc_test(name, src, deps = [], **kwargs):
    """A must-not-compile test of the C file src (see the file's docstring).

    Args:
      name: the test.
      src: the C file with the control and the cases.
      deps: cc_library targets whose headers src includes; //:memory_pages
        is always there.
      **kwargs: passed to the test (size, tags, ...).
    """
    results = name + "_results"
    _nc_compile(
        name = results,
        src = src,
        deps = deps + [Label("//:memory_pages")],
        results = results + ".json",
        testonly = True,
        visibility = ["//visibility:private"],
    )
    _nc_check_test(
        name = name,
        results = ":" + results + ".json",
        **kwargs
    )
