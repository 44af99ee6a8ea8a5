#include "net/peer_transport.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "net/peer_query.h"
#include "net/peer_tls.h"
#include "net/test_member.h"
#include "net/tls.h"

namespace detcd::net {
namespace {

constexpr uint64_t kCluster = 0xcdf818194e3a8c32;
constexpr absl::Duration kWait = absl::Seconds(5);

// One member's transport and everything its callbacks saw.
class Member {
 public:
  // With `tls`: dials https addresses with it, and listens with TLS if it has a certificate.
  explicit Member(uint64_t id, uint64_t cluster = kCluster, uint16_t port = 0, size_t queue_max = 4096,
                  std::shared_ptr<const PeerTls> tls = nullptr)
      : id_(id), listen_tls_(tls != nullptr && tls->can_serve()) {
    PeerTransportOptions o;
    o.member_id = id;
    o.cluster_id = cluster;
    o.listen = {"127.0.0.1", port, listen_tls_};
    o.tls = std::move(tls);
    o.queue_messages_max = queue_max;
    o.deliver = [this](raftpb::Message m) { Record([&] { got_.push_back(std::move(m)); }); };
    o.report_unreachable = [this](uint64_t peer) { Record([&] { ++unreachable_[peer]; }); };
    o.report_snapshot = [this](uint64_t peer, bool failed) {
      Record([&] { (failed ? snap_failed_ : snap_sent_)[peer]++; });
    };
    o.log = [this](const std::string& line) { Record([&] { logs_.push_back(line); }); };
    auto started = PeerTransport::Start(std::move(o));
    EXPECT_TRUE(started.ok()) << started.status();
    transport_ = std::move(started).value();
  }

  PeerTransport& t() { return *transport_; }
  uint64_t id() const { return id_; }
  uint16_t port() const { return transport_->port(); }
  bool listens_tls() const { return listen_tls_; }
  void Knows(const Member& other) { transport_->AddPeer(other.id(), {"127.0.0.1", other.port(), other.listens_tls()}); }
  void Stop() { transport_->Stop(); }

  // Waits until `done` (called under the lock) holds; false after `timeout`.
  bool WaitFor(const std::function<bool()>& done, absl::Duration timeout = kWait) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, absl::ToChronoNanoseconds(timeout), done);
  }
  bool WaitForLog(const std::string& part, absl::Duration timeout = kWait) {
    return WaitFor([&] { return HasLogLocked(part); }, timeout);
  }
  std::vector<raftpb::Message> got() {
    std::lock_guard<std::mutex> l(mu_);
    return got_;
  }
  int unreachable(uint64_t peer) {
    std::lock_guard<std::mutex> l(mu_);
    return unreachable_[peer];
  }
  int snap_sent(uint64_t peer) {
    std::lock_guard<std::mutex> l(mu_);
    return snap_sent_[peer];
  }
  int snap_failed(uint64_t peer) {
    std::lock_guard<std::mutex> l(mu_);
    return snap_failed_[peer];
  }
  std::string logs() {
    std::lock_guard<std::mutex> l(mu_);
    std::string all;
    for (const auto& line : logs_) all += line + "\n";
    return all;
  }

  // Under the lock (for WaitFor predicates).
  size_t got_count_locked() const { return got_.size(); }
  const std::vector<raftpb::Message>& got_locked() const { return got_; }
  bool HasLogLocked(const std::string& part) const {
    for (const auto& line : logs_) {
      if (absl::StrContains(line, part)) return true;
    }
    return false;
  }
  int unreachable_locked(uint64_t peer) { return unreachable_[peer]; }
  int snap_sent_locked(uint64_t peer) { return snap_sent_[peer]; }
  int snap_failed_locked(uint64_t peer) { return snap_failed_[peer]; }

 private:
  void Record(const std::function<void()>& change) {
    {
      std::lock_guard<std::mutex> l(mu_);
      change();
    }
    cv_.notify_all();
  }

  const uint64_t id_;
  const bool listen_tls_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<raftpb::Message> got_;
  std::map<uint64_t, int> unreachable_, snap_sent_, snap_failed_;
  std::vector<std::string> logs_;
  std::unique_ptr<PeerTransport> transport_;  // last: stopped before the rest goes away
};

raftpb::Message App(uint64_t from, uint64_t to, uint64_t index) {
  raftpb::Message m;
  m.set_type(raftpb::MSG_APP);
  m.set_from(from);
  m.set_to(to);
  m.set_term(3);
  m.set_index(index);
  m.add_entries()->set_data("entry " + std::to_string(index));
  return m;
}

