// GrpcGenericCall: one call of any gRPC method by its full name ("/etcdserverpb.KV/Range"), request and response as
// serialized bytes, driven by blocking calls from one thread — how the JSON gateway reaches the member's own gRPC
// services in-process (one implementation of each method for both front ends, as etcd's grpc-gateway does).
// Streaming calls send every request given, then half-close, and hand out responses one at a time: the next is read
// from the server only once the caller took the last, so a slow HTTP client holds the call back, not memory.
// It never interprets the bytes and never outlives gRPC's reactions (the destructor cancels and waits).
#ifndef DETCD_NET_GRPC_GENERIC_CALL_H_
#define DETCD_NET_GRPC_GENERIC_CALL_H_

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"

namespace detcd::net {

// Metadata a call carries (lower-case keys): the client's credentials the gateway passes on.
using GrpcMetadata = std::vector<std::pair<std::string, std::string>>;

// A unary call: the response's bytes, or the call's status. `timeout` none: no deadline.
grpc::Status GrpcUnaryCall(grpc::GenericStub* stub, const std::string& method, const std::string& request,
                           std::optional<absl::Duration> timeout, std::string* response,
                           const GrpcMetadata& metadata = {});

class GrpcStreamCall final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  // Starts the call and sends `requests`, then half-closes.
  GrpcStreamCall(grpc::GenericStub* stub, const std::string& method, std::vector<std::string> requests,
                 const GrpcMetadata& metadata = {});
  ~GrpcStreamCall() override;  // cancels if still open; waits for gRPC to be done with it
  GrpcStreamCall(const GrpcStreamCall&) = delete;
  GrpcStreamCall& operator=(const GrpcStreamCall&) = delete;

  enum class Next { kResponse, kWaiting, kOver };
  // Waits up to `wait` for the next response: kResponse (in *bytes), kWaiting (none yet), or kOver (see status()).
  Next Take(absl::Duration wait, std::string* bytes);
  void Cancel() { ctx_.TryCancel(); }
  // The call's status, once Take said kOver.
  grpc::Status status();

 private:
  void OnWriteDone(bool ok) override;
  void OnReadDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;
  void WriteNext();

  grpc::ClientContext ctx_;
  std::vector<grpc::ByteBuffer> requests_;
  size_t written_ = 0;  // reactions only (one write at a time)
  grpc::ByteBuffer in_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<std::string> response_;  // guarded by mu_: read, not yet taken
  bool reading_ = false;                 // guarded by mu_: a read is outstanding
  bool held_ = false;                    // guarded by mu_: the hold that keeps OnDone away is still on
  bool done_ = false;                    // guarded by mu_: OnDone ran
  grpc::Status status_;                  // guarded by mu_
};

}  // namespace detcd::net

#endif  // DETCD_NET_GRPC_GENERIC_CALL_H_
