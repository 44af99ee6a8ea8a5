// RunScenario: one simulation run of a scenario under one seed — etcd members (kv/node_core, driven by
// host::EffectsLoop as the production member is) on simulated disks and network, under the scenario's faults. The
// clients are the scenario's kv workload (register clients, churn clients, watchers, a compactor), or, for a scenario
// without a kv section (a Raft scenario), register writers: clients that put values at the workload's rate and whose
// acknowledged puts the end must find in every member. Safety is checked all along (Raft's properties; the watch
// guarantees, including that members agree on every revision's events); after the heal the cluster must converge
// within the liveness bound: a leader, no request in flight, every member at the leader's commit, every watcher at the
// newest revision. At the end: the register history must be linearizable, members must have equal revisions and
// equal HashKV, and every acknowledged put must be in every member's history at its revision unless compacted. With
// membership changes (kv.membership), an operator replaces, adds and removes members during the run; the membership
// checker watches that every member's Raft configuration is its membership all along, and at the end that the
// members agree on it and that it is the one the operator made. Same scenario + same seed => the same run and trace
// hash.
#include "sim/scenarios/runner.h"

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/prng.h"
#include "history/linearizability.h"
#include "sim/checkers/auth_checker.h"
#include "sim/checkers/membership_checker.h"
#include "sim/checkers/raft_checker.h"
#include "sim/checkers/watch_checker.h"
#include "sim/scenarios/swarm.h"
#include "sim/workloads/auth_workload.h"
#include "sim/workloads/kv_workload.h"
#include "sim/workloads/membership_operator.h"
#include "sim/world/event_loop.h"
#include "sim/world/fault_injector.h"
#include "sim/world/kv_cluster.h"
#include "sim/world/network.h"
#include "sim/world/trace.h"

