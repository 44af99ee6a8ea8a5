#!/usr/bin/env bash
# detcd-sim as a user runs it: the same seed prints the same trace-hash line, different seeds differ, a seed range
# prints a summary, --trace prints events, --history writes a KV run's history that detcd-check accepts (and rejects
# once a read is made stale), --json prints JSON lines only (one per seed and a summary) with the same results and
# trace hashes on one worker process or two, a failing seed shows its verdict, checker and replay command, a worker
# killed mid-seed fails that seed only, and bad arguments or scenario files exit 3 with a clear message.
set -u
sim="$1"
scenarios="$2"
check="$3"
. "$(dirname "$0")/test_lib.sh" 2>/dev/null || . "$TEST_SRCDIR/$TEST_WORKSPACE/cmd/test_lib.sh"  # fail, tmp, free_port

a=$("$sim" --scenario="$scenarios/leader_isolation.textproto" --seed=7 | grep '^trace-hash: ')
b=$("$sim" --scenario="$scenarios/leader_isolation.textproto" --seed=7 | grep '^trace-hash: ')
c=$("$sim" --scenario="$scenarios/leader_isolation.textproto" --seed=8 | grep '^trace-hash: ')
[[ "$a" =~ ^trace-hash:\ [0-9a-f]{16}$ ]] || fail "no trace-hash line: '$a'"
[ "$a" = "$b" ] || fail "seed 7 gave two hashes: $a / $b"
[ "$a" != "$c" ] || fail "seeds 7 and 8 gave the same hash"
last=$("$sim" --scenario="$scenarios/leader_isolation.textproto" --seed=7 | tail -n 1)
[ "$last" = "$a" ] || fail "trace-hash is not the last line: '$last'"

out=$("$sim" --scenario="$scenarios/steady_state.textproto" --seeds=1..3)
rc=$?
[ $rc -eq 0 ] || fail "seed range exited $rc"
grep -q "3 seeds (1..3), 0 failed" <<<"$out" || fail "no summary: $out"
grep -q "simulated s per wall s" <<<"$out" || fail "no speed in summary: $out"

"$sim" --scenario="$scenarios/pause.textproto" --seed=3 --trace >"$tmp/trace.txt"
grep -q "pause node" "$tmp/trace.txt" || fail "--trace shows no pause"
grep -q "StateLeader" "$tmp/trace.txt" || fail "--trace shows no election"
grep -q "recv .*MsgApp" "$tmp/trace.txt" || fail "--trace shows no messages"

# A KV run's register history, in the format detcd-check reads.
out=$("$sim" --scenario="$scenarios/kv_steady_state.textproto" --seed=2 --history="$tmp/h.jsonl")
rc=$?
[ $rc -eq 0 ] || fail "kv_steady_state seed 2 exited $rc: $out"
grep -q "history: [0-9]* operations written to $tmp/h.jsonl" <<<"$out" || fail "no history line: $out"
[ "$(wc -l <"$tmp/h.jsonl")" -gt 500 ] || fail "history too short: $(wc -l <"$tmp/h.jsonl") lines"
verdict=$("$check" --history="$tmp/h.jsonl")
[ "$verdict" = "linearizable: yes" ] || fail "detcd-check on the run's history: $verdict"
# Make the last read that saw a value see the first value written to its key instead: stale.
python3 - "$tmp/h.jsonl" "$tmp/stale.jsonl" <<'PY'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
first = {}
for l in lines:
    e = json.loads(l)
    if e["type"] == "ok" and e["f"] == "write":
        first.setdefault(e["key"], e["value"])
for i in range(len(lines) - 1, -1, -1):
    e = json.loads(lines[i])
    if e["type"] == "ok" and e["f"] == "read" and e["value"] is not None and e["value"] != first.get(e["key"]):
        e["value"] = first[e["key"]]
        lines[i] = json.dumps(e)
        break
open(sys.argv[2], "w").write("\n".join(lines) + "\n")
PY
"$check" --history="$tmp/stale.jsonl" >"$tmp/stale.out"
rc=$?
[ $rc -eq 1 ] || fail "detcd-check on a stale read exited $rc, want 1"
grep -q "linearizable: no" "$tmp/stale.out" || fail "no verdict for a stale read: $(cat "$tmp/stale.out")"

