// NodeCore through a small synchronous driver: members that persist what they are asked to (into a "disk" that
// survives restarts), deliver messages in order, and tick a shared clock. Checks what a client sees: writes answered
// when applied, linearizable and serializable reads, headers, transactions, leases expiring by the leader's clock and
// surviving elections, snapshots for lagging members, restarts, and etcd's refusals (limits, quota, no leader).
#include "kv/node_core.h"
#include "kv/errors.h"
#include "kv/snapshot_assembler.h"

#include <deque>
#include <map>
#include <set>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace detcd::kv {
namespace {

constexpr int64_t kTickUs = 100'000;

struct Disk {
  raftpb::Snapshot snapshot;
  raftpb::HardState hard_state;
  std::vector<raftpb::Entry> entries;  // after the snapshot

  void Persist(const PersistRequest& p) {
    if (p.snapshot && p.snapshot->metadata().index() > snapshot.metadata().index()) {
      snapshot = *p.snapshot;
      entries.clear();
    }
    if (!p.entries.empty()) {
      const uint64_t first = p.entries[0].index();
      while (!entries.empty() && entries.back().index() >= first) entries.pop_back();
      entries.insert(entries.end(), p.entries.begin(), p.entries.end());
    }
    if (p.hard_state) hard_state = *p.hard_state;
  }
  void SaveOwn(const raftpb::Snapshot& s) {
    if (s.metadata().index() <= snapshot.metadata().index()) return;
    snapshot = s;
    while (!entries.empty() && entries.front().index() <= s.metadata().index()) entries.erase(entries.begin());
  }
  RecoveredState Recover() const { return RecoveredState{snapshot, hard_state, entries}; }
};

class TestCluster {
 public:
  explicit TestCluster(int n, std::function<void(NodeCoreConfig*)> configure = nullptr)
      : configure_(std::move(configure)) {
    for (uint64_t id = 1; id <= static_cast<uint64_t>(n); ++id) peers_.push_back(id);
    for (uint64_t id : peers_) Start(id);
  }

  NodeCore& node(uint64_t id) { return *nodes_.at(id); }
  bool up(uint64_t id) const { return nodes_.count(id) > 0; }

  void Start(uint64_t id, bool join_existing = false) {
    NodeCoreConfig c;
    c.id = id;
    c.peers = peers_;
    c.join_existing = join_existing;
    c.cluster_id = 0xc1;
    c.tick_us = kTickUs;
    c.seed = id * 1000 + (++lives_);
    c.snapshot_count = 0;
    if (configure_) configure_(&c);
    nodes_[id] = std::make_unique<NodeCore>(c, disks_[id].Recover());
  }
  void Crash(uint64_t id) {
    nodes_.erase(id);
    files_.erase(id);  // a save cut short leaves nothing
    send_files_.erase(id);
    pieces_.erase(id);
  }
  // While held, a member's snapshot pieces wait (its disk is slow); WritePieces does the first n of them.
  void HoldSnapshotPieces(uint64_t id, bool on) {
    if (on) {
      holding_.insert(id);
    } else {
      holding_.erase(id);
    }
  }
  void WritePieces(uint64_t id, size_t n) {
    for (size_t i = 0; i < n && !pieces_[id].empty(); ++i) {
      const SnapshotPiece p = std::move(pieces_[id].front());
      pieces_[id].pop_front();
      if (std::optional<raftpb::Snapshot> s = files_[id].Apply(p)) {
        if (p.target == SnapshotPiece::Target::kSave) {
          disks_[id].SaveOwn(*s);
        } else {
          send_files_[id] = std::move(*s);  // its MSG_SNAPs come with the report
        }
      }
      if (p.kind != SnapshotPiece::Kind::kAbandon) node(id).SnapshotPieceWritten(p.stream, p.seq);
    }
  }
  size_t pieces_waiting(uint64_t id) { return pieces_[id].size(); }
  const SnapshotAssembler& file(uint64_t id) { return files_[id]; }
  void set_configure(std::function<void(NodeCoreConfig*)> configure) { configure_ = std::move(configure); }
  // Every forwarded proposal is delivered twice (a network that duplicates, or a transport that resends).
  void DuplicateProposals(bool on) { duplicate_props_ = on; }
  // A MSG_SNAP's bytes reach the receiving member outside the message (kept by its driver, handed to Persisted as a
  // byte source), as the production transport and simulator deliver them.
  void OutOfBandSnapshots(bool on) { out_of_band_ = on; }
  int snapshots_delivered() const { return snapshots_delivered_; }
  void Isolate(uint64_t id) { isolated_.insert(id); }
  void Heal() { isolated_.clear(); }

  // Runs every member's effects until nothing moves.
  void Settle() {
    for (int round = 0; round < 1000; ++round) {
      bool moved = false;
      for (auto& [id, n] : nodes_) {
        for (SnapshotPiece& p : n->TakeSnapshotPieces()) {
          pieces_[id].push_back(std::move(p));
          moved = true;
        }
        if (holding_.count(id) == 0) WritePieces(id, pieces_[id].size());
        if (std::optional<PersistRequest> p = n->TakePersist()) {
          if (p->snapshot && p->snapshot->data().empty()) {
            // A leader's snapshot whose bytes came outside the message: "installed" from what was received, and
            // handed to the core as a byte source.
            const std::string& data = received_[id];
            EXPECT_FALSE(data.empty()) << "a snapshot to install that was never received";
            PersistRequest installed = *p;
            installed.snapshot->set_data(data);
            disks_[id].Persist(installed);
            StringByteSource source(data);
            n->Persisted(p->seq, &source);
            EXPECT_EQ(source.remaining(), 0u) << "the core read the whole snapshot";
          } else {
            disks_[id].Persist(*p);
            n->Persisted(p->seq);
          }
          moved = true;
        }
        for (raftpb::Message& m : n->TakeMessages()) {
          if (m.type() == raftpb::MSG_SNAP) {
            // The snapshot's bytes are in the file made for followers: this driver's wire carries them inline.
            EXPECT_TRUE(m.snapshot().data().empty()) << "a leader's MSG_SNAP carries no data of its own";
            const raftpb::Snapshot& file = send_files_[id];
            EXPECT_EQ(file.metadata().SerializeAsString(), m.snapshot().metadata().SerializeAsString())
                << "a MSG_SNAP goes with the file made for it";
            m.mutable_snapshot()->set_data(file.data());
          }
          if (duplicate_props_ && m.type() == raftpb::MSG_PROP) queue_.push_back(m);
          queue_.push_back(std::move(m));
          moved = true;
        }
        for (ClientReply& r : n->TakeReplies()) replies_[r.request_id] = std::move(r);
      }
      while (!queue_.empty()) {
        raftpb::Message m = std::move(queue_.front());
        queue_.pop_front();
        moved = true;
        const bool lost = isolated_.count(m.from()) > 0 || isolated_.count(m.to()) > 0 || !up(m.to());
        if (m.type() == raftpb::MSG_SNAP && up(m.from())) node(m.from()).ReportSnapshot(m.to(), lost);
        if (!lost && m.type() == raftpb::MSG_SNAP) ++snapshots_delivered_;
        if (!lost && m.type() == raftpb::MSG_SNAP && out_of_band_) {
          // As the production transport does: the bytes go to the receiver's file, the message goes on without them.
          received_[m.to()] = m.snapshot().data();
          m.mutable_snapshot()->clear_data();
        }
        if (!lost) node(m.to()).Receive(m);
      }
      if (!moved) return;
    }
    FAIL() << "cluster did not settle";
  }

  void Tick(int times = 1) {
    for (int i = 0; i < times; ++i) {
      now_us_ += kTickUs;
      for (auto& [id, n] : nodes_) n->Tick(now_us_);
      Settle();
    }
  }

  uint64_t Leader() {
    for (auto& [id, n] : nodes_) {
      if (n->is_leader() && isolated_.count(id) == 0) return id;
    }
    return 0;
  }
  uint64_t ElectSomeone() {
    for (int i = 0; i < 200 && Leader() == 0; ++i) Tick();
    return Leader();
  }

  // Submits and settles; returns the reply (FAILs the test if none came).
  ClientReply Do(uint64_t at, const kvpb::ClientRequest& r) {
    const uint64_t id = ++next_request_;
    node(at).Submit(id, r);
    Settle();
    auto it = replies_.find(id);
    if (it == replies_.end()) {
      ADD_FAILURE() << "no reply from node " << at;
      return ClientReply();
    }
    return it->second;
  }
  // Submits without waiting.
  uint64_t Send(uint64_t at, const kvpb::ClientRequest& r) {
    const uint64_t id = ++next_request_;
    node(at).Submit(id, r);
    return id;
  }
  const ClientReply* ReplyTo(uint64_t request) const {
    auto it = replies_.find(request);
    return it == replies_.end() ? nullptr : &it->second;
  }
  Disk& disk(uint64_t id) { return disks_[id]; }

