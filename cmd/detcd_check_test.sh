#!/usr/bin/env bash
# detcd-check as a user runs it: a linearizable history exits 0 with "linearizable: yes"; a stale read exits 1 with
# "linearizable: no" and the shrunk contradiction (key, operations, line numbers); a missing file, a malformed line
# and bad arguments exit 2 with a message naming the problem; --help prints the usage and exits 0.
set -u
check="$1"
histories="$2"
. "$(dirname "$0")/test_lib.sh" 2>/dev/null || . "$TEST_SRCDIR/$TEST_WORKSPACE/cmd/test_lib.sh"  # fail, tmp, free_port

out=$("$check" --history="$histories/linearizable.jsonl")
rc=$?
[ $rc -eq 0 ] || fail "linearizable history: exit $rc, want 0"
[ "$out" = "linearizable: yes" ] || fail "linearizable history printed '$out'"

out=$("$check" --history="$histories/stale_read.jsonl")
rc=$?
[ $rc -eq 1 ] || fail "stale read: exit $rc, want 1"
expected='linearizable: no
key "b": no linearization of these 3 of its 5 operations:
  lines 3-4    process 0  ok  write 1
  lines 7-10   process 0  ok  write 2
  lines 13-14  process 1  ok  read 1'
[ "$(head -n 5 <<<"$out")" = "$expected" ] || fail "stale read printed:
$out
want first:
$expected"

# No shrinking: the whole key is shown, and the output says so.
out=$("$check" --history="$histories/stale_read.jsonl" --shrink_budget=0)
rc=$?
[ $rc -eq 1 ] || fail "--shrink_budget=0: exit $rc, want 1"
grep -q 'these 5 of its 5 operations (shrinking stopped at the time budget)' <<<"$out" || fail "--shrink_budget=0: $out"

# A generated history: one cas that cannot have succeeded, among many operations on other keys.
{
  for i in $(seq 1 200); do
    echo "{\"process\": $((i % 7)), \"type\": \"invoke\", \"f\": \"write\", \"key\": \"k$((i % 10))\", \"value\": $i}"
    echo "{\"process\": $((i % 7)), \"type\": \"ok\", \"f\": \"write\", \"key\": \"k$((i % 10))\", \"value\": $i}"
  done
  echo '{"process": 1, "type": "invoke", "f": "cas", "key": "k3", "value": [3, 1000]}'
  echo '{"process": 1, "type": "ok", "f": "cas", "key": "k3", "value": [3, 1000]}'
} >"$tmp/cas.jsonl"
out=$("$check" --history="$tmp/cas.jsonl")
rc=$?
[ $rc -eq 1 ] || fail "impossible cas: exit $rc, want 1"
grep -q '^key "k3": no linearization of these 3 of its 21 operations:$' <<<"$out" || fail "impossible cas: $out"
grep -q '^  lines 401-402  process 1  ok  cas \[3, 1000\]$' <<<"$out" || fail "impossible cas line: $out"

expect_exit2() {
  local what="$1" pattern="$2"
  shift 2
  local err
  err=$("$check" "$@" 2>&1 >/dev/null)
  local rc=$?
  [ $rc -eq 2 ] || fail "$what: exit $rc, want 2"
  grep -qF -- "$pattern" <<<"$err" || fail "$what: message '$err' lacks '$pattern'"
}
expect_exit2 "missing file" "cannot read history file '$tmp/none.jsonl': No such file or directory" \
  --history="$tmp/none.jsonl"
expect_exit2 "malformed line" \
  "malformed.jsonl: line 3: a cas's value must be a 2-element array [expected, new], found an array of 1" \
  --history="$histories/malformed.jsonl"
printf '{"process": 1, "type": "invoke", "f": "read", "key": "a"}\n{"process": 1, "type": "ok", "f": "read", "key": "a", "value": 1} x\n' \
  >"$tmp/trailing.jsonl"
expect_exit2 "trailing garbage" "line 2: column 67: unexpected 'x' after the value" --history="$tmp/trailing.jsonl"
printf '{"process": 5, "type": "ok", "f": "write", "key": "a", "value": 1}\n' >"$tmp/orphan.jsonl"
expect_exit2 "completion without invoke" 'line 1: "ok" for process 5, which has no invoke in flight' \
  --history="$tmp/orphan.jsonl"
printf '{"process": 5, "type": "invoke", "f": "increment", "key": "a", "value": 1}\n' >"$tmp/f.jsonl"
expect_exit2 "unknown f" 'line 1: unknown f "increment"' --history="$tmp/f.jsonl"
expect_exit2 "no history" "--history is required"
expect_exit2 "unknown flag" "unknown argument '--histroy=x'" --histroy=x
expect_exit2 "flag without value" "--history needs a value" --history
expect_exit2 "bad duration" "invalid --shrink_budget" --history="$histories/linearizable.jsonl" --shrink_budget=soon

out=$("$check" --help)
rc=$?
[ $rc -eq 0 ] || fail "--help: exit $rc, want 0"
grep -q "^usage: detcd-check --history=FILE" <<<"$out" || fail "--help printed '$out'"
grep -q "exit codes: 0 linearizable, 1 not linearizable, 2 " <<<"$out" || fail "--help lacks exit codes: '$out'"

echo "$fails failures"
[ $fails -eq 0 ]