// A plain blocking client socket to the loopback port, for speaking bytes a real peer never would.
int Dial(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  return fd;
}

void WriteAll(int fd, const std::string& bytes) {
  ASSERT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
}

std::string U64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}
std::string U32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}
std::string Handshake(uint64_t cluster, uint64_t from, uint64_t to) {
  return "detcd-peer-1" + U64(cluster) + U64(from) + U64(to);
}
std::string Frame(const raftpb::Message& m) {
  std::string body = m.SerializeAsString();
  return U32(body.size()) + body;
}

// Waits for the remote end to close the raw socket (what the receiver does with bad input).
bool ClosedByRemote(int fd) {
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char buf[256];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) return true;
    if (n < 0) return false;  // timed out
  }
}

TEST(PeerTransportTest, ThreeMembersExchangeMessagesInOrder) {
  Member a(1), b(2), c(3);
  for (Member* x : {&a, &b, &c}) {
    for (Member* y : {&a, &b, &c}) {
      if (x != y) x->Knows(*y);
    }
  }
  constexpr int kEach = 300;
  for (int i = 1; i <= kEach; ++i) {
    for (Member* x : {&a, &b, &c}) {
      for (Member* y : {&a, &b, &c}) {
        if (x != y) x->t().Send(App(x->id(), y->id(), i));
      }
    }
  }
  for (Member* y : {&a, &b, &c}) {
    ASSERT_TRUE(y->WaitFor([&] { return y->got_count_locked() == 2 * kEach; })) << y->got().size();
    std::map<uint64_t, uint64_t> last;  // sender -> last index seen
    for (const raftpb::Message& m : y->got()) {
      EXPECT_EQ(m.to(), y->id());
      EXPECT_EQ(m.index(), last[m.from()] + 1) << "from " << m.from();
      EXPECT_EQ(m.entries(0).data(), "entry " + std::to_string(m.index()));
      last[m.from()] = m.index();
    }
    EXPECT_EQ(last.size(), 2u);
  }
  EXPECT_EQ(a.t().dropped_messages(), 0u);
}

TEST(PeerTransportTest, LargeSnapshotArrivesIntactAndIsReportedSent) {
  Member a(1), b(2);
  a.Knows(b);
  raftpb::Message snap;
  snap.set_type(raftpb::MSG_SNAP);
  snap.set_from(1);
  snap.set_to(2);
  snap.set_term(5);
  std::string data(8 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 2654435761u) >> 13);
  snap.mutable_snapshot()->set_data(data);
  snap.mutable_snapshot()->mutable_metadata()->set_index(1234);
  a.t().Send(App(1, 2, 1));
  a.t().Send(snap);
  a.t().Send(App(1, 2, 2));
  ASSERT_TRUE(b.WaitFor([&] { return b.got_count_locked() == 3; })) << b.got().size();
  std::vector<raftpb::Message> got = b.got();
  EXPECT_EQ(got[0].index(), 1u);
  ASSERT_EQ(got[1].type(), raftpb::MSG_SNAP);
  EXPECT_EQ(got[1].snapshot().metadata().index(), 1234u);
  EXPECT_TRUE(got[1].snapshot().data() == data) << "snapshot bytes differ";
  EXPECT_EQ(got[2].index(), 2u);
  ASSERT_TRUE(a.WaitFor([&] { return a.snap_sent_locked(2) == 1; }));
  EXPECT_EQ(a.snap_failed(2), 0);
}