 private:
  std::function<void(NodeCoreConfig*)> configure_;
  std::vector<uint64_t> peers_;
  std::map<uint64_t, std::unique_ptr<NodeCore>> nodes_;
  std::map<uint64_t, Disk> disks_;
  std::map<uint64_t, SnapshotAssembler> files_;  // each member's snapshots being written (its own, for followers)
  std::map<uint64_t, raftpb::Snapshot> send_files_;  // each member's last finished snapshot for followers
  std::map<uint64_t, std::deque<SnapshotPiece>> pieces_;  // handed out, not yet written
  std::set<uint64_t> holding_;
  std::deque<raftpb::Message> queue_;
  std::set<uint64_t> isolated_;
  bool duplicate_props_ = false;
  bool out_of_band_ = false;
  int snapshots_delivered_ = 0;
  std::map<uint64_t, std::string> received_;  // each member's last snapshot received outside its message
  std::map<uint64_t, ClientReply> replies_;
  uint64_t next_request_ = 0;
  int64_t now_us_ = 0;
  uint64_t lives_ = 0;
};

kvpb::ClientRequest PutReq(const std::string& k, const std::string& v, int64_t lease = 0) {
  kvpb::ClientRequest r;
  r.mutable_put()->set_key(k);
  r.mutable_put()->set_value(v);
  r.mutable_put()->set_lease(lease);
  return r;
}

kvpb::ClientRequest GetReq(const std::string& k, bool serializable = false) {
  kvpb::ClientRequest r;
  r.mutable_range()->set_key(k);
  r.mutable_range()->set_serializable(serializable);
  return r;
}

std::string ValueOf(const ClientReply& r) {
  EXPECT_TRUE(r.status.ok()) << r.status;
  if (!r.response.has_range() || r.response.range().kvs_size() == 0) return "<absent>";
  return r.response.range().kvs(0).value();
}

TEST(NodeCoreTest, WritesAndLinearizableReadsOnEveryMember) {
  TestCluster c(3);
  const uint64_t leader = c.ElectSomeone();
  ASSERT_NE(leader, 0u);
  const uint64_t follower = leader == 1 ? 2 : 1;
  ClientReply put = c.Do(follower, PutReq("k", "v1"));
  ASSERT_TRUE(put.status.ok()) << put.status;
  const etcdserverpb::ResponseHeader& h = put.response.put().header();
  EXPECT_EQ(h.cluster_id(), 0xc1u);
  EXPECT_EQ(h.member_id(), follower);
  EXPECT_EQ(h.revision(), 2) << "as etcd: a fresh member is at revision 1, its first write makes 2";
  EXPECT_GE(h.raft_term(), 1u);
  for (uint64_t id : {1, 2, 3}) EXPECT_EQ(ValueOf(c.Do(id, GetReq("k"))), "v1") << "node " << id;
  ClientReply get = c.Do(3, GetReq("k"));
  EXPECT_EQ(get.response.range().header().member_id(), 3u);
  EXPECT_EQ(get.response.range().header().revision(), 2);
}

TEST(NodeCoreTest, SerializableReadIsLocalAndMayBeStale) {
  TestCluster c(3);
  const uint64_t leader = c.ElectSomeone();
  const uint64_t lagging = leader == 3 ? 2 : 3;
  c.Isolate(lagging);
  ASSERT_TRUE(c.Do(leader, PutReq("k", "new")).status.ok());
  // The isolated member answers a serializable read from what it has; a linearizable one cannot be answered.
  EXPECT_EQ(ValueOf(c.Do(lagging, GetReq("k", true))), "<absent>");
  const uint64_t req = c.Send(lagging, GetReq("k"));
  c.Settle();
  EXPECT_EQ(c.ReplyTo(req), nullptr) << "no ReadIndex answer without the leader";
  c.Heal();
  c.Tick(25);  // the read round is retried and answered
  ASSERT_NE(c.ReplyTo(req), nullptr);
  EXPECT_EQ(ValueOf(*c.ReplyTo(req)), "new");
}

// Found by the simulator (kv_swarm seed 7): a forwarded proposal delivered twice was applied twice, the second time
// after its client had been answered and another client's write had followed — a stale value came back.
TEST(NodeCoreTest, DuplicatedProposalTakesEffectOnce) {
  TestCluster c(3);
  const uint64_t leader = c.ElectSomeone();
  const uint64_t follower = leader % 3 + 1;
  c.DuplicateProposals(true);
  ClientReply first = c.Do(follower, PutReq("k", "a"));
  ASSERT_TRUE(first.status.ok()) << first.status;
  const int64_t rev = first.response.put().header().revision();
  c.DuplicateProposals(false);
  ClientReply second = c.Do(leader, PutReq("k", "b"));
  ASSERT_TRUE(second.status.ok()) << second.status;
  EXPECT_EQ(second.response.put().header().revision(), rev + 1) << "the duplicate took a revision of its own";
  c.Tick(3);
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_EQ(ValueOf(c.Do(id, GetReq("k"))), "b") << "node " << id;
    EXPECT_EQ(c.node(id).store().rev(), rev + 1) << "node " << id;
  }
  // The window survives a restart from a snapshot: the same decision on a member that did not see the first copy.
  kvpb::StateSnapshot snap;
  ASSERT_TRUE(snap.ParseFromString(c.node(leader).StateSnapshot()));
  EXPECT_GE(snap.recent_request_ids_size(), 2);
}

TEST(NodeCoreTest, PublishedMemberAttributesReachEveryMemberAndTheSnapshot) {
  TestCluster c(3);
  const uint64_t leader = c.ElectSomeone();
  const uint64_t follower = leader % 3 + 1;
  kvpb::ClientRequest pub;
  pub.mutable_member_attributes()->set_id(follower);
  pub.mutable_member_attributes()->set_name("m" + std::to_string(follower));
  pub.mutable_member_attributes()->add_client_urls("http://10.0.0.1:2379");
  ASSERT_TRUE(c.Do(follower, pub).status.ok());
  c.Tick(2);
  for (uint64_t id : {1, 2, 3}) {
    const kvpb::Member* m = c.node(id).membership().Find(follower);
    ASSERT_NE(m, nullptr) << "node " << id;
    ASSERT_EQ(m->client_urls_size(), 1);
    EXPECT_EQ(m->client_urls(0), "http://10.0.0.1:2379");
  }
  kvpb::StateSnapshot snap;
  ASSERT_TRUE(snap.ParseFromString(c.node(leader).StateSnapshot()));
  ASSERT_EQ(snap.cluster_members_size(), 3);
  EXPECT_EQ(snap.cluster_members(follower - 1).name(), "m" + std::to_string(follower));
}

kvpb::ClientRequest MemberAdd(const std::string& url, bool learner = false) {
  kvpb::ClientRequest r;
  r.mutable_member_add()->add_peerurls(url);
  r.mutable_member_add()->set_islearner(learner);
  return r;
}

TEST(NodeCoreTest, FoundingMembersAreTheHeadOfTheLog) {
  TestCluster c(3);
  const uint64_t leader = c.ElectSomeone();
  ASSERT_NE(leader, 0u);
  // etcd's bootstrap: one committed configuration change per founding member at indexes 1..3, term 1.
  const raft::MemoryStorage& st = c.node(leader).storage();
  for (uint64_t i = 1; i <= 3; ++i) {
    absl::StatusOr<uint64_t> term = st.Term(i);
    ASSERT_TRUE(term.ok());
    EXPECT_EQ(*term, 1u) << "entry " << i;
  }
  EXPECT_EQ(c.node(leader).membership().members().size(), 3u);
  EXPECT_EQ(c.node(leader).raft().raft().conf_state().voters_size(), 3);
}

TEST(NodeCoreTest, MemberAddedJoinsByReplayingTheLogAndServes) {
  TestCluster c(3);
  const uint64_t leader = c.ElectSomeone();
  const uint64_t follower = leader % 3 + 1;
  ASSERT_TRUE(c.Do(leader, PutReq("k", "v")).status.ok());
  ClientReply added = c.Do(follower, MemberAdd("http://10.0.0.4:2380"));
  ASSERT_TRUE(added.status.ok()) << added.status;
  const uint64_t id = added.response.member_add().member().id();
  ASSERT_NE(id, 0u);
  EXPECT_EQ(added.response.member_add().members_size(), 4);
  EXPECT_EQ(added.response.member_add().header().revision(), 0) << "the cluster service's header has no revision";
  // A second add on the same peer URL is refused, as etcd does.
  EXPECT_EQ(c.Do(leader, MemberAdd("http://10.0.0.4:2380")).status, ErrPeerURLExist());
  EXPECT_EQ(c.Do(leader, MemberAdd("10.0.0.5")).status, ErrMemberBadURLs());

  c.Start(id, /*join_existing=*/true);
  c.Tick(5);
  EXPECT_EQ(ValueOf(c.Do(id, GetReq("k"))), "v");
  EXPECT_EQ(c.node(id).raft().raft().conf_state().voters_size(), 4);
  EXPECT_EQ(c.node(id).membership().members().size(), 4u);
  ASSERT_TRUE(c.Do(id, PutReq("k", "w")).status.ok());
  for (uint64_t n : {uint64_t{1}, uint64_t{2}, uint64_t{3}, id}) EXPECT_EQ(ValueOf(c.Do(n, GetReq("k"))), "w");
}

