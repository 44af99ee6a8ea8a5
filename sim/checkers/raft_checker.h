// RaftChecker: Raft's safety properties, checked continuously while a simulation runs. The cluster harness reports
// what it observes (a node's role and term, its log, what it committed and applied, restarts, protocol errors) and
// the checker compares it against everything seen so far:
//   - election safety: at most one leader per term;
//   - log matching: two logs with an entry of the same index and term are identical up to it;
//   - leader completeness: a new leader's log holds every entry committed before its term;
//   - state-machine safety: all nodes commit and apply the same entry at each index;
//   - durability: after a crash and restart a node's durable log still holds what it had committed.
// The first violation is kept; checking never changes what the simulation does.
#ifndef DETCD_SIM_CHECKERS_RAFT_CHECKER_H_
#define DETCD_SIM_CHECKERS_RAFT_CHECKER_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/raft.pb.h"
#include "raft/raft.h"

namespace detcd::sim {

struct Violation {
  std::string checker;  // e.g. "election-safety"
  std::string detail;
  int64_t time_us = 0;
};

// A digest of one entry (term and data), and the chain of digests that identifies a whole log prefix.
uint64_t EntryDigest(const raftpb::Entry& e);
uint64_t ChainDigest(uint64_t prev_chain, const raftpb::Entry& e);

class RaftChecker {
 public:
  // Observations, in the order they happen.
  void SetTime(int64_t now_us) { now_us_ = now_us; }
  // A node's role after it handled an event; log is its whole log (durable and not).
  void ObserveRole(uint64_t node, uint64_t term, raft::StateType state, const raft::RaftLog& log);
  // A node's commit index after it handled an event.
  void ObserveCommit(uint64_t node, const raft::RaftLog& log);
  // A node applied this entry to its state machine.
  void ObserveApply(uint64_t node, const raftpb::Entry& entry);
  // A node made these entries durable (they replace its durable log from entries[0].index() on).
  void ObservePersisted(uint64_t node, const std::vector<raftpb::Entry>& appended);
  // A node restarted from its durable state; durable_log[0] is the storage's dummy entry (compaction point: the
  // index and term of its snapshot, 0/0 without one). Fails "durability" if it lost an entry it had made durable
  // (ObservePersisted) or starts with a commit index beyond its log.
  void ObserveRestart(uint64_t node, const raftpb::HardState& hs, const std::vector<raftpb::Entry>& durable_log);
  // A node made a snapshot durable (its own, or one a leader sent): its durable log now starts after (index, term),
  // and everything up to there must be the committed log.
  void ObserveSnapshot(uint64_t node, uint64_t index, uint64_t term);
  // Raft refused a message from a peer as a protocol violation (a correct peer never sends one).
  // A node broke one of its own invariants (raft/invariants.h) in a step.
  void ObserveInvariantBroken(uint64_t node, const std::string& what);
  void ObserveStepError(uint64_t node, const raftpb::Message& m, const std::string& error);

  const std::optional<Violation>& violation() const { return violation_; }
  bool ok() const { return !violation_.has_value(); }
  uint64_t committed_index() const { return committed_.size(); }
  // The committed log as (term, digest) per index, index 1 first.
  const std::vector<std::pair<uint64_t, uint64_t>>& committed() const { return committed_; }
  size_t leaders_seen() const { return leader_by_term_.size(); }
  // Moves whenever what a node's log is compared against moves (the committed log, a node's durable log): an
  // observer may skip re-observing a node whose own state and this are both unchanged, the checks' inputs being the
  // same.
  uint64_t version() const { return version_; }

 private:
  void Fail(const std::string& checker, const std::string& detail);
  // A snapshot at (index, term) must stand on the committed log; fails and returns false otherwise.
  bool CheckSnapshotPoint(uint64_t node, uint64_t index, uint64_t term, const char* when);
  // Chain digest of the node's log (durable prefix + unstable tail) at index i; nullopt if the log is shorter.
  std::optional<uint64_t> ChainAt(uint64_t node, const raft::RaftLog& log, uint64_t i) const;
  void RecordChain(uint64_t index, uint64_t term, uint64_t chain, uint64_t node);

  int64_t now_us_ = 0;
  uint64_t version_ = 0;
  std::optional<Violation> violation_;
  std::map<uint64_t, uint64_t> leader_by_term_;
  std::vector<std::pair<uint64_t, uint64_t>> committed_;  // index i+1 -> (term, digest)
  std::vector<uint64_t> committed_chain_{0};              // index i -> chain digest; [0] = 0
  std::map<uint64_t, std::vector<uint64_t>> durable_chain_;  // node -> chain digest by index, [0] = 0
  std::map<std::pair<uint64_t, uint64_t>, bool> leader_checked_;  // (node, term) already checked for completeness
  // (index, term) -> chain digest of the log prefix ending there, as first seen on any node.
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> chain_at_;
};

}  // namespace detcd::sim

#endif  // DETCD_SIM_CHECKERS_RAFT_CHECKER_H_
