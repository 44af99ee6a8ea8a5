#!/usr/bin/env bash
# detcd-sim as a user runs it: the same seed prints the same trace-hash line, different seeds differ, a seed range
# prints a summary, --trace prints events, and bad arguments or scenario files exit 3 with a clear message.
set -u
sim="$1"
scenarios="$2"
fails=0
fail() { echo "FAIL: $*"; fails=$((fails + 1)); }
tmp=${TEST_TMPDIR:-$(mktemp -d)}

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

echo "$fails failures"
[ $fails -eq 0 ]
