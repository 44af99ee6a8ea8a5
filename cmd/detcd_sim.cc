// detcd-sim: runs simulator scenarios. Flag parsing and wiring only; the simulation lives in sim/.
//   detcd-sim --scenario=FILE --seed=N [--trace] [--history=OUT] [--json]   one seed; ends with "trace-hash: <hex>"
//   detcd-sim --scenario=FILE --seeds=A..B [--jobs=N] [--json] [--progress]  a range of seeds, with a summary
//   detcd-sim --scenario=FILE --seed=N --shrink[=OUT] [--html=PAGE] [--jobs=N]   a failing seed's minimal scenario
// Exit codes: 0 all passed, 1 safety violation, 2 liveness failure, 3 bad arguments or scenario file, 4 the OS would
// not let it run its worker processes.
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/check.h"
#include "history/history.h"
#include "sim/scenarios/broken_knobs.h"
#include "sim/scenarios/parallel_seeds.h"
#include "sim/scenarios/runner.h"
#include "sim/scenarios/scenario.h"
#include "sim/scenarios/seed_json.h"
#include "sim/scenarios/seed_progress.h"
#include "sim/scenarios/seed_range.h"
#include "sim/scenarios/seed_run.h"
#include "sim/scenarios/shrinker.h"
#include "sim/scenarios/timeline.h"

