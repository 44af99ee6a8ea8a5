// KvWorkload: simulated etcd clients of a KvCluster, as etcd 3.4's client library behaves. Each client has one
// request in flight at a time and spreads its requests over the members in turn (clientv3's round-robin balancer); a
// member that refuses the connection is skipped. With no answer within the request timeout the client records the
// outcome as unknown and carries on as a new process (the old request may still take effect). Register clients run get (linearizable), put and compare-and-swap (a Txn comparing the value, or that the
// key is absent) on a few keys, with unique integer values, and record a register history for the linearizability
// checker. Churn clients put and delete on their own keys. Watchers watch every key: a broken stream is reopened on
// another member from the revision after the last one they saw (a compacted one is cancelled and restarted from
// now); every response goes to the WatchChecker. Slow watchers stop reading their stream now and then. A compactor
// compacts a little behind the newest revision it has seen. Clients know the cluster by its endpoints (hosts): at
// first every host that runs a member; the operator changing the membership gives them new lists (SetEndpoints), and
// requests and new watch streams go only to those. With writes_only the clients are register writers and nothing else
// runs. Every choice comes from the simulation's Prng.
#ifndef DETCD_SIM_WORKLOADS_KV_WORKLOAD_H_
#define DETCD_SIM_WORKLOADS_KV_WORKLOAD_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "api/kv_request.pb.h"
#include "base/prng.h"
#include "history/history.h"
#include "sim/checkers/watch_checker.h"
#include "sim/world/event_loop.h"
#include "sim/world/kv_cluster.h"
#include "sim/world/trace.h"

namespace detcd::sim {

struct KvWorkloadOptions {
  int clients = 4;  // register clients; one more churn client puts and deletes
  double ops_per_sec = 50;
  int keys = 4;
  int watchers = 2;
  int slow_watchers = 0;
  int64_t compact_every_us = 0;
  int64_t compact_behind = 20;  // revisions behind the newest the compactor has seen
  int64_t rewatch_every_us = 0;  // watchers move to another member about this often (0: never by themselves)
  bool leases = false;           // a lease client too
  int64_t lease_ttl_s = 2;
  int64_t request_timeout_us = 2'000'000;
  int64_t client_latency_min_us = 50;  // client <-> member, one way
  int64_t client_latency_max_us = 500;
  // Register writers only (the workload of scenarios without a kv section): the clients only put values on the
  // register keys — no reads, compare-and-swaps, churn or lease client — so every request is a Raft proposal whose
  // acknowledgement the end-of-run check demands in every member.
  bool writes_only = false;
  // Register values are decimal integers zero-padded to this many bytes (0: not padded), for scenarios that want
  // large WAL records.
  int value_bytes = 0;
  // Watchers never connect to this host (0: none), unless it is the only endpoint.
  uint64_t watchers_avoid = 0;
};

// A put some client was told succeeded: at `revision` the key held `value`.
struct AckedPut {
  std::string key;
  std::string value;
  int64_t revision = 0;
};

struct KvWorkloadStats {
  uint64_t requests = 0;
  uint64_t ok = 0;
  uint64_t failed = 0;   // definite failures (and cas compares that did not hold)
  uint64_t unknown = 0;  // timeouts and errors that leave the outcome open
  uint64_t watch_events = 0;
  uint64_t watch_reconnects = 0;
  uint64_t compactions = 0;
  uint64_t leases_granted = 0;
  uint64_t leases_revoked = 0;
};

class KvWorkload {
 public:
  KvWorkload(const KvWorkloadOptions& options, KvCluster* cluster, EventLoop* loop, Prng* prng, Trace* trace,
             WatchChecker* watch_checker);

  // Starts the clients now; they start no new request after stop_us (requests in flight finish or time out).
  void Start(int64_t stop_us);
  // Requests still waiting for an answer or a timeout.
  size_t in_flight() const { return in_flight_; }
  // Watchers that are not at `revision` yet (or whose stream is not open): the liveness phase waits for them.
  int WatchersBehind(int64_t revision) const;
  // Every watcher reads its stream again (the end of the fault phase).
  void StopBeingSlow();
  // The hosts clients send to from now on (non-empty); a stream open elsewhere stays until it breaks.
  void SetEndpoints(std::vector<uint64_t> hosts);
  const std::vector<uint64_t>& endpoints() const { return endpoints_; }

  history::History history() const { return recorder_.history(); }
  const KvWorkloadStats& stats() const { return stats_; }
  const std::vector<AckedPut>& acked_puts() const { return acked_puts_; }
  // Leases whose revocation a client was told succeeded.
  const std::set<int64_t>& revoked_leases() const { return revoked_leases_; }
  bool uses_leases() const { return options_.leases; }

 private:
  struct Client {
    int index = 0;
    int64_t process = 0;
    uint64_t member = 0;
    uint64_t attempt = 0;  // bumped per request: a late reply or timeout of an earlier one is ignored
    bool churn = false;
    bool leases = false;
  };
  struct Watcher {
    int index = 0;
    bool slow = false;
    uint64_t member = 0;
    uint64_t stream = 0;      // 0 while disconnected
    int checker_id = -1;      // this stream's watcher in the WatchChecker
    int64_t next_rev = 0;     // the revision to resume from (0: from now)
    int64_t seen_rev = 0;     // the newest revision this watcher knows it has everything up to
    uint64_t generation = 0;  // bumped per stream: callbacks of an older stream are ignored
    int64_t arrival_us = 0;   // when the stream's last response reaches the client (a stream keeps its order)
  };

  void ScheduleNext(int c);
  void Issue(int c);
  void IssueLease(int c);
  // Sends req for client c; done(reply) runs when the answer arrives (after the client latency).
  void Send(int c, const kvpb::ClientRequest& req, std::function<void(const kv::ClientReply&)> done,
            std::function<void()> timed_out);
  void NewProcess(Client& cl);
  // An endpoint other than not_this (if there is another), at random.
  uint64_t PickMember(uint64_t not_this);
  // The endpoint after `host` in the round robin.
  uint64_t NextEndpoint(uint64_t host) const;
  void Connect(int w);
  void OnWatchResponse(int w, uint64_t generation, const etcdserverpb::WatchResponse& r);
  void ToggleSlow(int w);
  // The watcher leaves its member and resumes on another one.
  void Rewatch(int w);
  void Compact();
  int64_t ClientLatency();
  // A register value as stored: decimal, padded to value_bytes.
  std::string Encode(int64_t value) const;

  KvWorkloadOptions options_;
  KvCluster* cluster_;
  EventLoop* loop_;
  Prng* prng_;
  Trace* trace_;
  WatchChecker* watch_checker_;
  history::HistoryRecorder recorder_;
  std::vector<Client> clients_;
  std::vector<Watcher> watchers_;
  std::vector<uint64_t> endpoints_;  // hosts, ascending
  int64_t stop_us_ = 0;
  int64_t next_process_ = 0;
  int64_t next_value_ = 1;
  int64_t newest_rev_ = 0;  // the newest revision any response header showed
  // With compact_behind 0, the churn client compacts at the revision of a delete it just made (as a user compacting
  // at the current revision does): the newest revision is then a compacted tombstone.
  int64_t churn_compact_at_ = 0;
  size_t in_flight_ = 0;
  bool slow_allowed_ = true;
  KvWorkloadStats stats_;
  std::vector<AckedPut> acked_puts_;
  int64_t lease_ = 0;  // the lease client's current lease (0: none)
  std::set<int64_t> revoked_leases_;
};

}  // namespace detcd::sim

#endif  // DETCD_SIM_WORKLOADS_KV_WORKLOAD_H_
