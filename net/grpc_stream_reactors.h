// The two long-lived streams of etcd's gRPC API on gRPC's callback API, so that an open stream holds no thread: Watch
// (requests forwarded to the member as they arrive, its responses written in order as the member hands them over) and
// Lease.LeaseKeepAlive (one renewal per request, answered in order). Each reactor finishes its call exactly once — on
// the client's cancel, a failed write, StopStreams, the member stopping, or (keep-alive) the client's half-close or
// an error — and only when nothing of its own is in flight, so gRPC never runs OnDone under a pending callback.
// Adapters only: no KV, lease or Raft state; nothing here blocks the member's core thread.
#ifndef DETCD_NET_GRPC_STREAM_REACTORS_H_
#define DETCD_NET_GRPC_STREAM_REACTORS_H_

#include <grpcpp/grpcpp.h>

#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "net/grpc_services.h"

namespace detcd::net {

// A reactor for one Watch call; it deletes itself when gRPC is done with it.
grpc::ServerBidiReactor<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>* NewWatchReactor(
    EtcdServices::Shared* shared);

// A reactor for one LeaseKeepAlive call; it deletes itself when gRPC is done with it.
grpc::ServerBidiReactor<etcdserverpb::LeaseKeepAliveRequest, etcdserverpb::LeaseKeepAliveResponse>*
NewKeepAliveReactor(EtcdServices::Shared* shared);

}  // namespace detcd::net

#endif  // DETCD_NET_GRPC_STREAM_REACTORS_H_
