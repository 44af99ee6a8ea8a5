// GrpcProxyCall: one call a client made on a GrpcH2Connection for a method the front end does not serve itself,
// passed through to the member's gRPC server in-process (grpc::GenericStub over Server::InProcessChannel) as a
// stream of opaque messages: the client's messages and half-close go in, the server's messages and status come back
// out on the client's stream. Serves unary and streaming methods alike. The client's metadata and deadline go with
// it. The next message is read from the server only once the client's stream has taken the last (bounded memory for
// a slow reader of a large stream, such as a snapshot; a lagging watcher gets the server's merged responses). It holds
// no member state; it ends when the server finishes the call (a cancel from the client or the front end makes that
// happen soon).
#ifndef DETCD_NET_GRPC_PROXY_CALL_H_
#define DETCD_NET_GRPC_PROXY_CALL_H_

#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "net/grpc_h2_connection.h"

namespace detcd::net {

class GrpcProxyCall final : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  // Starts the call; `done` runs once, when it is over (on a gRPC thread).
  static std::shared_ptr<GrpcProxyCall> Start(grpc::GenericStub* stub, std::shared_ptr<GrpcH2Connection> connection,
                                              const GrpcH2Connection::Event& call, std::function<void()> done);

  // ---- the front end's thread ----
  void Message(const std::string& bytes);
  void HalfClose();
  void Cancel();
  // Ends the call with this status for the client (the server's own call is cancelled; its status is not sent).
  void Abort(int code, std::string message);

 private:
  GrpcProxyCall(std::shared_ptr<GrpcH2Connection> connection, int32_t stream, std::function<void()> done)
      : connection_(std::move(connection)), stream_(stream), done_fn_(std::move(done)) {}

  // gRPC's reactor callbacks.
  void OnReadDone(bool ok) override;
  void OnWriteDone(bool ok) override;
  void OnDone(const grpc::Status& status) override;

  const std::shared_ptr<GrpcH2Connection> connection_;
  const int32_t stream_;
  const std::function<void()> done_fn_;
  grpc::ClientContext ctx_;
  grpc::ByteBuffer in_;  // the read in flight
  std::mutex mu_;
  std::deque<grpc::ByteBuffer> to_write_;  // guarded by mu_; the front is being written while writing_
  bool writing_ = false;                   // guarded by mu_
  bool half_closed_ = false;               // guarded by mu_: the client is done sending
  bool client_done_ = false;  // guarded by mu_: the client's side is over (WritesDone, cancel, a failed write)
  bool server_done_ = false;  // guarded by mu_: the server finished the call (a read failed)
  std::optional<std::pair<int, std::string>> abort_;  // guarded by mu_: the status Abort gave the client
  std::shared_ptr<GrpcProxyCall> self_;  // held until OnDone
};

}  // namespace detcd::net

#endif  // DETCD_NET_GRPC_PROXY_CALL_H_