// etcd_network_peer_{sent,received}_bytes_total: every byte of a connection, handshake and frames, counted on both
// sides under the peer's id (in hex, labelled To and From as etcd's rafthttp), and growing with what goes.
TEST(PeerTransportTest, CountsBytesSentToAndReceivedFromEachPeer) {
  Member a(0x1a), b(0x2b);
  a.Knows(b);
  std::string none;
  a.t().AppendPrometheus(&none);
  EXPECT_EQ(none, "");  // no series (and so no family) before anything went
  // The handshake and every frame: u32 length + the message.
  uint64_t expected = 12 + 3 * 8;
  constexpr int kMessages = 50;
  for (int i = 1; i <= kMessages; ++i) {
    const raftpb::Message m = App(0x1a, 0x2b, i);
    expected += 4 + m.ByteSizeLong();
    a.t().Send(m);
  }
  ASSERT_TRUE(b.WaitFor([&] { return b.got_count_locked() == kMessages; }));
  auto bytes_of = [](Member& m, uint64_t peer) {
    for (const PeerTransport::PeerBytes& p : m.t().peer_bytes()) {
      if (p.peer == peer) return p;
    }
    return PeerTransport::PeerBytes{};
  };
  // The sender counts once the socket took the bytes, the receiver once it parsed what it read (after delivering).
  auto settle = [](const std::function<uint64_t()>& count, uint64_t want) {
    for (auto until = absl::Now() + kWait; count() < want && absl::Now() < until;)
      absl::SleepFor(absl::Milliseconds(5));
    return count();
  };
  EXPECT_EQ(settle([&] { return bytes_of(a, 0x2b).sent; }, expected), expected);
  EXPECT_EQ(settle([&] { return bytes_of(b, 0x1a).received; }, expected), expected);
  EXPECT_EQ(bytes_of(a, 0x2b).received, 0u);
  EXPECT_EQ(bytes_of(b, 0x1a).sent, 0u);
  std::string text;
  a.t().AppendPrometheus(&text);
  EXPECT_TRUE(absl::StrContains(text, "# TYPE etcd_network_peer_sent_bytes_total counter\n")) << text;
  EXPECT_TRUE(absl::StrContains(text, absl::StrCat("etcd_network_peer_sent_bytes_total{To=\"2b\"} ", expected, "\n")))
      << text;
  text.clear();
  b.t().AppendPrometheus(&text);
  EXPECT_TRUE(
      absl::StrContains(text, absl::StrCat("etcd_network_peer_received_bytes_total{From=\"1a\"} ", expected, "\n")))
      << text;
  // More goes: the counters grow by exactly its bytes.
  const raftpb::Message more = App(0x1a, 0x2b, kMessages + 1);
  a.t().Send(more);
  expected += 4 + more.ByteSizeLong();
  ASSERT_TRUE(b.WaitFor([&] { return b.got_count_locked() == kMessages + 1; }));
  EXPECT_EQ(settle([&] { return bytes_of(b, 0x1a).received; }, expected), expected);
  EXPECT_EQ(settle([&] { return bytes_of(a, 0x2b).sent; }, expected), expected);
}

TEST(PeerTransportTest, MemberOfAnotherClusterIsRefused) {
  Member a(1, /*cluster=*/0x1111), b(2, kCluster);
  a.Knows(b);
  a.t().Send(App(1, 2, 1));
  ASSERT_TRUE(b.WaitForLog("request cluster ID mismatch")) << b.logs();
  // The dialer learns why too, and tells Raft the peer is unreachable.
  ASSERT_TRUE(a.WaitForLog("refused us: request cluster ID mismatch")) << a.logs();
  ASSERT_TRUE(a.WaitFor([&] { return a.unreachable_locked(2) > 0; }));
  absl::SleepFor(absl::Milliseconds(300));  // a retry after backoff is refused as well
  EXPECT_TRUE(b.got().empty());
}

TEST(PeerTransportTest, ConnectionMeantForAnotherMemberIsRefused) {
  Member a(1), b(2);
  a.t().AddPeer(3, {"127.0.0.1", b.port()});  // a believes member 3 listens where member 2 does
  a.t().Send(App(1, 3, 1));
  ASSERT_TRUE(b.WaitForLog("request meant for member 3")) << b.logs();
  absl::SleepFor(absl::Milliseconds(100));
  EXPECT_TRUE(b.got().empty());
}

TEST(PeerTransportTest, RestartedPeerGetsMessagesAgain) {
  auto a = std::make_unique<Member>(1);
  auto b = std::make_unique<Member>(2);
  a->Knows(*b);
  b->Knows(*a);
  a->t().Send(App(1, 2, 1));
  ASSERT_TRUE(b->WaitFor([&] { return b->got_count_locked() == 1; }));

  const uint16_t b_port = b->port();
  b.reset();  // stops: its connections close, its port is free
  a->t().Send(App(1, 2, 2));
  ASSERT_TRUE(a->WaitFor([&] { return a->unreachable_locked(2) > 0; })) << a->logs();

  b = std::make_unique<Member>(2, kCluster, b_port);
  ASSERT_EQ(b->port(), b_port);
  b->Knows(*a);
  // Raft retransmits; so does this test, until the reconnect (after a backoff of at most 2 s) gets one through.
  bool arrived = false;
  for (int i = 3; i < 100 && !arrived; ++i) {
    a->t().Send(App(1, 2, i));
    arrived = b->WaitFor([&] { return b->got_count_locked() > 0; }, absl::Milliseconds(100));
  }
  ASSERT_TRUE(arrived) << a->logs();
  // And back the other way, on b's own fresh outbound connection.
  b->t().Send(App(2, 1, 7));
  ASSERT_TRUE(a->WaitFor([&] { return a->got_count_locked() == 1; })) << b->logs();
}

