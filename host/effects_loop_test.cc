// EffectsLoop with a real single-member kv::NodeCore and a host that records what it is asked to do: the order of one
// pass, a batch at a time, replies only after their batch is reported persisted, a host that goes away mid-batch
// stops the loop, watch responses only to streams with room, snapshot pieces offered on every pass only to a host that
// holds some.
#include "host/effects_loop.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace detcd::host {
namespace {

constexpr int64_t kTickUs = 100'000;

class RecordingHost : public EffectsHost {
 public:
  bool Present() override { return present; }
  void BeforePass() override { log.push_back("pass"); }
  void SaveSnapshotPieces(std::vector<kv::SnapshotPiece> p) override {
    ++save_calls;
    if (!p.empty()) log.push_back("pieces");
    for (kv::SnapshotPiece& piece : p) pieces.push_back(std::move(piece));
  }
  void Persist(kv::PersistRequest batch) override {
    log.push_back("persist");
    EXPECT_FALSE(persisting) << "a second batch before the first was reported";
    persisting = std::move(batch);
  }
  void Send(std::vector<raftpb::Message> m) override {
    log.push_back("send");
    sent += m.size();
  }
  void BeginReplies(size_t count) override { log.push_back("begin " + std::to_string(count)); }
  void Reply(kv::ClientReply r) override {
    log.push_back("reply");
    replies.push_back(std::move(r));
    if (gone_after_replies > 0 && replies.size() >= gone_after_replies) present = false;
  }
  void EndReplies() override { log.push_back("end"); }
  std::vector<uint64_t> WatchStreamsWithRoom() override { return room; }
  void WatchResponse(uint64_t stream, const etcdserverpb::WatchResponse& r) override { watch.emplace_back(stream, r); }
  void MembersChanged(const kv::Membership& m) override {
    log.push_back("members");
    members_version = m.version();
  }
  void Removed() override { log.push_back("removed"); }
  bool HoldsSnapshotPieces() override { return holds_pieces; }

  bool present = true;
  size_t gone_after_replies = 0;
  std::vector<std::string> log;
  std::optional<kv::PersistRequest> persisting;
  size_t sent = 0;
  std::vector<kv::ClientReply> replies;
  std::vector<uint64_t> room;
  std::vector<std::pair<uint64_t, etcdserverpb::WatchResponse>> watch;
  std::vector<kv::SnapshotPiece> pieces;
  uint64_t members_version = 0;
  bool holds_pieces = false;
  size_t save_calls = 0;
};

class EffectsLoopTest : public ::testing::Test {
 protected:
  EffectsLoopTest() {
    kv::NodeCoreConfig c;
    c.id = 1;
    c.peers = {1};
    c.cluster_id = 0xc1;
    c.tick_us = kTickUs;
    c.seed = 7;
    c.snapshot_count = 0;
    core_ = std::make_unique<kv::NodeCore>(c, kv::RecoveredState{});
  }

  // Reports the batch the host holds as durable (as a driver does once it synced) and drains again.
  bool PersistOne() {
    if (!host_.persisting) return false;
    const uint64_t seq = host_.persisting->seq;
    host_.persisting.reset();
    core_->Persisted(seq);
    loop_.Drain(*core_, host_);
    return true;
  }
  // Ticks and persists until the member leads.
  void BecomeLeader() {
    loop_.Drain(*core_, host_);
    for (int i = 0; i < 100 && !core_->is_leader(); ++i) {
      now_us_ += kTickUs;
      core_->Tick(now_us_);
      loop_.Drain(*core_, host_);
      while (PersistOne()) {
      }
    }
    ASSERT_TRUE(core_->is_leader());
    while (PersistOne()) {
    }
  }
  void Put(uint64_t id, const std::string& key) {
    kvpb::ClientRequest r;
    r.mutable_put()->set_key(key);
    r.mutable_put()->set_value("v");
    core_->Submit(id, r);
  }

