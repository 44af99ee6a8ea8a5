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

RangeSummary RunSeedRange(const ScenarioConfig& scenario, uint64_t first, uint64_t last, const RunOptions& base,
                          const std::function<void(uint64_t, const RunResult&)>& progress) {
  RangeSummary summary;
  for (uint64_t seed = first;; ++seed) {
    RunOptions opt = base;
    opt.seed = seed;
    RunResult r = RunScenario(scenario, opt);
    ++summary.seeds_run;
    summary.simulated_us += r.simulated_us;
    if (r.outcome != Outcome::kPass) {
      if (r.outcome == Outcome::kSafety || summary.worst == Outcome::kPass) summary.worst = r.outcome;
      summary.failures.push_back(SeedFailure{seed, r});
    }
    if (progress) progress(seed, r);
    if (seed == last) break;  // written this way so that last == UINT64_MAX terminates
  }
  return summary;
}

std::string ReplayCommand(const std::string& binary, const std::string& scenario_path, uint64_t seed) {
  return absl::StrCat(binary, " --scenario=", scenario_path, " --seed=", seed);
}

}  // namespace detcd::sim
