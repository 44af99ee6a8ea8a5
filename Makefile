# detcd — every target installs missing Debian packages first (quietly), then calls Bazel. See README.md.
BAZEL ?= bazel
SEEDS ?= 200
JOBS ?= $(shell nproc 2>/dev/null || echo 1)
ROUNDS ?= 3
CLIENTS ?= 64 256
SECONDS ?= 10
MEMBERS ?= 1
CONNS ?= 4
WORKLOAD ?= put
SCENARIOS ?= $(sort $(wildcard testdata/scenarios/*.textproto))

.PHONY: deps build test sim fuzz bench bench-load clean cluster cluster-stop install

deps:
	@tools/ensure-packages.sh

build: deps
	$(BAZEL) build //...

# All tests: unit tests, election scripts, simulator checks over a bounded number of seeds.
test: deps
	$(BAZEL) test --test_summary=short --nocache_test_results //...

# Every scenario in testdata/scenarios over SEEDS seeds on JOBS worker processes (default: one per core; a seed's
# result and trace hash do not depend on JOBS), with a summary per scenario.
# Built with -c opt: the default build runs seeds ~13% slower (trace hashes are the same).
sim: deps
	$(BAZEL) build -c opt //cmd:detcd-sim
	@SIM_JOBS=$(JOBS) tools/run-sim.sh "$$($(BAZEL) info -c opt bazel-bin 2>/dev/null)/cmd/detcd-sim" $(SEEDS) $(SCENARIOS)

# Every fuzz target (//fuzz) with libFuzzer + ASan + UBSan for FUZZ_SECONDS each (default 60), from its kept corpus.
FUZZ_SECONDS ?= 60
fuzz: deps
	@tools/ensure-packages.sh clang libclang-rt-14-dev
	@FUZZ_SECONDS=$(FUZZ_SECONDS) tools/fuzz.sh

bench: deps
	$(BAZEL) run -c opt //raft:raft_bench
	$(BAZEL) run -c opt //sim:sim_bench
	$(BAZEL) run -c opt //storage:wal_bench
	$(BAZEL) run -c opt //bench:mvcc_bench
	$(BAZEL) run -c opt //bench:auth_bench
	$(BAZEL) run -c opt //bench:crc32c_bench

# detcd and etcd (Debian etcd-server) side by side under the same detcd-load runs, alternating ROUNDS times per
# (workload, clients) on fresh clusters of MEMBERS (1 or 3); prints median req/s, p99 and server CPU per 1k requests.
# CLIENTS and WORKLOAD may be lists: make bench-load MEMBERS=3 CLIENTS="16 64 256" WORKLOAD="put range txn-put"
# AUTH=1 turns auth on in both servers and loads them as a non-root user (unary workloads).
bench-load: deps
	@tools/ensure-packages.sh etcd-server
	$(BAZEL) build -c opt //cmd:detcd //cmd:detcd-load
	@tools/bench-vs-etcd.sh "$$($(BAZEL) info -c opt bazel-bin 2>/dev/null)/cmd/detcd" \
	  "$$($(BAZEL) info -c opt bazel-bin 2>/dev/null)/cmd/detcd-load" $(MEMBERS) "$(CLIENTS)" $(CONNS) "$(WORKLOAD)" \
	  $(ROUNDS) $(SECONDS)

# A local 3-member detcd cluster on loopback (2379/22379/32379); prints the endpoints and an etcdctl command.
cluster: deps
	$(BAZEL) build //cmd:detcd
	@tools/cluster.sh start "$$($(BAZEL) info bazel-bin 2>/dev/null)/cmd/detcd"

cluster-stop:
	@tools/cluster.sh stop

# The binaries, the systemd unit, the settings sample and the man page under $(DESTDIR)$(PREFIX) (packaging/install.sh).
PREFIX ?= /usr/local
DESTDIR ?=
install: deps
	$(BAZEL) build -c opt //cmd:detcd //cmd:detcd-sim //cmd:detcd-load //cmd:detcd-check
	@b="$$($(BAZEL) info -c opt bazel-bin 2>/dev/null)/cmd"; \
	  packaging/install.sh "$(PREFIX)" "$(DESTDIR)" "$$b/detcd" "$$b/detcd-sim" "$$b/detcd-load" "$$b/detcd-check"

clean:
	$(BAZEL) clean
