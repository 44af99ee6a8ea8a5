#include "sim/scenarios/shrinker.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/check.h"

namespace detcd::sim {
namespace {

using Mutation = std::function<void(simpb::Scenario*)>;

// How a candidate runs: under --seed=1 (its seed_offset makes that its seed), with no trace.
RunOptions CandidateRun(const RunOptions& base) {
  RunOptions o = base;
  o.seed = 1;
  o.trace_out = nullptr;
  return o;
}

class Search {
 public:
  Search(const ScenarioConfig& original, const ShrinkOptions& options, std::string checker)
      : original_(original), options_(options), checker_(std::move(checker)) {}

  int runs() const { return runs_; }
  void CountRun() { ++runs_; }
  bool BudgetLeft() const { return runs_ < options_.max_runs; }

  // Whether `candidate` still fails with the same checker under --seed=1 — or, since any change moves every later
  // random choice, under one of the next seeds, which it then takes as its own (seed_offset), so that --seed=1
  // replays it. Its run in *out if so.
  bool Fails(simpb::Scenario* candidate, RunResult* out, int seeds) {
    absl::StatusOr<ScenarioConfig> c = ScenarioConfigFromProto(*candidate, original_.path);
    if (!c.ok()) return false;  // e.g. a fault aimed at a node no longer there
    const uint64_t offset = candidate->seed_offset();
    const RunOptions o = CandidateRun(options_.run);
    const int n = std::max(1, seeds);
    const int group = options_.run_together ? std::max(1, options_.together) : 1;
    for (int j = 0; j < n && BudgetLeft();) {
      // The next seeds, no more than the budget has left: looked at in order, and counted up to the first that
      // fails, as running them one at a time would.
      const int k = std::min({group, n - j, options_.max_runs - runs_});
      std::vector<ScenarioConfig> batch(static_cast<size_t>(k), *c);
      for (int i = 0; i < k; ++i) batch[i].proto.set_seed_offset(offset + static_cast<uint64_t>(j + i));
      std::vector<RunResult> results;
      if (k == 1) {
        results.push_back(RunScenario(batch[0], o));
      } else {
        results = options_.run_together(batch, o);
        DETCD_CHECK_MSG(results.size() == batch.size(), "run_together returned a result per scenario");
      }
      for (RunResult& r : results) {
        ++runs_;
        ++j;
        if (r.outcome == Outcome::kPass || r.checker != checker_) continue;
        candidate->set_seed_offset(offset + static_cast<uint64_t>(j - 1));
        *out = std::move(r);
        return true;
      }
    }
    return false;
  }

  // Tries `m` on *current; keeps it (and says so) if the result differs and still fails.
  bool Try(simpb::Scenario* current, RunResult* last, const Mutation& m, const std::string& what) {
    simpb::Scenario candidate = *current;
    m(&candidate);
    if (candidate.SerializeAsString() == current->SerializeAsString()) return false;
    RunResult r;
    if (!Fails(&candidate, &r, options_.seeds_per_candidate)) return false;
    *current = std::move(candidate);
    *last = std::move(r);
    if (options_.progress) options_.progress(absl::StrCat("kept: ", what, " (", runs_, " runs)"));
    return true;
  }

