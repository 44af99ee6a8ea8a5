#!/usr/bin/env bash
# detcd-sim's tools for a failing seed, as a developer meets one: a seed range with a deliberately broken voter
# (--break) reports FAIL lines with replay commands; one command shrinks a failing seed to a smaller scenario file that
# replays the same failure with --seed=1 (and passes with the voter fixed) and draws its HTML timeline, which headless
# Chromium renders showing the members' lanes, the faults, the clients' operations and the failure; with --jobs=2 the
# same file comes out. Bad uses exit 3.
set -u
sim=$(realpath "$1")
. "$(dirname "$0")/test_lib.sh" 2>/dev/null || . "$TEST_SRCDIR/$TEST_WORKSPACE/cmd/test_lib.sh"  # fail, tmp
cd "$tmp" || exit 1
cat >small_swarm.textproto <<'PB'
name: "small_swarm"
nodes: 3 duration_ms: 6000 liveness_bound_ms: 15000
workload { proposals_per_sec: 100 clients: 4 request_timeout_ms: 500 }
network { latency_min_us: 200 latency_max_us: 5000 drop_probability: 0.01 reorder_probability: 0.02 }
swarm { enabled: true mean_interval_ms: 500 max_concurrent: 2 min_fault_duration_ms: 100 max_fault_duration_ms: 2000
        kinds: [ISOLATE, PARTITION, ASYMMETRIC, BRIDGE, CLOG, CRASH, PAUSE, CLOCK_DRIFT, DISK_ERROR, DISK_FULL, BIT_ROT] }
PB
# (The kinds are listed, not left to mean "all": a kind added later must not change which seed fails here first.)

out=$("$sim" --scenario=small_swarm.textproto --seeds=1..30 --break=vote_ignores_log)
rc=$?
[ $rc -eq 1 ] || fail "a broken voter's seed range exited $rc, want 1: $out"
seed=$(grep -m1 -o '^FAIL seed [0-9]*' <<<"$out" | awk '{print $3}')
[ -n "$seed" ] || fail "no FAIL line: $out"
grep -q -- "--seed=$seed --break=vote_ignores_log" <<<"$out" || fail "the replay command lacks --break: $out"

# The one command: a minimal scenario file and a page.
out=$("$sim" --scenario=small_swarm.textproto --seed="$seed" --break=vote_ignores_log --shrink=min.textproto \
  --html=min.html 2>shrink.err)
rc=$?
[ $rc -eq 1 ] || fail "--shrink exited $rc, want the seed's 1: $out $(cat shrink.err)"
grep -q "shrinking: kept: " shrink.err || fail "no progress on stderr: $(cat shrink.err)"
line=$(grep '^shrunk: faults ' <<<"$out")
[ -n "$line" ] || fail "no shrink summary: $out"
before=$(sed -E 's/^shrunk: faults ([0-9]+) -> ([0-9]+),.*/\1/' <<<"$line")
after=$(sed -E 's/^shrunk: faults ([0-9]+) -> ([0-9]+),.*/\2/' <<<"$line")
[ "$after" -lt "$before" ] || fail "no fewer faults: $line"
checker=$(grep -m1 -o "^seed $seed: safety violation \[[a-z-]*" <<<"$out" | sed 's/.*\[//')
[ -n "$checker" ] || fail "no checker named: $out"
grep -q "replay: .* --scenario=min.textproto --seed=1 --break=vote_ignores_log" <<<"$out" || fail "no replay: $out"
grep -q "^# Shrunk by detcd-sim from seed $seed of small_swarm.textproto" min.textproto ||
  fail "the file does not say where it came from: $(head -3 min.textproto)"
[ "$(grep -c '^faults {' min.textproto)" = "$after" ] || fail "the file's faults are not the $after said"

replay=$("$sim" --scenario=min.textproto --seed=1 --break=vote_ignores_log)
rc=$?
[ $rc -eq 1 ] || fail "the shrunk scenario at --seed=1 exited $rc, want 1: $replay"
grep -q "^seed 1: safety violation \[$checker at" <<<"$replay" || fail "replayed with another checker: $replay"
healthy=$("$sim" --scenario=min.textproto --seed=1)
[ $? -eq 0 ] || fail "the shrunk scenario fails with the voter fixed: $healthy"