TEST(NodeCoreTest, RemovedMemberStopsCountingAndIsRefused) {
  TestCluster c(3);
  const uint64_t leader = c.ElectSomeone();
  const uint64_t gone = leader % 3 + 1;
  kvpb::ClientRequest remove;
  remove.mutable_member_remove()->set_id(gone);
  ClientReply r = c.Do(leader, remove);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.response.member_remove().members_size(), 2);
  c.Tick(2);
  EXPECT_TRUE(c.node(gone).removed());
  EXPECT_FALSE(c.node(leader).removed());
  EXPECT_EQ(c.Do(leader, remove).status, ErrMemberNotFound());
  // Two members left: both are needed, the removed one is not.
  c.Isolate(gone);
  ASSERT_TRUE(c.Do(leader, PutReq("a", "1")).status.ok());
  c.Heal();
  // Its messages are refused: a campaign from it changes no term.
  const uint64_t term = c.node(leader).raft().raft().term();
  c.Tick(40);
  EXPECT_EQ(c.node(leader).raft().raft().term(), term);
  EXPECT_EQ(c.Leader(), leader);
}

TEST(NodeCoreTest, LearnerServesSerializableReadsOnlyUntilPromoted) {
  TestCluster c(3);
  const uint64_t leader = c.ElectSomeone();
  const uint64_t follower = leader % 3 + 1;
  ASSERT_TRUE(c.Do(leader, PutReq("k", "v")).status.ok());
  ClientReply added = c.Do(leader, MemberAdd("http://10.0.0.4:2380", /*learner=*/true));
  ASSERT_TRUE(added.status.ok()) << added.status;
  const uint64_t id = added.response.member_add().member().id();
  EXPECT_TRUE(added.response.member_add().member().islearner());
  EXPECT_EQ(c.Do(leader, MemberAdd("http://10.0.0.5:2380", true)).status, ErrTooManyLearners());
  // Not started yet: it has not caught up, so promoting it is refused, through a follower too.
  kvpb::ClientRequest promote;
  promote.mutable_member_promote()->set_id(id);
  EXPECT_EQ(c.Do(leader, promote).status, ErrLearnerNotReady());
  EXPECT_EQ(c.Do(follower, promote).status, ErrLearnerNotReady());

  c.Start(id, /*join_existing=*/true);
  c.Tick(5);
  EXPECT_EQ(c.Do(id, PutReq("x", "1")).status, ErrNotSupportedForLearner());
  EXPECT_EQ(c.Do(id, GetReq("k")).status, ErrNotSupportedForLearner());
  kvpb::ClientRequest serializable = GetReq("k");
  serializable.mutable_range()->set_serializable(true);
  EXPECT_EQ(ValueOf(c.Do(id, serializable)), "v");
  EXPECT_EQ(c.node(leader).raft().raft().conf_state().voters_size(), 3);

  ClientReply promoted = c.Do(follower, promote);
  ASSERT_TRUE(promoted.status.ok()) << promoted.status;
  ASSERT_EQ(promoted.response.member_promote().members_size(), 4);
  for (const auto& m : promoted.response.member_promote().members()) EXPECT_FALSE(m.islearner());
  c.Tick(2);
  EXPECT_EQ(c.node(id).raft().raft().conf_state().voters_size(), 4);
  EXPECT_TRUE(c.Do(id, PutReq("x", "1")).status.ok());
  EXPECT_EQ(c.Do(leader, promote).status, ErrMemberNotLearner());
}

// etcd's --force-new-cluster: the last member standing restarts as a cluster of one, with every committed write.
TEST(NodeCoreTest, ForceNewClusterLeavesOneMemberWithTheData) {
  TestCluster c(3);
  const uint64_t leader = c.ElectSomeone();
  ASSERT_TRUE(c.Do(leader, PutReq("k", "v")).status.ok());
  c.Tick(2);
  const uint64_t survivor = leader % 3 + 1;
  for (uint64_t id : {1, 2, 3}) c.Crash(id);
  c.set_configure([](NodeCoreConfig* cfg) { cfg->force_new_cluster = true; });
  c.Start(survivor);
  c.set_configure(nullptr);
  EXPECT_EQ(c.ElectSomeone(), survivor);
  EXPECT_EQ(c.node(survivor).raft().raft().conf_state().voters_size(), 1);
  EXPECT_EQ(c.node(survivor).membership().members().size(), 1u);
  EXPECT_EQ(ValueOf(c.Do(survivor, GetReq("k"))), "v");
  ASSERT_TRUE(c.Do(survivor, PutReq("k", "w")).status.ok());
  // A restart without the flag keeps the new configuration (it is in the log now).
  c.Crash(survivor);
  c.Start(survivor);
  EXPECT_EQ(c.ElectSomeone(), survivor);
  EXPECT_EQ(ValueOf(c.Do(survivor, GetReq("k"))), "w");
  EXPECT_EQ(c.node(survivor).membership().removed().size(), 2u);
}

// etcd's wording for a proposal lost with its leader: a put forwarded to a leader that is then cut off times out as
// "possibly due to previous leader failure"; one that times out with no new leader is a plain time-out.
TEST(NodeCoreTest, ProposalLostWithItsLeaderTimesOutAsLeaderFailure) {
  TestCluster c(3);
  const uint64_t leader = c.ElectSomeone();
  const uint64_t follower = leader % 3 + 1;
  c.Isolate(leader);
  const uint64_t lost = c.Send(follower, PutReq("k", "v"));  // forwarded into the cut-off leader
  EXPECT_EQ(c.node(follower).proposals_pending(), 1u);       // etcd_server_proposals_pending
  c.Tick(80);  // a new leader is elected among the other two; the request's 70 ticks pass
  ASSERT_NE(c.ReplyTo(lost), nullptr);
  EXPECT_EQ(c.ReplyTo(lost)->status, ErrTimeoutDueToLeaderFail());
  EXPECT_EQ(c.node(follower).proposals_pending(), 0u);
  EXPECT_EQ(c.node(follower).proposals_failed(), 1u);  // etcd_server_proposals_failed_total: a time-out

  c.Heal();
  c.Tick(20);
  const uint64_t now_leader = c.ElectSomeone();
  const uint64_t alone = now_leader % 3 + 1;
  c.Isolate(alone);
  const uint64_t stuck = c.Send(alone, PutReq("k", "w"));  // it never hears of a new leader
  c.Tick(80);
  ASSERT_NE(c.ReplyTo(stuck), nullptr);
  EXPECT_EQ(c.ReplyTo(stuck)->status, ErrTimeout());
}

TEST(NodeCoreTest, CompareAndSwapThroughTxn) {
  TestCluster c(3);
  const uint64_t leader = c.ElectSomeone();
  auto cas = [&](const std::string& expect, const std::string& next) {
    kvpb::ClientRequest r;
    etcdserverpb::Compare* cmp = r.mutable_txn()->add_compare();
    cmp->set_key("reg");
    cmp->set_target(etcdserverpb::Compare::VALUE);
    cmp->set_result(etcdserverpb::Compare::EQUAL);
    cmp->set_value(expect);
    etcdserverpb::PutRequest* p = r.mutable_txn()->add_success()->mutable_request_put();
    p->set_key("reg");
    p->set_value(next);
    ClientReply rep = c.Do(leader, r);
    EXPECT_TRUE(rep.status.ok()) << rep.status;
    return rep.response.txn().succeeded();
  };
  ASSERT_TRUE(c.Do(leader, PutReq("reg", "a")).status.ok());
  EXPECT_TRUE(cas("a", "b"));
  EXPECT_FALSE(cas("a", "c"));
  EXPECT_TRUE(cas("b", "c"));
  EXPECT_EQ(ValueOf(c.Do(2, GetReq("reg"))), "c");
}

TEST(NodeCoreTest, RefusalsAtTheEdge) {
  TestCluster c(3, [](NodeCoreConfig* cfg) {
    cfg->max_txn_ops = 2;
    cfg->max_request_bytes = 200;
  });
  // Before any election there is no leader to propose to: refused at once (only a hand-over's election is waited for).
  EXPECT_EQ(c.Do(1, PutReq("k", "v")).status.message(), "etcdserver: no leader");
  EXPECT_EQ(c.node(1).proposals_failed(), 1u);  // etcd_server_proposals_failed_total: could not be proposed
  const uint64_t leader = c.ElectSomeone();
  EXPECT_EQ(c.Do(leader, PutReq("", "v")).status.message(), "etcdserver: key is not provided");
  EXPECT_EQ(c.Do(leader, PutReq("k", std::string(300, 'x'))).status.message(), "etcdserver: request is too large");
  // The limit is on the proposal's bytes (etcd: the marshaled request), not with room to spare: just past it is
  // refused, somewhat under it goes through.
  EXPECT_EQ(c.Do(leader, PutReq("k", std::string(200, 'x'))).status.message(), "etcdserver: request is too large");
  EXPECT_TRUE(c.Do(leader, PutReq("k", std::string(160, 'x'))).status.ok());
  kvpb::ClientRequest txn;
  for (int i = 0; i < 3; ++i) txn.mutable_txn()->add_success()->mutable_request_put()->set_key("k" + std::to_string(i));
  EXPECT_EQ(c.Do(leader, txn).status.message(), "etcdserver: too many operations in txn request");
  kvpb::ClientRequest dup;
  dup.mutable_txn()->add_success()->mutable_request_put()->set_key("k");
  dup.mutable_txn()->add_success()->mutable_request_put()->set_key("k");
  EXPECT_EQ(c.Do(leader, dup).status.message(), "etcdserver: duplicate key given in txn request");
  EXPECT_EQ(c.node(leader).store().rev(), 2) << "nothing refused was written (one put went through)";
  // Refused before they were proposed (as etcd checks them): no proposal failed.
  EXPECT_EQ(c.node(leader).proposals_failed(), leader == 1 ? 1u : 0u);
}

