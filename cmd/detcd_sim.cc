// detcd-sim: runs simulator scenarios. Flag parsing and wiring only; the simulation lives in sim/.
//   detcd-sim --scenario=FILE --seed=N [--trace] [--history=OUT]   one seed; ends with "trace-hash: <hex>"
//   detcd-sim --scenario=FILE --seeds=A..B          a range of seeds, with a summary
// Exit codes: 0 all passed, 1 safety violation, 2 liveness failure, 3 bad arguments or scenario file.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_format.h"
#include "history/history.h"
#include "sim/scenarios/runner.h"
#include "sim/scenarios/scenario.h"
#include "sim/scenarios/seed_range.h"

namespace {

constexpr int kExitBadArgs = 3;

const char kUsage[] =
    "usage: detcd-sim --scenario=FILE (--seed=N [--trace] [--history=OUT] | --seeds=A..B)\n"
    "  --scenario=FILE  scenario in protobuf text format (see testdata/scenarios/)\n"
    "  --seed=N         run one seed; prints the result and 'trace-hash: <hex>'\n"
    "  --seeds=A..B     run seeds A through B; prints a summary and a replay command per failure\n"
    "  --trace          print the readable event trace (with --seed)\n"
    "  --history=OUT    write the clients' register history as JSON lines for detcd-check (with --seed; scenarios\n"
    "                   with a kv workload)\n"
    "exit codes: 0 passed, 1 safety violation, 2 liveness failure, 3 bad arguments or scenario\n";

int BadArgs(const std::string& message) {
  std::fprintf(stderr, "detcd-sim: %s\n%s", message.c_str(), kUsage);
  return kExitBadArgs;
}

int ExitCode(detcd::sim::Outcome o) { return static_cast<int>(o); }

void PrintResult(uint64_t seed, const detcd::sim::RunResult& r) {
  std::printf("seed %llu: %s", static_cast<unsigned long long>(seed), detcd::sim::OutcomeName(r.outcome));
  if (!r.checker.empty()) {
    std::printf(" [%s at %.6fs] %s", r.checker.c_str(), static_cast<double>(r.failure_time_us) / 1e6, r.detail.c_str());
  }
  std::printf("\n  simulated %.3fs, %llu events, %llu messages, %d faults, %d crashes, %zu leader terms\n",
              static_cast<double>(r.simulated_us) / 1e6, static_cast<unsigned long long>(r.events),
              static_cast<unsigned long long>(r.messages_sent), r.faults, r.crashes, r.terms_with_leader);
  if (r.kv) {
    std::printf("  kv: %llu requests, %llu ok, %llu unknown; %zu register operations; revision %lld; %llu watch events, "
                "%llu watch reconnects; committed index %llu\n",
                static_cast<unsigned long long>(r.kv_requests), static_cast<unsigned long long>(r.kv_ok),
                static_cast<unsigned long long>(r.kv_unknown), r.history.operations.size(),
                static_cast<long long>(r.final_revision), static_cast<unsigned long long>(r.watch_events),
                static_cast<unsigned long long>(r.watch_reconnects), static_cast<unsigned long long>(r.committed_index));
    if (r.leases_granted > 0) {
      std::printf("  leases: %llu granted, %llu revoked by clients (the rest expired)\n",
                  static_cast<unsigned long long>(r.leases_granted), static_cast<unsigned long long>(r.leases_revoked));
    }
    if (r.linearizability_undecided > 0) {
      std::printf("  linearizability: %zu keys undecided (search budget exhausted)\n", r.linearizability_undecided);
    }
    if (r.members_added + r.members_removed > 0) {
      std::printf("  membership: %llu added, %llu removed (%llu leaders), %llu promoted; %d removed members stopped "
                  "by themselves\n",
                  static_cast<unsigned long long>(r.members_added), static_cast<unsigned long long>(r.members_removed),
                  static_cast<unsigned long long>(r.leaders_removed),
                  static_cast<unsigned long long>(r.members_promoted), r.removed_members_stopped);
    }
  } else {
    std::printf("  register writers: %llu puts, %llu acknowledged, %llu unknown; committed index %llu\n",
                static_cast<unsigned long long>(r.kv_requests), static_cast<unsigned long long>(r.acked_puts),
                static_cast<unsigned long long>(r.kv_unknown), static_cast<unsigned long long>(r.committed_index));
  }
  std::printf("  snapshots: %d taken, %d installed from a leader; %d nodes refused to start\n", r.snapshots_taken,
              r.snapshots_installed, r.refusals);
}

}  // namespace

