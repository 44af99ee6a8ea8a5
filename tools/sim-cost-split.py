#!/usr/bin/env python3
"""Splits a simulator profile into the production code it runs and the simulator's own work.

Input: `callgrind_annotate --tree=caller --inclusive=yes` of a detcd-sim run (a -c opt build with -g). Production code
is every function in detcd::kv, detcd::raft, detcd::host and detcd::storage; its cost is what simulator functions
(detcd::sim) spend in calls into it, minus what it spends in calls back into the simulator (the effects loop's host
callbacks). Prints the totals and the largest entry points. Reads a file; writes nothing.
"""
import re
import sys

LINE = re.compile(r"^\s*([\d,]+) \([ \d.]+%\)\s+([<>*]?)\s*(.*)$")
PRODUCTION = ("detcd::kv::", "detcd::raft::", "detcd::host::", "detcd::storage::")


def function_name(text):
    # "/path/file.cc:ns::F(args) [binary]" or "???:F [lib]": drop the file part before the name.
    head = text.split("(")[0]
    return text.split(":", 1)[1] if ":" in head and not head.startswith("detcd::") else text


def is_production(name):
    return name.startswith(PRODUCTION)


def is_simulator(name):
    return "detcd::sim::" in name and not is_production(name)


def main(path):
    text = open(path).read()
    total = int(re.search(r"([\d,]+) \(100.0%\)\s+PROGRAM TOTALS", text).group(1).replace(",", ""))
    into = back = 0
    entry = {}
    for block in text.split("\n\n"):
        parsed = [LINE.match(l) for l in block.strip("\n").split("\n")]
        parsed = [m for m in parsed if m]
        callee = [m for m in parsed if m.group(2) == "*"]
        if not callee:
            continue
        callee_name = function_name(callee[0].group(3))
        for m in parsed:
            if m.group(2) != "<":
                continue
            caller, cost = function_name(m.group(3)), int(m.group(1).replace(",", ""))
            if is_simulator(caller) and is_production(callee_name):
                into += cost
                key = callee_name.split("(")[0]
                entry[key] = entry.get(key, 0) + cost
            elif is_production(caller) and is_simulator(callee_name):
                back += cost
    print(f"total {total / 1e6:.0f} M instructions; production code {(into - back) / 1e6:.0f} M "
          f"({100 * (into - back) / total:.1f}%): entered from the simulator {into / 1e6:.0f} M, "
          f"simulator callbacks inside it {back / 1e6:.0f} M")
    for key, cost in sorted(entry.items(), key=lambda kv: -kv[1])[:10]:
        print(f"  {cost / 1e6:8.1f} M  {key}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: sim-cost-split.py CALLGRIND_CALLER_TREE")
    main(sys.argv[1])