TEST(NodeCoreTest, QuotaRaisesNospaceAlarmButDeletesStillWork) {
  TestCluster c(3, [](NodeCoreConfig* cfg) { cfg->quota_bytes = 2000; });
  const uint64_t leader = c.ElectSomeone();
  int written = 0;
  absl::Status last;
  for (int i = 0; i < 50; ++i) {
    last = c.Do(leader, PutReq("k" + std::to_string(i), std::string(100, 'v'))).status;
    if (!last.ok()) break;
    ++written;
  }
  EXPECT_EQ(last.message(), "etcdserver: mvcc: database space exceeded");
  EXPECT_GT(written, 5);
  c.Settle();
  for (uint64_t id : {1, 2, 3}) EXPECT_TRUE(c.node(id).nospace_alarm()) << "node " << id;
  EXPECT_EQ(c.Do(leader, PutReq("tiny", "")).status.message(), "etcdserver: mvcc: database space exceeded");
  kvpb::ClientRequest del;
  del.mutable_delete_range()->set_key("k0");
  ClientReply d = c.Do(leader, del);
  ASSERT_TRUE(d.status.ok()) << d.status;
  EXPECT_EQ(d.response.delete_range().deleted(), 1);
  EXPECT_EQ(ValueOf(c.Do(leader, GetReq("k1"))), std::string(100, 'v')) << "reads still work";
}

kvpb::ClientRequest Grant(int64_t ttl) {
  kvpb::ClientRequest r;
  r.mutable_lease_grant()->set_ttl(ttl);
  return r;
}

kvpb::ClientRequest KeepAlive(int64_t id) {
  kvpb::ClientRequest r;
  r.mutable_lease_keep_alive()->set_id(id);
  return r;
}

kvpb::ClientRequest AlarmReq(etcdserverpb::AlarmRequest::AlarmAction action, uint64_t member,
                             etcdserverpb::AlarmType type) {
  kvpb::ClientRequest r;
  r.mutable_alarm()->set_action(action);
  r.mutable_alarm()->set_memberid(member);
  r.mutable_alarm()->set_alarm(type);
  return r;
}

// etcd's corrupt applier: with a CORRUPT alarm raised (by the corruption check, for any member), every member
// refuses writes, compactions and lease grants/revokes with "etcdserver: corrupt cluster" while reads go on; the
// alarm is listed, survives a restart from a snapshot, and disarming it lets writes through again.
TEST(NodeCoreTest, CorruptAlarmStopsWritesOnEveryMemberUntilDisarmed) {
  TestCluster c(3, [](NodeCoreConfig* cfg) { cfg->snapshot_count = 5; });
  const uint64_t leader = c.ElectSomeone();
  ASSERT_TRUE(c.Do(leader, PutReq("k", "v1")).status.ok());
  ClientReply raised = c.Do(leader, AlarmReq(etcdserverpb::AlarmRequest::ACTIVATE, 3, etcdserverpb::CORRUPT));
  ASSERT_TRUE(raised.status.ok()) << raised.status;
  ASSERT_EQ(raised.response.alarm().alarms_size(), 1);
  EXPECT_EQ(raised.response.alarm().alarms(0).memberid(), 3u);
  c.Settle();
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_TRUE(c.node(id).corrupt_alarm()) << "node " << id;
    EXPECT_EQ(c.Do(id, PutReq("k", "v2")).status.message(), "etcdserver: corrupt cluster") << "node " << id;
    EXPECT_EQ(c.Do(id, PutReq("k", "v2")).status.code(), absl::StatusCode::kDataLoss);
    EXPECT_EQ(ValueOf(c.Do(id, GetReq("k"))), "v1") << "reads go on, node " << id;
  }
  kvpb::ClientRequest del;
  del.mutable_delete_range()->set_key("k");
  EXPECT_EQ(c.Do(leader, del).status.message(), "etcdserver: corrupt cluster");
  EXPECT_EQ(c.Do(leader, Grant(10)).status.message(), "etcdserver: corrupt cluster");
  ClientReply list = c.Do(2, AlarmReq(etcdserverpb::AlarmRequest::GET, 0, etcdserverpb::NONE));
  ASSERT_EQ(list.response.alarm().alarms_size(), 1);
  EXPECT_EQ(list.response.alarm().alarms(0).alarm(), etcdserverpb::CORRUPT);
  // Through a snapshot and a restart, the alarm holds.
  for (int i = 0; i < 8; ++i) (void)c.Do(leader, GetReq("k"));
  for (int i = 0; i < 8; ++i) {
    ASSERT_TRUE(c.Do(leader, AlarmReq(etcdserverpb::AlarmRequest::ACTIVATE, 3, etcdserverpb::CORRUPT)).status.ok());
  }
  const uint64_t f = leader == 1 ? 2 : 1;
  c.Crash(f);
  c.Start(f);
  c.Settle();
  EXPECT_TRUE(c.node(f).corrupt_alarm()) << "the restarted member forgot the alarm";
  ClientReply cleared = c.Do(leader, AlarmReq(etcdserverpb::AlarmRequest::DEACTIVATE, 3, etcdserverpb::CORRUPT));
  ASSERT_TRUE(cleared.status.ok()) << cleared.status;
  EXPECT_EQ(cleared.response.alarm().alarms_size(), 1);
  c.Settle();
  for (uint64_t id : {1, 2, 3}) EXPECT_TRUE(c.Do(id, PutReq("k", "v3")).status.ok()) << "node " << id;
}

TEST(NodeCoreTest, LeaseExpiresByTheLeadersClockAndRevokesItsKeys) {
  TestCluster c(3);
  const uint64_t leader = c.ElectSomeone();
  ClientReply g = c.Do(leader, Grant(3));
  ASSERT_TRUE(g.status.ok()) << g.status;
  const int64_t lease = g.response.lease_grant().id();
  EXPECT_GT(lease, 0);
  EXPECT_EQ(g.response.lease_grant().ttl(), 3);
  ASSERT_TRUE(c.Do(leader, PutReq("eph", "x", lease)).status.ok());
  // Keep it alive for 5 s (longer than its TTL).
  for (int i = 0; i < 5; ++i) {
    c.Tick(10);
    ClientReply ka = c.Do(leader, KeepAlive(lease));
    ASSERT_TRUE(ka.status.ok()) << ka.status;
    EXPECT_EQ(ka.response.lease_keep_alive().ttl(), 3);
  }
  EXPECT_EQ(ValueOf(c.Do(2, GetReq("eph"))), "x");
  // Then stop: after 3 s it is revoked through Raft, on every member.
  c.Tick(35);
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_EQ(ValueOf(c.Do(id, GetReq("eph"))), "<absent>") << "node " << id;
    EXPECT_EQ(c.node(id).lessor().Lookup(lease), nullptr);
  }
  ClientReply ka = c.Do(leader, KeepAlive(lease));
  ASSERT_TRUE(ka.status.ok());
  EXPECT_EQ(ka.response.lease_keep_alive().ttl(), 0) << "etcd: a keep-alive for a gone lease answers TTL 0";
  kvpb::ClientRequest ttl;
  ttl.mutable_lease_time_to_live()->set_id(lease);
  EXPECT_EQ(c.Do(leader, ttl).response.lease_time_to_live().ttl(), -1);
}

// etcdctl lease timetolive against a follower: the leader answers through the log with its own clock's view.
TEST(NodeCoreTest, TimeToLiveThroughAFollowerIsTheLeadersAnswer) {
  TestCluster c(3);
  const uint64_t leader = c.ElectSomeone();
  const uint64_t follower = leader % 3 + 1;
  ClientReply g = c.Do(follower, Grant(10));
  ASSERT_TRUE(g.status.ok()) << g.status;
  const int64_t lease = g.response.lease_grant().id();
  ASSERT_TRUE(c.Do(follower, PutReq("k1", "v", lease)).status.ok());
  c.Tick(35);  // 3.5 s of the leader's clock
  kvpb::ClientRequest ttl;
  ttl.mutable_lease_time_to_live()->set_id(lease);
  ttl.mutable_lease_time_to_live()->set_keys(true);
  ClientReply r = c.Do(follower, ttl);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_EQ(r.response.lease_time_to_live().grantedttl(), 10);
  EXPECT_GE(r.response.lease_time_to_live().ttl(), 5);
  EXPECT_LE(r.response.lease_time_to_live().ttl(), 7);
  ASSERT_EQ(r.response.lease_time_to_live().keys_size(), 1);
  EXPECT_EQ(r.response.lease_time_to_live().keys(0), "k1");
  EXPECT_EQ(r.response.lease_time_to_live().header().member_id(), follower);
  ttl.mutable_lease_time_to_live()->set_id(lease + 1);
  EXPECT_EQ(c.Do(follower, ttl).response.lease_time_to_live().ttl(), -1);
}