namespace detcd::sim {

namespace {

constexpr int64_t kCheckIntervalUs = 50'000;

// A Raft scenario's workload: register writers proposing at the scenario's rate (0: none), giving a request up as
// unknown after its timeout.
KvWorkloadOptions RegisterWritersFor(const WorkloadSettings& s) {
  KvWorkloadOptions w;
  w.writes_only = true;
  w.clients = s.proposals_per_sec > 0 ? s.clients : 0;
  w.ops_per_sec = s.proposals_per_sec;
  w.watchers = 0;
  w.request_timeout_us = s.request_timeout_ms * 1000;
  w.value_bytes = s.value_bytes;
  return w;
}

KvWorkloadOptions KvWorkloadOptionsFor(const ScenarioConfig& sc) {
  if (!sc.proto.has_kv()) return RegisterWritersFor(sc.workload);
  const simpb::KvWorkload& p = sc.proto.kv();
  KvWorkloadOptions w;
  if (p.has_auth()) {
    // With auth on, requests without credentials are refused: the auth workload's clients are the only ones.
    w.writes_only = true;
    w.clients = 0;
    w.watchers = 0;
    return w;
  }
  if (p.has_clients()) w.clients = static_cast<int>(p.clients());
  if (p.has_ops_per_sec()) w.ops_per_sec = p.ops_per_sec();
  if (p.has_keys()) w.keys = std::max(1, static_cast<int>(p.keys()));
  if (p.has_watchers()) w.watchers = static_cast<int>(p.watchers());
  if (p.has_slow_watchers()) w.slow_watchers = static_cast<int>(p.slow_watchers());
  if (p.has_compact_every_ms()) w.compact_every_us = p.compact_every_ms() * 1000;
  if (p.has_request_timeout_ms()) w.request_timeout_us = p.request_timeout_ms() * 1000;
  if (p.has_leases()) w.leases = p.leases();
  if (p.has_lease_ttl_s()) w.lease_ttl_s = std::max<int64_t>(1, p.lease_ttl_s());
  if (p.has_rewatch_every_ms()) w.rewatch_every_us = p.rewatch_every_ms() * 1000;
  if (p.has_compact_behind()) w.compact_behind = std::max<int64_t>(0, p.compact_behind());
  // A member made to differ serves its wrong canary to a watcher of every key; watchers stay away from it (what
  // finds it is the corruption check).
  w.watchers_avoid = p.corrupt_member();
  return w;
}

AuthWorkloadOptions AuthOptionsFor(const simpb::AuthWorkload& p) {
  AuthWorkloadOptions o;
  if (p.has_clients()) o.clients = static_cast<int>(p.clients());
  if (p.has_users()) o.users = std::max(1, static_cast<int>(p.users()));
  if (p.has_roles()) o.roles = std::max(1, static_cast<int>(p.roles()));
  if (p.has_keys()) o.keys = std::clamp(static_cast<int>(p.keys()), 1, 99);
  if (p.has_ops_per_sec()) o.ops_per_sec = p.ops_per_sec();
  if (p.has_change_every_ms()) o.change_every_us = std::max<int64_t>(1, p.change_every_ms()) * 1000;
  if (p.has_relogin_every_ms()) o.relogin_every_us = std::max<int64_t>(0, p.relogin_every_ms()) * 1000;
  if (p.has_request_timeout_ms()) o.request_timeout_us = p.request_timeout_ms() * 1000;
  return o;
}

MembershipOperatorOptions MembershipOptionsFor(const simpb::MembershipChanges& p) {
  MembershipOperatorOptions o;
  o.change_every_us = p.change_every_ms() * 1000;
  if (p.has_min_voters()) o.min_voters = static_cast<int>(p.min_voters());
  if (p.has_learner_fraction()) o.learner_fraction = p.learner_fraction();
  if (p.has_remove_leader_fraction()) o.remove_leader_fraction = p.remove_leader_fraction();
  if (p.has_request_timeout_ms()) o.request_timeout_us = p.request_timeout_ms() * 1000;
  if (p.has_impatient_fraction()) o.impatient_fraction = p.impatient_fraction();
  if (p.has_promote_learners()) o.promote_learners = p.promote_learners();
  return o;
}

// Why the cluster has not converged yet, or "" if it has.
std::string NotConverged(const KvCluster& cluster, const KvWorkload& workload, const MembershipOperator* op,
                         const AuthWorkload* auth) {
  if (op != nullptr && !op->idle()) return absl::StrCat("the operator is still at: ", op->doing());
  if (auth != nullptr && !auth->set_up()) return "auth is not set up yet";
  if (auth != nullptr && auth->in_flight() > 0) return absl::StrCat(auth->in_flight(), " auth requests in flight");
  const uint64_t leader = cluster.Leader();
  if (leader == 0) return "no leader";
  if (workload.in_flight() > 0) return absl::StrCat(workload.in_flight(), " requests in flight");
  const uint64_t commit = cluster.CommitIndex(leader);
  for (uint64_t id = 1; id <= static_cast<uint64_t>(cluster.size()); ++id) {
    if (cluster.IsRefused(id) || cluster.member(id) == 0) continue;  // no member there (any more)
    if (cluster.CommitIndex(id) != commit || cluster.applied_index(id) != commit) {
      return absl::StrCat("node ", id, " has commit ", cluster.CommitIndex(id), " applied ", cluster.applied_index(id),
                          " while leader ", leader, " has commit ", commit);
    }
  }
  if (workload.uses_leases()) {
    // Nobody keeps a lease alive after the fault phase: every one must expire (or be revoked) and take its keys.
    for (uint64_t id = 1; id <= static_cast<uint64_t>(cluster.size()); ++id) {
      const kv::NodeCore* core = cluster.core(id);
      if (core != nullptr && core->lessor().size() > 0) {
        return absl::StrCat("node ", id, " still holds ", core->lessor().size(), " leases (first ",
                            core->lessor().Ids()[0], ")");
      }
    }
  }
  if (op != nullptr) {
    // The operator also removes members it did not make (late member adds), after the fault phase too.
    if (std::string d = op->Differs(cluster.core(leader)->membership()); !d.empty()) return d;
  }
  const int64_t rev = cluster.core(leader)->store().rev();
  if (int behind = workload.WatchersBehind(rev); behind > 0) {
    return absl::StrCat(behind, " watchers not yet at revision ", rev);
  }
  return "";
}

// Every put a client was told succeeded is in every member's history at its revision (unless compacted away);
// "" if so.
std::string AckedPutMissing(const KvCluster& cluster, const std::vector<AckedPut>& puts) {
  for (uint64_t id = 1; id <= static_cast<uint64_t>(cluster.size()); ++id) {
    const kv::NodeCore* core = cluster.core(id);
    if (core == nullptr) continue;
    const kv::MvccStore& store = core->store();
    for (const AckedPut& p : puts) {
      if (p.revision < store.compacted_rev()) continue;  // history before the compaction is gone, as it may be
      kv::RangeOptions o;
      o.rev = p.revision;
      absl::StatusOr<kv::RangeResult> got = store.Range(p.key, "", o);
      const bool there = got.ok() && got->kvs.size() == 1 && got->kvs[0].mod_revision() == p.revision &&
                         got->kvs[0].value() == p.value;
      if (!there) {
        return absl::StrCat("put ", p.key, "=", p.value, " was acknowledged at revision ", p.revision, " but node ", id,
                            " does not have it there", got.ok() ? "" : absl::StrCat(" (", got.status().message(), ")"));
      }
    }
  }
  return "";
}

// No member holds a key attached to a lease it does not have, or a lease whose revocation was acknowledged; "" if so.
std::string LeaseBroken(const KvCluster& cluster, const std::set<int64_t>& revoked) {
  for (uint64_t id = 1; id <= static_cast<uint64_t>(cluster.size()); ++id) {
    const kv::NodeCore* core = cluster.core(id);
    if (core == nullptr) continue;
    for (int64_t lease : revoked) {
      if (core->lessor().Lookup(lease) != nullptr) {
        return absl::StrCat("node ", id, " still has lease ", lease, " whose revocation was acknowledged");
      }
    }
    const std::string all(1, '\0');
    absl::StatusOr<kv::RangeResult> kvs = core->store().Range(all, all, kv::RangeOptions());
    if (!kvs.ok()) return absl::StrCat("node ", id, ": ", kvs.status().message());
    for (const mvccpb::KeyValue& kv : kvs->kvs) {
      if (kv.lease() != 0 && core->lessor().Lookup(kv.lease()) == nullptr) {
        return absl::StrCat("node ", id, " holds key ", kv.key(), " of lease ", kv.lease(), ", which it does not have");
      }
    }
  }
  return "";
}

// Members agree on the store; "" if they do.
// `corrupt_member`: a member whose state was made to differ (left out).
std::string MembersDiffer(const KvCluster& cluster, uint64_t corrupt_member) {
  uint64_t reference = 0;
  int64_t ref_rev = 0;
  uint32_t ref_hash = 0;
  for (uint64_t id = 1; id <= static_cast<uint64_t>(cluster.size()); ++id) {
    const kv::NodeCore* core = cluster.core(id);
    if (core == nullptr || (corrupt_member != 0 && cluster.member(id) == corrupt_member)) continue;
    const int64_t rev = core->store().rev();
    absl::StatusOr<uint32_t> hash = core->store().HashKV(0);  // now: rev, even if compacted there
    if (!hash.ok()) return absl::StrCat("node ", id, " cannot hash revision ", rev, ": ", hash.status().message());
    if (reference == 0) {
      reference = id;
      ref_rev = rev;
      ref_hash = *hash;
      continue;
    }
    if (rev != ref_rev)
      return absl::StrCat("node ", id, " is at revision ", rev, ", node ", reference, " at ", ref_rev);
    if (*hash != ref_hash) {
      return absl::StrCat("node ", id, " and node ", reference, " hash revision ", rev, " differently (", *hash, " vs ",
                          ref_hash, ")");
    }
  }
  return "";
}

}  // namespace

ClusterOptions ClusterOptionsFor(const ScenarioConfig& sc, const RunOptions& opt) {
  ClusterOptions c;
  c.nodes = sc.nodes;
  c.tick_us = sc.tick_ms * 1000;
  c.election_ticks = sc.raft.election_ticks;
  c.heartbeat_ticks = sc.raft.heartbeat_ticks;
  c.pre_vote = sc.raft.pre_vote;
  c.check_quorum = sc.raft.check_quorum;
  c.max_inflight_msgs = sc.raft.max_inflight_msgs;
  c.max_size_per_msg_bytes = sc.raft.max_size_per_msg_bytes;
  c.sync_latency_min_us = sc.disk.sync_latency_min_us;
  c.sync_latency_max_us = sc.disk.sync_latency_max_us;
  c.crash_loss = sc.disk.crash_loss;
  c.wal_segment_bytes = sc.disk.wal_segment_bytes;
  c.snapshot_count = sc.disk.snapshot_count;
  c.snapshot_catch_up_entries = sc.disk.snapshot_catch_up_entries;
  c.testing = opt.testing;
  return c;
}

const char* OutcomeName(Outcome o) {
  switch (o) {
    case Outcome::kPass:
      return "pass";
    case Outcome::kSafety:
      return "safety violation";
    case Outcome::kLiveness:
      return "liveness failure";
  }
  return "?";
}

RunResult RunScenario(const ScenarioConfig& sc, const RunOptions& opt) {
  EventLoop loop;
  Prng prng(opt.seed + sc.proto.seed_offset());
  Trace trace;
  trace.set_output(opt.trace_out);
  RaftChecker checker;
  WatchChecker watches(/*initial_revision=*/1);  // a member's store starts at revision 1, as etcd's
  MembershipChecker membership;
  Network network(sc.network, sc.nodes, &loop, &prng, &trace);
  KvClusterOptions copts;
  copts.cluster = ClusterOptionsFor(sc, opt);
  copts.snapshot_piece_bytes = sc.disk.snapshot_piece_bytes;
  const bool changes = sc.proto.kv().has_membership();
  if (changes) {
    copts.founding_members = static_cast<int>(sc.proto.kv().membership().founding_members());
    // As etcd runs by default: members publish their names, and changes that would leave fewer started voters than a
    // quorum are refused.
    copts.publish_members = true;
    copts.core.strict_reconfig_check = true;
  }
  // Requests time out (outcome unknown) after two election timeouts' worth of ticks; progress notifications every
  // few election timeouts, so idle watchers learn they are current.
  copts.core.request_timeout_ticks = 2 * sc.raft.election_ticks + 20;
  copts.core.read_index_retry_ticks = sc.raft.election_ticks;
  copts.core.progress_notify_ticks = 5 * sc.raft.election_ticks;
  copts.core.watch.max_pending_events_per_stream = 64;
  copts.core.kv_testing = opt.kv_testing;
  const simpb::KvWorkload& kvw = sc.proto.kv();
  if (kvw.has_auto_compaction_mode() && kvw.auto_compaction_retention() > 0) {
    if (kvw.auto_compaction_mode() == "revision") {
      copts.core.auto_compaction.mode = kv::AutoCompactionConfig::Mode::kRevision;
      copts.core.auto_compaction.retention_revisions = kvw.auto_compaction_retention();
    } else {
      copts.core.auto_compaction.mode = kv::AutoCompactionConfig::Mode::kPeriodic;
      copts.core.auto_compaction.retention_ms = kvw.auto_compaction_retention();
    }
  }
  copts.testing_persist.skip_sync = opt.kv_ack_before_sync;
  copts.testing_corrupt_tail_is_torn = opt.wal_corrupt_tail_is_torn;
  if (kvw.corrupt_check_ms() > 0 && !opt.no_corruption_check) {
    copts.corrupt_check_ticks = std::max<int64_t>(1, kvw.corrupt_check_ms() / sc.tick_ms);
  }
  copts.corrupt_member = kvw.corrupt_member();
  KvCluster cluster(copts, &loop, &network, &prng, &trace, &checker);
  network.set_deliver([&cluster](std::shared_ptr<const raftpb::Message> m) { cluster.Deliver(std::move(m)); });
  network.set_host_of([&cluster](uint64_t id) { return cluster.HostOf(id); });
  std::optional<TimelineRecorder> timeline;
  if (opt.timeline != nullptr) {
    timeline.emplace(opt.timeline);
    opt.timeline->title = absl::StrCat(sc.name, " seed ", opt.seed);
    cluster.set_on_node_event(
        [&timeline, &loop](uint64_t node, const char* what) { timeline->NodeEvent(loop.Now(), node, what); });
  }
  cluster.set_on_observe([&membership, &timeline, &loop](uint64_t node, const kv::NodeCore& core) {
    membership.Observe(core);
    if (timeline) {
      const raft::Raft& r = core.raft().raft();
      const char* state = r.state() == raft::StateType::kLeader         ? "leader"
                          : r.state() == raft::StateType::kCandidate    ? "candidate"
                          : r.state() == raft::StateType::kPreCandidate ? "pre-candidate"
                                                                        : "follower";
      timeline->Observe(loop.Now(), node, state, r.term());
    }
  });
  cluster.set_on_stopped([&membership](uint64_t member) { membership.OnStopped(member); });
  // Auto-compaction's promise: nothing younger than the retention is compacted (checked when only it compacts).
  const bool check_auto_compaction =
      copts.core.auto_compaction.mode != kv::AutoCompactionConfig::Mode::kOff && kvw.compact_every_ms() == 0;
  std::map<int64_t, int64_t> revision_made_us;  // revision -> when some member first made it
  int64_t newest_revision = 0;
  std::optional<std::string> auto_compaction_violation;
  cluster.set_on_revision([&](uint64_t node, int64_t rev, const std::vector<mvccpb::Event>& events) {
    // A member made to differ (kv.corrupt_member) is not a witness of the history: its differing revision is what
    // the corruption check is to find.
    if (kvw.corrupt_member() != 0 && cluster.member(node) == kvw.corrupt_member()) return;
    watches.OnRevision(rev, events);
    if (check_auto_compaction && revision_made_us.emplace(rev, loop.Now()).second) {
      newest_revision = std::max(newest_revision, rev);
    }
  });
  std::set<int64_t> compacted_at;
  cluster.set_on_compact([&](uint64_t node, int64_t rev) {
    watches.OnCompact(rev);
    if (!check_auto_compaction || auto_compaction_violation) return;
    if (compacted_at.insert(rev).second) trace.Record(loop.Now(), absl::StrCat("auto-compaction at revision ", rev));
    const kv::AutoCompactionConfig& ac = copts.core.auto_compaction;
    if (ac.mode == kv::AutoCompactionConfig::Mode::kRevision) {
      if (rev > newest_revision - ac.retention_revisions) {
        auto_compaction_violation =
            absl::StrCat("member ", node, " compacted at revision ", rev, ", fewer than ", ac.retention_revisions,
                         " revisions behind the newest (", newest_revision, ")");
      }
      return;
    }
    auto made = revision_made_us.find(rev);
    const int64_t age_us = made == revision_made_us.end() ? -1 : loop.Now() - made->second;
    if (made != revision_made_us.end() && age_us < ac.retention_ms * 1000 * 4 / 5) {
      auto_compaction_violation = absl::StrCat("member ", node, " compacted at revision ", rev, ", made only ",
                                               age_us / 1000, " ms earlier (retention ", ac.retention_ms, " ms)");
    }
  });
  KvWorkload workload(KvWorkloadOptionsFor(sc), &cluster, &loop, &prng, &trace, &watches);
  FaultInjector faults(&cluster, &network, &loop, &prng, &trace);
  std::unique_ptr<MembershipOperator> op;
  if (changes) {
    op = std::make_unique<MembershipOperator>(MembershipOptionsFor(sc.proto.kv().membership()), &cluster, &workload,
                                              &loop, &prng, &trace);
  }

  std::unique_ptr<AuthWorkload> auth;
  AuthChecker auth_checker;
  if (kvw.has_auth()) {
    auth = std::make_unique<AuthWorkload>(AuthOptionsFor(kvw.auth()), &cluster, &loop, &prng, &trace);
    cluster.set_on_apply([&](uint64_t, const raftpb::Entry& e) { auth_checker.OnApply(e, loop.Now()); });
  }

  trace.Record(0, absl::StrCat("scenario ", sc.name, " seed ", opt.seed, " nodes ", sc.nodes,
                               sc.proto.has_kv() ? " (etcd members)" : " (etcd members, register writers)"));
  const int64_t phase_end_us = sc.duration_ms * 1000;
  const int64_t deadline_us = phase_end_us + sc.liveness_bound_ms * 1000;
  RunResult result;
  result.schedule = FaultSchedule(sc, &prng);
  for (const simpb::Fault& f : result.schedule) faults.Schedule(f, phase_end_us);
  cluster.Start();
  workload.Start(phase_end_us);
  if (op) op->Start(phase_end_us);
  if (auth) auth->Start(phase_end_us);

  result.kv = sc.proto.has_kv();
  auto finish = [&](Outcome outcome, std::string check, std::string detail, int64_t at_us) {
    if (result.outcome != Outcome::kPass) return;
    result.outcome = outcome;
    result.checker = std::move(check);
    result.detail = std::move(detail);
    result.failure_time_us = at_us;
  };
  auto safe = [&] { return checker.ok() && watches.ok() && membership.ok() && !auto_compaction_violation; };

  while (loop.Now() < phase_end_us && safe()) loop.RunUntil(std::min(loop.Now() + kCheckIntervalUs, phase_end_us));

  if (safe()) {
    faults.HealAll();
    workload.StopBeingSlow();
    std::string why = NotConverged(cluster, workload, op.get(), auth.get());
    while (!why.empty() && loop.Now() < deadline_us && safe()) {
      loop.RunUntil(std::min(loop.Now() + kCheckIntervalUs, deadline_us));
      why = NotConverged(cluster, workload, op.get(), auth.get());
    }
    if (safe() && !why.empty()) {
      finish(Outcome::kLiveness, "liveness",
             absl::StrCat("not converged ", sc.liveness_bound_ms, " ms after the heal: ", why), loop.Now());
    }
  }
  if (!checker.ok()) {
    const Violation& v = *checker.violation();
    finish(Outcome::kSafety, v.checker, v.detail, v.time_us);
  }
  // The members at the end are compared only for a run that reached its end: one a checker stopped early (a watch
  // violation) is cut mid-fault, with members still down, and reports what stopped it.
  if (checker.ok() && watches.ok() && membership.ok() && result.outcome != Outcome::kLiveness) {
    std::vector<const kv::NodeCore*> running;
    std::set<uint64_t> refused;
    for (uint64_t host = 1; host <= static_cast<uint64_t>(cluster.size()); ++host) {
      if (const kv::NodeCore* core = cluster.core(host); core != nullptr) running.push_back(core);
      if (cluster.IsRefused(host)) refused.insert(cluster.member(host));
    }
    membership.Finish(running, refused, op ? &op->members() : nullptr);
  }
  if (!membership.ok()) finish(Outcome::kSafety, "membership", *membership.violation(), loop.Now());
  if (auto_compaction_violation) finish(Outcome::kSafety, "auto-compaction", *auto_compaction_violation, loop.Now());
  if (checker.ok()) {
    watches.Finish();
    if (!watches.ok()) finish(Outcome::kSafety, "watch", watches.violation(), loop.Now());
  }
  result.history = workload.history();
  // Register writers' histories (writes only) are linearizable whatever the members did: not worth the search.
  if (result.outcome != Outcome::kLiveness && sc.proto.has_kv()) {
    history::CheckOptions lin_options;
    lin_options.max_configurations = 2'000'000;  // a run must end; a key left undecided is reported, not failed
    history::CheckResult lin = history::CheckLinearizability(result.history, lin_options);
    result.linearizability_undecided = lin.undecided.size();
    if (!lin.linearizable) {
      finish(Outcome::kSafety, "linearizability", history::FormatCheckResult(result.history, lin), loop.Now());
    }
  }
  if (auth && result.outcome != Outcome::kLiveness) {
    if (std::string v = auth_checker.Check(auth->ops()); !v.empty()) {
      finish(Outcome::kSafety, "auth", v, auth_checker.violation_us());
    }
    const AuthCheckerStats& as = auth_checker.stats();
    result.auth_ops_checked = as.ops_checked;
    result.auth_writes_matched = as.writes_matched;
    result.auth_changes = as.auth_changes;
    result.auth_denied = auth->stats().denied;
    result.auth_ok = auth->stats().ok;
    result.auth_old_revision = auth->stats().old_revision;
  }
  if (result.outcome == Outcome::kPass) {
    if (std::string d = MembersDiffer(cluster, kvw.corrupt_member()); !d.empty()) {
      finish(Outcome::kSafety, "replicas-equal", d, loop.Now());
    }
    if (kvw.corrupt_check_ms() > 0) {
      // etcd's promise: a member whose state differs is found (CORRUPT raised, writes stopped); none is accused
      // otherwise.
      bool raised = false;
      for (uint64_t host = 1; host <= static_cast<uint64_t>(cluster.size()); ++host) {
        if (const kv::NodeCore* core = cluster.core(host); core != nullptr) raised |= core->corrupt_alarm();
      }
      if (kvw.corrupt_member() != 0 && !raised) {
        finish(Outcome::kSafety, "corruption",
               absl::StrCat("member ", kvw.corrupt_member(),
                            "'s state differed from the others' and no CORRUPT alarm "
                            "was raised"),
               loop.Now());
      }
      if (kvw.corrupt_member() == 0 && raised) {
        finish(Outcome::kSafety, "corruption", "a CORRUPT alarm was raised though every member's state was the same",
               loop.Now());
      }
    }
    if (std::string d = LeaseBroken(cluster, workload.revoked_leases()); !d.empty()) {
      finish(Outcome::kSafety, "leases", d, loop.Now());
    }
    if (std::string d = AckedPutMissing(cluster, workload.acked_puts()); !d.empty()) {
      finish(Outcome::kSafety, "acknowledged-write-lost", d, loop.Now());
    }
  }

  trace.Record(loop.Now(), absl::StrCat("end: ", OutcomeName(result.outcome), " ", result.checker));
  result.trace_hash = trace.HashHex();
  result.simulated_us = loop.Now();
  result.committed_index = checker.committed_index();
  result.terms_with_leader = checker.leaders_seen();
  result.faults = faults.faults_begun();
  result.crashes = cluster.crashes();
  result.refusals = cluster.refusals();
  result.snapshots_taken = cluster.snapshots_saved();
  result.snapshots_installed = cluster.snapshots_installed();
  result.messages_sent = network.stats().sent;
  result.events = loop.events_run();
  const KvWorkloadStats& ws = workload.stats();
  result.kv_requests = ws.requests;
  result.kv_ok = ws.ok;
  result.kv_unknown = ws.unknown;
  result.acked_puts = workload.acked_puts().size();
  result.watch_events = ws.watch_events;
  result.watch_reconnects = ws.watch_reconnects;
  result.leases_granted = ws.leases_granted;
  result.leases_revoked = ws.leases_revoked;
  if (op) {
    const MembershipOperatorStats& ms = op->stats();
    result.members_added = ms.added;
    result.members_removed = ms.removed;
    result.members_promoted = ms.promoted;
    result.leaders_removed = ms.leaders_removed;
  }
  result.removed_members_stopped = cluster.removed_stops();
  const uint64_t leader = cluster.Leader();
  if (leader != 0) result.final_revision = cluster.core(leader)->store().rev();
  if (timeline) {
    timeline->Finish(sc.nodes, phase_end_us, loop.Now(), result.schedule, workload.history(),
                     result.outcome == Outcome::kPass ? "pass" : OutcomeName(result.outcome), result.checker,
                     result.detail, result.checker.empty() ? -1 : result.failure_time_us);
  }
  return result;
}

}  // namespace detcd::sim