# --json: stdout is JSON lines only, every field on every line; the same seeds on 1 and 2 worker processes give the
# same verdicts, counts and trace hashes.
cat >"$tmp/check_json.py" <<'PY'
import json, sys
path, first, last, want_rc, rc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
raw = open(path, "rb").read()
text = raw.decode("utf-8")  # strict: the stream must be valid UTF-8
lines = [json.loads(l) for l in text.splitlines()]
seed_fields = {"type", "scenario", "scenario_file", "seed", "verdict", "checker", "message", "failure_time_s",
               "simulated_s", "wall_s", "events", "messages", "faults", "crashes", "leader_terms", "committed_index",
               "kv", "operations", "kv_requests", "kv_ok", "kv_unknown", "acked_puts", "final_revision", "watch_events",
               "watch_reconnects", "leases_granted", "leases_revoked", "linearizability_undecided", "members_added",
               "members_removed", "leaders_removed", "members_promoted", "removed_members_stopped", "auth_ok",
               "auth_denied", "auth_old_revision", "auth_ops_checked", "auth_writes_matched", "auth_changes",
               "snapshots_taken",
               "snapshots_installed", "refusals", "trace_hash", "replay"}
summary_fields = {"type", "scenario", "scenario_file", "seeds", "jobs", "seeds_run", "passed", "failed",
                  "failed_by_verdict", "failing_seeds", "verdict", "wall_s", "simulated_s", "simulated_s_per_wall_s",
                  "seeds_per_hour"}
assert rc == want_rc, f"exit {rc}, want {want_rc}"
assert lines and lines[-1]["type"] == "summary", "last line is not the summary"
seeds = lines[:-1]
for l in seeds:
    assert l["type"] == "seed", l
    assert set(l) == seed_fields, sorted(set(l) ^ seed_fields)
    assert l["verdict"] in ("pass", "safety", "liveness"), l["verdict"]
    assert isinstance(l["seed"], int) and first <= l["seed"] <= last, l["seed"]
    assert l["replay"].endswith(f" --scenario={l['scenario_file']} --seed={l['seed']}"), l["replay"]
    if l["checker"] == "worker":  # its worker died: nothing of the run came back
        assert l["verdict"] == "safety" and l["trace_hash"] == "" and l["events"] == 0, l
        continue
    assert len(l["trace_hash"]) == 16 and int(l["trace_hash"], 16) >= 0, l["trace_hash"]
    assert l["simulated_s"] > 0 and l["wall_s"] > 0 and l["events"] > 0 and l["messages"] > 0, l
    if l["verdict"] == "pass":
        assert l["checker"] == "" and l["failure_time_s"] is None, l
    else:
        assert l["checker"] and l["message"] and l["failure_time_s"] > 0, l
assert sorted(l["seed"] for l in seeds) == list(range(first, last + 1)), "seeds missing or repeated"
s = lines[-1]
assert set(s) == summary_fields, sorted(set(s) ^ summary_fields)
failing = sorted(l["seed"] for l in seeds if l["verdict"] != "pass")
assert s["seeds_run"] == len(seeds) and s["failed"] == len(failing) and s["passed"] == len(seeds) - len(failing), s
assert s["failing_seeds"] == failing, s
by = s["failed_by_verdict"]
assert by["safety"] == sum(l["verdict"] == "safety" for l in seeds), s
assert by["liveness"] == sum(l["verdict"] == "liveness" for l in seeds), s
assert s["wall_s"] > 0 and s["seeds_per_hour"] > 0 and s["simulated_s_per_wall_s"] > 0, s
keep = ("seed", "verdict", "checker", "message", "trace_hash", "events", "messages", "operations", "simulated_s")
for l in sorted(seeds, key=lambda l: l["seed"]):
    print(json.dumps({k: l[k] for k in keep}, sort_keys=True))
PY
kvcc="$scenarios/kv_compaction_crash.textproto"
"$sim" --scenario="$kvcc" --seeds=1..20 --jobs=1 --json >"$tmp/j1.jsonl" 2>"$tmp/j1.err"
python3 "$tmp/check_json.py" "$tmp/j1.jsonl" 1 20 0 $? >"$tmp/j1.seeds" ||
  fail "--jobs=1 --json: $(head -c 2000 "$tmp/j1.jsonl")"