 private:
  const ScenarioConfig& original_;
  const ShrinkOptions& options_;
  const std::string checker_;
  int runs_ = 0;
};

std::vector<simpb::Fault> FaultsOf(const simpb::Scenario& s) { return {s.faults().begin(), s.faults().end()}; }

void SetFaults(simpb::Scenario* s, const std::vector<simpb::Fault>& faults) {
  s->clear_faults();
  for (const simpb::Fault& f : faults) *s->add_faults() = f;
}

// Drops faults: halves of the list, then quarters, … then one at a time (delta debugging's complement step).
bool DropFaults(Search* search, simpb::Scenario* current, RunResult* last) {
  bool kept = false;
  for (size_t chunk = std::max<size_t>(1, current->faults_size() / 2);; chunk /= 2) {
    for (size_t start = 0; start < static_cast<size_t>(current->faults_size()) && search->BudgetLeft();) {
      const size_t end = std::min(start + chunk, static_cast<size_t>(current->faults_size()));
      const Mutation drop = [start, end](simpb::Scenario* s) {
        std::vector<simpb::Fault> f = FaultsOf(*s);
        f.erase(f.begin() + static_cast<long>(start), f.begin() + static_cast<long>(end));
        SetFaults(s, f);
      };
      if (search->Try(current, last, drop, absl::StrCat("without faults ", start + 1, "..", end))) {
        kept = true;  // the next chunk now starts here
      } else {
        start = end;
      }
    }
    if (chunk == 1) return kept;
  }
}

// Halves each fault's duration (and a crash's restart delay) while the failure stays.
bool ShortenFaults(Search* search, simpb::Scenario* current, RunResult* last) {
  bool kept = false;
  for (int i = 0; i < current->faults_size() && search->BudgetLeft(); ++i) {
    while (current->faults(i).duration_ms() >= 20 && search->Try(
                                                         current, last,
                                                         [i](simpb::Scenario* s) {
                                                           simpb::Fault* f = s->mutable_faults(i);
                                                           f->set_duration_ms(f->duration_ms() / 2);
                                                         },
                                                         absl::StrCat("fault ", i + 1, " half as long"))) {
      kept = true;
    }
    while (current->faults(i).has_crash() && current->faults(i).crash().restart_after_ms() >= 20 &&
           search->Try(
               current, last,
               [i](simpb::Scenario* s) {
                 simpb::Crash* c = s->mutable_faults(i)->mutable_crash();
                 c->set_restart_after_ms(c->restart_after_ms() / 2);
               },
               absl::StrCat("fault ", i + 1, " restarts twice as soon"))) {
      kept = true;
    }
    while (current->faults(i).has_crash_after_send() &&
           current->faults(i).crash_after_send().restart_after_ms() >= 20 &&
           search->Try(
               current, last,
               [i](simpb::Scenario* s) {
                 simpb::CrashAfterSend* c = s->mutable_faults(i)->mutable_crash_after_send();
                 c->set_restart_after_ms(c->restart_after_ms() / 2);
               },
               absl::StrCat("fault ", i + 1, " restarts twice as soon"))) {
      kept = true;
    }
    while (current->faults(i).has_lagging_follower() && current->faults(i).lagging_follower().delay_ms() >= 20 &&
           search->Try(
               current, last,
               [i](simpb::Scenario* s) {
                 simpb::LaggingFollower* l = s->mutable_faults(i)->mutable_lagging_follower();
                 l->set_delay_ms(l->delay_ms() / 2);
               },
               absl::StrCat("fault ", i + 1, " lags half as much"))) {
      kept = true;
    }
  }
  return kept;
}

// Fewer and slower clients, fewer extras (watchers, leases, compaction, membership changes), a cleaner network.
bool LightenWorkload(Search* search, simpb::Scenario* current, RunResult* last) {
  const std::vector<std::pair<std::string, Mutation>> steps = {
      {"half the clients",
       [](simpb::Scenario* s) {
         if (s->has_kv()) {
           const uint32_t n = s->kv().has_clients() ? s->kv().clients() : 4;
           s->mutable_kv()->set_clients(std::max<uint32_t>(1, n / 2));
         } else {
           const uint32_t n = s->workload().has_clients() ? s->workload().clients() : 4;
           s->mutable_workload()->set_clients(std::max<uint32_t>(1, n / 2));
         }
       }},
      {"half the request rate",
       [](simpb::Scenario* s) {
         if (s->has_kv()) {
           const double r = s->kv().has_ops_per_sec() ? s->kv().ops_per_sec() : 50;
           if (r >= 2) s->mutable_kv()->set_ops_per_sec(r / 2);
         } else {
           const double r = s->workload().has_proposals_per_sec() ? s->workload().proposals_per_sec() : 100;
           if (r >= 2) s->mutable_workload()->set_proposals_per_sec(r / 2);
         }
       }},
      {"no watchers",
       [](simpb::Scenario* s) {
         if (!s->has_kv()) return;
         s->mutable_kv()->set_watchers(0);
         s->mutable_kv()->set_slow_watchers(0);
         s->mutable_kv()->clear_rewatch_every_ms();
       }},
      {"no leases",
       [](simpb::Scenario* s) {
         if (s->has_kv()) s->mutable_kv()->clear_leases();
       }},
      {"no compaction",
       [](simpb::Scenario* s) {
         if (s->has_kv()) s->mutable_kv()->clear_compact_every_ms();
       }},
      {"no membership changes",
       [](simpb::Scenario* s) {
         if (s->has_kv()) s->mutable_kv()->clear_membership();
       }},
      {"no message drops", [](simpb::Scenario* s) { s->mutable_network()->clear_drop_probability(); }},
      {"no duplicated messages", [](simpb::Scenario* s) { s->mutable_network()->clear_duplicate_probability(); }},
      {"no reordered messages", [](simpb::Scenario* s) { s->mutable_network()->clear_reorder_probability(); }},
  };
  bool kept = false;
  for (const auto& [what, m] : steps) {
    while (search->BudgetLeft() && search->Try(current, last, m, what)) kept = true;
  }
  return kept;
}

// Takes away part of an amount while the failure stays: half of it, and after a cut that loses the failure a quarter,
// then an eighth, down to 1/max_parts (a failure often needs a little of what is cut). amount(s) is what may go now;
// cut(s, by) takes `by` of it away.
bool CutInParts(Search* search, simpb::Scenario* current, RunResult* last, int64_t max_parts,
                const std::function<int64_t(const simpb::Scenario&)>& amount,
                const std::function<void(simpb::Scenario*, int64_t)>& cut,
                const std::function<std::string(const simpb::Scenario&)>& what) {
  bool kept = false;
  for (int64_t parts = 2; parts <= max_parts && search->BudgetLeft();) {
    const int64_t by = amount(*current) / parts;
    if (by < 10) break;
    if (search->Try(
            current, last, [&cut, by](simpb::Scenario* s) { cut(s, by); },
            absl::StrCat(what(*current), " (", by, " ms)"))) {
      kept = true;
      parts = 2;
    } else {
      parts *= 2;
    }
  }
  return kept;
}

// Faults earlier, closing the quiet time before each: part of the gap before a fault (from the start of the one
// before it, or from the start of the run) taken away, that fault and every later one moved by as much (their
// spacing kept), so that a shorter fault phase can follow. Latest gaps first: they are what keeps the phase long.
bool ShiftEarlier(Search* search, simpb::Scenario* current, RunResult* last) {
  bool kept = false;
  for (int i = current->faults_size() - 1; i >= 0 && search->BudgetLeft(); --i) {
    // The fault is found by its position, which moving faults together never changes.
    const auto gap = [i](const simpb::Scenario& s) {
      const int64_t at = s.faults(i).at_ms();
      int64_t before = 0;  // the latest start before this fault's
      for (const simpb::Fault& f : s.faults()) {
        if (f.at_ms() < at) before = std::max(before, f.at_ms());
      }
      return at - before;
    };
    const auto move = [i](simpb::Scenario* s, int64_t by) {
      const int64_t at = s->faults(i).at_ms();
      for (simpb::Fault& f : *s->mutable_faults()) {
        if (f.at_ms() >= at) f.set_at_ms(f.at_ms() - by);
      }
    };
    // Halves only: with many faults, finer cuts of every gap would spend the search's runs here.
    kept |= CutInParts(search, current, last, /*max_parts=*/2, gap, move, [i](const simpb::Scenario&) {
      return absl::StrCat("fault ", i + 1, " and those after it earlier");
    });
  }
  return kept;
}

// A shorter fault phase, down to just after the last fault starts.
bool ShortenPhase(Search* search, simpb::Scenario* current, RunResult* last) {
  const auto spare = [](const simpb::Scenario& s) {
    int64_t last_start = 0;
    for (const simpb::Fault& f : s.faults()) last_start = std::max(last_start, f.at_ms());
    return s.duration_ms() - (last_start + 1);
  };
  return CutInParts(
      search, current, last, /*max_parts=*/8, spare,
      [](simpb::Scenario* s, int64_t by) { s->set_duration_ms(s->duration_ms() - by); },
      [](const simpb::Scenario&) { return std::string("a shorter fault phase"); });
}

// Fewer nodes (a candidate whose faults name a node no longer there is not valid, and not run).
bool DropNodes(Search* search, simpb::Scenario* current, RunResult* last) {
  bool kept = false;
  for (int fewer : {2, 1}) {
    const int nodes = current->has_nodes() ? static_cast<int>(current->nodes()) : 3;
    if (nodes - fewer < 1) continue;
    if (search->Try(
            current, last, [nodes, fewer](simpb::Scenario* s) { s->set_nodes(static_cast<uint32_t>(nodes - fewer)); },
            absl::StrCat(nodes - fewer, " nodes"))) {
      kept = true;
    }
  }
  return kept;
}

ShrinkSize SizeOf(const simpb::Scenario& s, const ScenarioConfig& config, const RunResult& r) {
  ShrinkSize z;
  z.faults = r.schedule.size();
  z.requests = r.kv_requests;
  z.nodes = s.has_nodes() ? static_cast<int>(s.nodes()) : config.nodes;
  z.duration_ms = s.duration_ms();
  return z;
}

}  // namespace

absl::StatusOr<ShrinkResult> Shrink(const ScenarioConfig& scenario, uint64_t seed, const ShrinkOptions& options) {
  ShrinkResult out;
  RunOptions first = options.run;
  first.seed = seed;
  first.trace_out = nullptr;
  out.original = RunScenario(scenario, first);
  if (out.original.outcome == Outcome::kPass) {
    return absl::FailedPreconditionError(
        absl::StrCat("seed ", seed, " of ", scenario.name, " passes: nothing to shrink"));
  }
  Search search(scenario, options, out.original.checker);
  search.CountRun();

  // The seed's own schedule, scripted; the swarm only draws; --seed=1 is this seed.
  simpb::Scenario current = scenario.proto;
  SetFaults(&current, out.original.schedule);
  if (current.swarm().enabled()) current.mutable_swarm()->set_draw_only(true);
  current.set_seed_offset(seed + scenario.proto.seed_offset() - 1);
  RunResult last;
  if (!search.Fails(&current, &last, /*seeds=*/1)) {
    return absl::InternalError(absl::StrCat("seed ", seed, " of ", scenario.name,
                                            " did not fail again when replayed from its recorded fault schedule: the "
                                            "simulation is not deterministic (please report it)"));
  }
  out.before = SizeOf(scenario.proto, scenario, out.original);

  for (bool progress = true; progress && search.BudgetLeft();) {
    progress = false;
    // What makes every later run cheaper first: fewer faults and nodes, a shorter fault phase.
    progress |= DropFaults(&search, &current, &last);
    progress |= DropNodes(&search, &current, &last);
    progress |= ShiftEarlier(&search, &current, &last);
    progress |= ShortenPhase(&search, &current, &last);
    progress |= ShortenFaults(&search, &current, &last);
    progress |= LightenWorkload(&search, &current, &last);
  }
  // A swarm that no longer draws anything the run uses is still needed: its draws keep the seed's randomness. It is
  // left in place (draw_only) whatever the shrinking did.
  DETCD_CHECK_MSG(last.outcome != Outcome::kPass && last.checker == out.original.checker,
                  "a shrunk scenario kept without its failure");
  if (options.run_together) {
    // Its run may have come from another process, without its fault schedule: run here once more (not counted),
    // which must be the very same run.
    absl::StatusOr<ScenarioConfig> c = ScenarioConfigFromProto(current, scenario.path);
    DETCD_CHECK_MSG(c.ok(), "a shrunk scenario kept that does not load");
    RunResult here = RunScenario(*c, CandidateRun(options.run));
    DETCD_CHECK_MSG(here.trace_hash == last.trace_hash && here.outcome == last.outcome && here.checker == last.checker,
                    "the shrunk scenario ran differently here than where it was tried");
    last = std::move(here);
  }
  out.scenario = std::move(current);
  out.after = SizeOf(out.scenario, scenario, last);
  out.last = std::move(last);
  out.runs = search.runs();
  return out;
}

std::string ShrinkSummary(const ShrinkResult& r) {
  return absl::StrFormat(
      "faults %d -> %d, client requests %d -> %d, nodes %d -> %d, fault phase %.1fs -> %.1fs (%d runs)",
      r.before.faults, r.after.faults, r.before.requests, r.after.requests, r.before.nodes, r.after.nodes,
      static_cast<double>(r.before.duration_ms) / 1000, static_cast<double>(r.after.duration_ms) / 1000, r.runs);
}

}  // namespace detcd::sim
