"""A GCC cross toolchain configuration for Bazel 4, one instance per target.

Every cross target of this repository (toolchains/BUILD) is a GCC driver
installed by Debian: the mingw-w64 cross compiler, the aarch64 cross
compiler, and the host compiler with -m32. They differ only in tool names,
target flags and system include directories, so one rule serves them all.

Bazel adds its legacy features (include paths, dependency files, user copts
and linkopts, archives, static linking) by itself; this rule adds the flags
every compile and link of the target needs, and the -c dbg / -c opt flags.
No dynamic linker feature is declared, so tests and binaries link
statically against the project's libraries, as the run wrappers need.
"""

load("@bazel_tools//tools/build_defs/cc:action_names.bzl", "ACTION_NAMES")
load(
    "@bazel_tools//tools/cpp:cc_toolchain_config_lib.bzl",
    "artifact_name_pattern",
    "feature",
    "flag_group",
    "flag_set",
    "tool_path",
    "with_feature_set",
)

_COMPILE_ACTIONS = [
    ACTION_NAMES.assemble,
    ACTION_NAMES.preprocess_assemble,
    ACTION_NAMES.c_compile,
    ACTION_NAMES.cpp_compile,
    ACTION_NAMES.cpp_header_parsing,
    ACTION_NAMES.cpp_module_compile,
    ACTION_NAMES.cpp_module_codegen,
]

_LINK_ACTIONS = [
    ACTION_NAMES.cpp_link_executable,
    ACTION_NAMES.cpp_link_dynamic_library,
    ACTION_NAMES.cpp_link_nodeps_dynamic_library,
]

_TOOLS = ["ar", "cpp", "gcc", "gcov", "ld", "nm", "objdump", "strip"]

def _flag_set(actions, flags, features = None):
    return flag_set(
        actions = actions,
        flag_groups = [flag_group(flags = flags)],
        with_features = [with_feature_set(features = features)] if features else [],
    )

def _impl(ctx):
    compile_sets = []
    if ctx.attr.compile_flags:
        compile_sets.append(_flag_set(_COMPILE_ACTIONS, ctx.attr.compile_flags))
    compile_sets.append(_flag_set(_COMPILE_ACTIONS, ["-g"], ["dbg"]))
    compile_sets.append(_flag_set(
        _COMPILE_ACTIONS,
        ["-g0", "-O2", "-DNDEBUG", "-ffunction-sections", "-fdata-sections"],
        ["opt"],
    ))
    link_sets = []
    if ctx.attr.link_flags:
        link_sets.append(_flag_set(_LINK_ACTIONS, ctx.attr.link_flags))
    link_sets.append(_flag_set(_LINK_ACTIONS, ["-Wl,--gc-sections"], ["opt"]))

    features = [
        feature(name = "dbg"),
        feature(name = "opt"),
        feature(name = "default_compile_flags", enabled = True, flag_sets = compile_sets),
        feature(name = "default_link_flags", enabled = True, flag_sets = link_sets),
    ]
    return cc_common.create_cc_toolchain_config_info(
        ctx = ctx,
        features = features,
        artifact_name_patterns = [
            # The mingw linker adds .exe to an output named without it.
            artifact_name_pattern(category_name = "executable", prefix = "", extension = ctx.attr.executable_extension),
        ] if ctx.attr.executable_extension else [],
        cxx_builtin_include_directories = ctx.attr.include_directories,
        toolchain_identifier = ctx.attr.name,
        host_system_name = "x86_64-unknown-linux-gnu",
        target_system_name = ctx.attr.target_system_name,
        target_cpu = ctx.attr.target_cpu,
        target_libc = ctx.attr.target_libc,
        compiler = "gcc",
        abi_version = "gcc",
        abi_libc_version = ctx.attr.target_libc,
        tool_paths = [
            tool_path(name = name, path = ctx.attr.tool_prefix + name + ctx.attr.tool_suffixes.get(name, ""))
            for name in _TOOLS
        ],
    )

cc_toolchain_config = rule(
    implementation = _impl,
    attrs = {
        "compile_flags": attr.string_list(doc = "Flags for every compile action."),
        "executable_extension": attr.string(doc = "File name extension of executables, e.g. \".exe\"."),
        "include_directories": attr.string_list(
            mandatory = True,
            doc = "The compiler's own system include directories (Bazel accepts headers from them undeclared).",
        ),
        "link_flags": attr.string_list(doc = "Flags for every link action."),
        "target_cpu": attr.string(mandatory = True),
        "target_libc": attr.string(mandatory = True),
        "target_system_name": attr.string(mandatory = True),
        "tool_prefix": attr.string(
            mandatory = True,
            doc = "Path prefix of every tool, e.g. /usr/bin/aarch64-linux-gnu-.",
        ),
        "tool_suffixes": attr.string_dict(doc = "Suffix per tool name, e.g. {\"gcc\": \"-posix\"}."),
    },
    provides = [CcToolchainConfigInfo],
)
