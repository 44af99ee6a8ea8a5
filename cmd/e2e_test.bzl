"""detcd_e2e_test: an end-to-end shell test of the detcd binary (cmd/<name>.sh), sourcing cmd/test_lib.sh.

Its arguments are the detcd binary's path and, with with_load, detcd-load's and detcd-check's (for a client history
checked for linearizability).
"""

def detcd_e2e_test(name, with_load = False, size = "medium"):
    tools = [":detcd"] + ([":detcd-load", ":detcd-check"] if with_load else [])
    native.sh_test(
        name = name,
        size = size,
        srcs = [name + ".sh"],
        args = ["$(location %s)" % t for t in tools],
        data = tools + [":test_lib.sh"],
    )
