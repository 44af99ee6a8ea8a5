#include "sim/scenarios/seed_range.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace detcd::sim {

absl::StatusOr<std::pair<uint64_t, uint64_t>> ParseSeedRange(const std::string& text) {
  std::vector<std::string> parts = absl::StrSplit(text, "..");
  uint64_t a = 0, b = 0;
  if (parts.size() == 1 && absl::SimpleAtoi(parts[0], &a)) return std::make_pair(a, a);
  if (parts.size() != 2 || !absl::SimpleAtoi(parts[0], &a) || !absl::SimpleAtoi(parts[1], &b)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid seed range '", text, "': want A..B, e.g. 1..100"));
  }
  if (a > b) return absl::InvalidArgumentError(absl::StrCat("invalid seed range '", text, "': ", a, " > ", b));
  return std::make_pair(a, b);
}

void AddSeedResult(RangeSummary* summary, uint64_t seed, const RunResult& result) {
  ++summary->seeds_run;
  summary->simulated_us += result.simulated_us;
  if (result.outcome != Outcome::kPass) {
    if (result.outcome == Outcome::kSafety || summary->worst == Outcome::kPass) summary->worst = result.outcome;
    summary->failures.push_back(SeedFailure{seed, result});
  }
}

RangeSummary RunSeedRange(const ScenarioConfig& scenario, uint64_t first, uint64_t last, const RunOptions& base,
                          const std::function<void(uint64_t, const RunResult&)>& progress) {
  RangeSummary summary;
  for (uint64_t seed = first;; ++seed) {
    RunOptions opt = base;
    opt.seed = seed;
    RunResult r = RunScenario(scenario, opt);
    AddSeedResult(&summary, seed, r);
    if (progress) progress(seed, r);
    if (seed == last) break;  // written this way so that last == UINT64_MAX terminates
  }
  return summary;
}

std::string ReplayCommand(const std::string& binary, const std::string& scenario_path, uint64_t seed,
                          const std::string& extra_flags) {
  return absl::StrCat(binary, " --scenario=", scenario_path, " --seed=", seed, extra_flags.empty() ? "" : " ",
                      extra_flags);
}

}  // namespace detcd::sim
