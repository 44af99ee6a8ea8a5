// MembershipOperator: a simulated operator changing an etcd cluster's membership the way operators do, one change at
// a time, through the Cluster service of whichever member it reaches (etcdctl member remove/add/promote):
//   - replace: remove a member (the leader or a follower), shut its process down for good, wipe its host, add a
//     brand-new member for it and start it there (--initial-cluster-state=existing);
//   - grow: add a member on a spare host — as a learner it promotes once the leader says it caught up (retrying
//     "learner not ready") — or keeps as a learner, if told to — or as a voter at once;
//   - shrink: remove a member and retire its host.
// It keeps at least min_voters voters and one change at a time — though now and then, impatient, it sends the same
// request to a second member at once, so that two are pending (Raft makes the second an empty entry, whose requester
// never hears back). A request that fails or gets no answer is
// retried; when its outcome is unknown the operator looks at a member's list (etcdctl member list) to see whether it
// took effect — a new member is known by its peer URL, unique per add, so a retried add never makes two members.
// Clients follow: a member becomes one of their endpoints once started (a learner once promoted) and stops being one
// when its removal is confirmed. A member it finds in the list that it did not make — an add it gave up on whose
// proposal, delayed in the network, took effect late — it removes first. What it believes the members are is compared
// with the cluster's at the end.
// Every choice comes from the simulation's Prng; it never touches a member's state but through requests.
#ifndef DETCD_SIM_WORKLOADS_MEMBERSHIP_OPERATOR_H_
#define DETCD_SIM_WORKLOADS_MEMBERSHIP_OPERATOR_H_

#include <cstdint>
#include <functional>
#include <map>
#include <set>
#include <string>

#include "api/kv_request.pb.h"
#include "base/prng.h"
#include "kv/membership.h"
#include "sim/workloads/kv_workload.h"
#include "sim/world/event_loop.h"
#include "sim/world/kv_cluster.h"
#include "sim/world/trace.h"

namespace detcd::sim {

struct MembershipOperatorOptions {
  int64_t change_every_us = 3'000'000;  // mean pause between two changes
  int min_voters = 3;
  double learner_fraction = 0.5;
  double remove_leader_fraction = 0.5;
  int64_t request_timeout_us = 2'000'000;
  // Of its requests, the fraction the operator also sends at once to a second member (two changes pending at once).
  double impatient_fraction = 0.2;
  // false: learners stay learners (they are never promoted, and a new member is a voter while one is there).
  bool promote_learners = true;
  int64_t client_latency_min_us = 50;  // operator <-> member, one way
  int64_t client_latency_max_us = 500;
};

struct MembershipOperatorStats {
  uint64_t requests = 0;
  uint64_t unknown = 0;  // requests whose outcome the operator had to look up
  uint64_t added = 0;
  uint64_t promoted = 0;
  uint64_t removed = 0;
  uint64_t leaders_removed = 0;  // removed while they led (as far as the operator could tell)
  uint64_t not_ready = 0;        // promotions refused: the learner had not caught up
  uint64_t strays_removed = 0;   // members it did not make (late adds) that it removed
  uint64_t impatient = 0;        // requests also sent to a second member at once
};

class MembershipOperator {
 public:
  MembershipOperator(const MembershipOperatorOptions& options, KvCluster* cluster, KvWorkload* workload,
                     EventLoop* loop, Prng* prng, Trace* trace);

  // Starts changing the membership now; no change starts after stop_us (the one under way finishes).
  void Start(int64_t stop_us);
  // No change under way.
  bool idle() const { return doing_.empty(); }
  // What the change under way is at ("" when idle), for liveness reports.
  const std::string& doing() const { return doing_; }
  // The members the operator made: id -> is a learner.
  const std::map<uint64_t, bool>& members() const { return members_; }
  const MembershipOperatorStats& stats() const { return stats_; }
  // "" if `list` has exactly the members the operator made; what differs otherwise.
  std::string Differs(const kv::Membership& list) const;

 private:
  using Done = std::function<void()>;
  using ReplyFn = std::function<void(const kv::ClientReply&, uint64_t host)>;

  // A member in `list` the operator did not make (0: none).
  uint64_t Unknown(const kv::Membership* list) const;
  void ScheduleNextChange();
  void BeginChange();
  void Finish();
  // Remove member `id`; then its process stops for good and its host is free; then done.
  void Remove(uint64_t id, Done done);
  void RemoveAttempt(uint64_t id, Done done);
  void Removed(uint64_t id, Done done);
  // Add a new member on `host` (as a learner, then promoted), start it there; then done.
  void Add(uint64_t host, bool learner, Done done);
  void AddAttempt(uint64_t host, bool learner, const std::string& url, Done done);
  void Added(uint64_t host, bool learner, uint64_t id, Done done);
  void PromoteAttempt(uint64_t id, Done done);
  void Promoted(uint64_t id, Done done);

  // Sends req to a member clients use (chosen at random among the running ones); reply gets the answer, or a reply
  // with "timed out" after the request timeout (or "connection refused"). False if no member could be tried.
  bool Request(const kvpb::ClientRequest& req, ReplyFn reply);
  // A running member's list of members (etcdctl member list against one endpoint), or null if none answers.
  const kv::Membership* ListMembers();
  void Retry(std::function<void()> attempt);
  // The hosts running the members clients may use: started voters.
  void UpdateEndpoints();
  int voters() const;
  int64_t Latency();
  void Note(const std::string& what);

  MembershipOperatorOptions options_;
  KvCluster* cluster_;
  KvWorkload* workload_;
  EventLoop* loop_;
  Prng* prng_;
  Trace* trace_;
  int64_t stop_us_ = 0;
  std::string doing_;
  uint64_t attempt_ = 0;  // bumped per request: a late answer to an earlier one is ignored
  uint64_t next_url_ = 1;
  std::map<uint64_t, bool> members_;   // id -> learner
  std::map<uint64_t, uint64_t> host_;  // member id -> host
  std::set<uint64_t> removed_;         // ids it removed
  MembershipOperatorStats stats_;
};

}  // namespace detcd::sim

#endif  // DETCD_SIM_WORKLOADS_MEMBERSHIP_OPERATOR_H_