namespace {

constexpr int kExitBadArgs = 3;
constexpr int kExitNoWorkers = 4;
constexpr int kMaxJobs = 256;

const char kUsage[] =
    "usage: detcd-sim --scenario=FILE (--seed=N [--trace] [--history=OUT] [--html=PAGE] [--shrink[=OUT]\n"
    "                 [--shrink-runs=N] [--jobs=N]] | --seeds=A..B [--jobs=N] [--progress]) [--json] "
    "[--break=KNOB,...]\n"
    "  --scenario=FILE  scenario in protobuf text format (see testdata/scenarios/)\n"
    "  --seed=N         run one seed; prints the result and 'trace-hash: <hex>'\n"
    "  --seeds=A..B     run seeds A through B; prints each failure as it happens, then a summary and a replay command\n"
    "                   per failure\n"
    "  --jobs=N         with --seeds: run the seeds on N worker processes (1 to 256; default 1, in this process).\n"
    "                   Results come in the order seeds finish, not in seed order; each seed's result and trace hash\n"
    "                   are the same whatever N. A worker that dies fails the seed it was running (checker 'worker').\n"
    "                   With --shrink: each candidate's next N seeds run at once on N worker processes; the shrunk\n"
    "                   scenario and its run count are the same whatever N\n"
    "  --progress       with --seeds: a progress line on stderr (seeds done, failures, seeds/s, time left) even when\n"
    "                   stderr is not a terminal (on a terminal it is always shown)\n"
    "  --json           stdout carries JSON lines only: one {\"type\":\"seed\",...} object per seed as it finishes\n"
    "                   (verdict, checker, message, times, counts, trace_hash, replay) and a final\n"
    "                   {\"type\":\"summary\",...} (seeds run, passed, failed by verdict, failing seeds, speed)\n"
    "  --trace          print the readable event trace (with --seed; not with --json)\n"
    "  --history=OUT    write the clients' register history as JSON lines for detcd-check (with --seed; scenarios\n"
    "                   with a kv workload)\n"
    "  --html=PAGE      with --seed: write the run's timeline as one self-contained HTML page (members' roles and\n"
    "                   terms, faults, crashes and pauses, client operations, the failure and what it names)\n"
    "  --shrink[=OUT]   with a failing --seed: shrink it to the smallest scenario that still fails the same way\n"
    "                   (fewer and shorter faults, fewer clients and requests, a shorter fault phase, fewer nodes)\n"
    "                   and write it to OUT (default: <scenario>-seed<N>-shrunk.textproto here); it replays with\n"
    "                   --seed=1. With --html, the page shows the shrunk scenario's failure\n"
    "  --shrink-runs=N  with --shrink: at most N simulations (2 to 1000000; default 400). A long scenario with many\n"
    "                   faults shrinks further with more\n"
    "  --break=KNOBS    deliberately broken Raft or etcd members, for trying the simulator's tools on a failing seed\n"
    "                   (never for judging detcd); comma-separated names from the simulator's own broken-code tests\n"
    "exit codes: 0 passed, 1 safety violation, 2 liveness failure, 3 bad arguments or scenario,\n"
    "            4 the OS refused worker processes\n";

int BadArgs(const std::string& message) {
  std::fprintf(stderr, "detcd-sim: %s\n%s", message.c_str(), kUsage);
  return kExitBadArgs;
}

int ExitCode(detcd::sim::Outcome o) { return static_cast<int>(o); }

void PrintResult(const detcd::sim::SeedRun& run) {
  const detcd::sim::RunResult& r = run.result;
  std::printf("seed %llu: %s", static_cast<unsigned long long>(run.seed), detcd::sim::OutcomeName(r.outcome));
  if (!r.checker.empty()) {
    std::printf(" [%s at %.6fs] %s", r.checker.c_str(), static_cast<double>(r.failure_time_us) / 1e6, r.detail.c_str());
  }
  std::printf("\n  simulated %.3fs, %llu events, %llu messages, %d faults, %d crashes, %zu leader terms\n",
              static_cast<double>(r.simulated_us) / 1e6, static_cast<unsigned long long>(r.events),
              static_cast<unsigned long long>(r.messages_sent), r.faults, r.crashes, r.terms_with_leader);
  if (r.kv) {
    std::printf(
        "  kv: %llu requests, %llu ok, %llu unknown; %zu register operations; revision %lld; %llu watch events, "
        "%llu watch reconnects; committed index %llu\n",
        static_cast<unsigned long long>(r.kv_requests), static_cast<unsigned long long>(r.kv_ok),
        static_cast<unsigned long long>(r.kv_unknown), static_cast<size_t>(run.operations),
        static_cast<long long>(r.final_revision), static_cast<unsigned long long>(r.watch_events),
        static_cast<unsigned long long>(r.watch_reconnects), static_cast<unsigned long long>(r.committed_index));
    if (r.leases_granted > 0) {
      std::printf("  leases: %llu granted, %llu revoked by clients (the rest expired)\n",
                  static_cast<unsigned long long>(r.leases_granted), static_cast<unsigned long long>(r.leases_revoked));
    }
    if (r.auth_ok + r.auth_denied + r.auth_changes > 0) {
      std::printf("  auth: %llu ok, %llu denied, %llu old revision; %llu checked at their admission revision, %llu "
                  "writes against their entry; %llu auth changes applied\n",
                  static_cast<unsigned long long>(r.auth_ok), static_cast<unsigned long long>(r.auth_denied),
                  static_cast<unsigned long long>(r.auth_old_revision),
                  static_cast<unsigned long long>(r.auth_ops_checked),
                  static_cast<unsigned long long>(r.auth_writes_matched),
                  static_cast<unsigned long long>(r.auth_changes));
    }
    if (r.linearizability_undecided > 0) {
      std::printf("  linearizability: %zu keys undecided (search budget exhausted)\n", r.linearizability_undecided);
    }
    if (r.members_added + r.members_removed > 0) {
      std::printf(
          "  membership: %llu added, %llu removed (%llu leaders), %llu promoted; %d removed members stopped "
          "by themselves\n",
          static_cast<unsigned long long>(r.members_added), static_cast<unsigned long long>(r.members_removed),
          static_cast<unsigned long long>(r.leaders_removed), static_cast<unsigned long long>(r.members_promoted),
          r.removed_members_stopped);
    }
  } else {
    std::printf("  register writers: %llu puts, %llu acknowledged, %llu unknown; committed index %llu\n",
                static_cast<unsigned long long>(r.kv_requests), static_cast<unsigned long long>(r.acked_puts),
                static_cast<unsigned long long>(r.kv_unknown), static_cast<unsigned long long>(r.committed_index));
  }
  std::printf("  snapshots: %d taken, %d installed from a leader; %d nodes refused to start\n", r.snapshots_taken,
              r.snapshots_installed, r.refusals);
}

struct Flags {
  std::string scenario_path, seed_text, seeds_text, history_path, jobs_text, html_path, shrink_path, break_text,
      shrink_runs_text;
  bool jobs_given = false;
  int jobs = 1;  // --jobs, checked
  bool shrink = false;
  int shrink_runs = detcd::sim::ShrinkOptions().max_runs;
  detcd::sim::RunOptions base;  // with --break's knobs
  // What a replay command needs besides the scenario and the seed.
  std::string ExtraFlags() const { return break_text.empty() ? "" : "--break=" + break_text; }
  bool trace = false;
  bool json = false;
  bool progress = false;
};

// Parses argv into `flags`; on a bad argument prints why and returns its exit code, on --help returns 0.
std::optional<int> ParseFlags(int argc, char** argv, Flags* flags) {
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
    if (value("--scenario", &flags->scenario_path) || value("--seed", &flags->seed_text) ||
        value("--seeds", &flags->seeds_text) || value("--history", &flags->history_path) ||
        value("--html", &flags->html_path) || value("--break", &flags->break_text) ||
        value("--shrink-runs", &flags->shrink_runs_text)) {
      continue;
    }
    if (arg == "--shrink" || value("--shrink", &flags->shrink_path)) {
      flags->shrink = true;
      continue;
    }
    if (value("--jobs", &flags->jobs_text)) {
      flags->jobs_given = true;
      continue;
    }
    if (arg == "--trace" || arg == "--json" || arg == "--progress") {
      (arg == "--trace" ? flags->trace : arg == "--json" ? flags->json : flags->progress) = true;
      continue;
    }
    return BadArgs("unknown argument '" + arg + "'");
  }
  if (flags->scenario_path.empty()) return BadArgs("--scenario is required");
  if (flags->jobs_given && flags->seeds_text.empty() && !flags->shrink) {
    return BadArgs("--jobs needs --seeds or --shrink");
  }
  if (flags->jobs_given &&
      (!absl::SimpleAtoi(flags->jobs_text, &flags->jobs) || flags->jobs < 1 || flags->jobs > kMaxJobs)) {
    return BadArgs(absl::StrFormat("invalid --jobs '%s': want a number of worker processes from 1 to %d",
                                   flags->jobs_text, kMaxJobs));
  }
  if (flags->progress && flags->seeds_text.empty()) return BadArgs("--progress needs --seeds");
  if (flags->seed_text.empty() == flags->seeds_text.empty()) return BadArgs("give exactly one of --seed and --seeds");
  if (flags->trace && flags->seed_text.empty()) return BadArgs("--trace needs --seed");
  if (flags->trace && flags->json) return BadArgs("--trace prints to stdout, which --json keeps for JSON lines");
  if (!flags->history_path.empty() && flags->seed_text.empty()) return BadArgs("--history needs --seed");
  if (!flags->html_path.empty() && flags->seed_text.empty()) return BadArgs("--html needs --seed");
  if (flags->shrink && flags->seed_text.empty()) return BadArgs("--shrink needs --seed (the failing one)");
  if (!flags->shrink_runs_text.empty()) {
    if (!flags->shrink) return BadArgs("--shrink-runs needs --shrink");
    int runs = 0;
    if (!absl::SimpleAtoi(flags->shrink_runs_text, &runs) || runs < 2 || runs > 1'000'000) {
      return BadArgs("invalid --shrink-runs '" + flags->shrink_runs_text + "' (2 to 1000000)");
    }
    flags->shrink_runs = runs;
  }
  if (flags->shrink && (flags->json || flags->trace || !flags->history_path.empty())) {
    return BadArgs("--shrink does not go with --json, --trace or --history");
  }
  if (absl::Status s = detcd::sim::ApplyBrokenKnobs(flags->break_text, &flags->base); !s.ok()) {
    return BadArgs(absl::StrCat("invalid --break: ", s.message()));
  }
  return std::nullopt;
}

