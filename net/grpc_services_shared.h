// What etcd's gRPC services share inside net/ (not part of EtcdServices' interface): the member, the options, the
// streams StopStreams must end, and the adapters that take a request to the member and its reply back as a gRPC
// status — blocking (Call, Unary) for the few handlers that wait (the asynchronous ones are in grpc_async_unary.h).
// Nothing here holds KV, lease or Raft state.
#ifndef DETCD_NET_GRPC_SERVICES_SHARED_H_
#define DETCD_NET_GRPC_SERVICES_SHARED_H_

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "api/etcdserverpb/rpc.pb.h"
#include "api/kv_request.pb.h"
#include "base/check.h"
#include "net/grpc_services.h"
#include "net/member_runtime.h"

namespace detcd::net {

// etcd's rpctypes.ErrGRPCStopped.
inline grpc::Status Stopped() { return grpc::Status(grpc::StatusCode::UNAVAILABLE, "etcdserver: server stopped"); }

// A request whose bytes do not parse as its message (grpc-go's words for it).
inline grpc::Status UnmarshalError() {
  return grpc::Status(grpc::StatusCode::INTERNAL,
                      "grpc: error unmarshalling request: proto: cannot parse invalid wire-format data");
}

// A watch response waiting for a client that lags takes the events of the next one for the same watcher, up to
// kWatchMergedBytesMax: a lagging watcher gets fewer, larger responses (events of several revisions in one, as etcd
// sends a watcher catching up). Only responses that carry nothing but events merge (no created, canceled, compacted,
// progress or fragmented one). True if `next` (next_bytes long) went into `*waiting` (*waiting_bytes grows).
inline constexpr size_t kWatchMergedBytesMax = 64 * 1024;
inline bool MergeWatchResponse(etcdserverpb::WatchResponse* waiting, size_t* waiting_bytes,
                               const etcdserverpb::WatchResponse& next, size_t next_bytes) {
  auto events_only = [](const etcdserverpb::WatchResponse& r) {
    return r.events_size() > 0 && !r.created() && !r.canceled() && r.compact_revision() == 0 && !r.fragment();
  };
  if (!events_only(*waiting) || !events_only(next) || waiting->watch_id() != next.watch_id() ||
      *waiting_bytes + next_bytes > kWatchMergedBytesMax) {
    return false;
  }
  DETCD_CHECK_MSG(waiting->header().revision() <= next.header().revision(), "watch responses out of order");
  waiting->mutable_events()->MergeFrom(next.events());
  *waiting->mutable_header() = next.header();
  *waiting_bytes += next_bytes;
  return true;
}

struct EtcdServices::Shared {
  MemberRuntime* runtime;
  GrpcServicesOptions options;

  std::mutex mu;
  bool stopping = false;                              // guarded by mu
  uint64_t next_stream = 1;                           // guarded by mu
  std::map<uint64_t, std::function<void()>> streams;  // guarded by mu: open streams and how to end each
  // The thread running StopStreams' stop functions (under mu), while it does: a stream ending in one of them must
  // not erase itself from `streams` (being walked, and mu is held); StopStreams forgets them all afterwards.
  std::atomic<std::thread::id> stopping_thread{};

  // The credentials a call carries (its "token" metadata, or the certificate name the front end passed), as the
  // member's core takes them (see AuthCredentials::ForCall).
  kvpb::RequestAuth CredentialsOf(const grpc::ServerContextBase* ctx) const {
    return options.auth->ForCall(AuthCredentials::AuthMetadata(ctx->client_metadata()));
  }
  kvpb::RequestAuth CredentialsOf(const std::vector<std::pair<std::string, std::string>>& metadata) const {
    return options.auth->ForCall(metadata);
  }

  // The request timeout, shortened to the client's deadline if it has one.
  absl::Duration Timeout(const grpc::ServerContextBase* ctx) const {
    absl::Duration timeout = options.request_timeout;
    const auto deadline = ctx->deadline();
    if (deadline != std::chrono::system_clock::time_point::max()) {
      timeout = std::min(timeout, absl::FromChrono(deadline - std::chrono::system_clock::now()));
    }
    return std::max(timeout, absl::ZeroDuration());
  }

  // One request through the member; on success `out` holds the response of the expected kind, header filled.
  grpc::Status Call(const grpc::ServerContextBase* ctx, const kvpb::ClientRequest& request, kvpb::ClientResponse* out) {
    kv::ClientReply reply = runtime->Call(request, Timeout(ctx));
    return Accept(request.request_case(), reply, out);
  }

  // A reply as a gRPC status: the member's error, or OK with the response of the request's own kind moved into `out`.
  static grpc::Status Accept(kvpb::ClientRequest::RequestCase asked, kv::ClientReply& reply,
                             kvpb::ClientResponse* out) {
    if (!reply.status.ok()) return ToGrpcStatus(reply.status);
    // The core answers a request with the response of its own kind (same oneof field numbers).
    if (static_cast<int>(reply.response.response_case()) != static_cast<int>(asked)) {
      // A broken invariant of the member, not of the client's input: an error for this request, not a crash.
      return grpc::Status(grpc::StatusCode::INTERNAL, "detcd: the member answered with a response of another kind");
    }
    *out = std::move(reply.response);
    return grpc::Status::OK;
  }

  // etcd's admin-only calls (Maintenance's Defragment, Snapshot, Hash, HashKV): OK when auth is off or the call's
  // user has the root role, else etcd's error.
  grpc::Status CheckAdmin(const grpc::ServerContextBase* ctx) {
    kvpb::ClientRequest r;
    r.mutable_auth_admin_check();
    *r.mutable_auth() = CredentialsOf(ctx);
    kvpb::ClientResponse answer;
    return Call(ctx, r, &answer);
  }

  // A unary method whose answer is the member's: `request` goes in as kvpb::ClientRequest's field `in`, the answer
  // comes back from kvpb::ClientResponse's field `out`.
  template <typename Req, typename Resp>
  grpc::Status Unary(const grpc::ServerContextBase* ctx, const Req& request, Req* (kvpb::ClientRequest::*in)(),
                     Resp* (kvpb::ClientResponse::*out)(), Resp* response) {
    kvpb::ClientRequest r;
    *(r.*in)() = request;
    if (kvpb::RequestAuth auth = CredentialsOf(ctx); auth.ByteSizeLong() > 0) *r.mutable_auth() = auth;
    kvpb::ClientResponse answer;
    grpc::Status s = Call(ctx, r, &answer);
    if (s.ok()) response->Swap((answer.*out)());
    return s;
  }
};

// etcd's Auth service (grpc_auth_service.cc).
std::unique_ptr<grpc::Service> MakeAuthService(EtcdServices::Shared* shared);

// Keeps a stream registered with EtcdServices::StopStreams for as long as its handler runs.
class StreamRegistration {
 public:
  StreamRegistration(EtcdServices::Shared* shared, std::function<void()> stop) : shared_(shared) {
    std::lock_guard<std::mutex> lock(shared_->mu);
    if (shared_->stopping) return;
    id_ = shared_->next_stream++;
    shared_->streams.emplace(id_, std::move(stop));
  }
  ~StreamRegistration() {
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->streams.erase(id_);
  }
  StreamRegistration(const StreamRegistration&) = delete;
  StreamRegistration& operator=(const StreamRegistration&) = delete;
  bool ok() const { return id_ != 0; }

 private:
  EtcdServices::Shared* shared_;
  uint64_t id_ = 0;
};

}  // namespace detcd::net

#endif  // DETCD_NET_GRPC_SERVICES_SHARED_H_
