// MemberRuntime with a real data directory (TEST_TMPDIR) and real time: a single member elects itself, answers
// writes and reads, streams watch events, keeps what it acknowledged across a restart, refuses a second process on
// its directory, and answers "server stopped" once stopped; three members wired in memory move leadership
// (MoveLeader waits for the new leader, or times out with etcd's error) and agree on HashKV.
#include "net/member_runtime.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "net/test_member.h"
#include "storage/posix_disk.h"
#include "storage/received_snapshot_file.h"

namespace detcd::net {
namespace {

TEST(MemberRuntimeTest, SingleMemberServesAndRemembersAcrossARestart) {
  const std::string dir = FreshTestDir("runtime_single");
  {
    absl::StatusOr<std::unique_ptr<MemberRuntime>> rt = MemberRuntime::Start(SingleMemberOptions(dir));
    ASSERT_TRUE(rt.ok()) << rt.status();
    kv::ClientReply put = CallUntilLeader(**rt, PutRequest("k", "v1"));
    ASSERT_TRUE(put.status.ok()) << put.status;
    EXPECT_EQ(put.response.put().header().revision(), 2) << "a fresh member is at revision 1, as etcd's";
    EXPECT_EQ(put.response.put().header().member_id(), 1u);
    kv::ClientReply get = (*rt)->Call(GetRequest("k"), absl::Seconds(2));
    ASSERT_TRUE(get.status.ok()) << get.status;
    ASSERT_EQ(get.response.range().kvs_size(), 1);
    EXPECT_EQ(get.response.range().kvs(0).value(), "v1");
    const MemberStatus st = (*rt)->Status();
    EXPECT_EQ(st.leader, 1u);
    EXPECT_EQ(st.revision, 2);
    EXPECT_GE(st.raft_term, 1u);
    EXPECT_EQ(st.applied_index, st.raft_index);

    // A second process on the same directory is refused while this one holds it.
    absl::StatusOr<std::unique_ptr<MemberRuntime>> second = MemberRuntime::Start(SingleMemberOptions(dir));
    ASSERT_FALSE(second.ok());
    EXPECT_NE(second.status().message().find("locked"), std::string::npos) << second.status();
    (*rt)->Stop();
    EXPECT_EQ((*rt)->Call(GetRequest("k"), absl::Seconds(1)).status.message(), "etcdserver: server stopped");
  }
  absl::StatusOr<std::unique_ptr<MemberRuntime>> again = MemberRuntime::Start(SingleMemberOptions(dir));
  ASSERT_TRUE(again.ok()) << again.status();
  kv::ClientReply get = CallUntilLeader(**again, GetRequest("k"));
  ASSERT_TRUE(get.status.ok()) << get.status;
  ASSERT_EQ(get.response.range().kvs_size(), 1) << "an acknowledged write survives the restart";
  EXPECT_EQ(get.response.range().kvs(0).value(), "v1");
}

// Holds the core (as a slow callback would) from the first watch response on, until released: requests submitted
// meanwhile can only queue. Lets the tests below fill the queue deterministically.
class CoreHolder {
 public:
  explicit CoreHolder(MemberRuntime& rt) {
    stream_ = rt.OpenWatch([this](const etcdserverpb::WatchResponse& r) {
      if (r.events_size() == 0) return true;
      std::unique_lock<std::mutex> l(mu_);
      held_ = true;
      cv_.notify_all();
      cv_.wait(l, [this] { return released_; });
      return true;
    });
  }
  // Submits a put of the watched key and waits until the core is held by the callback. The put is submitted from a
  // thread of its own: a submitting thread may drain the core itself (nobody holding it), and the callback must not
  // block this one, which releases it.
  void Hold(MemberRuntime& rt) {
    etcdserverpb::WatchRequest w;
    w.mutable_create_request()->set_key("hold");
    rt.Watch(stream_, w);
    submitter_ = std::thread([&rt] { rt.Submit(PutRequest("hold", "x"), [](kv::ClientReply) {}); });
    std::unique_lock<std::mutex> l(mu_);
    ASSERT_TRUE(cv_.wait_for(l, std::chrono::seconds(5), [this] { return held_; })) << "the core was never held";
  }
  void Release() {
    {
      std::lock_guard<std::mutex> l(mu_);
      released_ = true;
      cv_.notify_all();
    }
    if (submitter_.joinable()) submitter_.join();
  }
  ~CoreHolder() { Release(); }

