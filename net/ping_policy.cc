#include "net/ping_policy.h"

#include <algorithm>

#include "base/check.h"

namespace detcd::net {

namespace {

// grpc-go's defaults (internal/transport/defaults.go) and the least server ping interval (server.go KeepaliveParams).
constexpr absl::Duration kDefaultMinTime = absl::Minutes(5);
constexpr absl::Duration kDefaultInterval = absl::Hours(2);
constexpr absl::Duration kDefaultTimeout = absl::Seconds(20);
constexpr absl::Duration kIntervalMin = absl::Seconds(1);

}  // namespace

KeepaliveOptions EtcdKeepaliveOptions(absl::Duration min_time, absl::Duration interval, absl::Duration timeout) {
  KeepaliveOptions o;
  o.permit_without_stream = false;
  o.min_time = min_time > absl::ZeroDuration() ? min_time : kDefaultMinTime;
  if (interval > absl::ZeroDuration() && timeout > absl::ZeroDuration()) {
    o.interval = std::max(interval, kIntervalMin);
    o.timeout = timeout;
  } else {
    o.interval = kDefaultInterval;
    o.timeout = kDefaultTimeout;
  }
  return o;
}

PingPolicy::PingPolicy(const KeepaliveOptions& options, absl::Time start) : options_(options), last_read_(start) {
  DETCD_CHECK_MSG(options_.min_time >= absl::ZeroDuration(), "a negative keepalive min-time");
  DETCD_CHECK_MSG(options_.interval > absl::ZeroDuration() && options_.timeout > absl::ZeroDuration(),
                  "keepalive interval and timeout must be positive");
}

PingPolicy::PingVerdict PingPolicy::OnClientPing(absl::Time now, size_t active_streams) {
  if (too_many_pings_) return PingVerdict::kTooManyPings;  // the connection is ending; said again, never undone
  const absl::Time previous = last_ping_at_;
  last_ping_at_ = now;  // every ping counts as the previous one for the next, the unchecked ones too
  if (headers_or_data_sent_) {
    // The server has been sending: the client may well be checking a busy connection. Not checked; a clean slate.
    headers_or_data_sent_ = false;
    strikes_ = 0;
    return PingVerdict::kAllowed;
  }
  const absl::Duration least = active_streams == 0 && !options_.permit_without_stream
                                   ? kPingIntervalWithoutStreamMin
                                   : options_.min_time;
  // grpc-go: a strike when previous + least is after now (a ping exactly `least` later is fine).
  if (previous + least <= now) return PingVerdict::kAllowed;
  ++strikes_;
  if (strikes_ <= kPingStrikesMax) return PingVerdict::kStrike;
  too_many_pings_ = true;
  return PingVerdict::kTooManyPings;
}

void PingPolicy::OnRead(absl::Time now) {
  last_read_ = std::max(last_read_, now);
  ping_outstanding_ = false;  // the client is alive: its answer, or anything else, will do
}

PingPolicy::KeepaliveAction PingPolicy::Check(absl::Time now) {
  if (closed_) return KeepaliveAction::kNothing;
  if (now < NextCheck()) return KeepaliveAction::kNothing;
  if (ping_outstanding_) {
    closed_ = true;
    return KeepaliveAction::kClose;
  }
  ping_outstanding_ = true;
  ping_sent_at_ = now;
  return KeepaliveAction::kSendPing;
}

absl::Time PingPolicy::NextCheck() const {
  if (closed_) return absl::InfiniteFuture();
  return ping_outstanding_ ? ping_sent_at_ + options_.timeout : last_read_ + options_.interval;
}

}  // namespace detcd::net