bool WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) std::fprintf(stderr, "detcd-sim: cannot write '%s'\n", path.c_str());
  return static_cast<bool>(out);
}

// --shrink: the failing seed, then its shrunk scenario (and page), and how to replay it.
int ShrinkSeed(const Flags& flags, const detcd::sim::ScenarioConfig& scenario, const std::string& binary) {
  uint64_t seed = 0;
  if (!absl::SimpleAtoi(flags.seed_text, &seed)) return BadArgs("invalid --seed '" + flags.seed_text + "'");
  std::string out_path = flags.shrink_path;
  if (out_path.empty()) {
    std::string stem = flags.scenario_path.substr(flags.scenario_path.find_last_of('/') + 1);
    if (absl::EndsWith(stem, ".textproto")) stem.resize(stem.size() - std::strlen(".textproto"));
    out_path = absl::StrCat(stem, "-seed", seed, "-shrunk.textproto");
  }
  detcd::sim::ShrinkOptions so;
  so.run = flags.base;
  so.max_runs = flags.shrink_runs;
  so.progress = [](const std::string& line) { std::fprintf(stderr, "  shrinking: %s\n", line.c_str()); };
  if (flags.jobs > 1) {
    so.together = flags.jobs;
    so.run_together = [](const std::vector<detcd::sim::ScenarioConfig>& configs, const detcd::sim::RunOptions& run) {
      // Each scenario on a worker process of its own (forked now, so it has them all); a result travels back
      // numbered by its place in `configs`.
      std::vector<detcd::sim::RunResult> out(configs.size());
      std::vector<bool> got(configs.size(), false);
      const absl::Status status = detcd::sim::RunSeedsInWorkers(
          0, configs.size() - 1, static_cast<int>(configs.size()),
          [&](uint64_t i) {
            detcd::sim::SeedRun r = detcd::sim::RunOneSeed(configs[i], run, 1);
            r.seed = i;
            return r;
          },
          [&](const detcd::sim::SeedRun& r) {
            DETCD_CHECK_MSG(r.seed < configs.size() && !got[r.seed], "a worker's result for no scenario it was given");
            out[r.seed] = r.result;
            got[r.seed] = true;
          });
      // The OS refused a process: what did not run elsewhere runs here (the same result, only slower).
      if (!status.ok()) std::fprintf(stderr, "detcd-sim: %s; running here\n", std::string(status.message()).c_str());
      for (size_t i = 0; i < configs.size(); ++i) {
        if (!got[i]) out[i] = detcd::sim::RunOneSeed(configs[i], run, 1).result;
      }
      return out;
    };
  }
  const auto start = std::chrono::steady_clock::now();
  absl::StatusOr<detcd::sim::ShrinkResult> r = detcd::sim::Shrink(scenario, seed, so);
  if (!r.ok()) {
    std::fprintf(stderr, "detcd-sim: %s\n", std::string(r.status().message()).c_str());
    return r.status().code() == absl::StatusCode::kFailedPrecondition ? kExitBadArgs : 1;
  }
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const detcd::sim::RunResult& o = r->original;
  std::printf("seed %llu: %s [%s at %.6fs] %s\n", static_cast<unsigned long long>(seed),
              detcd::sim::OutcomeName(o.outcome), o.checker.c_str(), static_cast<double>(o.failure_time_us) / 1e6,
              o.detail.c_str());
  std::printf("shrunk: %s in %.1fs\n", detcd::sim::ShrinkSummary(*r).c_str(), wall_s);
  const std::string replay = detcd::sim::ReplayCommand(binary, out_path, 1, flags.ExtraFlags());
  const std::string header =
      absl::StrCat("Shrunk by detcd-sim from seed ", seed, " of ", flags.scenario_path, " (",
                   detcd::sim::ShrinkSummary(*r), ").\nIt fails ", detcd::sim::OutcomeName(r->last.outcome), " [",
                   r->last.checker, "]: ", r->last.detail, "\nReplay: ", replay);
  if (!WriteFile(out_path, detcd::sim::ScenarioToText(r->scenario, header))) return kExitBadArgs;
  std::printf("  [%s at %.6fs] %s\n  scenario: %s\n  replay: %s\n", r->last.checker.c_str(),
              static_cast<double>(r->last.failure_time_us) / 1e6, r->last.detail.c_str(), out_path.c_str(),
              replay.c_str());
  if (!flags.html_path.empty()) {
    absl::StatusOr<detcd::sim::ScenarioConfig> shrunk = detcd::sim::ScenarioConfigFromProto(r->scenario, out_path);
    if (!shrunk.ok()) {
      std::fprintf(stderr, "detcd-sim: the shrunk scenario: %s\n", std::string(shrunk.status().message()).c_str());
      return 1;
    }
    detcd::sim::Timeline timeline;
    detcd::sim::RunOptions opt = flags.base;
    opt.seed = 1;
    opt.timeline = &timeline;
    const detcd::sim::RunResult again = detcd::sim::RunScenario(*shrunk, opt);
    DETCD_CHECK_MSG(again.trace_hash == r->last.trace_hash, "the shrunk scenario's run is not the one kept");
    if (!WriteFile(flags.html_path, detcd::sim::TimelineHtml(timeline))) return kExitBadArgs;
    std::printf("  html: timeline written to %s\n", flags.html_path.c_str());
  }
  return ExitCode(o.outcome);
}