 private:
  uint64_t stream_ = 0;
  std::thread submitter_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool held_ = false;
  bool released_ = false;
};

struct Replies {
  std::mutex mu;
  std::vector<absl::Status> got;
  MemberRuntime::ReplyFn Collector() {
    return [this](kv::ClientReply r) {
      std::lock_guard<std::mutex> l(mu);
      got.push_back(r.status);
    };
  }
  size_t Count(absl::StatusCode code, const std::string& message = "") {
    std::lock_guard<std::mutex> l(mu);
    size_t n = 0;
    for (const absl::Status& s : got) n += s.code() == code && (message.empty() || s.message() == message);
    return n;
  }
  bool WaitFor(size_t n) {
    for (int i = 0; i < 500; ++i) {
      {
        std::lock_guard<std::mutex> l(mu);
        if (got.size() >= n) return got.size() == n;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    return false;
  }
};

TEST(MemberRuntimeTest, OverloadIsRefusedWithEtcdsTooManyRequests) {
  MemberRuntimeOptions options = SingleMemberOptions(FreshTestDir("runtime_overload"));
  options.max_requests_in_flight = 5;
  absl::StatusOr<std::unique_ptr<MemberRuntime>> rt = MemberRuntime::Start(options);
  ASSERT_TRUE(rt.ok()) << rt.status();
  ASSERT_TRUE(CallUntilLeader(**rt, PutRequest("k", "v")).status.ok());
  CoreHolder holder(**rt);
  holder.Hold(**rt);
  Replies replies;
  for (int i = 0; i < 12; ++i) (*rt)->Submit(PutRequest(absl::StrCat("k", i), "v"), replies.Collector());
  // Five fit; the other seven are answered at once, before the core is free again.
  EXPECT_EQ(replies.Count(absl::StatusCode::kResourceExhausted, "etcdserver: too many requests"), 7u);
  holder.Release();
  ASSERT_TRUE(replies.WaitFor(12)) << "every request is answered exactly once";
  EXPECT_EQ(replies.Count(absl::StatusCode::kOk), 5u);
  // Room again once they are answered.
  EXPECT_TRUE((*rt)->Call(PutRequest("after", "v"), absl::Seconds(5)).status.ok());
}

// Every round of the core that applied entries is counted as a backend commit; one over the slow-apply bound (here
// -1 µs: every one) is a slow apply, counted and logged in etcd's words.
TEST(MemberRuntimeTest, ApplyRoundsAreTimedAndSlowOnesCountedAndLogged) {
  MemberRuntimeOptions options = SingleMemberOptions(FreshTestDir("runtime_slow_apply"));
  options.slow_apply_us = -1;
  std::mutex mu;
  std::vector<std::string> logs;
  options.log = [&](const std::string& line) {
    std::lock_guard<std::mutex> l(mu);
    logs.push_back(line);
  };
  absl::StatusOr<std::unique_ptr<MemberRuntime>> rt = MemberRuntime::Start(options);
  ASSERT_TRUE(rt.ok()) << rt.status();
  ASSERT_TRUE(CallUntilLeader(**rt, PutRequest("k", "v")).status.ok());
  for (int i = 0; i < 5; ++i)
    ASSERT_TRUE((*rt)->Call(PutRequest(absl::StrCat("k", i), "v"), absl::Seconds(5)).status.ok());
  const MemberStatus s = (*rt)->Status();
  EXPECT_GE(s.backend_commit.count(), 6u) << "each put was applied in a round of its own";
  EXPECT_EQ(s.slow_applies, s.backend_commit.count());
  std::lock_guard<std::mutex> l(mu);
  size_t slow_lines = 0;
  for (const std::string& line : logs) slow_lines += absl::StrContains(line, "apply request took too long") ? 1 : 0;
  EXPECT_GE(slow_lines, s.slow_applies) << "a round may finish (and log) after its reply went";
}

TEST(MemberRuntimeTest, RequestsQueuedWhenTheMemberStopsHearServerStopped) {
  absl::StatusOr<std::unique_ptr<MemberRuntime>> rt =
      MemberRuntime::Start(SingleMemberOptions(FreshTestDir("runtime_stop_queued")));
  ASSERT_TRUE(rt.ok()) << rt.status();
  ASSERT_TRUE(CallUntilLeader(**rt, PutRequest("k", "v")).status.ok());
  CoreHolder holder(**rt);
  holder.Hold(**rt);
  Replies replies;
  for (int i = 0; i < 4; ++i) (*rt)->Submit(PutRequest(absl::StrCat("k", i), "v"), replies.Collector());
  std::thread stopper([&] { (*rt)->Stop(); });
  absl::SleepFor(absl::Milliseconds(50));  // Stop is waiting for the core to be let go
  holder.Release();
  stopper.join();
  ASSERT_TRUE(replies.WaitFor(4)) << "every request is answered exactly once";
  EXPECT_EQ(replies.Count(absl::StatusCode::kUnavailable, "etcdserver: server stopped"), 4u);
}

// A stopped member lets go of its open watch streams' callbacks at once (each hears on_stopped first), so what they
// hold — the gRPC server's calls — is released while the server still exists, not when the runtime is destroyed.
TEST(MemberRuntimeTest, StopLetsGoOfOpenStreams) {
  absl::StatusOr<std::unique_ptr<MemberRuntime>> rt =
      MemberRuntime::Start(SingleMemberOptions(FreshTestDir("runtime_stop_streams")));
  ASSERT_TRUE(rt.ok()) << rt.status();
  ASSERT_TRUE(CallUntilLeader(**rt, PutRequest("k", "v")).status.ok());
  auto held = std::make_shared<int>(0);
  std::atomic<int> stopped{0};
  (*rt)->OpenWatch([held](const etcdserverpb::WatchResponse&) { return true; },
                   [held, &stopped] { stopped.fetch_add(1); });
  // The stream is open once the member ran the task that opens it: Status's task runs after it, in queue order (a
  // copy of the callbacks in the queued task alone made the count below true early, and a Stop then dropped the
  // task, which raced with whoever held the core).
  EXPECT_EQ((*rt)->Status().watch_streams, 1u);
  // The callbacks live in the member (two copies of `held` there, one here).
  EXPECT_EQ(held.use_count(), 3);
  (*rt)->Stop();
  EXPECT_EQ(stopped.load(), 1);
  EXPECT_EQ(held.use_count(), 1) << "the stopped member still holds a stream's callbacks";
}

// Many threads submit at once, so the core passes from thread to thread (whoever queues work while it is free runs
// it): each client reads its own last write (linearizable reads), and a stop in the middle of it all answers the rest
// "server stopped". A lost reply shows as Call's timeout (counted wrong); a doubled one breaks Call's promise (the
// test dies).
TEST(MemberRuntimeTest, ConcurrentClientsEachSeeTheirOwnWritesAndAreAllAnswered) {
  absl::StatusOr<std::unique_ptr<MemberRuntime>> rt =
      MemberRuntime::Start(SingleMemberOptions(FreshTestDir("runtime_concurrent")));
  ASSERT_TRUE(rt.ok()) << rt.status();
  ASSERT_TRUE(CallUntilLeader(**rt, PutRequest("warm", "up")).status.ok());
  constexpr int kClients = 8;
  std::atomic<int> wrong{0}, submitted{0}, stopped_replies{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      const std::string key = absl::StrCat("client/", c);
      for (int i = 0; !stop.load(); ++i) {
        const std::string value = absl::StrCat(i);
        submitted += 2;
        kv::ClientReply put = (*rt)->Call(PutRequest(key, value), absl::Seconds(10));
        kv::ClientReply get = (*rt)->Call(GetRequest(key), absl::Seconds(10));
        if (!put.status.ok() || !get.status.ok()) {
          stopped_replies += (put.status.message() == "etcdserver: server stopped") +
                             (get.status.message() == "etcdserver: server stopped");
          if (put.status.message() != "etcdserver: server stopped" &&
              get.status.message() != "etcdserver: server stopped") {
            ++wrong;
          }
          break;  // the member is stopping
        }
        if (get.response.range().kvs_size() != 1 || get.response.range().kvs(0).value() != value) ++wrong;
      }
    });
  }
  absl::SleepFor(absl::Milliseconds(800));
  (*rt)->Stop();  // while the clients are still submitting
  stop = true;
  for (std::thread& t : clients) t.join();
  EXPECT_EQ(wrong.load(), 0) << "a read missed its own client's write, a reply was lost, or an unexpected error";
  EXPECT_GT(submitted.load(), 100) << "the clients did run";
  EXPECT_GT(stopped_replies.load(), 0) << "the stop came while clients were still submitting";
}

TEST(MemberRuntimeTest, WatchStreamsEventsInOrder) {
  absl::StatusOr<std::unique_ptr<MemberRuntime>> rt =
      MemberRuntime::Start(SingleMemberOptions(FreshTestDir("runtime_watch")));
  ASSERT_TRUE(rt.ok()) << rt.status();
  ASSERT_TRUE(CallUntilLeader(**rt, PutRequest("a", "0")).status.ok());
  std::mutex mu;
  std::vector<etcdserverpb::WatchResponse> got;
  const uint64_t stream = (*rt)->OpenWatch([&](const etcdserverpb::WatchResponse& r) {
    std::lock_guard<std::mutex> l(mu);
    got.push_back(r);
    return true;
  });
  etcdserverpb::WatchRequest w;
  w.mutable_create_request()->set_key("a");
  w.mutable_create_request()->set_range_end("b");
  w.mutable_create_request()->set_start_revision(2);  // replays the first put, then live events
  (*rt)->Watch(stream, w);
  ASSERT_TRUE((*rt)->Call(PutRequest("a", "1"), absl::Seconds(2)).status.ok());
  kvpb::ClientRequest del;
  del.mutable_delete_range()->set_key("a");
  ASSERT_TRUE((*rt)->Call(del, absl::Seconds(2)).status.ok());
  std::vector<int64_t> revs;
  for (int i = 0; i < 200 && revs.size() < 3; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
    std::lock_guard<std::mutex> l(mu);
    revs.clear();
    for (const auto& r : got) {
      for (const auto& e : r.events()) revs.push_back(e.kv().mod_revision());
    }
  }
  EXPECT_EQ(revs, (std::vector<int64_t>{2, 3, 4}));
  std::lock_guard<std::mutex> l(mu);
  ASSERT_FALSE(got.empty());
  EXPECT_TRUE(got[0].created());
  EXPECT_EQ(got.back().events(0).type(), mvccpb::Event::DELETE);
  (*rt)->CloseWatch(stream);
}

// A consumer that says "no more for now" pauses its stream: the member keeps the events (its watch hub bounds them
// and catches the watcher up from history) and hands over nothing more until ResumeWatch — then every event comes,
// once, in order.
TEST(MemberRuntimeTest, PausedWatchStreamCatchesUpAfterResume) {
  absl::StatusOr<std::unique_ptr<MemberRuntime>> rt =
      MemberRuntime::Start(SingleMemberOptions(FreshTestDir("runtime_watch_pause")));
  ASSERT_TRUE(rt.ok()) << rt.status();
  ASSERT_TRUE(CallUntilLeader(**rt, PutRequest("warm", "up")).status.ok());
  std::mutex mu;
  std::vector<int64_t> revs;
  int deliveries = 0;
  const uint64_t stream = (*rt)->OpenWatch([&](const etcdserverpb::WatchResponse& r) {
    std::lock_guard<std::mutex> l(mu);
    for (const auto& e : r.events()) revs.push_back(e.kv().mod_revision());
    ++deliveries;
    return false;  // full after every response
  });
  etcdserverpb::WatchRequest w;
  w.mutable_create_request()->set_key("p/");
  w.mutable_create_request()->set_range_end("p0");
  (*rt)->Watch(stream, w);
  absl::SleepFor(absl::Milliseconds(100));
  for (int i = 0; i < 30; ++i)
    ASSERT_TRUE((*rt)->Call(PutRequest("p/" + std::to_string(i), "v"), absl::Seconds(2)).status.ok());
  absl::SleepFor(absl::Milliseconds(200));
  int paused_deliveries;
  {
    std::lock_guard<std::mutex> l(mu);
    paused_deliveries = deliveries;
  }
  EXPECT_LE(paused_deliveries, 2) << "a paused stream gets at most what the hub handed over in one take";
  for (int i = 0; i < 200; ++i) {
    (*rt)->ResumeWatch(stream);
    absl::SleepFor(absl::Milliseconds(10));
    std::lock_guard<std::mutex> l(mu);
    if (revs.size() >= 30) break;
  }
  std::lock_guard<std::mutex> l(mu);
  ASSERT_EQ(revs.size(), 30u) << "every event, after resuming";
  for (size_t i = 1; i < revs.size(); ++i) EXPECT_EQ(revs[i], revs[i - 1] + 1) << "in order, no gaps or repeats";
  (*rt)->CloseWatch(stream);
}

TEST(MemberRuntimeTest, CorruptDataRefusesToStartNamingTheFile) {
  const std::string dir = FreshTestDir("runtime_corrupt");
  {
    absl::StatusOr<std::unique_ptr<MemberRuntime>> rt = MemberRuntime::Start(SingleMemberOptions(dir));
    ASSERT_TRUE(rt.ok()) << rt.status();
    for (int i = 0; i < 20; ++i)
      ASSERT_TRUE(CallUntilLeader(**rt, PutRequest("k" + std::to_string(i), "v")).status.ok());
  }
  // Flip a byte in the middle of the first segment.
  const std::string wal = dir + "/member/wal";
  std::system(
      absl::StrCat(
          "f=$(ls '", wal,
          "'/*.wal | head -1); printf '\\xff\\xff\\xff\\xff' | dd of=\"$f\" bs=1 seek=200 conv=notrunc 2>/dev/null")
          .c_str());
  absl::StatusOr<std::unique_ptr<MemberRuntime>> rt = MemberRuntime::Start(SingleMemberOptions(dir));
  ASSERT_FALSE(rt.ok());
  EXPECT_NE(rt.status().message().find(".wal"), std::string::npos) << rt.status();
  EXPECT_NE(rt.status().message().find("offset"), std::string::npos) << rt.status();
}

std::vector<std::string> SnapDirNames(const std::string& data_dir) {
  storage::PosixDisk d;
  absl::StatusOr<std::vector<std::string>> names = d.List(data_dir + "/member/snap");
  return names.ok() ? *names : std::vector<std::string>{};
}

// Three members whose Raft messages go straight to each other's Receive (a member not running drops them); a
// MSG_SNAP's file is copied into the receiver's file as the transport would stream it.
class ThreeMembers {
 public:
  explicit ThreeMembers(const std::string& name, std::function<void(MemberRuntimeOptions*)> configure = nullptr) {
    for (uint64_t id = 1; id <= 3; ++id) {
      MemberRuntimeOptions o;
      o.core.id = id;
      o.core.peers = {1, 2, 3};
      o.core.cluster_id = 0xc1;
      o.core.tick_us = 10'000;
      o.data_dir = FreshTestDir(absl::StrCat(name, "_", id));
      o.wal_segment_bytes = 1 << 20;
      o.send = [this](raftpb::Message m, std::shared_ptr<storage::ReadableFile> snapshot_file) {
        if (m.to() < 1 || m.to() > 3) return;
        MemberRuntime* to = live_[m.to()].load();
        if (to == nullptr) return;
        if (snapshot_file == nullptr) return to->Receive(std::move(m));
        // As the transport does: the file's bytes into the receiver's file, then the message.
        absl::StatusOr<std::unique_ptr<storage::ReceivedSnapshotFile>> file =
            to->ReceiveSnapshotFile(m, snapshot_file->size());
        ASSERT_TRUE(file.ok()) << file.status();
        for (uint64_t at = 0; at < snapshot_file->size(); at += 4096) {
          std::string chunk;
          ASSERT_TRUE(snapshot_file->ReadAt(at, std::min<uint64_t>(4096, snapshot_file->size() - at), &chunk).ok());
          ASSERT_TRUE((*file)->Append(chunk).ok());
        }
        absl::StatusOr<std::string> path = (*file)->Finish();
        ASSERT_TRUE(path.ok()) << path.status();
        to->ReceiveSnapshot(std::move(m), *path);
      };
      if (configure) configure(&o);
      options_[id] = o;
      Start(id);
    }
  }
  // (Re)starts a member from its directory.
  void Start(uint64_t id) {
    absl::StatusOr<std::unique_ptr<MemberRuntime>> rt = MemberRuntime::Start(options_[id]);
    EXPECT_TRUE(rt.ok()) << rt.status();
    if (!rt.ok()) return;
    members_[id] = std::move(*rt);
    live_[id] = members_[id].get();
  }
  ~ThreeMembers() {
    for (auto& p : live_) p = nullptr;
    for (auto& m : members_) {
      if (m) m->Stop();
    }
  }
  MemberRuntime& member(uint64_t id) { return *members_[id]; }
  const MemberRuntimeOptions& options(uint64_t id) const { return options_[id]; }
  // Cuts a member off: it stops, and messages to it are dropped.
  void Stop(uint64_t id) {
    live_[id] = nullptr;
    members_[id]->Stop();
  }
  // The leader every running member agrees on (0 if none within the time allowed).
  uint64_t AgreedLeader(absl::Duration within = absl::Seconds(10)) {
    const absl::Time give_up = absl::Now() + within;
    while (absl::Now() < give_up) {
      uint64_t leader = 0;
      bool agreed = true;
      for (uint64_t id = 1; id <= 3; ++id) {
        if (live_[id].load() == nullptr) continue;
        const uint64_t l = members_[id]->Status().leader;
        if (leader == 0) leader = l;
        agreed &= l != 0 && l == leader;
      }
      if (agreed && leader != 0) return leader;
      absl::SleepFor(absl::Milliseconds(10));
    }
    return 0;
  }