int main(int argc, char** argv) {
  std::string scenario_path, seed_text, seeds_text, history_path;
  bool trace = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* name, std::string* out) {
      const std::string prefix = std::string(name) + "=";
      if (!absl::StartsWith(arg, prefix)) return false;
      *out = arg.substr(prefix.size());
      return true;
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (value("--scenario", &scenario_path) || value("--seed", &seed_text) || value("--seeds", &seeds_text) ||
        value("--history", &history_path)) {
      continue;
    }
    if (arg == "--trace") {
      trace = true;
      continue;
    }
    return BadArgs("unknown argument '" + arg + "'");
  }
  if (scenario_path.empty()) return BadArgs("--scenario is required");
  if (seed_text.empty() == seeds_text.empty()) return BadArgs("give exactly one of --seed and --seeds");
  if (trace && seed_text.empty()) return BadArgs("--trace needs --seed");
  if (!history_path.empty() && seed_text.empty()) return BadArgs("--history needs --seed");

  absl::StatusOr<detcd::sim::ScenarioConfig> scenario = detcd::sim::LoadScenarioFile(scenario_path);
  if (!scenario.ok()) {
    std::fprintf(stderr, "detcd-sim: %s\n", std::string(scenario.status().message()).c_str());
    return kExitBadArgs;
  }

  if (!history_path.empty() && !scenario->proto.has_kv()) {
    return BadArgs("--history needs a scenario with a kv workload (" + scenario_path + " has none)");
  }

  if (!seed_text.empty()) {
    uint64_t seed = 0;
    if (!absl::SimpleAtoi(seed_text, &seed)) return BadArgs("invalid --seed '" + seed_text + "'");
    detcd::sim::RunOptions opt;
    opt.seed = seed;
    if (trace) opt.trace_out = &std::cout;
    const detcd::sim::RunResult r = detcd::sim::RunScenario(*scenario, opt);
    std::cout.flush();
    PrintResult(seed, r);
    if (r.outcome != detcd::sim::Outcome::kPass) {
      std::printf("  replay: %s\n", detcd::sim::ReplayCommand(argv[0], scenario_path, seed).c_str());
    }
    if (!history_path.empty()) {
      std::ofstream out(history_path, std::ios::binary | std::ios::trunc);
      out << detcd::history::FormatHistory(r.history);
      out.close();
      if (!out) {
        std::fprintf(stderr, "detcd-sim: cannot write history file '%s'\n", history_path.c_str());
        return kExitBadArgs;
      }
      std::printf("  history: %zu operations written to %s\n", r.history.operations.size(), history_path.c_str());
    }
    std::printf("trace-hash: %s\n", r.trace_hash.c_str());
    return ExitCode(r.outcome);
  }

  absl::StatusOr<std::pair<uint64_t, uint64_t>> range = detcd::sim::ParseSeedRange(seeds_text);
  if (!range.ok()) return BadArgs(std::string(range.status().message()));
  const bool tty = isatty(STDERR_FILENO);
  const uint64_t total = range->second - range->first + 1;
  const auto start = std::chrono::steady_clock::now();
  uint64_t done = 0, failed = 0;
  const detcd::sim::RangeSummary summary = detcd::sim::RunSeedRange(
      *scenario, range->first, range->second, detcd::sim::RunOptions{},
      [&](uint64_t seed, const detcd::sim::RunResult& r) {
        ++done;
        if (r.outcome != detcd::sim::Outcome::kPass) {
          ++failed;
          if (tty) std::fputs("\r\033[K", stderr);
          std::printf("FAIL seed %llu: %s [%s] %s\n", static_cast<unsigned long long>(seed),
                      detcd::sim::OutcomeName(r.outcome), r.checker.c_str(), r.detail.c_str());
          std::fflush(stdout);
        }
        if (tty) {
          std::fprintf(stderr, "\r\033[K%s: %llu/%llu seeds, %llu failed", scenario->name.c_str(),
                       static_cast<unsigned long long>(done), static_cast<unsigned long long>(total),
                       static_cast<unsigned long long>(failed));
        }
      });
  if (tty) std::fputs("\r\033[K", stderr);
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double sim_s = static_cast<double>(summary.simulated_us) / 1e6;
  std::printf("scenario %s: %llu seeds (%s), %zu failed; simulated %.1fs in %.2fs wall (%.0f simulated s per wall s)\n",
              scenario->name.c_str(), static_cast<unsigned long long>(summary.seeds_run), seeds_text.c_str(),
              summary.failures.size(), sim_s, wall_s, wall_s > 0 ? sim_s / wall_s : 0.0);
  for (const detcd::sim::SeedFailure& f : summary.failures) {
    std::printf("  seed %llu: %s [%s]\n    replay: %s\n", static_cast<unsigned long long>(f.seed),
                detcd::sim::OutcomeName(f.result.outcome), f.result.checker.c_str(),
                detcd::sim::ReplayCommand(argv[0], scenario_path, f.seed).c_str());
  }
  return ExitCode(summary.worst);
}
