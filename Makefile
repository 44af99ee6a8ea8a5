# detcd — every target installs missing Debian packages first (quietly), then calls Bazel. See README.md.
BAZEL ?= bazel
SEEDS ?= 200
SCENARIOS ?= $(sort $(wildcard testdata/scenarios/*.textproto))

.PHONY: deps build test sim bench clean

deps:
	@tools/ensure-packages.sh

build: deps
	$(BAZEL) build //...

# All tests: unit tests, election scripts, simulator checks over a bounded number of seeds.
test: deps
	$(BAZEL) test --test_summary=short --nocache_test_results //...

# Every scenario in testdata/scenarios over SEEDS seeds, with a summary per scenario.
sim: deps
	$(BAZEL) build //cmd:detcd-sim
	@tools/run-sim.sh "$$($(BAZEL) info bazel-bin 2>/dev/null)/cmd/detcd-sim" $(SEEDS) $(SCENARIOS)

bench: deps
	$(BAZEL) run -c opt //raft:raft_bench
	$(BAZEL) run -c opt //sim:sim_bench

clean:
	$(BAZEL) clean