 private:
  std::array<MemberRuntimeOptions, 4> options_;
  std::array<std::unique_ptr<MemberRuntime>, 4> members_;
  std::array<std::atomic<MemberRuntime*>, 4> live_{};
};

TEST(MemberRuntimeTest, MoveLeaderWaitsForTheNewLeaderAndMembersAgreeOnHashKV) {
  ThreeMembers c("runtime_move");
  const uint64_t leader = c.AgreedLeader();
  ASSERT_NE(leader, 0u);
  ASSERT_TRUE(CallUntilLeader(c.member(leader), PutRequest("k", "v")).status.ok());
  const uint64_t target = leader == 3 ? 2 : 3;
  const uint64_t other = 6 - leader - target;

  absl::StatusOr<etcdserverpb::ResponseHeader> refused = c.member(other).MoveLeader(target, absl::Seconds(2));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(refused.status().message(), "etcdserver: not leader");

  absl::StatusOr<etcdserverpb::ResponseHeader> moved = c.member(leader).MoveLeader(target, absl::Seconds(5));
  ASSERT_TRUE(moved.ok()) << moved.status();
  EXPECT_EQ(moved->member_id(), leader);
  EXPECT_EQ(c.member(leader).Status().leader, target) << "answered once the old leader sees the new one";
  EXPECT_EQ(c.AgreedLeader(), target);

  // Every member reaches the same revision and hashes it the same way.
  ASSERT_TRUE(CallUntilLeader(c.member(target), PutRequest("k", "w")).status.ok());
  const int64_t rev = c.member(target).Status().revision;
  std::array<uint32_t, 4> hashes{};
  for (uint64_t id = 1; id <= 3; ++id) {
    absl::StatusOr<kv::HashKVResult> h = c.member(id).HashKV(rev);
    for (int i = 0; i < 200 && !h.ok(); ++i) {  // a follower may not have applied `rev` yet
      absl::SleepFor(absl::Milliseconds(10));
      h = c.member(id).HashKV(rev);
    }
    ASSERT_TRUE(h.ok()) << "member " << id << ": " << h.status();
    hashes[id] = h->hash;
  }
  EXPECT_EQ(hashes[1], hashes[2]);
  EXPECT_EQ(hashes[1], hashes[3]);

  // A transfer to a member that is down never completes: etcd's timeout error, and the leader stays.
  c.Stop(leader);
  const uint64_t down = leader;
  ASSERT_EQ(c.AgreedLeader(), target);
  absl::StatusOr<etcdserverpb::ResponseHeader> timed_out = c.member(target).MoveLeader(down, absl::Milliseconds(300));
  EXPECT_EQ(timed_out.status().code(), absl::StatusCode::kUnknown);
  EXPECT_EQ(timed_out.status().message(), "etcdserver: request timed out, leader transfer took too long");
  EXPECT_EQ(c.AgreedLeader(), target);
}

// A follower down while the leader compacts its log catches up by the leader's snapshot: streamed to the leader's
// file for followers (gone once sent), received into the follower's file, installed there and restored from it; the
// follower ends with every write, and restarts from the installed snapshot.
TEST(MemberRuntimeTest, FollowerCatchesUpByTheLeadersSnapshotFile) {
  std::mutex log_mu;
  std::vector<std::string> log;
  ThreeMembers c("runtime_snap_send", [&](MemberRuntimeOptions* o) {
    o->core.snapshot_count = 50;
    o->core.snapshot_catch_up_entries = 5;
    o->core.snapshot_piece_bytes = 1024;  // many pieces
    o->log = [&, id = o->core.id](const std::string& line) {
      std::lock_guard<std::mutex> l(log_mu);
      log.push_back(absl::StrCat(id, ": ", line));
    };
  });
  const uint64_t leader = c.AgreedLeader();
  ASSERT_NE(leader, 0u);
  const uint64_t down = leader == 3 ? 2 : 3;
  c.Stop(down);
  for (int i = 0; i < 300; ++i) {
    kv::ClientReply put =
        CallUntilLeader(c.member(leader), PutRequest(absl::StrCat("k", i), std::string(100, 'a' + i % 26)));
    ASSERT_TRUE(put.status.ok()) << i << ": " << put.status;
  }
  c.Start(down);
  const int64_t rev = c.member(leader).Status().revision;
  absl::StatusOr<kv::HashKVResult> want = c.member(leader).HashKV(rev);
  ASSERT_TRUE(want.ok()) << want.status();
  absl::StatusOr<kv::HashKVResult> got = c.member(down).HashKV(rev);
  for (int i = 0; i < 500 && !got.ok(); ++i) {
    absl::SleepFor(absl::Milliseconds(20));
    got = c.member(down).HashKV(rev);
  }
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->hash, want->hash);
  auto logged = [&](const std::string& part) {
    std::lock_guard<std::mutex> l(log_mu);
    return std::any_of(log.begin(), log.end(), [&](const std::string& line) { return absl::StrContains(line, part); });
  };
  EXPECT_TRUE(logged(absl::StrCat(leader, ": made snapshot at index"))) << "the leader made one";
  EXPECT_TRUE(logged(" for followers (")) << "for followers";
  EXPECT_TRUE(logged(absl::StrCat(down, ": installed the leader's snapshot at index"))) << "the follower installed it";
  // Nothing is left over: the leader's file for followers went once sent, the follower's received file became its
  // snapshot file.
  for (uint64_t id : {leader, down}) {
    std::vector<std::string> names = SnapDirNames(c.options(id).data_dir);
    for (const std::string& n : names) EXPECT_FALSE(absl::EndsWith(n, ".tmp")) << "member " << id << ": " << n;
  }
  // A restart of the follower comes back from the installed snapshot.
  c.Stop(down);
  c.Start(down);
  absl::StatusOr<kv::HashKVResult> again = c.member(down).HashKV(rev);
  for (int i = 0; i < 200 && !again.ok(); ++i) {
    absl::SleepFor(absl::Milliseconds(20));
    again = c.member(down).HashKV(rev);
  }
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->hash, want->hash);
}

}  // namespace
}  // namespace detcd::net