"$sim" --scenario="$kvcc" --seeds=1..20 --jobs=2 --json >"$tmp/j2.jsonl" 2>"$tmp/j2.err"
python3 "$tmp/check_json.py" "$tmp/j2.jsonl" 1 20 0 $? >"$tmp/j2.seeds" ||
  fail "--jobs=2 --json: $(head -c 2000 "$tmp/j2.jsonl")"
[ "$(wc -l <"$tmp/j1.seeds")" -eq 20 ] || fail "expected 20 seeds from --jobs=1"
cmp -s "$tmp/j1.seeds" "$tmp/j2.seeds" ||
  fail "--jobs=1 and --jobs=2 differ: $(diff "$tmp/j1.seeds" "$tmp/j2.seeds" | head -5)"
[ ! -s "$tmp/j1.err" ] || fail "--json wrote to a non-terminal stderr without --progress: $(cat "$tmp/j1.err")"
# The text output of a range on 2 processes has the same summary shape.
out=$("$sim" --scenario="$kvcc" --seeds=1..5 --jobs=2)
grep -q "5 seeds (1..5), 0 failed" <<<"$out" || fail "no summary with --jobs=2: $out"

# One seed with --json: its line and a summary, nothing else.
"$sim" --scenario="$kvcc" --seed=3 --json >"$tmp/one.jsonl"
python3 "$tmp/check_json.py" "$tmp/one.jsonl" 3 3 0 $? >"$tmp/one.seeds" ||
  fail "--seed --json: $(cat "$tmp/one.jsonl")"
grep -q "$(grep '"seed": 3,' "$tmp/j1.seeds" | sed 's/.*"trace_hash": "\([0-9a-f]*\)".*/\1/')" "$tmp/one.jsonl" ||
  fail "seed 3 alone has another trace hash than in a range"

# A scenario every seed fails (the liveness bound is too short to converge in): verdict, checker, message and
# replay command on each seed's line, the failing seeds in the summary, exit code 2 as without --json.
sed 's/^liveness_bound_ms: .*/liveness_bound_ms: 1/' "$scenarios/kv_crash_restart.textproto" >"$tmp/no_time.textproto"
"$sim" --scenario="$tmp/no_time.textproto" --seeds=1..4 --jobs=2 --json >"$tmp/fail.jsonl"
python3 "$tmp/check_json.py" "$tmp/fail.jsonl" 1 4 2 $? >"$tmp/fail.seeds" ||
  fail "failing --json: $(cat "$tmp/fail.jsonl")"
python3 - "$tmp/fail.jsonl" "$tmp/no_time.textproto" <<'PY' || fail "failing seeds' lines: $(cat "$tmp/fail.jsonl")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
for l in lines[:-1]:
    assert l["verdict"] == "liveness" and l["checker"] == "liveness", l
    assert "not converged" in l["message"], l
    assert l["replay"].endswith(f"detcd-sim --scenario={sys.argv[2]} --seed={l['seed']}"), l["replay"]
s = lines[-1]
assert s["verdict"] == "liveness" and s["failing_seeds"] == [1, 2, 3, 4], s
assert s["failed_by_verdict"] == {"safety": 0, "liveness": 4}, s
PY
out=$("$sim" --scenario="$tmp/no_time.textproto" --seeds=1..3 --jobs=2)
rc=$?
[ $rc -eq 2 ] || fail "failing range with --jobs=2 exited $rc, want 2"
grep -q "3 seeds (1..3), 3 failed" <<<"$out" || fail "no failing summary: $out"
grep -q "replay: .*--scenario=$tmp/no_time.textproto --seed=2$" <<<"$out" || fail "no replay command: $out"

# --progress with stderr not a terminal: whole lines on stderr with the rate and time left, stdout JSON only.
"$sim" --scenario="$kvcc" --seeds=1..6 --jobs=2 --json --progress >"$tmp/p.jsonl" 2>"$tmp/p.err"
python3 "$tmp/check_json.py" "$tmp/p.jsonl" 1 6 0 $? >/dev/null ||
  fail "--progress spoilt stdout: $(cat "$tmp/p.jsonl")"
