#!/usr/bin/env bash
# make fuzz: builds every //fuzz target with clang + libFuzzer + ASan + UBSan (its own Bazel output base, so the
# normal gcc build stays cached) and runs each for FUZZ_SECONDS, starting from its kept corpus in testdata/fuzz/.
# New interesting inputs go to a scratch corpus (not into the repository); a crash leaves its input in
# $FUZZ_OUT/<target>/ and makes this script fail, naming the target and the file.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SECONDS:-60}"
out="${FUZZ_OUT:-/tmp/detcd-fuzz}"
bazel_fuzz=(bazel --output_base="$HOME/.cache/detcd-bazel-fuzz")
targets=()
for dir in testdata/fuzz/*/; do targets+=("$(basename "$dir")"); done
"${bazel_fuzz[@]}" build --config=fuzz --symlink_prefix=/ $(printf '//fuzz:%s_fuzzer ' "${targets[@]}") >/tmp/detcd-fuzz-build.log 2>&1 || {
  tail -40 /tmp/detcd-fuzz-build.log >&2
  exit 1
}
bin="$("${bazel_fuzz[@]}" info --config=fuzz bazel-bin 2>/dev/null)/fuzz"
failed=0
for t in "${targets[@]}"; do
  mkdir -p "$out/$t/corpus" "$out/$t/crashes"
  log="$out/$t/fuzz.log"
  if "$bin/${t}_fuzzer" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$out/$t/crashes/" \
      "$out/$t/corpus" "testdata/fuzz/$t" >"$log" 2>&1; then
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
    echo "fuzz $t: ${seconds}s, $runs inputs, no crash"
  else
    failed=1
    echo "fuzz $t: FAILED — see $log; crashing input in $out/$t/crashes/" >&2
    grep -m5 -E 'ERROR|SUMMARY|runtime error' "$log" >&2 || true
  fi
done
exit $failed
