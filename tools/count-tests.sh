#!/usr/bin/env bash
# Prints "N passed, N failed" for the last `bazel test` run: test cases from each target's JUnit XML (gtest writes
# one per case), plus one failure for every failed target whose XML shows no failing case (a crash, a timeout).
# Lines "fuzz <target>: ... no crash" / "fuzz <target>: FAILED ..." in the same file (from tools/fuzz.sh) count as one
# test each.
# Usage: count-tests.sh <file with bazel test's (and the fuzz run's) output>
set -u
log=${1:?bazel test output file}
testlogs=$(bazel info bazel-testlogs 2>/dev/null)
passed=0
failed=0
while read -r target status; do
  dir="$testlogs/${target#//}"
  dir="${dir/://}"
  xml="$dir/test.xml"
  tests=0
  fails=0
  if [ -f "$xml" ]; then
    # The first <testsuites ...> (or <testsuite ...>) element carries totals.
    head=$(grep -m1 -oE '<testsuites? [^>]*>' "$xml")
    tests=$(sed -nE 's/.* tests="([0-9]+)".*/\1/p' <<<"$head")
    f=$(sed -nE 's/.* failures="([0-9]+)".*/\1/p' <<<"$head")
    e=$(sed -nE 's/.* errors="([0-9]+)".*/\1/p' <<<"$head")
    tests=${tests:-0}
    fails=$(( ${f:-0} + ${e:-0} ))
  fi
  case "$status" in
    PASSED)
      [ "$tests" -eq 0 ] && tests=1
      passed=$((passed + tests - fails))
      failed=$((failed + fails))
      ;;
    *)
      [ "$fails" -eq 0 ] && fails=1
      [ "$tests" -lt "$fails" ] && tests=$fails
      passed=$((passed + tests - fails))
      failed=$((failed + fails))
      ;;
  esac
done < <(grep -E '^//[^ ]+ +(\(cached\) )?(PASSED|FAILED|TIMEOUT|FLAKY|NO STATUS|FAILED TO BUILD)' "$log" |
  sed -E 's/^(\/\/[^ ]+) +(\(cached\) )?([A-Z ]+[A-Z]).*/\1 \3/' | sed -E 's/ (FAILED TO BUILD|NO STATUS)$/ FAILED/')
passed=$((passed + $(grep -cE '^fuzz [a-z_]+: .*no crash$' "$log")))
failed=$((failed + $(grep -cE '^fuzz [a-z_]+: FAILED' "$log")))
# A build failure stops bazel before any target line: count it so a broken build never reads as "0 failed".
if [ $((passed + failed)) -eq 0 ] && ! grep -q "Executed" "$log"; then failed=1; fi
echo "$passed passed, $failed failed"