grep -q "^kv_compaction_crash: 6/6 seeds, 0 failed, [0-9.]* seeds/s, 0s left$" "$tmp/p.err" ||
  fail "no final progress line: $(cat "$tmp/p.err")"

# A worker killed in the middle of a seed: that seed fails (checker "worker", the signal in the message, exit 1), no
# seed is lost, the others still pass.
if command -v pgrep >/dev/null; then
  "$sim" --scenario="$scenarios/kv_swarm.textproto" --seeds=1..8 --jobs=2 --json >"$tmp/k.jsonl" &
  pid=$!
  victim=""
  for _ in $(seq 1 200); do
    victim=$(pgrep -P $pid | head -n 1)
    [ -n "$victim" ] && break
    sleep 0.02
  done
  [ -n "$victim" ] && kill -KILL "$victim"
  wait $pid
  rc=$?
  python3 "$tmp/check_json.py" "$tmp/k.jsonl" 1 8 1 $rc >/dev/null || fail "killed worker: $(cat "$tmp/k.jsonl")"
  python3 - "$tmp/k.jsonl" <<'PY' || fail "killed worker's seed: $(cat "$tmp/k.jsonl")"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])][:-1]
dead = [l for l in lines if l["checker"] == "worker"]
assert len(dead) == 1 and dead[0]["verdict"] == "safety" and "killed by signal 9" in dead[0]["message"], dead
assert all(l["verdict"] == "pass" for l in lines if l["checker"] != "worker"), lines
PY
fi

expect_exit3() {
  local what="$1" pattern="$2"
  shift 2
  local err
  err=$("$sim" "$@" 2>&1 >/dev/null)
  local rc=$?
  [ $rc -eq 3 ] || fail "$what: exit $rc, want 3"
  grep -q -- "$pattern" <<<"$err" || fail "$what: message '$err' lacks '$pattern'"
}
expect_exit3 "missing file" "cannot read scenario file '$tmp/none.textproto': No such file or directory" \
  --scenario="$tmp/none.textproto" --seed=1
printf 'nodes: 3\nduration_ms: 1000\nliveness_bound_ms: 1000\nnodez: 4\n' >"$tmp/typo.textproto"
expect_exit3 "unknown field" "typo.textproto:4:" --scenario="$tmp/typo.textproto" --seed=1
printf 'nodes: 9\nduration_ms: 1000\nliveness_bound_ms: 1000\n' >"$tmp/big.textproto"
expect_exit3 "too many nodes" "nodes" --scenario="$tmp/big.textproto" --seed=1
expect_exit3 "unknown flag" "unknown argument '--sed=1'" --scenario="$scenarios/pause.textproto" --sed=1
expect_exit3 "bad range" "invalid seed range" --scenario="$scenarios/pause.textproto" --seeds=5..1
expect_exit3 "no scenario" "--scenario is required" --seed=1
expect_exit3 "history without kv" "needs a scenario with a kv workload" --scenario="$scenarios/pause.textproto" --seed=1 \
  --history="$tmp/x.jsonl"
expect_exit3 "history with a range" "--history needs --seed" --scenario="$scenarios/kv_steady_state.textproto" \
  --seeds=1..2 --history="$tmp/x.jsonl"
for jobs in 0 -1 abc "" 1.5 257 99999999999999999999; do
  expect_exit3 "--jobs=$jobs" "invalid --jobs '$jobs'" --scenario="$scenarios/pause.textproto" --seeds=1..2 \
    --jobs="$jobs"
done
expect_exit3 "--jobs with one seed" "--jobs needs --seeds" --scenario="$scenarios/pause.textproto" --seed=1 --jobs=2
expect_exit3 "--jobs alone" "--jobs needs --seeds" --scenario="$scenarios/pause.textproto" --jobs=2
expect_exit3 "--progress with one seed" "--progress needs --seeds" --scenario="$scenarios/pause.textproto" --seed=1 \
  --progress
expect_exit3 "--trace with --json" "--trace prints to stdout" --scenario="$scenarios/pause.textproto" --seed=1 --trace \
  --json

echo "$fails failures"
[ $fails -eq 0 ]
