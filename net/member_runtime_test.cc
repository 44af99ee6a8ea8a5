// MemberRuntime with a real data directory (TEST_TMPDIR) and real time: a single member elects itself, answers
// writes and reads, streams watch events, keeps what it acknowledged across a restart, refuses a second process on
// its directory, and answers "server stopped" once stopped.
#include "net/member_runtime.h"

#include <cstdlib>
#include <mutex>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace detcd::net {
namespace {

std::string FreshDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = absl::StrCat(tmp ? tmp : "/tmp", "/", name);
  std::system(absl::StrCat("rm -rf '", dir, "'").c_str());
  return dir;
}

MemberRuntimeOptions Single(const std::string& dir) {
  MemberRuntimeOptions o;
  o.core.id = 1;
  o.core.peers = {1};
  o.core.cluster_id = 0xc1;
  o.core.tick_us = 10'000;
  o.data_dir = dir;
  return o;
}

kvpb::ClientRequest Put(const std::string& k, const std::string& v) {
  kvpb::ClientRequest r;
  r.mutable_put()->set_key(k);
  r.mutable_put()->set_value(v);
  return r;
}

kvpb::ClientRequest Get(const std::string& k) {
  kvpb::ClientRequest r;
  r.mutable_range()->set_key(k);
  return r;
}

// The first requests may find no leader yet: retry for a while, as a client does.
kv::ClientReply CallUntilLeader(MemberRuntime& rt, const kvpb::ClientRequest& r) {
  kv::ClientReply reply;
  for (int i = 0; i < 100; ++i) {
    reply = rt.Call(r, absl::Seconds(2));
    if (reply.status.message() != "etcdserver: no leader") break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return reply;
}

TEST(MemberRuntimeTest, SingleMemberServesAndRemembersAcrossARestart) {
  const std::string dir = FreshDir("runtime_single");
  {
    absl::StatusOr<std::unique_ptr<MemberRuntime>> rt = MemberRuntime::Start(Single(dir));
    ASSERT_TRUE(rt.ok()) << rt.status();
    kv::ClientReply put = CallUntilLeader(**rt, Put("k", "v1"));
    ASSERT_TRUE(put.status.ok()) << put.status;
    EXPECT_EQ(put.response.put().header().revision(), 2) << "a fresh member is at revision 1, as etcd's";
    EXPECT_EQ(put.response.put().header().member_id(), 1u);
    kv::ClientReply get = (*rt)->Call(Get("k"), absl::Seconds(2));
    ASSERT_TRUE(get.status.ok()) << get.status;
    ASSERT_EQ(get.response.range().kvs_size(), 1);
    EXPECT_EQ(get.response.range().kvs(0).value(), "v1");
    const MemberStatus st = (*rt)->Status();
    EXPECT_EQ(st.leader, 1u);
    EXPECT_EQ(st.revision, 2);
    EXPECT_GE(st.raft_term, 1u);
    EXPECT_EQ(st.applied_index, st.raft_index);

    // A second process on the same directory is refused while this one holds it.
    absl::StatusOr<std::unique_ptr<MemberRuntime>> second = MemberRuntime::Start(Single(dir));
    ASSERT_FALSE(second.ok());
    EXPECT_NE(second.status().message().find("locked"), std::string::npos) << second.status();
    (*rt)->Stop();
    EXPECT_EQ((*rt)->Call(Get("k"), absl::Seconds(1)).status.message(), "etcdserver: server stopped");
  }
  absl::StatusOr<std::unique_ptr<MemberRuntime>> again = MemberRuntime::Start(Single(dir));
  ASSERT_TRUE(again.ok()) << again.status();
  kv::ClientReply get = CallUntilLeader(**again, Get("k"));
  ASSERT_TRUE(get.status.ok()) << get.status;
  ASSERT_EQ(get.response.range().kvs_size(), 1) << "an acknowledged write survives the restart";
  EXPECT_EQ(get.response.range().kvs(0).value(), "v1");
}

TEST(MemberRuntimeTest, WatchStreamsEventsInOrder) {
  absl::StatusOr<std::unique_ptr<MemberRuntime>> rt = MemberRuntime::Start(Single(FreshDir("runtime_watch")));
  ASSERT_TRUE(rt.ok()) << rt.status();
  ASSERT_TRUE(CallUntilLeader(**rt, Put("a", "0")).status.ok());
  std::mutex mu;
  std::vector<etcdserverpb::WatchResponse> got;
  const uint64_t stream = (*rt)->OpenWatch([&](const etcdserverpb::WatchResponse& r) {
    std::lock_guard<std::mutex> l(mu);
    got.push_back(r);
  });
  etcdserverpb::WatchRequest w;
  w.mutable_create_request()->set_key("a");
  w.mutable_create_request()->set_range_end("b");
  w.mutable_create_request()->set_start_revision(2);  // replays the first put, then live events
  (*rt)->Watch(stream, w);
  ASSERT_TRUE((*rt)->Call(Put("a", "1"), absl::Seconds(2)).status.ok());
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

TEST(MemberRuntimeTest, CorruptDataRefusesToStartNamingTheFile) {
  const std::string dir = FreshDir("runtime_corrupt");
  {
    absl::StatusOr<std::unique_ptr<MemberRuntime>> rt = MemberRuntime::Start(Single(dir));
    ASSERT_TRUE(rt.ok()) << rt.status();
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(CallUntilLeader(**rt, Put("k" + std::to_string(i), "v")).status.ok());
  }
  // Flip a byte in the middle of the first segment.
  const std::string wal = dir + "/member/wal";
  std::system(absl::StrCat("f=$(ls '", wal, "'/*.wal | head -1); printf '\\xff\\xff\\xff\\xff' | dd of=\"$f\" bs=1 seek=200 conv=notrunc 2>/dev/null").c_str());
  absl::StatusOr<std::unique_ptr<MemberRuntime>> rt = MemberRuntime::Start(Single(dir));
  ASSERT_FALSE(rt.ok());
  EXPECT_NE(rt.status().message().find(".wal"), std::string::npos) << rt.status();
  EXPECT_NE(rt.status().message().find("offset"), std::string::npos) << rt.status();
}

}  // namespace
}  // namespace detcd::net
