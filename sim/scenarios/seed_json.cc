#include "sim/scenarios/seed_json.h"

#include <algorithm>
#include <vector>

#include "history/json_writer.h"

namespace detcd::sim {

const char* OutcomeVerdict(Outcome o) {
  switch (o) {
    case Outcome::kPass:
      return "pass";
    case Outcome::kSafety:
      return "safety";
    case Outcome::kLiveness:
      return "liveness";
  }
  return "?";
}

std::string SeedJsonLine(const RunInvocation& invocation, const SeedRun& run) {
  const RunResult& r = run.result;
  history::JsonObjectWriter w;
  w.String("type", "seed")
      .String("scenario", invocation.scenario_name)
      .String("scenario_file", invocation.scenario_file)
      .Uint("seed", run.seed)
      .String("verdict", OutcomeVerdict(r.outcome))
      .String("checker", r.checker)
      .String("message", r.detail);
  // The same fields on every line, for readers with a fixed schema: a pass has no failure time.
  if (r.outcome != Outcome::kPass) {
    w.Double("failure_time_s", static_cast<double>(r.failure_time_us) / 1e6);
  } else {
    w.Null("failure_time_s");
  }
  w.Double("simulated_s", static_cast<double>(r.simulated_us) / 1e6)
      .Double("wall_s", run.wall_s)
      .Uint("events", r.events)
      .Uint("messages", r.messages_sent)
      .Int("faults", r.faults)
      .Int("crashes", r.crashes)
      .Uint("leader_terms", r.terms_with_leader)
      .Uint("committed_index", r.committed_index)
      .Bool("kv", r.kv)
      .Uint("operations", run.operations)
      .Uint("kv_requests", r.kv_requests)
      .Uint("kv_ok", r.kv_ok)
      .Uint("kv_unknown", r.kv_unknown)
      .Uint("acked_puts", r.acked_puts)
      .Int("final_revision", r.final_revision)
      .Uint("watch_events", r.watch_events)
      .Uint("watch_reconnects", r.watch_reconnects)
      .Uint("leases_granted", r.leases_granted)
      .Uint("leases_revoked", r.leases_revoked)
      .Uint("linearizability_undecided", r.linearizability_undecided)
      .Uint("members_added", r.members_added)
      .Uint("members_removed", r.members_removed)
      .Uint("leaders_removed", r.leaders_removed)
      .Uint("members_promoted", r.members_promoted)
      .Int("removed_members_stopped", r.removed_members_stopped)
      .Uint("auth_ok", r.auth_ok)
      .Uint("auth_denied", r.auth_denied)
      .Uint("auth_old_revision", r.auth_old_revision)
      .Uint("auth_ops_checked", r.auth_ops_checked)
      .Uint("auth_writes_matched", r.auth_writes_matched)
      .Uint("auth_changes", r.auth_changes)
      .Int("snapshots_taken", r.snapshots_taken)
      .Int("snapshots_installed", r.snapshots_installed)
      .Int("refusals", r.refusals)
      .String("trace_hash", r.trace_hash)
      .String("replay", ReplayCommand(invocation.binary, invocation.scenario_file, run.seed, invocation.extra_flags));
  return w.Finish();
}

std::string SummaryJsonLine(const RunInvocation& invocation, const std::string& seeds, int jobs,
                            const RangeSummary& summary, double wall_s) {
  uint64_t safety = 0, liveness = 0;
  std::vector<uint64_t> failing;
  for (const SeedFailure& f : summary.failures) {
    (f.result.outcome == Outcome::kSafety ? safety : liveness) += 1;
    failing.push_back(f.seed);
  }
  std::sort(failing.begin(), failing.end());
  const double simulated_s = static_cast<double>(summary.simulated_us) / 1e6;
  const double seeds_run = static_cast<double>(summary.seeds_run);
  history::JsonObjectWriter by_outcome;
  by_outcome.Uint("safety", safety).Uint("liveness", liveness);
  return history::JsonObjectWriter()
      .String("type", "summary")
      .String("scenario", invocation.scenario_name)
      .String("scenario_file", invocation.scenario_file)
      .String("seeds", seeds)
      .Int("jobs", jobs)
      .Uint("seeds_run", summary.seeds_run)
      .Uint("passed", summary.seeds_run - summary.failures.size())
      .Uint("failed", summary.failures.size())
      .Object("failed_by_verdict", by_outcome.Finish())
      .UintArray("failing_seeds", failing)
      .String("verdict", OutcomeVerdict(summary.worst))
      .Double("wall_s", wall_s, 3)
      .Double("simulated_s", simulated_s, 3)
      .Double("simulated_s_per_wall_s", wall_s > 0 ? simulated_s / wall_s : 0, 1)
      .Double("seeds_per_hour", wall_s > 0 ? seeds_run * 3600 / wall_s : 0, 0)
      .Finish();
}

}  // namespace detcd::sim
