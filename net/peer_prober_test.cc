#include "net/peer_prober.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "base/check.h"
#include "gtest/gtest.h"
#include "net/peer_query.h"
#include "net/peer_transport.h"

namespace detcd::net {
namespace {

constexpr uint64_t kCluster = 0x1000;

std::unique_ptr<PeerTransport> StartTransport(uint64_t id) {
  PeerTransportOptions o;
  o.member_id = id;
  o.cluster_id = kCluster;
  absl::StatusOr<std::unique_ptr<PeerTransport>> t = PeerTransport::Start(o);
  DETCD_CHECK(t.ok());
  return std::move(*t);
}

// A port nobody listens on: bound, then closed.
uint16_t DeadPort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  DETCD_CHECK(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0);
  DETCD_CHECK(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

TEST(PeerProbeTest, APeerTransportAnswersAProbeAtOnce) {
  std::unique_ptr<PeerTransport> t = StartTransport(2);
  absl::StatusOr<absl::Duration> rtt = ProbePeer({"127.0.0.1", t->port(), false}, absl::Seconds(2));
  ASSERT_TRUE(rtt.ok()) << rtt.status();
  EXPECT_GT(*rtt, absl::ZeroDuration());
  EXPECT_LT(*rtt, absl::Seconds(2));
  // The transport goes on serving after a probe: the next one is answered too.
  EXPECT_TRUE(ProbePeer({"127.0.0.1", t->port(), false}, absl::Seconds(2)).ok());
  EXPECT_FALSE(ProbePeer({"127.0.0.1", DeadPort(), false}, absl::Seconds(2)).ok());
}

TEST(PeerProberTest, CountsEachAnsweredProbePerPeerAndWarnsOnceAboutADeadOne) {
  std::unique_ptr<PeerTransport> live = StartTransport(2);
  const uint16_t dead = DeadPort();
  std::vector<std::string> warnings;
  PeerProberOptions o;
  o.peers = [&] {
    return std::map<uint64_t, PeerAddress>{{0x2b, {"127.0.0.1", live->port(), false}},
                                           {0x3c, {"127.0.0.1", dead, false}}};
  };
  o.timeout = absl::Seconds(1);
  o.warn = [&](const std::string& line) { warnings.push_back(line); };
  PeerProber prober(o);  // no thread: rounds run here
  std::string out;
  prober.AppendPrometheus(&out);
  EXPECT_EQ(out, "") << "a family before its first series";

  prober.ProbeOnce();
  prober.ProbeOnce();
  prober.AppendPrometheus(&out);
  EXPECT_TRUE(absl::StrContains(out, "# TYPE etcd_network_peer_round_trip_time_seconds histogram\n")) << out;
  EXPECT_TRUE(absl::StrContains(out, "etcd_network_peer_round_trip_time_seconds_count{To=\"2b\"} 2\n")) << out;
  EXPECT_TRUE(absl::StrContains(out, "etcd_network_peer_round_trip_time_seconds_bucket{To=\"2b\",le=\"3.2768\"} 2\n"))
      << out;
  EXPECT_FALSE(absl::StrContains(out, "To=\"3c\"")) << out;
  ASSERT_EQ(warnings.size(), 1u) << "one warning until the peer answers again";
  EXPECT_TRUE(absl::StrContains(warnings[0], "prober detected unhealthy status")) << warnings[0];
  EXPECT_TRUE(absl::StrContains(warnings[0], "remote-peer-id 3c")) << warnings[0];
}

TEST(PeerProberTest, ItsThreadProbesEveryIntervalUntilStopped) {
  std::unique_ptr<PeerTransport> live = StartTransport(2);
  PeerProberOptions o;
  o.peers = [&] { return std::map<uint64_t, PeerAddress>{{2, {"127.0.0.1", live->port(), false}}}; };
  o.interval = absl::Milliseconds(20);
  std::unique_ptr<PeerProber> prober = PeerProber::Start(o);
  std::string out;
  for (int i = 0; i < 500 && !absl::StrContains(out, "_count{To=\"2\"} 3\n"); ++i) {
    absl::SleepFor(absl::Milliseconds(10));
    out.clear();
    prober->AppendPrometheus(&out);
  }
  EXPECT_TRUE(absl::StrContains(out, "_count{To=\"2\"} 3\n")) << out;
  const absl::Time asked = absl::Now();
  prober->Stop();
  EXPECT_LT(absl::Now() - asked, absl::Seconds(1)) << "stopping waits out no interval";
}

}  // namespace
}  // namespace detcd::net