int RunSingleSeed(const Flags& flags, const detcd::sim::ScenarioConfig& scenario, const std::string& binary) {
  uint64_t seed = 0;
  if (!absl::SimpleAtoi(flags.seed_text, &seed)) return BadArgs("invalid --seed '" + flags.seed_text + "'");
  detcd::sim::RunOptions opt = flags.base;
  if (flags.trace) opt.trace_out = &std::cout;
  detcd::sim::Timeline timeline;
  if (!flags.html_path.empty()) opt.timeline = &timeline;
  detcd::history::History history;
  const detcd::sim::SeedRun run = detcd::sim::RunOneSeed(scenario, opt, seed, &history);
  std::cout.flush();
  if (flags.json) {
    const detcd::sim::RunInvocation invocation{scenario.name, flags.scenario_path, binary, flags.ExtraFlags()};
    detcd::sim::RangeSummary summary;
    detcd::sim::AddSeedResult(&summary, seed, run.result);
    std::printf("%s\n%s\n", detcd::sim::SeedJsonLine(invocation, run).c_str(),
                detcd::sim::SummaryJsonLine(invocation, flags.seed_text, 1, summary, run.wall_s).c_str());
  } else {
    PrintResult(run);
    if (run.result.outcome != detcd::sim::Outcome::kPass) {
      std::printf("  replay: %s\n",
                  detcd::sim::ReplayCommand(binary, flags.scenario_path, seed, flags.ExtraFlags()).c_str());
    }
  }
  if (!flags.html_path.empty()) {
    if (!WriteFile(flags.html_path, detcd::sim::TimelineHtml(timeline))) return kExitBadArgs;
    if (!flags.json) std::printf("  html: timeline written to %s\n", flags.html_path.c_str());
  }
  if (!flags.history_path.empty()) {
    if (!WriteFile(flags.history_path, detcd::history::FormatHistory(history))) return kExitBadArgs;
    if (!flags.json) {
      std::printf("  history: %zu operations written to %s\n", history.operations.size(), flags.history_path.c_str());
    }
  }
  if (!flags.json) std::printf("trace-hash: %s\n", run.result.trace_hash.c_str());
  return ExitCode(run.result.outcome);
}

