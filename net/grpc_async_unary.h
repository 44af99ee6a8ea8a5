// AsyncUnaryCall: one unary call of a method whose answer is the member's (KV, Lease) on gRPC's asynchronous API,
// run by CqServer's thread. It asks gRPC for the method's next call; when one arrives it asks for the one after (so the
// method is always taken), hands the request to the member as a kvpb::ClientRequest, and the member's reply — on
// whichever thread holds the core — finishes the call (Finish only queues the write). The member answers every
// request it took (a reply, its own timeout, or "server stopped"), so every call is finished or, if the queue was
// stopped first, dropped. It never blocks and holds no state beyond the call.
#ifndef DETCD_NET_GRPC_ASYNC_UNARY_H_
#define DETCD_NET_GRPC_ASYNC_UNARY_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <utility>

#include "api/kv_request.pb.h"
#include "net/grpc_cq_server.h"
#include "net/grpc_services_shared.h"

namespace detcd::net {

template <typename Service, typename Req, typename Resp>
class AsyncUnaryCall final : public CqServer::Tag {
 public:
  // The generated AsyncService's Request<Method>.
  using Requester = void (Service::*)(grpc::ServerContext*, Req*, grpc::ServerAsyncResponseWriter<Resp>*,
                                      grpc::CompletionQueue*, grpc::ServerCompletionQueue*, void*);
  using In = Req* (kvpb::ClientRequest::*)();
  using Out = Resp* (kvpb::ClientResponse::*)();

  // Asks for the method's next call.
  static void Request(EtcdServices::Shared* shared, Service* service, Requester requester, In in, Out out,
                      CqServer* server) {
    auto* call = new AsyncUnaryCall(shared, service, requester, in, out, server);
    const bool asked = call->gate_->Start([&] {
      (service->*requester)(&call->ctx_, &call->request_, &call->responder_, server->cq(), server->cq(),
                            static_cast<CqServer::Tag*>(call));
    });
    if (!asked) delete call;  // the queue is stopped: no more calls
  }

  void Proceed(bool ok) override {
    if (finishing_ || !ok) {  // finished (written or not), or the server is shutting down before a call came
      delete this;
      return;
    }
    Request(shared_, service_, requester_, in_, out_, server_);
    finishing_ = true;
    kvpb::ClientRequest r;
    (r.*in_)()->Swap(&request_);
    // Only a call with credentials carries them: an empty field would cost every request an allocation and its entry
    // three bytes in the log.
    if (kvpb::RequestAuth auth = shared_->CredentialsOf(&ctx_); auth.ByteSizeLong() > 0) *r.mutable_auth() = auth;
    const kvpb::ClientRequest::RequestCase asked = r.request_case();
    shared_->runtime->Submit(std::move(r), [this, asked](kv::ClientReply reply) {
      kvpb::ClientResponse answer;
      const grpc::Status s = EtcdServices::Shared::Accept(asked, reply, &answer);
      const bool finished = gate_->Start([&] {
        if (s.ok()) {
          responder_.Finish(*(answer.*out_)(), s, static_cast<CqServer::Tag*>(this));
        } else {
          responder_.FinishWithError(s, static_cast<CqServer::Tag*>(this));
        }
      });
      if (!finished) delete this;  // the server is gone: nobody to answer
    });
  }

 private:
  AsyncUnaryCall(EtcdServices::Shared* shared, Service* service, Requester requester, In in, Out out, CqServer* server)
      : shared_(shared),
        service_(service),
        requester_(requester),
        in_(in),
        out_(out),
        server_(server),
        gate_(server->gate()),
        responder_(&ctx_) {}

  EtcdServices::Shared* shared_;
  Service* service_;
  Requester requester_;
  In in_;
  Out out_;
  CqServer* server_;
  std::shared_ptr<CqServer::Gate> gate_;
  grpc::ServerContext ctx_;
  Req request_;
  grpc::ServerAsyncResponseWriter<Resp> responder_;
  bool finishing_ = false;
};

}  // namespace detcd::net

#endif  // DETCD_NET_GRPC_ASYNC_UNARY_H_