// A client connected to a follower keeps its lease alive: the keep-alive reaches the leader through the log.
TEST(NodeCoreTest, KeepAliveThroughAFollowerRenewsTheLease) {
  TestCluster c(3);
  const uint64_t leader = c.ElectSomeone();
  const uint64_t follower = leader % 3 + 1;
  ClientReply g = c.Do(leader, Grant(3));
  ASSERT_TRUE(g.status.ok()) << g.status;
  const int64_t lease = g.response.lease_grant().id();
  ASSERT_TRUE(c.Do(leader, PutReq("eph", "x", lease)).status.ok());
  for (int i = 0; i < 6; ++i) {  // 6 s, twice the TTL
    c.Tick(10);
    ClientReply ka = c.Do(follower, KeepAlive(lease));
    ASSERT_TRUE(ka.status.ok()) << ka.status;
    EXPECT_EQ(ka.response.lease_keep_alive().ttl(), 3);
  }
  EXPECT_EQ(ValueOf(c.Do(follower, GetReq("eph"))), "x") << "kept alive through the follower";
  c.Tick(35);
  EXPECT_EQ(ValueOf(c.Do(follower, GetReq("eph"))), "<absent>") << "then expired once nobody kept it alive";
  ClientReply gone = c.Do(follower, KeepAlive(lease));
  ASSERT_TRUE(gone.status.ok()) << gone.status;
  EXPECT_EQ(gone.response.lease_keep_alive().ttl(), 0);
}

TEST(NodeCoreTest, ElectionDoesNotExpireLeases) {
  TestCluster c(3);
  const uint64_t leader = c.ElectSomeone();
  const int64_t lease = c.Do(leader, Grant(5)).response.lease_grant().id();
  ASSERT_TRUE(c.Do(leader, PutReq("eph", "x", lease)).status.ok());
  c.Tick(30);  // 3 s of the 5 s gone
  c.Crash(leader);
  const uint64_t next = c.ElectSomeone();
  ASSERT_NE(next, 0u);
  ASSERT_NE(next, leader);
  // The new leader starts the lease over (5 s + an election timeout) from when it took over.
  c.Tick(30);
  EXPECT_EQ(ValueOf(c.Do(next, GetReq("eph"))), "x");
  c.Tick(50);
  EXPECT_EQ(ValueOf(c.Do(next, GetReq("eph"))), "<absent>");
}

TEST(NodeCoreTest, LaggingMemberCatchesUpBySnapshotAndRestartsFromIt) {
  TestCluster c(3, [](NodeCoreConfig* cfg) {
    cfg->snapshot_count = 20;
    cfg->snapshot_catch_up_entries = 5;
  });
  const uint64_t leader = c.ElectSomeone();
  const uint64_t lagging = leader == 3 ? 2 : 3;
  c.Isolate(lagging);
  for (int i = 0; i < 60; ++i) ASSERT_TRUE(c.Do(leader, PutReq("k" + std::to_string(i % 7), std::to_string(i))).status.ok());
  EXPECT_GT(c.node(leader).storage().FirstIndex(), 10u) << "the leader compacted its log";
  c.Heal();
  c.Tick(5);
  EXPECT_EQ(c.node(lagging).applied_index(), c.node(leader).applied_index());
  EXPECT_EQ(*c.node(lagging).store().HashKV(0), *c.node(leader).store().HashKV(0));
  EXPECT_GT(c.disk(lagging).snapshot.metadata().index(), 0u) << "it holds the leader's snapshot";
  // A restart comes back from the snapshot plus the WAL after it, with the same state.
  const uint32_t hash = *c.node(lagging).store().HashKV(0);
  c.Crash(lagging);
  c.Start(lagging);
  c.Settle();
  EXPECT_GE(c.node(lagging).applied_index(), c.disk(lagging).snapshot.metadata().index());
  c.Tick(3);
  EXPECT_EQ(*c.node(lagging).store().HashKV(0), hash);
  EXPECT_EQ(ValueOf(c.Do(lagging, GetReq("k3"))), "59");
}

TEST(NodeCoreTest, WatchSeesWritesWithHeaders) {
  TestCluster c(3);
  const uint64_t leader = c.ElectSomeone();
  NodeCore& n = c.node(2);
  const WatchHub::StreamId s = n.OpenWatchStream();
  etcdserverpb::WatchRequest w;
  w.mutable_create_request()->set_key("k");
  n.Watch(s, w);
  std::vector<etcdserverpb::WatchResponse> got = n.TakeWatchResponses(s);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].created());
  EXPECT_EQ(got[0].header().member_id(), 2u);
  ASSERT_TRUE(c.Do(leader, PutReq("k", "v")).status.ok());
  c.Tick(1);
  got = n.TakeWatchResponses(s);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_EQ(got[0].events_size(), 1);
  EXPECT_EQ(got[0].events(0).kv().value(), "v");
  EXPECT_EQ(got[0].header().revision(), 2);
  EXPECT_EQ(got[0].header().cluster_id(), 0xc1u);
}

TEST(NodeCoreTest, HashKVIsEqualOnEveryMemberAtTheSameRevision) {
  TestCluster c(3);
  const uint64_t leader = c.ElectSomeone();
  ASSERT_NE(leader, 0u);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c.Do(leader, PutReq("k" + std::to_string(i % 3), "v" + std::to_string(i))).status.ok());
  }
  kvpb::ClientRequest del;
  del.mutable_delete_range()->set_key("k1");
  ASSERT_TRUE(c.Do(leader, del).status.ok());
  c.Tick(2);  // followers learn the last commit
  const int64_t rev = c.node(leader).store().rev();
  ASSERT_EQ(rev, 7);
  for (int64_t at : {int64_t{0}, rev, rev - 2}) {
    absl::StatusOr<HashKVResult> want = c.node(leader).HashKV(at);
    ASSERT_TRUE(want.ok()) << want.status();
    EXPECT_EQ(want->compact_revision, -1) << "as etcd: never compacted";
    EXPECT_EQ(want->header.revision(), rev) << "the header carries the current revision, not the one hashed";
    EXPECT_EQ(want->header.member_id(), leader);
    for (uint64_t id : {1, 2, 3}) {
      absl::StatusOr<HashKVResult> got = c.node(id).HashKV(at);
      ASSERT_TRUE(got.ok()) << got.status();
      EXPECT_EQ(got->hash, want->hash) << "node " << id << " at " << at;
    }
  }
  EXPECT_NE(c.node(leader).HashKV(rev)->hash, c.node(leader).HashKV(rev - 1)->hash);
  EXPECT_EQ(c.node(leader).HashKV(0)->hash, c.node(leader).HashKV(rev)->hash);
  for (uint64_t id : {1, 2, 3}) EXPECT_EQ(c.node(id).Hash().hash, c.node(leader).Hash().hash) << "node " << id;

  // etcd's bounds: past the store is a future revision; at or below the compaction revision is compacted.
  EXPECT_EQ(c.node(leader).HashKV(rev + 1).status().message(),
            "etcdserver: mvcc: required revision is a future revision");
  kvpb::ClientRequest compact;
  compact.mutable_compaction()->set_revision(4);
  ASSERT_TRUE(c.Do(leader, compact).status.ok());
  c.Tick(2);
  for (uint64_t id : {1, 2, 3}) {
    absl::Status s = c.node(id).HashKV(4).status();
    EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
    EXPECT_EQ(s.message(), "etcdserver: mvcc: required revision has been compacted") << "node " << id;
    EXPECT_FALSE(c.node(id).HashKV(3).ok());
    absl::StatusOr<HashKVResult> got = c.node(id).HashKV(5);
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->compact_revision, 4);
    EXPECT_EQ(got->hash, c.node(leader).HashKV(5)->hash) << "node " << id;
    EXPECT_EQ(c.node(id).Hash().hash, c.node(leader).Hash().hash) << "node " << id;
  }
  // Compacted at its newest revision: that revision is refused, and now (0) still answers on every member.
  compact.mutable_compaction()->set_revision(rev);
  ASSERT_TRUE(c.Do(leader, compact).status.ok());
  c.Tick(2);
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_FALSE(c.node(id).HashKV(rev).ok()) << "node " << id;
    absl::StatusOr<HashKVResult> now = c.node(id).HashKV(0);
    ASSERT_TRUE(now.ok()) << "node " << id << ": " << now.status();
    EXPECT_EQ(now->compact_revision, rev);
    EXPECT_EQ(now->hash, c.node(leader).HashKV(0)->hash) << "node " << id;
  }
}

// Maintenance.Hash digests the state a version at a time: a member whose store went bad (one value) differs from the
// others while everything else (dedup window, leases, members, auth) is the same; members that agree hash alike.
TEST(NodeCoreTest, HashCoversEveryVersionOfTheStore) {
  TestCluster c(3, [](NodeCoreConfig* cfg) {
    if (cfg->id == 2) cfg->kv_testing.corrupt_puts_to = "bad";
  });
  const uint64_t leader = c.ElectSomeone();
  ASSERT_NE(leader, 0u);
  ASSERT_TRUE(c.Do(leader, PutReq("good", "v")).status.ok());
  c.Tick(2);
  EXPECT_EQ(c.node(1).Hash().hash, c.node(2).Hash().hash);
  EXPECT_EQ(c.node(1).Hash().hash, c.node(3).Hash().hash);
  ASSERT_TRUE(c.Do(leader, PutReq("bad", "v")).status.ok());
  c.Tick(2);
  EXPECT_NE(c.node(1).Hash().hash, c.node(2).Hash().hash) << "a bad value on member 2 went unseen";
  EXPECT_EQ(c.node(1).Hash().hash, c.node(3).Hash().hash);
}

