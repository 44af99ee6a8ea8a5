#include "raft/rafttest/test_node.h"

#include <deque>
#include <utility>

#include "base/check.h"

namespace detcd::raft::rafttest {

std::vector<raftpb::Entry> EntriesWithTerms(const std::vector<uint64_t>& terms, uint64_t first_index) {
  std::vector<raftpb::Entry> out;
  for (size_t i = 0; i < terms.size(); ++i) {
    raftpb::Entry e;
    e.set_index(first_index + i);
    e.set_term(terms[i]);
    out.push_back(std::move(e));
  }
  return out;
}

raftpb::Message Msg(uint64_t from, uint64_t to, raftpb::MessageType type, uint64_t term) {
  raftpb::Message m;
  m.set_from(from);
  m.set_to(to);
  m.set_type(type);
  m.set_term(term);
  return m;
}

TestNode::TestNode(uint64_t id, std::vector<uint64_t> voters, std::function<void(Config*)> configure,
                   std::vector<uint64_t> learners)
    : id_(id),
      voters_(std::move(voters)),
      learners_(std::move(learners)),
      configure_(std::move(configure)),
      storage_(std::make_unique<MemoryStorage>()) {
  Restart();
}

void TestNode::Load(const std::vector<uint64_t>& log_terms, uint64_t term, uint64_t vote, uint64_t commit) {
  storage_ = std::make_unique<MemoryStorage>();
  storage_->Append(EntriesWithTerms(log_terms));
  raftpb::HardState hs;
  hs.set_term(term);
  hs.set_vote(vote);
  hs.set_commit(commit);
  storage_->SetHardState(hs);
  Restart();
}

void TestNode::Restart() {
  Config c;
  c.id = id_;
  c.peers = voters_;
  c.learners = learners_;
  c.pre_vote = false;
  c.check_quorum = false;
  c.seed = id_;
  c.storage = storage_.get();
  if (configure_) configure_(&c);
  raft_ = std::make_unique<Raft>(c);
}

absl::Status TestNode::Step(raftpb::Message m) {
  // to == 0 is a local request (as RawNode makes them); a peer's message is addressed to us.
  DETCD_CHECK(m.to() == kNone || m.to() == id_);
  return raft_->Step(m);
}

void TestNode::Tick(int times) {
  for (int i = 0; i < times; ++i) raft_->Tick();
}

void TestNode::Persist() {
  const std::vector<raftpb::Entry> unstable = raft_->log().UnstableEntries();
  storage_->Append(unstable);
  storage_->SetHardState(raft_->hard_state());
  if (!unstable.empty()) raft_->OnEntriesStable(unstable.back().index(), unstable.back().term());
}

std::vector<raftpb::Message> TestNode::TakeMsgs() {
  std::vector<raftpb::Message> out = std::move(raft_->mutable_msgs());
  raft_->mutable_msgs().clear();
  return out;
}

void TestNode::ElectSelf() {
  DETCD_CHECK(raft_->Step(Msg(id_, id_, raftpb::MSG_HUP)).ok());
  for (int round = 0; round < 2 && raft_->state() != StateType::kLeader; ++round) {
    const bool pre = raft_->state() == StateType::kPreCandidate;
    const raftpb::MessageType type = pre ? raftpb::MSG_PRE_VOTE_RESP : raftpb::MSG_VOTE_RESP;
    const uint64_t term = pre ? raft_->term() + 1 : raft_->term();
    for (uint64_t v : voters_) {
      if (v == id_) continue;
      DETCD_CHECK(raft_->Step(Msg(v, id_, type, term)).ok());
      if (raft_->state() != (pre ? StateType::kPreCandidate : StateType::kCandidate)) break;
    }
  }
  DETCD_CHECK(raft_->state() == StateType::kLeader);
}

std::vector<raftpb::Message> Exchange(const std::vector<TestNode*>& nodes,
                                      std::function<bool(const raftpb::Message&)> drop) {
  std::vector<raftpb::Message> delivered;
  for (;;) {
    std::deque<raftpb::Message> queue;
    for (TestNode* n : nodes) {
      n->Persist();
      for (raftpb::Message& m : n->TakeMsgs()) queue.push_back(std::move(m));
    }
    if (queue.empty()) return delivered;
    for (raftpb::Message& m : queue) {
      if (drop && drop(m)) continue;
      for (TestNode* n : nodes) {
        if (n->id() != m.to()) continue;
        (void)n->Step(m);
        delivered.push_back(m);
      }
    }
  }
}

std::vector<raftpb::Message> Filter(const std::vector<raftpb::Message>& msgs, raftpb::MessageType type) {
  std::vector<raftpb::Message> out;
  for (const raftpb::Message& m : msgs) {
    if (m.type() == type) out.push_back(m);
  }
  return out;
}

}  // namespace detcd::raft::rafttest
