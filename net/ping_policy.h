// PingPolicy: etcd 3.4's gRPC keepalive on one client connection, as grpc-go's server transport does it for etcd
// (embed/etcd.go: EnforcementPolicy{MinTime: --grpc-keepalive-min-time, PermitWithoutStream: false} and
// ServerParameters{Time: --grpc-keepalive-interval, Timeout: --grpc-keepalive-timeout}; grpc-go
// internal/transport/http2_server.go handlePing and keepalive).
//  - Enforcement: a client PING is a strike when the server has sent no headers or data since the previous one and
//    it comes sooner than MinTime after it (with a stream open) or sooner than two hours after it (with none: pings
//    are then not wanted at all). Sending headers or data clears the strikes. The third strike asks for a GOAWAY
//    ENHANCE_YOUR_CALM "too_many_pings" and the end of the connection.
//  - The server's pings: after `interval` without reading anything from the client, the server pings it; when
//    nothing comes within `timeout` after that ping, the connection is ended.
// It is pure: it reads no clock (callers pass the times, from a monotonic clock), sends and closes nothing — it
// only says what the connection must do. It must never strike a ping that follows the server's headers or data, nor
// one at least MinTime after the previous ping while a stream is open: a client that keeps to MinTime (etcd's
// clientv3 with DialKeepAliveTime) is never disconnected.
#ifndef DETCD_NET_PING_POLICY_H_
#define DETCD_NET_PING_POLICY_H_

#include <cstddef>

#include "absl/time/time.h"

namespace detcd::net {

struct KeepaliveOptions {
  // grpc-go's EnforcementPolicy.MinTime: the least time a client should leave between pings while it has a stream.
  absl::Duration min_time = absl::Seconds(5);
  // grpc-go's EnforcementPolicy.PermitWithoutStream (etcd: false): with it, pings without a stream obey min_time
  // too, instead of being unwanted altogether.
  bool permit_without_stream = false;
  // grpc-go's ServerParameters.Time: silence from the client after which the server pings it. Infinite: never.
  absl::Duration interval = absl::Hours(2);
  // grpc-go's ServerParameters.Timeout: how long after its ping the server waits to hear anything.
  absl::Duration timeout = absl::Seconds(20);
};

// What etcd 3.4 gives grpc-go for its flags, after grpc-go's own defaults and bounds: a min-time of zero or less
// leaves grpc-go's default policy (5 minutes, no pings without a stream); an interval or timeout of zero or less
// leaves grpc-go's default parameters (2 hours, 20 seconds); an interval under a second is raised to one.
KeepaliveOptions EtcdKeepaliveOptions(absl::Duration min_time, absl::Duration interval, absl::Duration timeout);

class PingPolicy {
 public:
  // grpc-go's maxPingStrikes: a connection is ended at the strike after this many.
  static constexpr int kPingStrikesMax = 2;
  // grpc-go's defaultPingTimeout: without a stream (and without permit_without_stream), pings closer than this are
  // strikes.
  static constexpr absl::Duration kPingIntervalWithoutStreamMin = absl::Hours(2);

  // `start`: when the connection was accepted (the server's first ping is due an interval after it).
  PingPolicy(const KeepaliveOptions& options, absl::Time start);

  // ---- enforcement ----
  enum class PingVerdict {
    kAllowed,
    kStrike,        // counted; the connection goes on
    kTooManyPings,  // send GOAWAY ENHANCE_YOUR_CALM "too_many_pings" and end the connection (and so for any after)
  };
  // A PING (not an ACK) from the client at `now`, with `active_streams` streams open on the connection.
  PingVerdict OnClientPing(absl::Time now, size_t active_streams);
  // The server sent a HEADERS (response or trailers) or DATA frame: the next ping is not checked, and strikes reset.
  void OnHeadersOrDataSent() { headers_or_data_sent_ = true; }
  int strikes() const { return strikes_; }

  // ---- the server's pings ----
  // Something (any frame, a ping's ACK among them) was read from the client at `now`.
  void OnRead(absl::Time now);
  enum class KeepaliveAction {
    kNothing,
    kSendPing,  // send a PING now
    kClose,     // the client said nothing within the timeout of the server's ping: end the connection
  };
  // What is due at `now`; call it at NextCheck() or later (earlier is harmless). kSendPing and kClose are said once.
  KeepaliveAction Check(absl::Time now);
  // When Check has something to say next, if nothing is read before it.
  absl::Time NextCheck() const;

 private:
  const KeepaliveOptions options_;
  // Enforcement.
  absl::Time last_ping_at_ = absl::InfinitePast();  // the client's last PING; none yet: the first is never a strike
  bool headers_or_data_sent_ = false;               // since the client's last PING
  int strikes_ = 0;
  bool too_many_pings_ = false;
  // The server's pings.
  absl::Time last_read_;
  bool ping_outstanding_ = false;  // sent, and nothing read since
  absl::Time ping_sent_at_ = absl::InfinitePast();
  bool closed_ = false;
};

}  // namespace detcd::net

#endif  // DETCD_NET_PING_POLICY_H_