  std::unique_ptr<kv::NodeCore> core_;
  EffectsLoop loop_;
  RecordingHost host_;
  int64_t now_us_ = 0;
};

TEST_F(EffectsLoopTest, RepliesComeOnlyAfterTheirBatchIsPersistedAndAsOneBatch) {
  BecomeLeader();
  EXPECT_GT(host_.members_version, 0u) << "the bootstrap membership is reported";
  host_.log.clear();
  host_.replies.clear();
  for (uint64_t id = 1; id <= 3; ++id) Put(id, "k" + std::to_string(id));
  loop_.Drain(*core_, host_);
  ASSERT_TRUE(host_.persisting.has_value());
  EXPECT_TRUE(host_.replies.empty()) << "a write answered before its entry is durable";
  EXPECT_EQ(host_.log.back(), "pass") << "the loop goes on until a pass finds nothing";
  // Another put meanwhile waits: one batch at a time.
  Put(4, "k4");
  loop_.Drain(*core_, host_);
  int batches = 0;
  while (PersistOne()) ++batches;
  EXPECT_GE(batches, 2) << "the fourth put was in the first batch, which was out before it came";
  ASSERT_EQ(host_.replies.size(), 4u);
  for (const kv::ClientReply& r : host_.replies) EXPECT_TRUE(r.status.ok()) << r.status;
  // Replies are bracketed once per batch, and the pass's order holds: replies before the next batch is persisted.
  std::vector<std::string> brackets;
  for (const std::string& l : host_.log) {
    if (l.rfind("begin", 0) == 0 || l == "end") brackets.push_back(l);
  }
  ASSERT_FALSE(brackets.empty());
  ASSERT_EQ(brackets.size() % 2, 0u);
  for (size_t i = 0; i < brackets.size(); i += 2) {
    EXPECT_EQ(brackets[i].substr(0, 6), "begin ") << i;
    EXPECT_EQ(brackets[i + 1], "end") << i;
  }
}

TEST_F(EffectsLoopTest, AHostGoneMidBatchStopsTheLoop) {
  BecomeLeader();
  host_.replies.clear();
  host_.log.clear();
  for (uint64_t id = 1; id <= 5; ++id) Put(id, "k");
  loop_.Drain(*core_, host_);
  host_.gone_after_replies = 2;
  while (host_.present && PersistOne()) {
  }
  EXPECT_EQ(host_.replies.size(), 2u) << "replies went on after the host said the member is gone";
  EXPECT_EQ(host_.log.back(), "reply") << "the loop went on after the host said the member is gone";
  // A drain of a gone member does nothing at all.
  host_.log.clear();
  loop_.Drain(*core_, host_);
  EXPECT_TRUE(host_.log.empty());
}

TEST_F(EffectsLoopTest, WatchResponsesGoOnlyToStreamsWithRoom) {
  BecomeLeader();
  const kv::WatchHub::StreamId a = core_->OpenWatchStream();
  const kv::WatchHub::StreamId b = core_->OpenWatchStream();
  etcdserverpb::WatchRequest w;
  w.mutable_create_request()->set_key("k");
  core_->Watch(a, w);
  core_->Watch(b, w);
  host_.room = {a};  // b's consumer is full
  loop_.Drain(*core_, host_);
  Put(1, "k");
  loop_.Drain(*core_, host_);
  while (PersistOne()) {
  }
  ASSERT_FALSE(host_.watch.empty());
  for (const auto& [stream, r] : host_.watch) EXPECT_EQ(stream, a);
  EXPECT_TRUE(core_->HasWatchResponses(b)) << "b's responses wait in the hub";
  host_.room = {a, b};
  const size_t before = host_.watch.size();
  loop_.Drain(*core_, host_);
  ASSERT_GT(host_.watch.size(), before);
  for (size_t i = before; i < host_.watch.size(); ++i) EXPECT_EQ(host_.watch[i].first, b);
  EXPECT_FALSE(core_->HasWatchResponses(b));
}

TEST_F(EffectsLoopTest, PassesWithoutPiecesOfferThemOnlyToAHostHoldingSome) {
  BecomeLeader();
  ASSERT_TRUE(host_.pieces.empty()) << "this member snapshots nothing (snapshot_count 0)";
  const auto passes = [this] { return static_cast<size_t>(std::count(host_.log.begin(), host_.log.end(), "pass")); };
  // A host holding nothing is not asked: a pass with no new pieces has nothing for it.
  host_.log.clear();
  host_.save_calls = 0;
  Put(1, "a");
  loop_.Drain(*core_, host_);
  while (PersistOne()) {
  }
  ASSERT_GT(passes(), 1u);
  EXPECT_EQ(host_.save_calls, 0u);
  // A host holding pieces it has not started is offered every pass, with none, to start the next.
  host_.holds_pieces = true;
  host_.log.clear();
  Put(2, "b");
  loop_.Drain(*core_, host_);
  while (PersistOne()) {
  }
  ASSERT_GT(passes(), 1u);
  EXPECT_EQ(host_.save_calls, passes());
}

}  // namespace
}  // namespace detcd::host
