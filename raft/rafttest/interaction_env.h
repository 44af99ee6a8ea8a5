// InteractionEnv: the driver behind the election scripts (testdata/election/*.txt), after etcd-io/raft's
// rafttest.InteractionEnv. It owns RawNodes over MemoryStorage, one inbox of queued messages per recipient and a set
// of cut links, and runs one script command at a time, printing everything that happens — Readies, delivered and
// dropped messages, the Raft logger's lines — in a deterministic text form (ordered maps, no pointers, no time).
// It follows the Ready contract exactly; its only faults are the ones a script asks for (cuts, drops, crashes,
// a Ready left un-persisted). It must never decide anything Raft decides: it only drives and observes.
//
// Commands (ids are node ids; `(1,2)` is a list):
//   add-nodes N [voters=(..)] [learners=(..)] [prevote=B] [checkquorum=B] [election=T] [heartbeat=T] [seed=S]
//       N nodes, ids continuing from the last; voters default to the new ids that are not learners; prevote and
//       checkquorum default to false; node i's PRNG seed is S+i (S defaults to 0). [max-msg-size=B] limits the
//       bytes of entries per MsgApp (one entry always goes), to replicate one entry at a time.
//   campaign ID | tick ID N | tick-heartbeat ID | tick-election ID
//       tick-election ticks until the node's (randomized) election timeout, or for a leader its CheckQuorum
//       interval, has passed: the node times out on the last tick.
//   propose ID DATA | read-index ID CTX | transfer-leader from=ID to=ID
//   process-ready ID... [persist=false]   take, print, persist, send, apply and Advance each node's Ready; with
//       persist=false the Ready is only taken: it and its messages wait for `persist ID`, and `crash` loses them.
//   persist ID                            finish a Ready left by process-ready persist=false
//   deliver-msgs [ID...] [from=(..)] [drop=(..)]   step each node's queued messages (only those from the given
//       senders if from= is set); drop=(..) discards the queues of the listed recipients instead
//   drop-msgs ID...                       discard the queued messages for these nodes
//   stabilize [ID...]                     process-ready + deliver-msgs on these nodes (default all) until quiet
//   partition (1,2) (3)                   replaces all cuts: links between different groups are cut both ways
//   isolate ID | asymmetric from=ID to=ID | heal   add cuts (asymmetric: one direction only) / remove all cuts
//   crash ID [lose-unsynced=true]         the node stops: its object, un-persisted Ready, inbox and the messages it
//                                         sent that are still queued are lost; its storage survives, except that
//                                         with lose-unsynced=true a HardState written by a MustSync=false Ready
//                                         (a lazily written commit index) rolls back to the last synced one
//   restart ID                            rebuild the node from its storage with the same config (crashes it first
//                                         if it is running); messages queued for it while it was down are lost
//   raft-state | raft-log ID | status ID
//   log-level info|none|silent            info prints the Raft logger's lines (the default), none hides them,
//                                         silent hides all output but errors (for setup steps other scripts pin)
#ifndef DETCD_RAFT_RAFTTEST_INTERACTION_ENV_H_
#define DETCD_RAFT_RAFTTEST_INTERACTION_ENV_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "raft/rafttest/script.h"
#include "raft/raw_node.h"
#include "raft/storage.h"

namespace detcd::raft::rafttest {

class InteractionEnv {
 public:
  InteractionEnv() = default;
  // Nodes' loggers point back at this object.
  InteractionEnv(const InteractionEnv&) = delete;
  InteractionEnv& operator=(const InteractionEnv&) = delete;

  // Runs one command and returns everything it printed ("" if nothing; errors as `error: ...`).
  std::string Handle(const ScriptCommand& cmd);

 private:
  struct Node {
    Config config;  // as given to add-nodes; storage and logger are set when the RawNode is built
    std::unique_ptr<MemoryStorage> storage;
    std::unique_ptr<RawNode> raw;      // null while crashed
    std::optional<Ready> unpersisted;  // taken with persist=false, waiting for `persist`
    std::vector<std::string> applied;  // data of applied normal entries (rebuilt from the log after a restart)
    // The HardState as of the last Ready that had to be synced: a commit-only change (MustSync=false) may be written
    // lazily, so `crash ID lose-unsynced=true` can roll storage back to this.
    raftpb::HardState synced_hard_state;
  };

  absl::Status Dispatch(const ScriptCommand& cmd);
  absl::Status AddNodes(const ScriptCommand& cmd);
  absl::Status TickElection(uint64_t id);
  absl::Status ProcessReadyCmd(const ScriptCommand& cmd);
  absl::Status DeliverMsgsCmd(const ScriptCommand& cmd);
  absl::Status Stabilize(const std::vector<uint64_t>& ids);
  absl::Status Partition(const ScriptCommand& cmd);
  void Crash(uint64_t id, bool lose_unsynced);
  void RaftState();
  absl::Status RaftLog(uint64_t id);
  absl::Status StatusCmd(uint64_t id);

  void Build(uint64_t id);
  // Takes and prints id's Ready; persists it unless persist is false. False if the node had nothing ready.
  bool ProcessReady(uint64_t id, bool persist);
  // The driver's half of the Ready contract: storage, then messages to inboxes, then apply, then Advance.
  void PersistReady(uint64_t id, const Ready& rd);
  // Steps id's queued messages (only those from `senders`, if not empty). False if none were queued.
  bool DeliverMsgs(uint64_t id, const std::set<uint64_t>& senders);
  void DropMsgs(uint64_t id);
  void PrintCuts();

  absl::StatusOr<uint64_t> KnownId(const std::string& s) const;
  absl::StatusOr<RawNode*> Running(uint64_t id);
  absl::StatusOr<std::vector<uint64_t>> PositionalIds(const ScriptCommand& cmd) const;
  absl::StatusOr<uint64_t> FirstId(const ScriptCommand& cmd) const;
  std::vector<uint64_t> AllIds() const;

  void Line(const std::string& s);

  std::string out_;
  int indent_ = 0;
  bool log_info_ = true;
  bool silent_ = false;
  std::map<uint64_t, Node> nodes_;
  std::map<uint64_t, std::vector<raftpb::Message>> inbox_;  // by recipient, in send order
  std::set<std::pair<uint64_t, uint64_t>> cuts_;            // (from, to) links that drop messages
};

}  // namespace detcd::raft::rafttest

#endif  // DETCD_RAFT_RAFTTEST_INTERACTION_ENV_H_
