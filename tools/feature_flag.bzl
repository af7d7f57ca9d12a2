"""A boolean build setting, settable as --@memory_pages//:NAME[=true|false].

Bazel 4 has no built-in boolean flag rule without bazel_skylib, which these
machines cannot download; this is the few lines of it that are needed.
"""

FeatureInfo = provider(fields = {"value": "the flag's boolean value"})

def _feature_flag_impl(ctx):
    return [FeatureInfo(value = ctx.build_setting_value)]

feature_flag = rule(
    implementation = _feature_flag_impl,
    build_setting = config.bool(flag = True),
)