# The page, as a browser shows it (no network: everything is in the file).
export HOME="$tmp"
chrome=(timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run)
"${chrome[@]}" --dump-dom "file://$tmp/min.html" >dom.html 2>chrome.err || fail "chromium: $(tail -3 chrome.err)"
python3 - dom.html "$checker" "$after" <<'PY' || fail "the rendered page: see above"
import re, sys
dom, checker, faults = open(sys.argv[1]).read(), sys.argv[2], int(sys.argv[3])
def count(cls): return len(re.findall(r'class="%s[ "]' % cls, dom))
errors = []
if 'id="verdict" class="fail"' not in dom or checker not in dom: errors.append("no failure verdict naming " + checker)
if count("span leader") < 1: errors.append("no leader span")
if len(set(re.findall(r'data-node="(\d+)"', dom))) != 3: errors.append("not three member lanes")
if count("band") != faults: errors.append("%d fault bands, want %d" % (count("band"), faults))
if count("op ok") < 1: errors.append("no ok operations")
if 'class="failure"' not in dom: errors.append("no failure line")
if count("op [a-z]+ named") < 1: errors.append("no operation outlined as named by the failure")
if re.search(r'<script|src="http|href="http', dom): errors.append("the page fetches or runs something")
for e in errors: print("page:", e)
sys.exit(1 if errors else 0)
PY
"${chrome[@]}" --window-size=1600,700 --screenshot="$tmp/min.png" "file://$tmp/min.html" >/dev/null 2>>chrome.err
python3 - "$tmp/min.png" <<'PY' || fail "screenshot: see above"
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", data[16:24])
assert (w, h) == (1600, 700), (w, h)
assert len(data) > 10000, "a nearly empty picture: %d bytes" % len(data)
PY

# Two worker processes trying each candidate's seeds two at a time: the very same file, summary and run count.
out2=$("$sim" --scenario=small_swarm.textproto --seed="$seed" --break=vote_ignores_log --shrink=min2.textproto \
  --jobs=2 2>shrink2.err)
rc=$?
[ $rc -eq 1 ] || fail "--shrink --jobs=2 exited $rc, want 1: $out2 $(cat shrink2.err)"
[ "$(grep '^shrunk: ' <<<"$out2" | sed 's/ in [0-9.]*s$//')" = "$(sed 's/ in [0-9.]*s$//' <<<"$line")" ] ||
  fail "--jobs=2 shrank differently: $(grep '^shrunk: ' <<<"$out2") against $line"
# (The header's replay command names the file written.)
diff <(grep -v '^#' min.textproto) <(grep -v '^#' min2.textproto) >jobs.diff ||
  fail "--jobs=2 wrote another scenario: $(cat jobs.diff)"

# A budget of two runs: the seed and its recorded schedule, nothing shrunk, still a file that fails the same way.
out=$("$sim" --scenario=small_swarm.textproto --seed="$seed" --break=vote_ignores_log --shrink=two.textproto \
  --shrink-runs=2 2>two.err)
rc=$?
[ $rc -eq 1 ] || fail "--shrink-runs=2 exited $rc, want 1: $out"
grep -q "^shrunk: faults $before -> $before, .*(2 runs)" <<<"$out" || fail "--shrink-runs=2: $out"
grep -q "shrinking: kept: " two.err && fail "--shrink-runs=2 kept a step: $(cat two.err)"
"$sim" --scenario=two.textproto --seed=1 --break=vote_ignores_log >/dev/null
[ $? -eq 1 ] || fail "the two-run file does not fail at --seed=1"

# Bad uses.
for args in "--seed=1 --shrink-runs=5" "--seed=1 --shrink --shrink-runs=1" "--seed=1 --shrink --shrink-runs=many" \
  "--seed=1 --shrink --json" "--seeds=1..2 --shrink" "--seeds=1..2 --html=x.html" "--seed=1 --jobs=2" \
  "--seed=1 --shrink --jobs=0" "--seed=1 --break=nope"; do
  # shellcheck disable=SC2086
  "$sim" --scenario=small_swarm.textproto $args >bad.out 2>&1
  rc=$?
  [ $rc -eq 3 ] || fail "'$args' exited $rc, want 3: $(cat bad.out)"
done
grep -q "unknown knob 'nope' (known: vote_ignores_log" bad.out || fail "unknown knob message: $(cat bad.out)"
"$sim" --scenario=small_swarm.textproto --seed=1 --shrink >bad.out 2>&1
rc=$?
[ $rc -eq 3 ] || fail "shrinking a passing seed exited $rc, want 3"
grep -q "seed 1 of small_swarm passes: nothing to shrink" bad.out || fail "passing seed message: $(cat bad.out)"

echo "$fails failures"
[ "$fails" -eq 0 ]