TEST(PeerTransportTest, BadInputClosesThatConnectionOnly) {
  Member a(1), b(2);
  a.Knows(b);
  // A good connection from a, open before the bad ones and used after them.
  a.t().Send(App(1, 2, 1));
  ASSERT_TRUE(b.WaitFor([&] { return b.got_count_locked() == 1; }));

  {  // Not our protocol at all.
    int fd = Dial(b.port());
    WriteAll(fd, "GET /raft HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_TRUE(ClosedByRemote(fd));
    ::close(fd);
    EXPECT_TRUE(b.WaitForLog("bad handshake magic")) << b.logs();
  }
  {  // A length beyond the maximum.
    int fd = Dial(b.port());
    WriteAll(fd, Handshake(kCluster, 9, 2) + U32(0xffffffffu) + "xxxx");
    EXPECT_TRUE(ClosedByRemote(fd));
    ::close(fd);
    EXPECT_TRUE(b.WaitForLog("exceeds the maximum")) << b.logs();
  }
  {  // A frame that does not parse as a raft message (field number 0).
    int fd = Dial(b.port());
    WriteAll(fd, Handshake(kCluster, 9, 2) + U32(5) + std::string(5, '\0'));
    EXPECT_TRUE(ClosedByRemote(fd));
    ::close(fd);
    EXPECT_TRUE(b.WaitForLog("is not a raft message")) << b.logs();
  }
  {  // A truncated frame, then the connection ends; and a message claiming another sender before it.
    int fd = Dial(b.port());
    std::string good = Frame(App(9, 2, 50));
    WriteAll(fd, Handshake(kCluster, 9, 2) + Frame(App(8, 2, 51)) + good + good.substr(0, good.size() / 2));
    ::shutdown(fd, SHUT_WR);
    EXPECT_TRUE(ClosedByRemote(fd));
    ::close(fd);
    EXPECT_TRUE(b.WaitForLog("truncated frame")) << b.logs();
    EXPECT_TRUE(b.WaitForLog("ignoring a message from 8")) << b.logs();
  }
  {  // A truncated handshake.
    int fd = Dial(b.port());
    WriteAll(fd, Handshake(kCluster, 9, 2).substr(0, 20));
    ::close(fd);
    EXPECT_TRUE(b.WaitForLog("truncated handshake")) << b.logs();
  }
  // Still serving: the good peer's connection and the raw one's complete frame got through, nothing else.
  a.t().Send(App(1, 2, 2));
  ASSERT_TRUE(b.WaitFor([&] { return b.got_count_locked() == 3; })) << b.logs();
  std::vector<raftpb::Message> got = b.got();
  EXPECT_EQ(got[0].index(), 1u);
  EXPECT_EQ(got[1].from(), 9u);
  EXPECT_EQ(got[1].index(), 50u);
  EXPECT_EQ(got[2].index(), 2u);
}

TEST(PeerTransportTest, SnapshotToUnreachablePeerIsReportedFailed) {
  // A port nobody listens on: bound, read back, closed.
  int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(s, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(s, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  ::close(s);

  Member a(1);
  a.t().AddPeer(2, {"127.0.0.1", ntohs(addr.sin_port)});
  raftpb::Message snap;
  snap.set_type(raftpb::MSG_SNAP);
  snap.set_from(1);
  snap.set_to(2);
  snap.mutable_snapshot()->set_data(std::string(1 << 20, 's'));
  a.t().Send(App(1, 2, 1));
  a.t().Send(snap);
  ASSERT_TRUE(a.WaitFor([&] { return a.snap_failed_locked(2) == 1; })) << a.logs();
  EXPECT_GT(a.unreachable(2), 0);
  EXPECT_EQ(a.snap_sent(2), 0);
  EXPECT_TRUE(absl::StrContains(a.logs(), "Connection refused")) << a.logs();
}

TEST(PeerTransportTest, FullQueueDropsAndReportsUnreachableWithoutBlocking) {
  // A "peer" that accepts connections in the kernel but never reads: the socket fills, then the queue.
  int listener = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(::listen(listener, 4), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);

  Member a(1, kCluster, 0, /*queue_max=*/16);
  a.t().AddPeer(2, {"127.0.0.1", ntohs(addr.sin_port)});
  raftpb::Message big = App(1, 2, 1);
  big.mutable_entries(0)->set_data(std::string(256 << 10, 'x'));
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 400; ++i) a.t().Send(big);  // 100 MiB: far more than socket buffers and queue hold
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_LT(took, std::chrono::seconds(2)) << "Send must never block";
  // Go on until the queue is stuck full (the socket takes nothing more): 50 sends in a row dropped.
  int streak = 0;
  for (int i = 0; i < 20000 && streak < 50; ++i) {
    const uint64_t before = a.t().dropped_messages();
    a.t().Send(big);
    streak = a.t().dropped_messages() > before ? streak + 1 : 0;
  }
  ASSERT_EQ(streak, 50) << "the queue never stayed full";
  raftpb::Message snap;
  snap.set_type(raftpb::MSG_SNAP);
  snap.set_from(1);
  snap.set_to(2);
  a.t().Send(snap);  // the queue is full: dropped, and reported failed
  EXPECT_GT(a.t().dropped_messages(), 0u);
  EXPECT_TRUE(a.WaitFor([&] { return a.unreachable_locked(2) > 0; }));
  EXPECT_TRUE(a.WaitFor([&] { return a.snap_failed_locked(2) == 1; })) << a.snap_failed(2);
  EXPECT_EQ(a.snap_sent(2), 0);
  a.Stop();
  ::close(listener);
}

// --- TLS ---

// Made once per test binary with the openssl CLI: a CA and a peer certificate it signed (127.0.0.1 and localhost,
// server and client use, as etcd's peer certificates need), another CA and a "rogue" certificate that one signed.
const std::string& PkiDir() {
  static const std::string* dir = [] {
    const char* tmp = std::getenv("TEST_TMPDIR");
    const std::string script = R"(set -e
for ca in ca other-ca; do
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $ca-key.pem -out $ca.pem -days 2 \
    -subj "/CN=detcd test $ca" 2>/dev/null
done
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >peer.ext
for pair in peer:ca rogue:other-ca; do
  name=${pair%%:*}
  ca=${pair##*:}
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $name-key.pem -out $name.csr \
    -subj "/CN=$name" 2>/dev/null
  openssl x509 -req -in $name.csr -CA $ca.pem -CAkey $ca-key.pem -CAcreateserial -out $name.pem -days 2 \
    -extfile peer.ext 2>/dev/null
done)";
    return new std::string(RunScriptIn(std::string(tmp != nullptr ? tmp : "/tmp") + "/peer-pki", script,
                                       "making certificates with the openssl CLI"));
  }();
  return *dir;
}

std::string PkiFile(const std::string& name) { return TestFileText(PkiDir() + "/" + name); }

// cert/key: "peer", "rogue" or "" (no certificate); ca: "ca", "other-ca" or "" (the system's roots).
std::shared_ptr<const PeerTls> Tls(const std::string& cert, const std::string& ca, bool client_cert_auth = true) {
  PeerTlsPem pem;
  if (!cert.empty()) {
    pem.cert_pem = PkiFile(cert + ".pem");
    pem.key_pem = PkiFile(cert + "-key.pem");
  }
  if (!ca.empty()) pem.trusted_ca_pem = PkiFile(ca + ".pem");
  pem.client_cert_auth = client_cert_auth;
  absl::StatusOr<std::shared_ptr<const PeerTls>> tls = PeerTls::Create(pem);
  EXPECT_TRUE(tls.ok()) << tls.status();
  return tls.ok() ? *tls : nullptr;
}

raftpb::Message Snapshot(uint64_t from, uint64_t to, const std::string& data) {
  raftpb::Message snap;
  snap.set_type(raftpb::MSG_SNAP);
  snap.set_from(from);
  snap.set_to(to);
  snap.set_term(5);
  snap.mutable_snapshot()->set_data(data);
  snap.mutable_snapshot()->mutable_metadata()->set_index(1234);
  return snap;
}

TEST(PeerTransportTlsTest, BadMaterialIsRefusedInGosWords) {
  PeerTlsPem pem;
  pem.cert_pem = PkiFile("peer.pem");
  pem.key_pem = PkiFile("rogue-key.pem");
  absl::StatusOr<std::shared_ptr<const PeerTls>> tls = PeerTls::Create(pem);
  ASSERT_FALSE(tls.ok());
  EXPECT_EQ(tls.status().message(), "tls: private key does not match public key");
  pem.key_pem = PkiFile("peer-key.pem");
  pem.trusted_ca_pem = "not a certificate";
  tls = PeerTls::Create(pem);
  ASSERT_FALSE(tls.ok());
  EXPECT_TRUE(absl::StrContains(tls.status().message(), "no PEM certificate")) << tls.status();
  // Listening with TLS needs a certificate.
  PeerTransportOptions o;
  o.member_id = 1;
  o.listen = {"127.0.0.1", 0, /*tls=*/true};
  o.tls = Tls("", "ca");
  EXPECT_EQ(PeerTransport::Start(o).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(PeerTransportTlsTest, MembersExchangeMessagesBothWaysIncludingALargeSnapshot) {
  Member a(1, kCluster, 0, 4096, Tls("peer", "ca")), b(2, kCluster, 0, 4096, Tls("peer", "ca"));
  ASSERT_TRUE(a.listens_tls() && b.listens_tls());
  a.Knows(b);
  b.Knows(a);
  std::string data(8 << 20, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>((i * 2654435761u) >> 13);
  constexpr int kEach = 200;
  for (int i = 1; i <= kEach; ++i) {
    a.t().Send(App(1, 2, i));
    if (i == kEach / 2) a.t().Send(Snapshot(1, 2, data));
    b.t().Send(App(2, 1, i));
  }
  ASSERT_TRUE(b.WaitFor([&] { return b.got_count_locked() == kEach + 1; }, absl::Seconds(20))) << b.logs();
  ASSERT_TRUE(a.WaitFor([&] { return a.got_count_locked() == kEach; })) << a.logs();
  uint64_t next = 1;
  for (const raftpb::Message& m : b.got()) {
    if (m.type() == raftpb::MSG_SNAP) {
      EXPECT_EQ(next, kEach / 2 + 1u) << "the snapshot arrived out of order";
      EXPECT_EQ(m.snapshot().metadata().index(), 1234u);
      EXPECT_TRUE(m.snapshot().data() == data) << "snapshot bytes differ";
      continue;
    }
    EXPECT_EQ(m.index(), next++);
  }
  next = 1;
  for (const raftpb::Message& m : a.got()) EXPECT_EQ(m.index(), next++);
  ASSERT_TRUE(a.WaitFor([&] { return a.snap_sent_locked(2) == 1; }));
  EXPECT_EQ(a.snap_failed(2), 0);
  // Session tickets (TLS 1.3) arrived on the outbound connections: not taken for the end of them.
  EXPECT_FALSE(absl::StrContains(a.logs() + b.logs(), "lost")) << a.logs() << b.logs();
  EXPECT_FALSE(absl::StrContains(a.logs() + b.logs(), "rejected")) << a.logs() << b.logs();
}

TEST(PeerTransportTlsTest, ClientCertAuthRefusesMissingAndForeignCertificates) {
  Member b(2, kCluster, 0, 4096, Tls("peer", "ca"));
  Member no_cert(3, kCluster, 0, 4096, Tls("", "ca"));             // verifies b, has nothing to show
  Member rogue(4, kCluster, 0, 4096, Tls("rogue", "ca"));          // verifies b, shows a certificate of another CA
  Member distrust(5, kCluster, 0, 4096, Tls("peer", "other-ca"));  // does not trust b's certificate
  for (Member* m : {&no_cert, &rogue, &distrust}) {
    m->Knows(b);
    m->t().Send(App(m->id(), 2, 1));
  }
  ASSERT_TRUE(b.WaitForLog("tls: client didn't provide a certificate")) << b.logs();
  ASSERT_TRUE(b.WaitForLog("tls: failed to verify client's certificate: x509: certificate signed by unknown authority"))
      << b.logs();
  EXPECT_TRUE(b.WaitForLog("rejected connection from \"127.0.0.1:")) << b.logs();
  ASSERT_TRUE(no_cert.WaitForLog("refused us: remote error: tls: ")) << no_cert.logs();
  ASSERT_TRUE(rogue.WaitForLog("refused us: remote error: tls: ")) << rogue.logs();
  ASSERT_TRUE(distrust.WaitForLog("failed: x509: certificate signed by unknown authority")) << distrust.logs();
  ASSERT_TRUE(no_cert.WaitFor([&] { return no_cert.unreachable_locked(2) > 0; }));
  // Still serving: a member with the right certificate gets through; nobody else did.
  Member a(1, kCluster, 0, 4096, Tls("peer", "ca"));
  a.Knows(b);
  a.t().Send(App(1, 2, 7));
  ASSERT_TRUE(b.WaitFor([&] { return b.got_count_locked() == 1; })) << b.logs();
  EXPECT_EQ(b.got()[0].from(), 1u);
}

TEST(PeerTransportTlsTest, PlainAndTlsMismatchesAreRefusedAndServingGoesOn) {
  Member b(2, kCluster, 0, 4096, Tls("peer", "ca"));  // TLS port
  Member plain_dialer(3);
  plain_dialer.t().AddPeer(2, {"127.0.0.1", b.port(), /*tls=*/false});
  plain_dialer.t().Send(App(3, 2, 1));
  ASSERT_TRUE(b.WaitForLog("first record does not look like a TLS handshake")) << b.logs();
  ASSERT_TRUE(plain_dialer.WaitForLog("refused us: a plain (http) connection to a TLS (https) peer port"))
      << plain_dialer.logs();

  Member plain_port(4);  // plain port
  Member tls_dialer(5, kCluster, 0, 4096, Tls("peer", "ca"));
  tls_dialer.t().AddPeer(4, {"127.0.0.1", plain_port.port(), /*tls=*/true});
  tls_dialer.t().Send(App(5, 4, 1));
  ASSERT_TRUE(plain_port.WaitForLog("bad handshake magic: a TLS handshake on a plain (http) peer port"))
      << plain_port.logs();
  ASSERT_TRUE(tls_dialer.WaitForLog("tls: first record does not look like a TLS handshake")) << tls_dialer.logs();

  {  // Raw bytes on the TLS port: garbage, a connection closed at once, a half TLS record.
    int fd = Dial(b.port());
    WriteAll(fd, "GET /raft HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_TRUE(ClosedByRemote(fd));
    ::close(fd);
    ::close(Dial(b.port()));
    fd = Dial(b.port());
    WriteAll(fd, std::string("\x16\x03\x01\x02\x00\x01", 6));
    ::shutdown(fd, SHUT_WR);
    EXPECT_TRUE(ClosedByRemote(fd));
    ::close(fd);
  }
  Member a(1, kCluster, 0, 4096, Tls("peer", "ca"));
  a.Knows(b);
  a.t().Send(App(1, 2, 9));
  ASSERT_TRUE(b.WaitFor([&] { return b.got_count_locked() == 1; })) << b.logs();
  EXPECT_EQ(b.got()[0].from(), 1u);
  EXPECT_TRUE(plain_port.got().empty());
}

TEST(PeerTransportTlsTest, RefusalsTravelInsideTls) {
  Member a(1, /*cluster=*/0x1111, 0, 4096, Tls("peer", "ca")), b(2, kCluster, 0, 4096, Tls("peer", "ca"));
  a.Knows(b);
  a.t().Send(App(1, 2, 1));
  ASSERT_TRUE(b.WaitForLog("request cluster ID mismatch")) << b.logs();
  ASSERT_TRUE(a.WaitForLog("refused us: request cluster ID mismatch")) << a.logs();
  EXPECT_TRUE(b.got().empty());
}

// A peer's corruption check asks for a HashKV: the transport hands the question to the member (whose answer comes
// later, from another thread) and sends what it answers — a hash, or the member's error — then closes; a transport
// with no hash service refuses the question.
TEST(PeerTransportTest, HashQuestionsAreAnsweredLaterFromAnotherThread) {
  PeerTransportOptions o;
  o.member_id = 2;
  o.cluster_id = kCluster;
  std::vector<std::thread> answering;
  o.hash_kv = [&answering](int64_t revision, std::function<void(std::string)> answer) {
    answering.emplace_back([revision, answer] {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      if (revision > 100) return answer(EncodeHashKVAnswer(absl::OutOfRangeError("future revision")));
      etcdserverpb::HashKVResponse r;
      r.set_hash(static_cast<uint32_t>(revision * 7));
      r.set_compact_revision(-1);
      r.mutable_header()->set_revision(100);
      answer(EncodeHashKVAnswer(r));
    });
  };
  absl::StatusOr<std::unique_ptr<PeerTransport>> t = PeerTransport::Start(o);
  ASSERT_TRUE(t.ok()) << t.status();
  const PeerAddress at{"127.0.0.1", (*t)->port(), false};
  absl::StatusOr<etcdserverpb::HashKVResponse> h = FetchPeerHashKV(at, 42, absl::Seconds(2));
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->hash(), 42u * 7);
  EXPECT_EQ(h->header().revision(), 100);
  EXPECT_EQ(h->compact_revision(), -1);
  h = FetchPeerHashKV(at, 101, absl::Seconds(2));
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().message(), "future revision");
  (*t)->Stop();
  for (std::thread& a : answering) a.join();  // an answer after Stop goes nowhere

  PeerTransportOptions none;
  none.member_id = 3;
  none.cluster_id = kCluster;
  absl::StatusOr<std::unique_ptr<PeerTransport>> u = PeerTransport::Start(none);
  ASSERT_TRUE(u.ok()) << u.status();
  h = FetchPeerHashKV({"127.0.0.1", (*u)->port(), false}, 1, absl::Seconds(2));
  ASSERT_FALSE(h.ok());
  EXPECT_TRUE(absl::StrContains(h.status().message(), "no hash service")) << h.status();
}

TEST(PeerTransportTlsTest, FetchClusterInfoOverTls) {
  PeerTransportOptions o;
  o.member_id = 2;
  o.cluster_id = kCluster;
  o.listen = {"127.0.0.1", 0, /*tls=*/true};
  o.tls = Tls("peer", "ca");
  o.cluster_info = [] { return std::string("the members"); };
  absl::StatusOr<std::unique_ptr<PeerTransport>> t = PeerTransport::Start(o);
  ASSERT_TRUE(t.ok()) << t.status();
  const PeerAddress https{"127.0.0.1", (*t)->port(), true};
  std::shared_ptr<const PeerTls> client = Tls("peer", "ca");
  absl::StatusOr<std::string> info = FetchClusterInfo(https, absl::Seconds(2), client.get());
  ASSERT_TRUE(info.ok()) << info.status();
  EXPECT_EQ(*info, "the members");
  // Over localhost too: the certificate names it.
  info = FetchClusterInfo({"localhost", (*t)->port(), true}, absl::Seconds(2), client.get());
  EXPECT_TRUE(info.ok()) << info.status();

  info = FetchClusterInfo({"127.0.0.1", (*t)->port(), false}, absl::Seconds(2));
  ASSERT_FALSE(info.ok());
  EXPECT_TRUE(absl::StrContains(info.status().message(), "a plain (http) connection to a TLS (https) peer port"))
      << info.status();
  std::shared_ptr<const PeerTls> no_cert = Tls("", "ca");
  info = FetchClusterInfo(https, absl::Seconds(2), no_cert.get());
  ASSERT_FALSE(info.ok());
  EXPECT_TRUE(absl::StrContains(info.status().message(), "remote error: tls: ")) << info.status();
  std::shared_ptr<const PeerTls> distrust = Tls("peer", "other-ca");
  info = FetchClusterInfo(https, absl::Seconds(2), distrust.get());
  ASSERT_FALSE(info.ok());
  EXPECT_TRUE(absl::StrContains(info.status().message(), "x509: certificate signed by unknown authority"))
      << info.status();
  info = FetchClusterInfo(https, absl::Seconds(2));
  EXPECT_EQ(info.status().code(), absl::StatusCode::kFailedPrecondition) << info.status();
}

TEST(PeerTransportTlsTest, AutoTlsSelfSignedCertificatesAreNotVerified) {
  Member a(1, kCluster, 0, 4096, SelfSignedPeerTls(PkiDir() + "/auto-a")), b(2, kCluster, 0, 4096, SelfSignedPeerTls(PkiDir() + "/auto-b"));
  a.Knows(b);
  b.Knows(a);
  a.t().Send(App(1, 2, 1));
  b.t().Send(App(2, 1, 1));
  ASSERT_TRUE(b.WaitFor([&] { return b.got_count_locked() == 1; })) << b.logs() << a.logs();
  ASSERT_TRUE(a.WaitFor([&] { return a.got_count_locked() == 1; })) << a.logs() << b.logs();
}

}  // namespace
}  // namespace detcd::net
