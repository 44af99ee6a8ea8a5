// HttpGateway: the client port's plain-HTTP API of one member, as etcd 3.4 serves it: the grpc-gateway JSON mapping
// of every service (KV, Watch, Lease, Cluster, Maintenance, Auth, Lock, Election) under /v3/ (and /v3beta/), and
// /health, /version, /metrics, /debug/vars. Like etcd's grpc-gateway it transcodes: each /v3 request becomes a call of
// the member's own gRPC services in-process (net/grpc_generic_call.h), so one implementation of a method serves both
// front ends. JSON is protobuf's JSON mapping as etcd 3.4's gateway configures it (original proto field names,
// 64-bit integers as strings, bytes as base64, defaults omitted, unknown request fields ignored); errors are
// grpc-gateway 1.x's {"error","code","message"} body with its HTTP status for the gRPC code. Adapters only: it holds
// no KV, lease or Raft state (only the metrics it samples from MemberRuntime::Status()), never touches a socket (the
// server feeds it parsed requests, see http_parser.h) and never runs on the core thread. Handle blocks its caller
// until the member answers or the request times out; it is safe to call from many threads.
// The streaming methods (POST /v3/watch, /v3/lease/keepalive, /v3/election/observe, /v3/maintenance/snapshot) are
// served by ServeStream: the body's JSON values are the stream's requests, and each response goes out as grpc-gateway
// 1.x writes a server stream — one {"result":...} line per message, in a chunked body the server frames.
#ifndef DETCD_NET_HTTP_GATEWAY_H_
#define DETCD_NET_HTTP_GATEWAY_H_

#include <google/protobuf/descriptor.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "net/grpc_server_metrics.h"
#include "net/http_parser.h"
#include "net/member_runtime.h"

namespace detcd::net {

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Type and Content-Length
  std::string body;
};

// The response as bytes on the wire: status line, headers (Content-Type, Content-Length, "Connection: close" when
// !keep_alive, then `headers`), body.
std::string SerializeHttpResponse(const HttpResponse& response, bool keep_alive);
// "OK", "Not Found"… for the status codes this gateway and HttpParser produce ("Unknown" otherwise).
const char* HttpStatusText(int status);
// The response to a request HttpParser refused (its error_status and error): Go's net/http answers these with a
// plain-text body and closes the connection.
HttpResponse HttpParseErrorResponse(int status, const std::string& error);

// A JSON string literal as Go's encoding/json writes it (HTML-sensitive characters escaped).
std::string JsonQuote(const std::string& s);

// grpc-gateway 1.x's HTTPStatusFromCode (the version etcd 3.4 vendors).
int HttpStatusFromCode(absl::StatusCode code);

struct HttpGatewayOptions {
  std::string version = "3.4.23";         // /version "etcdserver", Maintenance.Status, etcd_server_version
  std::string cluster_version = "3.4.0";  // /version "etcdcluster"
  // How long a request may wait for the member before "etcdserver: request timed out" (see EtcdRequestTimeout).
  absl::Duration request_timeout = absl::Seconds(7);
  // /health's linearizable read (etcd 3.4: a QGET with a one-second timeout).
  absl::Duration health_timeout = absl::Seconds(1);
  // How often a waiting stream checks whether it must end (client gone, server stopping).
  absl::Duration stream_poll_interval = absl::Milliseconds(100);
  // The member's own gRPC server, in process (grpc::Server::InProcessChannel), serving every service /v3 maps to.
  // Required.
  std::shared_ptr<grpc::Channel> grpc_channel;
  // More of /metrics, appended in Prometheus' text format: what the gateway does not sample itself (the gRPC front
  // end's grpc_server_*, the peer transport's etcd_network_*). Any thread. Null: nothing.
  std::function<void(std::string* out)> more_metrics;
  // Where the /v3 calls are counted as the gRPC calls they become (grpc_server_*: etcd's grpc-gateway dials the
  // server's own gRPC port, whose interceptors count them). Null: not counted.
  std::shared_ptr<GrpcServerMetrics> grpc_metrics;
  // /debug/vars's "cmdline" (Go's os.Args): the process's arguments. Empty: read from /proc/self/cmdline.
  std::vector<std::string> cmdline;
};

// How ServeStream reaches the client; the server implements it over the connection. Calls come from the thread that
// called ServeStream.
struct HttpStreamIo {
  // A whole (unstreamed) response, instead of any `write`: an error found before the stream began. False: the
  // client is gone.
  std::function<bool(const HttpResponse& response)> respond;
  // One piece of the streamed body (Content-Type application/json). The first call also sends the head with
  // `status` (later calls ignore it). False: the client is gone; the stream should end.
  std::function<bool(int status, const std::string& bytes)> write;
  // Polled while the stream waits: true once it must end (the client closed the connection, the server stops).
  std::function<bool()> cancelled;
};

class HttpGateway {
 public:
  // `runtime` must outlive this object.
  HttpGateway(MemberRuntime* runtime, HttpGatewayOptions options);
  ~HttpGateway();
  HttpGateway(const HttpGateway&) = delete;
  HttpGateway& operator=(const HttpGateway&) = delete;

  // Answers one complete request. /v3/watch answers 501 here (it never ends: see ServeStream); the other streams
  // answer with their whole stream as one body.
  HttpResponse Handle(const HttpRequest& request);

  // Whether `request` is for a streaming method, to be served by ServeStream rather than Handle.
  static bool IsStream(const HttpRequest& request);
  // Serves a streaming method through `io`, blocking until the stream ends: for /v3/watch when io.cancelled()
  // turns true, a write fails or the member stops (etcd's watch outlives the end of the request body); for the
  // others once the service ends it (a keep-alive stream at the body's end, as etcd ends it at the client's
  // half-close). Other requests are answered through io.respond as Handle answers them.
  void ServeStream(const HttpRequest& request, const HttpStreamIo& io);

 private:
  HttpResponse HandleV3(const std::string& path, const HttpRequest& request);
  void ServeGrpcStream(const google::protobuf::MethodDescriptor* method, const HttpRequest& request,
                       const HttpStreamIo& io);
  HttpResponse Health();
  HttpResponse Version() const;
  HttpResponse Metrics();    // http_gateway_metrics.cc
  HttpResponse DebugVars();  // http_gateway_metrics.cc: etcd's expvar JSON
  // Status(), noting leader changes for etcd_server_leader_changes_seen_total.
  MemberStatus SampleStatus();
  // The counters of `method` (null: not counted).
  GrpcMethodCounters* CountersOf(const google::protobuf::MethodDescriptor* method) const;

  MemberRuntime* runtime_;
  HttpGatewayOptions options_;
  std::unique_ptr<grpc::GenericStub> stub_;  // over options_.grpc_channel

  std::mutex mu_;
  uint64_t last_leader_ = 0;          // guarded by mu_: leader at the last sample
  uint64_t last_term_ = 0;            // guarded by mu_: term at the last sample
  uint64_t leader_changes_seen_ = 0;  // guarded by mu_
  uint64_t health_success_ = 0;       // guarded by mu_
  uint64_t health_failures_ = 0;      // guarded by mu_
};

}  // namespace detcd::net

#endif  // DETCD_NET_HTTP_GATEWAY_H_
