// Questions asked on a member's peer port outside the Raft stream, each on a connection of its own answered by one
// length-prefixed frame (net/peer_wire.h's query magics):
// - FetchClusterInfo: a member about to join a running cluster (--initial-cluster-state=existing) asks who is in the
//   cluster (etcd's GET /members on the peer URL). The answer is the bytes the member's
//   PeerTransportOptions::cluster_info gave (a serialized kvpb::ClusterInfo).
// - FetchPeerHashKV: the corruption checks ask a peer for its HashKV at a revision (etcd's POST /members/hashkv).
// - ProbePeer: the prober (net/peer_prober.h) times a question the peer's transport answers at once (etcd's
//   GET /raft/probing).
// Blocking, bounded by `timeout`. They must never wait past their timeout, or take a refusal, a TLS failure or a
// malformed answer for an answer.
#ifndef DETCD_NET_PEER_QUERY_H_
#define DETCD_NET_PEER_QUERY_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/etcdserverpb/rpc.pb.h"
#include "net/peer_tls.h"
#include "net/peer_transport.h"

namespace detcd::net {

// Errors: unreachable, timed out, a refusal, a failed TLS handshake, a malformed answer. An https address
// (address.tls) is asked over TLS with `tls`, which it then requires.
absl::StatusOr<std::string> FetchClusterInfo(const PeerAddress& address, absl::Duration timeout,
                                             const PeerTls* tls = nullptr);

// What a member answers a hash question with (PeerTransportOptions::hash_kv's answer): its HashKV, or its error.
std::string EncodeHashKVAnswer(const absl::StatusOr<etcdserverpb::HashKVResponse>& answer);

// The peer's HashKV at `revision`, or its error with etcd's text (e.g. "etcdserver: mvcc: required revision is a
// future revision" from a peer that is behind), or why it could not be asked.
absl::StatusOr<etcdserverpb::HashKVResponse> FetchPeerHashKV(const PeerAddress& address, int64_t revision,
                                                             absl::Duration timeout, const PeerTls* tls = nullptr);

// The round trip of an empty question on a connection made for it (connecting and the TLS handshake not counted).
absl::StatusOr<absl::Duration> ProbePeer(const PeerAddress& address, absl::Duration timeout,
                                         const PeerTls* tls = nullptr);

}  // namespace detcd::net

#endif  // DETCD_NET_PEER_QUERY_H_
