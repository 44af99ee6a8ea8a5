// GrpcServerMetrics: go-grpc-prometheus's server metrics as etcd 3.4 serves them on /metrics —
// grpc_server_started_total, grpc_server_handled_total (with grpc_code), grpc_server_msg_received_total and
// grpc_server_msg_sent_total, each labelled grpc_type, grpc_service, grpc_method — counted by the client port's HTTP/2
// front end (GrpcH2Connection) as calls start, messages flow and calls finish. The methods are etcd's services'
// (from the protobuf descriptors); a path that names none is not counted (go-grpc-prometheus never sees a call to an
// unknown method either). Counting is a relaxed atomic add on a slot found once per call (FindGrpcMethod: no lock, no
// allocation); what the loop thread counts and what the replying thread counts sit on different cache lines. It
// never blocks and holds nothing but counters.
#ifndef DETCD_NET_GRPC_SERVER_METRICS_H_
#define DETCD_NET_GRPC_SERVER_METRICS_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"

namespace detcd::net {

// A gRPC method of etcd's client API.
struct GrpcMethod {
  int index = 0;          // its slot: 0 .. GrpcMethodCount()-1
  std::string path;       // "/etcdserverpb.KV/Put"
  std::string service;    // "etcdserverpb.KV"
  std::string name;       // "Put"
  const char* type = "";  // go-grpc-prometheus's grpc_type: unary, client_stream, server_stream, bidi_stream
  // Registered before etcd calls grpc_prometheus.Register (KV, Watch, Lease, Cluster, Auth, Maintenance): shown
  // from the start with every code at 0. Lock and Election are registered after it: shown once they are used.
  bool preinitialized = false;
};

// The method a request path names, or null. Any thread; no lock.
const GrpcMethod* FindGrpcMethod(absl::string_view path);
int GrpcMethodCount();
const GrpcMethod& GrpcMethodAt(int index);

// gRPC's status codes 0..16; a code outside them counts as Unknown (as grpc-go reads it).
inline constexpr int kGrpcCodes = 17;
// grpc-go's name of a code ("OK", "OutOfRange"…).
const char* GrpcCodeName(int code);

struct alignas(64) GrpcMethodCounters {
  // The front end's loop thread.
  std::atomic<uint64_t> started{0};
  std::atomic<uint64_t> msg_received{0};
  // Whichever thread answers (the member's, a passed-through call's).
  alignas(64) std::atomic<uint64_t> msg_sent{0};
  std::atomic<uint64_t> handled[kGrpcCodes] = {};

  void Started() { started.fetch_add(1, std::memory_order_relaxed); }
  void Received() { msg_received.fetch_add(1, std::memory_order_relaxed); }
  void Sent() { msg_sent.fetch_add(1, std::memory_order_relaxed); }
  void Handled(int code) { handled[code >= 0 && code < kGrpcCodes ? code : 2].fetch_add(1, std::memory_order_relaxed); }
};

class GrpcServerMetrics {
 public:
  GrpcServerMetrics();
  GrpcServerMetrics(const GrpcServerMetrics&) = delete;
  GrpcServerMetrics& operator=(const GrpcServerMetrics&) = delete;

  GrpcMethodCounters& For(const GrpcMethod& method) { return counters_[method.index]; }
  const GrpcMethodCounters& For(const GrpcMethod& method) const { return counters_[method.index]; }

  // The four families in Prometheus' text format, series in the order the Go client writes them (by label values).
  void AppendPrometheus(std::string* out) const;

 private:
  std::unique_ptr<GrpcMethodCounters[]> counters_;
};

}  // namespace detcd::net

#endif  // DETCD_NET_GRPC_SERVER_METRICS_H_
