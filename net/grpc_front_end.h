// GrpcFrontEnd: the member's gRPC front end on the client port — the connections a ClientListener recognised as
// HTTP/2, served by one thread of its own ("detcd-h2") on epoll, without gRPC's server machinery in the hot path.
// KV (Range, Put, DeleteRange, Txn, Compact) and the unary Lease methods go straight to the member
// (MemberRuntime::Submit) and are answered by whichever thread holds the core; the answers of one reply batch leave
// in one write per connection (ReplyBatch around the member's batches); Watch and LeaseKeepAlive are served here as
// well (grpc_front_streams). Every other method (Maintenance, Cluster, Auth, Lock, Election) is passed through to the
// member's gRPC server in-process (GrpcProxyCall), so each of those services has one implementation.
// It keeps etcd's gRPC keepalive on every connection (PingPolicy: the client's pings checked, the server's sent on a
// timer of its own). It owns the connections it was handed; it holds no member state.
#ifndef DETCD_NET_GRPC_FRONT_END_H_
#define DETCD_NET_GRPC_FRONT_END_H_

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "net/grpc_front_streams.h"
#include "net/grpc_h2_connection.h"
#include "net/grpc_proxy_call.h"
#include "net/grpc_server_metrics.h"
#include "net/grpc_services.h"
#include "net/member_runtime.h"
#include "net/ping_policy.h"

namespace detcd::net {

struct GrpcFrontEndOptions {
  MemberRuntime* runtime = nullptr;
  // The gRPC services' shared state: Watch and LeaseKeepAlive are served here too, ended by its StopStreams. Null:
  // they are passed through like the rest.
  EtcdServices::Shared* services = nullptr;
  // The member's gRPC server, in-process: what the front end does not serve itself goes there.
  std::shared_ptr<grpc::Channel> fallback;
  size_t max_message_bytes = 4 << 20;  // etcd: --max-request-bytes plus gRPC's overhead
  uint32_t max_concurrent_streams = 0xffffffffu;  // per connection (etcd: --max-concurrent-streams)
  // etcd's --client-cert-auth: a call that sends no token is its verified client certificate's common name's.
  bool client_cert_auth = false;
  // etcd's --grpc-keepalive-min-time, -interval and -timeout, as grpc-go takes them (EtcdKeepaliveOptions).
  KeepaliveOptions keepalive;
};

// etcd's require-leader convention (clientv3.WithRequireLeader: metadata "hasleader: true"): such a call made to a
// member that knows no leader is refused with "etcdserver: no leader" (UNAVAILABLE), and such a stream already open
// is ended with it once the member has had no leader at three checks in a row, one election timeout apart, so its
// client moves to another member. etcdctl watch and clientv3's lease keep-alives ask for it.
bool RequiresLeader(const std::vector<std::pair<std::string, std::string>>& metadata);

class GrpcFrontEnd {
 public:
  static absl::StatusOr<std::unique_ptr<GrpcFrontEnd>> Start(GrpcFrontEndOptions options);
  ~GrpcFrontEnd();  // Stop()

  // A connection that opened with the HTTP/2 preface (still unread); the front end owns it now. Any thread.
  // `verified_common_name`: its TLS client certificate's, if one was verified (see client_cert_auth).
  void Adopt(int fd, const std::string& verified_common_name = "");
  // Closes every connection, ends the passed-through calls and waits for them; then the thread stops. Call it after
  // the member stopped (its answers to the native calls are in) and before the gRPC server shuts down. Idempotent.
  void Stop();

  // Around a batch of replies (the member's BeginReplies/EndReplies): what the batch answers leaves at its end.
  static void BeginReplyBatch() { GrpcH2Connection::BeginBatch(); }
  static void EndReplyBatch() { GrpcH2Connection::EndBatch(); }

  // grpc_server_* for every call on its connections (any thread).
  const GrpcServerMetrics& metrics() const { return *metrics_; }
  // The same, for the JSON gateway to count its calls in (as etcd's gateway's calls reach its gRPC server).
  std::shared_ptr<GrpcServerMetrics> shared_metrics() const { return metrics_; }

 private:
  explicit GrpcFrontEnd(GrpcFrontEndOptions options);
  void Loop();
  void Handle(const std::shared_ptr<GrpcH2Connection>& c, GrpcH2Connection::Event& e);
  void StartCall(const std::shared_ptr<GrpcH2Connection>& c, const GrpcH2Connection::Event& e);
  // A unary call of the member's own, whole: its one message in, the member's answer out.
  // A call's credentials: its token (verified or passed on), else with client_cert_auth its connection's verified
  // certificate's common name; none otherwise.
  kvpb::RequestAuth Credentials(const GrpcH2Connection& c,
                                const std::vector<std::pair<std::string, std::string>>& metadata) const;
  void SubmitUnary(const std::shared_ptr<GrpcH2Connection>& c, int32_t stream, int field, const std::string& message, kvpb::RequestAuth auth);
  // Every election timeout: counts the checks in a row without a leader; at three, ends the require-leader streams.
  void CheckLeader();
  // Every keepalive tick: each connection pings a silent client, or ends one silent past the timeout.
  void CheckKeepalive();

  GrpcFrontEndOptions options_;
  // Shared with the connections, which replies may keep after the front end is gone.
  const std::shared_ptr<GrpcServerMetrics> metrics_ = std::make_shared<GrpcServerMetrics>();
  std::unique_ptr<grpc::GenericStub> stub_;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int leader_timer_fd_ = -1;  // fires every election timeout
  int checks_without_leader_ = 0;  // the loop's
  int keepalive_timer_fd_ = -1;    // fires a few times per keepalive interval or timeout (at most every second)
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  std::mutex mu_;
  std::map<int, std::shared_ptr<GrpcH2Connection>> connections_;  // guarded by mu_; by socket
  bool stopped_ = false;                                          // guarded by mu_: Adopt closes what comes

  // Calls in progress by (connection serial, stream); guarded by mu_. A native unary call until it goes to the
  // member; a stream or a passed-through call until it ends.
  using CallKey = std::pair<uint64_t, int32_t>;
  struct Call {
    int field = 0;  // kvpb::ClientRequest's field for a native unary call
    kvpb::RequestAuth auth;  // a native unary call's credentials
    bool has_message = false;
    std::string message;
    std::shared_ptr<FrontStream> stream;   // Watch, LeaseKeepAlive
    std::shared_ptr<GrpcProxyCall> proxy;  // anything else
    bool require_leader = false;           // a stream whose client asked for etcd's "hasleader"
  };
  std::map<CallKey, Call> calls_;
  // Streams and passed-through calls that ended themselves (any thread, possibly after Stop), for the loop to erase.
  struct Ended {
    std::mutex mu;
    std::vector<CallKey> keys;  // guarded by mu
    int wake_fd = -1;           // written while open
    bool open = true;           // guarded by mu: false once the loop is gone
  };
  const std::shared_ptr<Ended> ended_ = std::make_shared<Ended>();

  std::mutex proxies_mu_;
  std::condition_variable proxies_cv_;
  int proxies_ = 0;  // guarded by proxies_mu_: passed-through calls not yet done
};

}  // namespace detcd::net

#endif  // DETCD_NET_GRPC_FRONT_END_H_
