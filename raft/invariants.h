// NodeInvariants: one Raft node's own safety invariants, checked after every step the node takes (RawNode runs it
// after each call that can change its state), in the manner of LogCabin's RaftConsensusInvariants. Each check
// compares the node's state now with its state after the previous step:
//   - the term never decreases; a vote, once cast in a term, never changes within it;
//   - the commit index never decreases; applied <= commit <= the last index of the log;
//   - the committed prefix never changes (the entry at the previous commit index keeps its term, unless a snapshot
//     has covered it);
//   - a leader has voted for itself in its term and names itself the leader;
//   - a leader moves its commit index only to an entry of its own term (§5.4.2) and no further than a quorum of its
//     voters has matched (it counts itself only once its entries are durable).
// Only what one node can know of itself: "one leader per term" needs the other nodes to be correct too (a forged
// message can name a second one), and is the simulator's checkers' (sim/checkers/raft_checker.h).
// Pure: it reads a NodeView (what the node says about itself), keeps the previous one, and returns what is broken.
// It never changes the node, and never does IO.
#ifndef DETCD_RAFT_INVARIANTS_H_
#define DETCD_RAFT_INVARIANTS_H_

#include <cstdint>
#include <optional>
#include <string>

#include "raft/raft.h"

namespace detcd::raft {

// What the checks read of a node, taken after a step.
struct NodeView {
  uint64_t id = 0;
  uint64_t term = 0;
  uint64_t vote = 0;
  uint64_t lead = 0;
  StateType state = StateType::kFollower;
  uint64_t committed = 0;
  uint64_t applied = 0;
  uint64_t first_index = 1;  // the first entry the log still holds (a snapshot covers those before)
  uint64_t last_index = 0;
  uint64_t committed_term = 0;  // the term of the entry at `committed` (0 at index 0, or when no longer known)
  uint64_t quorum_match = 0;    // a leader's: the highest index a quorum of voters has matched
  // The term of the entry at `index` now, if the log (or its snapshot) still tells.
  std::optional<uint64_t> TermAt(uint64_t index) const;
  const RaftLog* log = nullptr;  // for TermAt; null in tests that fabricate views (then TermAt knows only committed)
};

// with_quorum: also the leader's quorum_match (sorts its voters' matches: asked only when a leader's commit moved).
NodeView ViewOf(const Raft& raft, bool with_quorum);

class NodeInvariants {
 public:
  // "" if every invariant holds between the previous view and `now`; else what broke. Remembers `now` either way.
  std::string Check(const NodeView& now);
  // The same for a node as it is after a step.
  std::string Check(const Raft& raft);

 private:
  std::optional<NodeView> prev_;
};

}  // namespace detcd::raft

#endif  // DETCD_RAFT_INVARIANTS_H_