namespace detcd::net {
namespace {

// A MSG_SNAP that arrives without data and not through ReceiveSnapshot (no file holds its bytes) is bad input from
// the network: refused, and the member goes on (it would otherwise be asked to install a snapshot nobody has).
TEST(MemberRuntimeTest, SnapshotWithoutDataOrFileIsRefused) {
  std::mutex log_mu;
  std::vector<std::string> log;
  std::unique_ptr<MemberRuntime> rt = StartLeadingSingleMember("runtime_snap_nodata", [&](MemberRuntimeOptions* o) {
    o->log = [&](const std::string& line) {
      std::lock_guard<std::mutex> l(log_mu);
      log.push_back(line);
    };
  });
  ASSERT_NE(rt, nullptr);
  raftpb::Message m;
  m.set_type(raftpb::MSG_SNAP);
  m.set_from(2);
  m.set_to(1);
  m.set_term(100);
  m.mutable_snapshot()->mutable_metadata()->set_index(1000);
  m.mutable_snapshot()->mutable_metadata()->set_term(100);
  rt->Receive(m);
  {
    std::lock_guard<std::mutex> l(log_mu);
    EXPECT_TRUE(std::any_of(log.begin(), log.end(), [](const std::string& line) {
      return absl::StrContains(line, "refused a snapshot without data from 2");
    }));
  }
  EXPECT_TRUE(CallUntilLeader(*rt, PutRequest("k", "v")).status.ok());
  EXPECT_LT(rt->Status().raft_term, 100u) << "the message never reached Raft";
}

}  // namespace
}  // namespace detcd::net