TEST(NodeCoreTest, LeaderTransfersLeadershipToAFollower) {
  TestCluster c(3);
  const uint64_t leader = c.ElectSomeone();
  ASSERT_NE(leader, 0u);
  ASSERT_TRUE(c.Do(leader, PutReq("k", "v")).status.ok());
  c.Tick(1);
  const uint64_t target = leader == 3 ? 2 : 3;
  const uint64_t other = 6 - leader - target;

  // Refusals, with etcd's errors: a follower may not move leadership; the transferee must be a voter.
  absl::Status s = c.node(other).TransferLeadership(target);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "etcdserver: not leader");
  s = c.node(leader).TransferLeadership(42);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.message(), "etcdserver: bad leader transferee");
  EXPECT_TRUE(c.node(leader).is_leader()) << "a refusal changes nothing";
  // Moving it to itself is a no-op that succeeds at once (etcd: it already leads).
  EXPECT_TRUE(c.node(leader).TransferLeadership(leader).ok());
  EXPECT_EQ(c.node(leader).leader(), leader);

  ASSERT_TRUE(c.node(leader).TransferLeadership(target).ok());
  for (int i = 0; i < 20 && c.Leader() != target; ++i) c.Tick(1);
  EXPECT_EQ(c.Leader(), target);
  for (uint64_t id : {1, 2, 3}) EXPECT_EQ(c.node(id).leader(), target) << "node " << id;
  EXPECT_FALSE(c.node(leader).is_leader());
  // The old leader now refuses, and the cluster keeps serving under the new one.
  EXPECT_EQ(c.node(leader).TransferLeadership(leader).message(), "etcdserver: not leader");
  ASSERT_TRUE(c.Do(leader, PutReq("k", "after")).status.ok());
  for (uint64_t id : {1, 2, 3}) EXPECT_EQ(ValueOf(c.Do(id, GetReq("k"))), "after") << "node " << id;
}

// A leader about to stop hands over to its most caught-up voter; proposals made while the hand-over is under way
// (on the leader, and forwarded by a follower) wait for the new leader instead of being dropped, so none fails.
TEST(NodeCoreTest, ProposalsDuringAHandOverWaitForTheNewLeaderAndSucceed) {
  TestCluster c(3);
  const uint64_t leader = c.ElectSomeone();
  ASSERT_NE(leader, 0u);
  ASSERT_TRUE(c.Do(leader, PutReq("k", "v0")).status.ok());
  c.Tick(1);
  const uint64_t target = c.node(leader).MostCaughtUpVoter();
  ASSERT_NE(target, 0u);
  ASSERT_NE(target, leader);
  const uint64_t other = 6 - leader - target;
  EXPECT_EQ(c.node(other).MostCaughtUpVoter(), 0u) << "a follower hands nothing over";
  // The transferee is cut off for a moment: the hand-over waits for it, and the proposals wait with it.
  c.Isolate(target);
  ASSERT_TRUE(c.node(leader).TransferLeadership(target).ok());
  ASSERT_TRUE(c.node(leader).transferring_leadership());
  const uint64_t on_leader = c.Send(leader, PutReq("a", "1"));
  const uint64_t on_follower = c.Send(other, PutReq("b", "2"));
  c.Settle();
  EXPECT_EQ(c.ReplyTo(on_leader), nullptr) << "answered while the hand-over is under way";
  EXPECT_EQ(c.ReplyTo(on_follower), nullptr);
  c.Heal();
  // A heartbeat round, and the transferee (caught up) is told again to take over: well within an election timeout.
  for (int i = 0; i < 3 && !(c.ReplyTo(on_leader) && c.ReplyTo(on_follower)); ++i) c.Tick(1);
  ASSERT_NE(c.ReplyTo(on_leader), nullptr);
  ASSERT_NE(c.ReplyTo(on_follower), nullptr);
  EXPECT_TRUE(c.ReplyTo(on_leader)->status.ok()) << c.ReplyTo(on_leader)->status;
  EXPECT_TRUE(c.ReplyTo(on_follower)->status.ok()) << c.ReplyTo(on_follower)->status;
  EXPECT_EQ(c.Leader(), target);
  for (uint64_t id : {1, 2, 3}) {
    EXPECT_EQ(ValueOf(c.Do(id, GetReq("a"))), "1") << "node " << id;
    EXPECT_EQ(ValueOf(c.Do(id, GetReq("b"))), "2") << "node " << id;
  }
}

// Found by the simulator (kv_membership seed 2): a member added after the leader's last snapshot, when the entries
// before that snapshot are compacted, must still catch up. The saved snapshot's configuration does not have it, and a
// member refuses a snapshot of a configuration without itself: the leader sends its state as it is now (etcd's merged
// snapshot), whose configuration has the new member.
TEST(NodeCoreTest, MemberAddedAfterTheLastSnapshotCatchesUpBySnapshot) {
  TestCluster c(3, [](NodeCoreConfig* cfg) {
    cfg->snapshot_count = 5;
    cfg->snapshot_catch_up_entries = 1;
  });
  const uint64_t leader = c.ElectSomeone();
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(c.Do(leader, PutReq("k", std::to_string(i))).status.ok());
  ClientReply added = c.Do(leader, MemberAdd("http://10.0.0.4:2380"));
  ASSERT_TRUE(added.status.ok()) << added.status;
  const uint64_t id = added.response.member_add().member().id();
  ASSERT_GT(c.node(leader).applied_index(), c.node(leader).storage().Snapshot().metadata().index())
      << "the leader's saved snapshot predates the new member";
  c.Start(id, /*join_existing=*/true);
  c.Tick(5);
  EXPECT_EQ(c.node(id).applied_index(), c.node(leader).applied_index());
  EXPECT_EQ(c.node(id).membership().members().size(), 4u);
  EXPECT_EQ(c.node(id).raft().raft().conf_state().voters_size(), 4);
  EXPECT_EQ(ValueOf(c.Do(id, GetReq("k"))), "19");
}

}  // namespace
}  // namespace detcd::kv

namespace detcd::kv {
namespace {

// A lone voter's linearizable read needs no ReadIndex round and waits for no unrelated WAL write: while a put's
// batch is still being persisted, a read is answered at once (with the value before that put, which is not
// acknowledged yet). (A freshly restarted member does not take that shortcut before it committed an entry of its term:
// its recovered commit index may miss writes acknowledged before the crash — kv_single_member's seeds 67 and 122
// fail without that check.)
TEST(NodeCoreTest, LoneVoterReadsDoNotWaitForAWalWriteInFlight) {
  TestCluster c(1);
  ASSERT_EQ(c.ElectSomeone(), 1u);
  ASSERT_TRUE(c.Do(1, PutReq("k", "v1")).status.ok());
  NodeCore& n = c.node(1);
  n.Submit(1001, PutReq("k", "v2"));
  std::optional<PersistRequest> in_flight = n.TakePersist();
  ASSERT_TRUE(in_flight.has_value()) << "the put's batch is being written";
  n.Submit(1002, GetReq("k"));
  std::vector<ClientReply> replies = n.TakeReplies();
  ASSERT_EQ(replies.size(), 1u) << "the read was answered before the write finished";
  EXPECT_EQ(replies[0].request_id, 1002u);
  ASSERT_TRUE(replies[0].status.ok()) << replies[0].status;
  EXPECT_EQ(ValueOf(replies[0]), "v1");
  n.Persisted(in_flight->seq);
  c.Settle();
  EXPECT_EQ(ValueOf(c.Do(1, GetReq("k"))), "v2");
}

}  // namespace
}  // namespace detcd::kv

