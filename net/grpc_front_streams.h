// Watch and LeaseKeepAlive served by the client front end itself (GrpcFrontEnd) on a GrpcH2Connection stream, with
// etcd's behaviour as the gRPC services have it (grpc_async_streams): a watch stream outlives the client's
// half-close and ends when the client cancels, the member stops or StopStreams is called ("etcdserver: server
// stopped"); it is paused in the member (whose watch hub keeps and later merges what waits) while the client has not
// taken what was sent. A keep-alive stream renews one request at a time in arrival order, answers an unknown lease
// with TTL 0 (the member does), ends with the member's error, and ends OK when the client half-closes. Messages,
// half-close and cancel come from the front end's thread; answers from whichever thread holds the member's core.
// A stream holds no member state beyond its watch stream id.
#ifndef DETCD_NET_GRPC_FRONT_STREAMS_H_
#define DETCD_NET_GRPC_FRONT_STREAMS_H_

#include <functional>
#include <memory>
#include <string>

#include "net/grpc_h2_connection.h"
#include "net/grpc_services.h"

namespace detcd::net {

class FrontStream {
 public:
  virtual ~FrontStream() = default;
  virtual void Message(const std::string& bytes) = 0;
  virtual void HalfClose() = 0;
  virtual void Cancel() = 0;  // the client went away: nothing more is sent
  // The server ends the stream with this status (etcd's "no leader" for a require-leader stream). Any thread.
  virtual void Abort(const grpc::Status& status) = 0;
};

// `ended` runs once, when the stream is over (on any thread). `auth`: the call's credentials, which its create
// requests are checked against.
std::shared_ptr<FrontStream> StartWatchStream(EtcdServices::Shared* shared, std::shared_ptr<GrpcH2Connection> c,
                                              int32_t stream, std::function<void()> ended,
                                              kvpb::RequestAuth auth = {});
std::shared_ptr<FrontStream> StartKeepAliveStream(EtcdServices::Shared* shared, std::shared_ptr<GrpcH2Connection> c,
                                                  int32_t stream, std::function<void()> ended);

}  // namespace detcd::net

#endif  // DETCD_NET_GRPC_FRONT_STREAMS_H_
