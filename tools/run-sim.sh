#!/usr/bin/env bash
# Runs every scenario over seeds 1..SEEDS with detcd-sim and prints an overall total. Exit: the worst of the
# per-scenario exit codes (0 pass, 1 safety, 2 liveness, 3 bad scenario, 4 no worker processes). SIM_JOBS (default
# 1): worker processes per scenario (detcd-sim --jobs).
set -u
sim=${1:?detcd-sim binary}
seeds=${2:?number of seeds}
shift 2
worst=0
failed_scenarios=()
for scenario in "$@"; do
  "$sim" --scenario="$scenario" --seeds="1..$seeds" --jobs="${SIM_JOBS:-1}"
  rc=$?
  if [ $rc -ne 0 ]; then
    failed_scenarios+=("$(basename "$scenario" .textproto)")
    if [ $rc -eq 1 ] || [ $worst -eq 0 ] || { [ $rc -eq 3 ] && [ $worst -eq 2 ]; }; then worst=$rc; fi
  fi
done
echo "make sim: $# scenarios x $seeds seeds, ${#failed_scenarios[@]} scenarios with failures${failed_scenarios[*]:+: ${failed_scenarios[*]}}"
exit $worst
