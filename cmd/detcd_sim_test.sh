#!/usr/bin/env bash
# detcd-sim as a user runs it: the same seed prints the same trace-hash line, different seeds differ, a seed range
# prints a summary, --trace prints events, --history writes a KV run's history that detcd-check accepts (and rejects
# once a read is made stale), and bad arguments or scenario files exit 3 with a clear message.
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

echo "$fails failures"
[ $fails -eq 0 ]