namespace detcd::kv {
namespace {

void StreamedSaves(NodeCoreConfig* cfg) {
  cfg->snapshot_count = 20;
  cfg->snapshot_catch_up_entries = 5;
  cfg->snapshot_chunk_records = 4;  // a snapshot (for a follower too) spans many events
  cfg->snapshot_piece_bytes = 64;   // many pieces for a small state
}

// A follower whose own save is part-way through its file (slow disk) gets the leader's snapshot: its state is
// replaced, the save is abandoned (kAbandon, its file goes), it catches up, and its next save is written whole.
TEST(NodeCoreTest, FollowerRestoringALeadersSnapshotAbandonsItsSaveMidStream) {
  TestCluster c(3, StreamedSaves);
  const uint64_t leader = c.ElectSomeone();
  const uint64_t f = leader == 3 ? 2 : 3;
  c.HoldSnapshotPieces(f, true);
  for (int i = 0; c.node(f).snapshot_save_in_progress() == 0; ++i) {
    ASSERT_LT(i, 100);
    ASSERT_TRUE(c.Do(leader, PutReq("k" + std::to_string(i), std::string(40, 'v'))).status.ok());
  }
  c.WritePieces(f, 2);  // kBegin and the first store piece are done
  c.Settle();
  ASSERT_NE(c.node(f).snapshot_in_progress(), 0u) << "the save is mid-stream";
  EXPECT_LE(c.pieces_waiting(f), kSnapshotPiecesInFlight) << "no more pieces out than the driver has room for";
  c.Isolate(f);
  for (int i = 0; i < 80; ++i) {
    ASSERT_TRUE(c.Do(leader, PutReq("k" + std::to_string(i % 9), std::to_string(i))).status.ok());
  }
  ASSERT_GT(c.node(leader).storage().FirstIndex(), c.node(f).applied_index() + 1) << "f can only catch up by snapshot";
  c.Heal();
  c.Tick(60);
  EXPECT_EQ(c.node(f).applied_index(), c.node(leader).applied_index());
  EXPECT_EQ(*c.node(f).store().HashKV(0), *c.node(leader).store().HashKV(0));
  EXPECT_EQ(c.node(f).snapshot_in_progress(), 0u);
  c.HoldSnapshotPieces(f, false);
  c.WritePieces(f, c.pieces_waiting(f));
  c.Settle();
  EXPECT_EQ(c.file(f).abandoned(), 1) << "the half-written save was abandoned";
  EXPECT_FALSE(c.file(f).saving());
  // Its next own save goes through.
  const uint64_t installed = c.disk(f).snapshot.metadata().index();
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(c.Do(leader, PutReq("after", std::to_string(i))).status.ok());
  c.Tick(3);
  EXPECT_GT(c.disk(f).snapshot.metadata().index(), installed);
  EXPECT_EQ(c.node(f).snapshot_save_in_progress(), 0u);
  const uint32_t hash = *c.node(f).store().HashKV(0);
  c.Crash(f);
  c.Start(f);
  c.Tick(3);
  EXPECT_EQ(*c.node(f).store().HashKV(0), hash) << "it restarts from its own streamed snapshot";
}

// The leader's own save streams (slowly) while a follower needs a snapshot: the send waits for the save's bytes to be
// made, then a snapshot for the follower is made and sent; both finish.
TEST(NodeCoreTest, ASaveStreamingAndASendToAFollowerBothFinish) {
  TestCluster c(3, StreamedSaves);
  const uint64_t leader = c.ElectSomeone();
  const uint64_t lagging = leader == 3 ? 2 : 3;
  c.Isolate(lagging);
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(c.Do(leader, PutReq("k" + std::to_string(i % 7), std::to_string(i))).status.ok());
  }
  ASSERT_GT(c.node(leader).storage().FirstIndex(), 10u) << "the leader compacted its log";
  c.HoldSnapshotPieces(leader, true);
  const uint64_t saved = c.disk(leader).snapshot.metadata().index();
  for (int i = 0; c.node(leader).snapshot_save_in_progress() == 0; ++i) {
    ASSERT_LT(i, 100);
    ASSERT_TRUE(c.Do(leader, PutReq("s" + std::to_string(i), "x")).status.ok());
  }
  const uint64_t saving = c.node(leader).snapshot_save_in_progress();
  c.Heal();
  c.Tick(5);
  EXPECT_LT(c.node(lagging).applied_index(), c.node(leader).applied_index()) << "the send waits for the save";
  EXPECT_LE(c.pieces_waiting(leader), kSnapshotPiecesInFlight + 1);
  c.HoldSnapshotPieces(leader, false);
  c.Settle();
  c.Tick(60);
  EXPECT_EQ(c.disk(leader).snapshot.metadata().index(), saving) << "the save finished";
  EXPECT_GT(saving, saved);
  EXPECT_EQ(c.node(lagging).applied_index(), c.node(leader).applied_index()) << "and the follower caught up";
  EXPECT_EQ(*c.node(lagging).store().HashKV(0), *c.node(leader).store().HashKV(0));
  EXPECT_LE(c.file(leader).piece_bytes_max(), 64u + 200u) << "pieces stay near their bound";
}

// A snapshot for a follower streams to the leader's file in bounded pieces, however slow its disk, while the leader
// keeps answering; only once the file is complete does the MSG_SNAP go, without data of its own; the follower, given
// the bytes outside the message (as the transport delivers them), restores from a byte source and later restarts
// from what it installed.
TEST(NodeCoreTest, SnapshotForAFollowerStreamsToAFileAndIsRestoredFromAByteSource) {
  TestCluster c(3, StreamedSaves);
  c.OutOfBandSnapshots(true);
  const uint64_t leader = c.ElectSomeone();
  const uint64_t lagging = leader == 3 ? 2 : 3;
  c.Isolate(lagging);
  for (int i = 0; i < 60; ++i) {
    ASSERT_TRUE(c.Do(leader, PutReq("k" + std::to_string(i), std::string(50, 'a' + i % 26))).status.ok());
  }
  c.Tick(3);  // its own saves finish
  ASSERT_EQ(c.node(leader).snapshot_save_in_progress(), 0u);
  ASSERT_GT(c.node(leader).storage().FirstIndex(), c.node(lagging).applied_index() + 1)
      << "the lagging member can only catch up by snapshot";
  c.HoldSnapshotPieces(leader, true);
  c.Heal();
  int answered = 0;
  size_t pieces = 0;
  for (int step = 0; c.snapshots_delivered() == 0; ++step) {
    ASSERT_LT(step, 2000);
    ASSERT_LE(c.pieces_waiting(leader), kSnapshotPiecesInFlight) << "no more pieces out than the driver has room for";
    // Linearizable reads (a write would start the leader's next save): answered while the snapshot is made.
    ASSERT_EQ(ValueOf(c.Do(leader, GetReq("k3"))), std::string(50, 'a' + 3));
    ++answered;
    if (c.pieces_waiting(leader) > 0) {
      c.WritePieces(leader, 1);
      ++pieces;
      c.Settle();
    } else {
      c.Tick();
    }
  }
  EXPECT_GT(pieces, 60u * 60 / 64) << "the state went out in many pieces";
  EXPECT_LE(c.file(leader).piece_bytes_max(), 64u + 200u) << "each about the piece bound";
  EXPECT_GT(answered, 10) << "the leader kept answering while it made the snapshot";
  c.HoldSnapshotPieces(leader, false);
  c.Tick(5);
  EXPECT_EQ(c.node(lagging).applied_index(), c.node(leader).applied_index());
  EXPECT_EQ(*c.node(lagging).store().HashKV(0), *c.node(leader).store().HashKV(0));
  EXPECT_EQ(ValueOf(c.Do(lagging, GetReq("k7", /*serializable=*/true))), std::string(50, 'a' + 7));
  // It restarts from the snapshot it installed (its bytes as received) and the WAL after it.
  ASSERT_GT(c.disk(lagging).snapshot.metadata().index(), 0u);
  const uint32_t hash = *c.node(lagging).store().HashKV(0);
  c.Crash(lagging);
  c.Start(lagging);
  c.Tick(3);
  EXPECT_EQ(*c.node(lagging).store().HashKV(0), hash);
}

// ---- auth (etcd's auth store in the log; permissions checked where requests are served or applied) ----

kvpb::ClientRequest As(kvpb::ClientRequest r, const std::string& token) {
  r.mutable_auth()->set_simple_token(token);
  return r;
}

kvpb::ClientRequest UserAddReq(const std::string& name, const std::string& hash) {
  kvpb::ClientRequest r;
  r.mutable_auth_user_add()->set_name(name);
  r.mutable_auth_user_add()->set_password(hash);
  return r;
}

kvpb::ClientRequest GrantRoleReq(const std::string& user, const std::string& role) {
  kvpb::ClientRequest r;
  r.mutable_auth_user_grant_role()->set_user(user);
  r.mutable_auth_user_grant_role()->set_role(role);
  return r;
}

kvpb::ClientRequest PermitReq(const std::string& role, authpb::Permission::Type t, const std::string& key,
                              const std::string& end) {
  kvpb::ClientRequest r;
  r.mutable_auth_role_grant_permission()->set_name(role);
  r.mutable_auth_role_grant_permission()->mutable_perm()->set_permtype(t);
  r.mutable_auth_role_grant_permission()->mutable_perm()->set_key(key);
  r.mutable_auth_role_grant_permission()->mutable_perm()->set_range_end(end);
  return r;
}

// What a driver does for Authenticate: look the user up (it would check the password against the hash), then
// propose the authentication at the revision it checked.
std::string Login(TestCluster& c, uint64_t at, const std::string& user, const std::string& prefix) {
  kvpb::ClientRequest lookup;
  lookup.mutable_auth_password_lookup()->set_name(user);
  ClientReply info = c.Do(at, lookup);
  EXPECT_TRUE(info.status.ok()) << info.status;
  kvpb::ClientRequest auth;
  auth.mutable_authenticate()->set_name(user);
  auth.mutable_authenticate()->set_simple_token_prefix(prefix);
  auth.mutable_authenticate()->set_checked_revision(info.response.auth_password_lookup().revision());
  ClientReply done = c.Do(at, auth);
  EXPECT_TRUE(done.status.ok()) << done.status;
  return done.response.authenticate().token();
}

// The start of etcd's walkthrough: root with the root role, a role "rw" on the prefix foo granted to "u", auth on.
void SetUpAuth(TestCluster& c, uint64_t at) {
  for (const kvpb::ClientRequest& r :
       {UserAddReq("root", "hash-root"), GrantRoleReq("root", "root"), UserAddReq("u", "hash-u")}) {
    ASSERT_TRUE(c.Do(at, r).status.ok());
  }
  kvpb::ClientRequest role;
  role.mutable_auth_role_add()->set_name("rw");
  ASSERT_TRUE(c.Do(at, role).status.ok());
  ASSERT_TRUE(c.Do(at, PermitReq("rw", authpb::Permission::READWRITE, "foo", "fop")).status.ok());
  ASSERT_TRUE(c.Do(at, GrantRoleReq("u", "rw")).status.ok());
  kvpb::ClientRequest enable;
  enable.mutable_auth_enable();
  ClientReply on = c.Do(at, enable);
  ASSERT_TRUE(on.status.ok()) << on.status;
}

TEST(NodeCoreTest, AuthSimpleTokensWorkOnEveryMemberAndPermissionsHold) {
  TestCluster c(3);
  const uint64_t leader = c.ElectSomeone();
  const uint64_t follower = leader % 3 + 1;
  const uint64_t other = follower % 3 + 1;
  SetUpAuth(c, leader);
  c.Settle();
  for (uint64_t id : {1, 2, 3}) EXPECT_TRUE(c.node(id).auth().enabled()) << "node " << id;

  const std::string token = Login(c, follower, "u", "prefixprefixpref");
  EXPECT_TRUE(absl::StartsWith(token, "prefixprefixpref.")) << token;
  c.Settle();
  // The token was assigned on every member when its entry applied: any member takes it.
  EXPECT_TRUE(c.Do(other, As(PutReq("foo/1", "v"), token)).status.ok());
  EXPECT_EQ(ValueOf(c.Do(other, As(GetReq("foo/1"), token))), "v");
  EXPECT_EQ(ValueOf(c.Do(leader, As(GetReq("foo/1", true), token))), "v");
  EXPECT_EQ(c.Do(other, As(PutReq("bar", "v"), token)).status, ErrPermissionDenied());
  EXPECT_EQ(c.Do(other, As(GetReq("bar"), token)).status, ErrPermissionDenied());
  EXPECT_EQ(c.Do(other, As(GetReq("bar", true), token)).status, ErrPermissionDenied());
  // No credentials, or a token nobody gave out.
  EXPECT_EQ(c.Do(other, PutReq("foo/1", "v")).status, ErrUserEmpty());
  EXPECT_EQ(c.Do(other, GetReq("foo/1")).status, ErrUserEmpty());
  EXPECT_EQ(c.Do(other, As(GetReq("foo/1"), "forged.12")).status, ErrInvalidAuthToken());
  // Administration is root's.
  EXPECT_EQ(c.Do(other, As(UserAddReq("x", "h"), token)).status, ErrPermissionDenied());
  const std::string root = Login(c, other, "root", "rootrootrootroot");
  EXPECT_TRUE(c.Do(follower, As(UserAddReq("x", "h"), root)).status.ok());
  EXPECT_TRUE(c.Do(follower, As(PutReq("bar", "v"), root)).status.ok());
  kvpb::ClientRequest list;
  list.mutable_auth_user_list();
  ClientReply users = c.Do(follower, As(list, root));
  ASSERT_TRUE(users.status.ok()) << users.status;
  EXPECT_EQ(users.response.auth_user_list().users_size(), 3);
  // A user reads its own entry, and nobody else's.
  kvpb::ClientRequest get_self;
  get_self.mutable_auth_user_get()->set_name("u");
  ClientReply self = c.Do(follower, As(get_self, token));
  ASSERT_TRUE(self.status.ok()) << self.status;
  ASSERT_EQ(self.response.auth_user_get().roles_size(), 1);
  EXPECT_EQ(self.response.auth_user_get().roles(0), "rw");
  get_self.mutable_auth_user_get()->set_name("root");
  EXPECT_EQ(c.Do(follower, As(get_self, token)).status, ErrPermissionDenied());
}

TEST(NodeCoreTest, AuthPermissionRevokedWhileARequestIsInFlightRefusesIt) {
  TestCluster c(3);
  const uint64_t leader = c.ElectSomeone();
  const uint64_t follower = leader % 3 + 1;
  SetUpAuth(c, leader);
  const std::string token = Login(c, follower, "u", "aaaaaaaaaaaaaaaa");
  const std::string root = Login(c, leader, "root", "bbbbbbbbbbbbbbbb");
  c.Settle();
  // The put is admitted at the follower (the token resolves: the user may write foo) and travels to the leader; the
  // revocation is proposed at the leader first. When the put applies, the store has moved on: refused.
  const uint64_t put = c.Send(follower, As(PutReq("foo/1", "v"), token));
  kvpb::ClientRequest revoke;
  revoke.mutable_auth_role_revoke_permission()->set_role("rw");
  revoke.mutable_auth_role_revoke_permission()->set_key("foo");
  revoke.mutable_auth_role_revoke_permission()->set_range_end("fop");
  const uint64_t rev = c.Send(leader, As(revoke, root));
  c.Settle();
  ASSERT_NE(c.ReplyTo(rev), nullptr);
  EXPECT_TRUE(c.ReplyTo(rev)->status.ok()) << c.ReplyTo(rev)->status;
  ASSERT_NE(c.ReplyTo(put), nullptr);
  EXPECT_EQ(c.ReplyTo(put)->status, ErrAuthOldRevision());
  // Asked again, it resolves at the new revision and is simply denied.
  EXPECT_EQ(c.Do(follower, As(PutReq("foo/1", "v"), token)).status, ErrPermissionDenied());
  EXPECT_EQ(ValueOf(c.Do(leader, As(GetReq("foo/1"), root))), "<absent>");
}

TEST(NodeCoreTest, AuthenticationCheckedAtAnOldRevisionIsRefused) {
  TestCluster c(1);
  ASSERT_NE(c.ElectSomeone(), 0u);
  SetUpAuth(c, 1);
  kvpb::ClientRequest auth;
  auth.mutable_authenticate()->set_name("u");
  auth.mutable_authenticate()->set_simple_token_prefix("cccccccccccccccc");
  auth.mutable_authenticate()->set_checked_revision(c.node(1).auth().revision() - 1);
  EXPECT_EQ(c.Do(1, auth).status, ErrAuthOldRevision());
  auth.mutable_authenticate()->set_name("nobody");
  auth.mutable_authenticate()->set_checked_revision(c.node(1).auth().revision());
  EXPECT_EQ(c.Do(1, auth).status, ErrAuthFailed());
  kvpb::ClientRequest lookup;
  lookup.mutable_auth_password_lookup()->set_name("nobody");
  EXPECT_EQ(c.Do(1, lookup).status, ErrAuthFailed());
  lookup.mutable_auth_password_lookup()->set_name("u");
  ClientReply info = c.Do(1, lookup);
  ASSERT_TRUE(info.status.ok());
  EXPECT_EQ(info.response.auth_password_lookup().hash(), "hash-u");
}

TEST(NodeCoreTest, AuthSurvivesARestartFromASnapshotButTokensDoNot) {
  TestCluster c(3, [](NodeCoreConfig* cfg) { cfg->snapshot_count = 5; });
  const uint64_t leader = c.ElectSomeone();
  const uint64_t f = leader % 3 + 1;
  SetUpAuth(c, leader);
  const std::string token = Login(c, f, "u", "dddddddddddddddd");
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(c.Do(leader, As(PutReq("foo/" + std::to_string(i), "v"), token)).status.ok());
  c.Settle();
  const std::string before = c.node(f).auth().State().SerializeAsString();
  c.Crash(f);
  c.Start(f);
  c.Settle();
  c.Tick(3);  // heartbeats: the restarted member learns who leads
  EXPECT_EQ(c.node(f).auth().State().SerializeAsString(), before);
  EXPECT_TRUE(c.node(f).auth().enabled());
  // A member's simple tokens are its own memory: after a restart the client must log in again (as with etcd).
  EXPECT_EQ(c.Do(f, As(GetReq("foo/1"), token)).status, ErrInvalidAuthToken());
  // Also one whose authentication the member re-applies from its log after the restart (after its last snapshot).
  const std::string late = Login(c, f, "u", "gggggggggggggggg");
  EXPECT_TRUE(c.Do(f, As(GetReq("foo/1"), late)).status.ok());
  c.Crash(f);
  c.Start(f);
  c.Settle();
  c.Tick(3);
  EXPECT_EQ(c.Do(f, As(GetReq("foo/1"), late)).status, ErrInvalidAuthToken());
  EXPECT_EQ(ValueOf(c.Do(f, As(GetReq("foo/1"), Login(c, f, "u", "eeeeeeeeeeeeeeee")))), "v");
}

TEST(NodeCoreTest, AuthWatchOnARangeTheUserMayNotReadIsCanceledAtCreation) {
  TestCluster c(1);
  ASSERT_NE(c.ElectSomeone(), 0u);
  SetUpAuth(c, 1);
  const std::string token = Login(c, 1, "u", "ffffffffffffffff");
  const WatchHub::StreamId s = c.node(1).OpenWatchStream();
  etcdserverpb::WatchRequest w;
  w.mutable_create_request()->set_key("bar");
  kvpb::RequestAuth auth;
  auth.set_simple_token(token);
  c.node(1).Watch(s, w, auth);
  std::vector<etcdserverpb::WatchResponse> out = c.node(1).TakeWatchResponses(s);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].created());
  EXPECT_TRUE(out[0].canceled());
  EXPECT_EQ(out[0].cancel_reason(), "rpc error: code = PermissionDenied desc = etcdserver: permission denied");
  w.mutable_create_request()->set_key("foo/1");
  c.node(1).Watch(s, w, auth);
  out = c.node(1).TakeWatchResponses(s);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].created());
  EXPECT_FALSE(out[0].canceled());
  auth.set_simple_token("");
  c.node(1).Watch(s, w, auth);
  out = c.node(1).TakeWatchResponses(s);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].cancel_reason(), "rpc error: code = InvalidArgument desc = etcdserver: user name is empty");
}

}  // namespace
}  // namespace detcd::kv
