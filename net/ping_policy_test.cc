// PingPolicy fed times and stream counts: grpc-go's strikes (MinTime with a stream, two hours without), the clean
// slate the server's headers or data give, the GOAWAY at the third strike; the server's own pings and the end of a
// silent connection; etcd's flags mapped to grpc-go's options.
#include "net/ping_policy.h"

#include <vector>

#include "gtest/gtest.h"

namespace detcd::net {
namespace {

using Verdict = PingPolicy::PingVerdict;
using Action = PingPolicy::KeepaliveAction;

const absl::Time kStart = absl::UnixEpoch() + absl::Hours(1000);  // any monotonic origin

KeepaliveOptions MinTime(absl::Duration min_time) {
  KeepaliveOptions o;
  o.min_time = min_time;
  return o;
}

TEST(PingPolicyTest, TheFirstPingIsNeverAStrike) {
  PingPolicy with_stream(MinTime(absl::Seconds(5)), kStart);
  EXPECT_EQ(with_stream.OnClientPing(kStart, 1), Verdict::kAllowed);
  PingPolicy without(MinTime(absl::Seconds(5)), kStart);
  EXPECT_EQ(without.OnClientPing(kStart + absl::Milliseconds(1), 0), Verdict::kAllowed);
  EXPECT_EQ(without.strikes(), 0);
}

TEST(PingPolicyTest, WithAStreamOpenPingsAtMinTimeAreFineForever) {
  PingPolicy p(MinTime(absl::Seconds(10)), kStart);
  absl::Time t = kStart;
  for (int i = 0; i < 1000; ++i, t += absl::Seconds(10)) {
    ASSERT_EQ(p.OnClientPing(t, 1), Verdict::kAllowed) << "ping " << i;  // exactly MinTime apart: grpc-go's bound
  }
  EXPECT_EQ(p.strikes(), 0);
}

TEST(PingPolicyTest, WithAStreamOpenPingsSoonerThanMinTimeEndTheConnectionAtTheThirdStrike) {
  PingPolicy p(MinTime(absl::Seconds(1)), kStart);
  const absl::Duration every = absl::Milliseconds(100);
  EXPECT_EQ(p.OnClientPing(kStart, 2), Verdict::kAllowed);
  EXPECT_EQ(p.OnClientPing(kStart + every, 2), Verdict::kStrike);
  EXPECT_EQ(p.OnClientPing(kStart + 2 * every, 2), Verdict::kStrike);
  EXPECT_EQ(p.strikes(), 2);
  EXPECT_EQ(p.OnClientPing(kStart + 3 * every, 2), Verdict::kTooManyPings);
  // Said again for whatever still comes: the connection is ending.
  EXPECT_EQ(p.OnClientPing(kStart + absl::Hours(3), 2), Verdict::kTooManyPings);
}

TEST(PingPolicyTest, WithoutAStreamPingsWithinTwoHoursAreStrikesWhateverMinTime) {
  PingPolicy p(MinTime(absl::Seconds(1)), kStart);
  const absl::Duration every = absl::Minutes(30);  // far slower than MinTime, far faster than two hours
  EXPECT_EQ(p.OnClientPing(kStart, 0), Verdict::kAllowed);
  EXPECT_EQ(p.OnClientPing(kStart + every, 0), Verdict::kStrike);
  EXPECT_EQ(p.OnClientPing(kStart + 2 * every, 0), Verdict::kStrike);
  EXPECT_EQ(p.OnClientPing(kStart + 3 * every, 0), Verdict::kTooManyPings);
  // Two hours apart is fine without a stream.
  PingPolicy slow(MinTime(absl::Seconds(1)), kStart);
  for (int i = 0; i < 10; ++i) {
    ASSERT_EQ(slow.OnClientPing(kStart + i * PingPolicy::kPingIntervalWithoutStreamMin, 0), Verdict::kAllowed);
  }
}

TEST(PingPolicyTest, PermitWithoutStreamAppliesMinTimeWithoutAStream) {
  KeepaliveOptions o = MinTime(absl::Seconds(1));
  o.permit_without_stream = true;
  PingPolicy p(o, kStart);
  for (int i = 0; i < 10; ++i) ASSERT_EQ(p.OnClientPing(kStart + i * absl::Seconds(1), 0), Verdict::kAllowed);
}

TEST(PingPolicyTest, HeadersOrDataSentSinceTheLastPingResetTheStrikes) {
  PingPolicy p(MinTime(absl::Seconds(1)), kStart);
  const absl::Duration every = absl::Milliseconds(10);
  absl::Time t = kStart;
  EXPECT_EQ(p.OnClientPing(t, 1), Verdict::kAllowed);
  EXPECT_EQ(p.OnClientPing(t += every, 1), Verdict::kStrike);
  EXPECT_EQ(p.OnClientPing(t += every, 1), Verdict::kStrike);
  p.OnHeadersOrDataSent();
  EXPECT_EQ(p.OnClientPing(t += every, 1), Verdict::kAllowed) << "a busy connection's ping is not checked";
  EXPECT_EQ(p.strikes(), 0);
  // The reset lasts for one ping: fast pings after it are counted again, from zero.
  EXPECT_EQ(p.OnClientPing(t += every, 1), Verdict::kStrike);
  EXPECT_EQ(p.OnClientPing(t += every, 1), Verdict::kStrike);
  EXPECT_EQ(p.OnClientPing(t += every, 1), Verdict::kTooManyPings);
}

TEST(PingPolicyTest, APingAfterSentDataStillCountsAsThePreviousPing) {
  PingPolicy p(MinTime(absl::Seconds(1)), kStart);
  EXPECT_EQ(p.OnClientPing(kStart, 1), Verdict::kAllowed);
  p.OnHeadersOrDataSent();
  EXPECT_EQ(p.OnClientPing(kStart + absl::Milliseconds(1), 1), Verdict::kAllowed);
  // Measured from the unchecked ping, not the first one.
  EXPECT_EQ(p.OnClientPing(kStart + absl::Milliseconds(1) + absl::Milliseconds(999), 1), Verdict::kStrike);
}

TEST(PingPolicyTest, AWellSpacedPingDoesNotForgiveEarlierStrikes) {
  PingPolicy p(MinTime(absl::Seconds(1)), kStart);
  absl::Time t = kStart;
  EXPECT_EQ(p.OnClientPing(t, 1), Verdict::kAllowed);
  EXPECT_EQ(p.OnClientPing(t += absl::Milliseconds(1), 1), Verdict::kStrike);
  EXPECT_EQ(p.OnClientPing(t += absl::Milliseconds(1), 1), Verdict::kStrike);
  EXPECT_EQ(p.OnClientPing(t += absl::Seconds(5), 1), Verdict::kAllowed);
  EXPECT_EQ(p.strikes(), 2);  // only the server's headers or data clear them (grpc-go)
  EXPECT_EQ(p.OnClientPing(t += absl::Milliseconds(1), 1), Verdict::kTooManyPings);
}

KeepaliveOptions Server(absl::Duration interval, absl::Duration timeout) {
  KeepaliveOptions o;
  o.interval = interval;
  o.timeout = timeout;
  return o;
}

TEST(PingPolicyTest, TheServerPingsASilentClientAfterTheIntervalAndEndsItAfterTheTimeout) {
  PingPolicy p(Server(absl::Seconds(10), absl::Seconds(3)), kStart);
  EXPECT_EQ(p.NextCheck(), kStart + absl::Seconds(10));
  EXPECT_EQ(p.Check(kStart + absl::Seconds(9)), Action::kNothing);
  EXPECT_EQ(p.Check(kStart + absl::Seconds(10)), Action::kSendPing);
  EXPECT_EQ(p.Check(kStart + absl::Seconds(11)), Action::kNothing) << "one ping, not one per check";
  EXPECT_EQ(p.NextCheck(), kStart + absl::Seconds(13));
  EXPECT_EQ(p.Check(kStart + absl::Seconds(13)), Action::kClose);
  EXPECT_EQ(p.Check(kStart + absl::Seconds(100)), Action::kNothing) << "said once";
  EXPECT_EQ(p.NextCheck(), absl::InfiniteFuture());
}

TEST(PingPolicyTest, AnAnsweredPingKeepsTheConnectionAndTheNextComesAnIntervalAfterTheAnswer) {
  PingPolicy p(Server(absl::Seconds(10), absl::Seconds(3)), kStart);
  absl::Time t = kStart + absl::Seconds(10);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(p.Check(t), Action::kSendPing) << "round " << i;
    p.OnRead(t + absl::Seconds(2));  // the ACK, within the timeout
    ASSERT_EQ(p.Check(t + absl::Seconds(3)), Action::kNothing);
    ASSERT_EQ(p.NextCheck(), t + absl::Seconds(12));
    t += absl::Seconds(12);
  }
}

TEST(PingPolicyTest, AClientThatKeepsTalkingIsNeverPinged) {
  PingPolicy p(Server(absl::Seconds(10), absl::Seconds(3)), kStart);
  for (int i = 1; i <= 100; ++i) {
    const absl::Time t = kStart + i * absl::Seconds(9);
    p.OnRead(t);
    ASSERT_EQ(p.Check(t + absl::Milliseconds(500)), Action::kNothing);
  }
}

TEST(PingPolicyTest, EtcdFlagsBecomeGrpcGosOptions) {
  KeepaliveOptions d = EtcdKeepaliveOptions(absl::Seconds(5), absl::Hours(2), absl::Seconds(20));  // etcd's defaults
  EXPECT_EQ(d.min_time, absl::Seconds(5));
  EXPECT_FALSE(d.permit_without_stream);
  EXPECT_EQ(d.interval, absl::Hours(2));
  EXPECT_EQ(d.timeout, absl::Seconds(20));
  // Zero or less: no policy given to grpc-go, whose own default is five minutes.
  EXPECT_EQ(EtcdKeepaliveOptions(absl::ZeroDuration(), absl::Hours(1), absl::Seconds(1)).min_time, absl::Minutes(5));
  EXPECT_EQ(EtcdKeepaliveOptions(-absl::Seconds(1), absl::Hours(1), absl::Seconds(1)).min_time, absl::Minutes(5));
  // Interval and timeout go to grpc-go only together; else its defaults.
  KeepaliveOptions no_interval = EtcdKeepaliveOptions(absl::Seconds(5), absl::ZeroDuration(), absl::Seconds(1));
  EXPECT_EQ(no_interval.interval, absl::Hours(2));
  EXPECT_EQ(no_interval.timeout, absl::Seconds(20));
  KeepaliveOptions no_timeout = EtcdKeepaliveOptions(absl::Seconds(5), absl::Minutes(1), absl::ZeroDuration());
  EXPECT_EQ(no_timeout.interval, absl::Hours(2));
  EXPECT_EQ(no_timeout.timeout, absl::Seconds(20));
  // grpc-go raises an interval under a second to one.
  KeepaliveOptions fast = EtcdKeepaliveOptions(absl::Seconds(5), absl::Milliseconds(200), absl::Milliseconds(200));
  EXPECT_EQ(fast.interval, absl::Seconds(1));
  EXPECT_EQ(fast.timeout, absl::Milliseconds(200));
}

}  // namespace
}  // namespace detcd::net
