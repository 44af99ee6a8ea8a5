"""A repository rule that exposes Debian's system libraries as cc_library targets.

Each library's link flags come from pkg-config when it knows the package, else from a fixed list. Headers live in
/usr/include, which the compiler searches already, so the targets carry only link options.
"""

def _pkg_config_libs(ctx, modules):
    result = ctx.execute(["pkg-config", "--libs"] + modules)
    if result.return_code != 0:
        fail("pkg-config --libs %s failed: %s" % (" ".join(modules), result.stderr))
    return result.stdout.strip().split(" ")

def _system_libs_impl(ctx):
    lines = ['package(default_visibility = ["//visibility:public"])', ""]
    for name, spec in ctx.attr.pkg_config.items():
        flags = _pkg_config_libs(ctx, spec.split(" "))
        lines.append("cc_library(name = %r, linkopts = %r)" % (name, flags))
    for name, spec in ctx.attr.plain.items():
        lines.append("cc_library(name = %r, linkopts = %r)" % (name, spec.split(" ")))
    ctx.file("WORKSPACE", 'workspace(name = "%s")\n' % ctx.name)
    ctx.file("BUILD.bazel", "\n".join(lines) + "\n")

system_libs = repository_rule(
    implementation = _system_libs_impl,
    attrs = {
        # target name -> space-separated pkg-config modules
        "pkg_config": attr.string_dict(),
        # target name -> space-separated link options
        "plain": attr.string_dict(),
    },
    local = True,
)
