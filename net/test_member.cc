#include "net/test_member.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "net/tls.h"

namespace detcd::net {

std::string FreshTestDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = absl::StrCat(tmp ? tmp : "/tmp", "/", name);
  std::system(absl::StrCat("rm -rf '", dir, "'").c_str());
  return dir;
}

MemberRuntimeOptions SingleMemberOptions(const std::string& dir) {
  MemberRuntimeOptions o;
  o.core.id = 1;
  o.core.peers = {1};
  // etcd's defaults for the founding member (--name, --initial-advertise-peer-urls).
  o.core.founding[1].set_name("default");
  o.core.founding[1].add_peer_urls("http://localhost:2380");
  o.core.cluster_id = 0xc1;
  o.core.tick_us = 10'000;
  o.data_dir = dir;
  o.wal_segment_bytes = 1 << 20;
  return o;
}

kvpb::ClientRequest PutRequest(const std::string& k, const std::string& v) {
  kvpb::ClientRequest r;
  r.mutable_put()->set_key(k);
  r.mutable_put()->set_value(v);
  return r;
}

kvpb::ClientRequest GetRequest(const std::string& k) {
  kvpb::ClientRequest r;
  r.mutable_range()->set_key(k);
  return r;
}

kv::ClientReply CallUntilLeader(MemberRuntime& rt, const kvpb::ClientRequest& r) {
  kv::ClientReply reply;
  for (int i = 0; i < 100; ++i) {
    reply = rt.Call(r, absl::Seconds(2));
    if (reply.status.message() != "etcdserver: no leader") break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  return reply;
}

std::unique_ptr<MemberRuntime> StartLeadingSingleMember(
    const std::string& name, const std::function<void(MemberRuntimeOptions*)>& configure) {
  MemberRuntimeOptions options = SingleMemberOptions(FreshTestDir(name));
  if (configure) configure(&options);
  absl::StatusOr<std::unique_ptr<MemberRuntime>> rt = MemberRuntime::Start(options);
  EXPECT_TRUE(rt.ok()) << rt.status();
  if (!rt.ok()) return nullptr;
  // The single member elects itself within a few ticks; until then requests fail with "no leader".
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  while ((*rt)->Status().leader != 1 && absl::Now() < give_up) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_EQ((*rt)->Status().leader, 1u) << "the single member did not elect itself";
  if ((*rt)->Status().leader != 1) return nullptr;
  return std::move(*rt);
}

std::string RunScriptIn(const std::string& dir, const std::string& script, const std::string& what) {
  std::string quoted;  // the script inside single quotes
  for (char ch : script) quoted += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  const std::string command = "mkdir -p '" + dir + "' && cd '" + dir + "' && sh -c '" + quoted + "'";
  EXPECT_EQ(std::system(command.c_str()), 0) << what << " failed";
  return dir;
}

std::string TestFileText(const std::string& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string CurrentTestName() { return ::testing::UnitTest::GetInstance()->current_test_info()->name(); }

std::shared_ptr<const PeerTls> SelfSignedPeerTls(const std::string& dir) {
  absl::StatusOr<CertKeyFiles> files = SelfSignedCert({"127.0.0.1"}, dir);
  EXPECT_TRUE(files.ok()) << files.status();
  if (!files.ok()) return nullptr;
  PeerTlsPem pem;
  pem.cert_pem = TestFileText(files->cert_file);
  pem.key_pem = TestFileText(files->key_file);
  pem.skip_verify = true;
  absl::StatusOr<std::shared_ptr<const PeerTls>> tls = PeerTls::Create(pem);
  EXPECT_TRUE(tls.ok()) << tls.status();
  return tls.ok() ? *tls : nullptr;
}

}  // namespace detcd::net
