"""detcd_e2e_test: an end-to-end shell test of the detcd binary (cmd/<name>.sh), sourcing cmd/test_lib.sh.

`tags` as Bazel's (["exclusive"]: run alone, for a test whose result depends on not being starved of CPU).
Its arguments are the detcd binary's path and, with with_load, detcd-load's and detcd-check's (for a client history
checked for linearizability).
"""

def detcd_e2e_test(name, with_load = False, size = "medium", tags = []):
    tools = [":detcd"] + ([":detcd-load", ":detcd-check"] if with_load else [])
    native.sh_test(
        name = name,
        size = size,
        srcs = [name + ".sh"],
        args = ["$(location %s)" % t for t in tools],
        data = tools + [":test_lib.sh"],
        tags = tags,
    )
