// The two long-lived streams of etcd's gRPC API on gRPC's asynchronous API, run by the CqServer's thread, so that an
// open stream holds no thread: Watch (requests forwarded to the member as they arrive, its responses written in order
// as the member hands them over) and Lease.LeaseKeepAlive (one renewal per request, answered in order). Each stream
// finishes its call at most once — on the client's cancel, a failed write, StopStreams, the member stopping, or
// (keep-alive) the client's half-close or an error — and never while a write of its own is in flight; it is released
// once every operation it started has completed. Adapters only: no KV, lease or Raft state; nothing here blocks the
// member's core thread (a response the member hands over is only queued).
#ifndef DETCD_NET_GRPC_ASYNC_STREAMS_H_
#define DETCD_NET_GRPC_ASYNC_STREAMS_H_

#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "net/grpc_cq_server.h"
#include "net/grpc_services.h"

namespace detcd::net {

// Asks gRPC for the next Watch call on `server`'s queue; each call, once it comes, asks for the one after.
void RequestWatchStream(EtcdServices::Shared* shared, etcdserverpb::Watch::AsyncService* service, CqServer* server);

// The same for LeaseKeepAlive.
void RequestKeepAliveStream(EtcdServices::Shared* shared, etcdserverpb::Lease::AsyncService* service, CqServer* server);

}  // namespace detcd::net

#endif  // DETCD_NET_GRPC_ASYNC_STREAMS_H_
