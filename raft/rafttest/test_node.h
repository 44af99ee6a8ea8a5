// TestNode: one Raft over its own MemoryStorage, driven message by message, for unit tests of the Raft rules. It plays
// the driver's part in the smallest way (Persist = write the unstable entries and report them durable) and offers
// Exchange, which shuttles messages among a few TestNodes. Tests only; it never decides anything Raft would.
#ifndef DETCD_RAFT_RAFTTEST_TEST_NODE_H_
#define DETCD_RAFT_RAFTTEST_TEST_NODE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "api/raft.pb.h"
#include "raft/raft.h"
#include "raft/storage.h"

namespace detcd::raft::rafttest {

// Entries first_index, first_index+1, ... with the given terms.
std::vector<raftpb::Entry> EntriesWithTerms(const std::vector<uint64_t>& terms, uint64_t first_index = 1);

raftpb::Message Msg(uint64_t from, uint64_t to, raftpb::MessageType type, uint64_t term = 0);

class TestNode {
 public:
  // Voters and learners of a new cluster. The default Config turns PreVote and CheckQuorum off (the plain rules of
  // the paper); configure may change any field before the Raft is built.
  TestNode(uint64_t id, std::vector<uint64_t> voters, std::function<void(Config*)> configure = nullptr,
           std::vector<uint64_t> learners = {});

  // Replaces the durable state (log entries with these terms from index 1, and the hard state) and restarts.
  void Load(const std::vector<uint64_t>& log_terms, uint64_t term, uint64_t vote = kNone, uint64_t commit = 0);
  // Rebuilds the Raft from storage, as after a crash.
  void Restart();

  Raft& raft() { return *raft_; }
  MemoryStorage& storage() { return *storage_; }
  uint64_t id() const { return id_; }

  // Steps m (its `to` defaults to this node).
  absl::Status Step(raftpb::Message m);
  void Tick(int times = 1);
  // Writes the unstable entries and the hard state to storage and tells Raft they are durable.
  void Persist();
  // Takes every message Raft has queued.
  std::vector<raftpb::Message> TakeMsgs();
  // Campaigns (PreVote too, if configured) and grants itself the votes of every other voter: leader of the next term.
  void ElectSelf();

 private:
  uint64_t id_;
  std::vector<uint64_t> voters_;
  std::vector<uint64_t> learners_;
  std::function<void(Config*)> configure_;
  std::unique_ptr<MemoryStorage> storage_;
  std::unique_ptr<Raft> raft_;
};

// Persists every node's state and delivers its messages to the addressed node among `nodes` (others are dropped, as
// is anything `drop` returns true for), until no messages are left. Returns the messages delivered, in order.
std::vector<raftpb::Message> Exchange(const std::vector<TestNode*>& nodes,
                                      std::function<bool(const raftpb::Message&)> drop = nullptr);

// The messages of one type.
std::vector<raftpb::Message> Filter(const std::vector<raftpb::Message>& msgs, raftpb::MessageType type);

}  // namespace detcd::raft::rafttest

#endif  // DETCD_RAFT_RAFTTEST_TEST_NODE_H_
