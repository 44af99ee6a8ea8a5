// PeerProber: etcd's peer prober (rafthttp's probing of /raft/probing): on a thread of its own, every `interval` it
// times a question each peer's transport answers at once (net/peer_query.h ProbePeer) and counts the round trip
// into etcd_network_peer_round_trip_time_seconds{To="<peer id>"} (etcd's buckets: 0.1 ms doubling up to 3.2768 s).
// A peer that cannot be probed is logged once, in etcd's words, until it answers again; it adds no observation.
// It only asks; it never changes the member's state, and it never waits on a peer longer than its timeout.
#ifndef DETCD_NET_PEER_PROBER_H_
#define DETCD_NET_PEER_PROBER_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "absl/time/time.h"
#include "net/peer_tls.h"
#include "net/peer_transport.h"
#include "net/prometheus_text.h"

namespace detcd::net {

struct PeerProberOptions {
  // The other members' peer addresses, as the member knows them now (asked before every round).
  std::function<std::map<uint64_t, PeerAddress>()> peers;
  std::shared_ptr<const PeerTls> tls;
  absl::Duration interval = absl::Seconds(4);  // etcd's proberInterval (its connection read timeout less 1 s)
  absl::Duration timeout = absl::Seconds(2);   // per probe
  std::function<void(const std::string&)> warn;
};

class PeerProber {
 public:
  // With a thread of its own, probing every options.interval (the first round after one interval).
  static std::unique_ptr<PeerProber> Start(PeerProberOptions options);
  // Without a thread: rounds run when ProbeOnce is called (tests).
  explicit PeerProber(PeerProberOptions options) : options_(std::move(options)) {}
  ~PeerProber();  // Stop()
  void Stop();
  // One round now, on the caller's thread (the loop's step; tests).
  void ProbeOnce();
  // The histogram family, a series per peer probed at least once; nothing before the first answer (as the Go
  // client shows a labelled family only once it has a series).
  void AppendPrometheus(std::string* out) const;

  static constexpr const char* kMetric = "etcd_network_peer_round_trip_time_seconds";

 private:
  const PeerProberOptions options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;                      // guarded by mu_
  std::map<uint64_t, DurationHistogram> rtt_;  // guarded by mu_
  std::set<uint64_t> unhealthy_;               // prober thread only
  std::thread thread_;
};

}  // namespace detcd::net

#endif  // DETCD_NET_PEER_PROBER_H_