int RunSeedRange(const Flags& flags, const detcd::sim::ScenarioConfig& scenario, const std::string& binary) {
  absl::StatusOr<std::pair<uint64_t, uint64_t>> range = detcd::sim::ParseSeedRange(flags.seeds_text);
  if (!range.ok()) return BadArgs(std::string(range.status().message()));
  const int jobs = flags.jobs;
  const detcd::sim::RunInvocation invocation{scenario.name, flags.scenario_path, binary, flags.ExtraFlags()};
  const bool tty = isatty(STDERR_FILENO);
  const uint64_t total = range->second - range->first + 1;
  detcd::sim::SeedProgress progress(scenario.name, total, stderr, tty);
  const auto start = std::chrono::steady_clock::now();
  detcd::sim::RangeSummary summary;
  auto done = [&](const detcd::sim::SeedRun& run) {
    detcd::sim::AddSeedResult(&summary, run.seed, run.result);
    const detcd::sim::RunResult& r = run.result;
    if (flags.json || r.outcome != detcd::sim::Outcome::kPass) {
      progress.Clear();
      if (flags.json) {
        std::printf("%s\n", detcd::sim::SeedJsonLine(invocation, run).c_str());
      } else {
        std::printf("FAIL seed %llu: %s [%s] %s\n", static_cast<unsigned long long>(run.seed),
                    detcd::sim::OutcomeName(r.outcome), r.checker.c_str(), r.detail.c_str());
      }
      std::fflush(stdout);
    }
    if (tty || flags.progress) progress.Update(summary.seeds_run, summary.failures.size());
  };
  const absl::Status status = detcd::sim::RunSeedsInWorkers(
      range->first, range->second, jobs,
      [&](uint64_t seed) { return detcd::sim::RunOneSeed(scenario, flags.base, seed); }, done);
  progress.Clear();
  if (!status.ok()) {
    std::fprintf(stderr, "detcd-sim: %s\n", std::string(status.message()).c_str());
    return kExitNoWorkers;
  }
  const double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::sort(summary.failures.begin(), summary.failures.end(),
            [](const detcd::sim::SeedFailure& a, const detcd::sim::SeedFailure& b) { return a.seed < b.seed; });
  if (flags.json) {
    std::printf("%s\n", detcd::sim::SummaryJsonLine(invocation, flags.seeds_text, jobs, summary, wall_s).c_str());
    return ExitCode(summary.worst);
  }
  const double sim_s = static_cast<double>(summary.simulated_us) / 1e6;
  std::printf("scenario %s: %llu seeds (%s), %zu failed; simulated %.1fs in %.2fs wall (%.0f simulated s per wall s)\n",
              scenario.name.c_str(), static_cast<unsigned long long>(summary.seeds_run), flags.seeds_text.c_str(),
              summary.failures.size(), sim_s, wall_s, wall_s > 0 ? sim_s / wall_s : 0.0);
  for (const detcd::sim::SeedFailure& f : summary.failures) {
    std::printf("  seed %llu: %s [%s]\n    replay: %s\n", static_cast<unsigned long long>(f.seed),
                detcd::sim::OutcomeName(f.result.outcome), f.result.checker.c_str(),
                detcd::sim::ReplayCommand(binary, flags.scenario_path, f.seed, flags.ExtraFlags()).c_str());
  }
  return ExitCode(summary.worst);
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (std::optional<int> exit_code = ParseFlags(argc, argv, &flags)) return *exit_code;

  absl::StatusOr<detcd::sim::ScenarioConfig> scenario = detcd::sim::LoadScenarioFile(flags.scenario_path);
  if (!scenario.ok()) {
    std::fprintf(stderr, "detcd-sim: %s\n", std::string(scenario.status().message()).c_str());
    return kExitBadArgs;
  }
  if (!flags.history_path.empty() && !scenario->proto.has_kv()) {
    return BadArgs("--history needs a scenario with a kv workload (" + flags.scenario_path + " has none)");
  }
  if (flags.shrink) return ShrinkSeed(flags, *scenario, argv[0]);
  return flags.seed_text.empty() ? RunSeedRange(flags, *scenario, argv[0]) : RunSingleSeed(flags, *scenario, argv[0]);
}
