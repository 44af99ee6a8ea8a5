// FetchClusterInfo: a member about to join a running cluster (--initial-cluster-state=existing) asks a member's peer
// port who is in the cluster (etcd's GET /members on the peer URL). The answer is the bytes the member's
// PeerTransportOptions::cluster_info gave (a serialized kvpb::ClusterInfo); the wire is net/peer_wire.h's info magic,
// answered by one length-prefixed frame. Blocking, bounded by `timeout`.
//
// It must never wait past its timeout, or take a refusal, a TLS failure or a malformed answer for an answer.
#ifndef DETCD_NET_CLUSTER_INFO_FETCH_H_
#define DETCD_NET_CLUSTER_INFO_FETCH_H_

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "net/peer_tls.h"
#include "net/peer_transport.h"

namespace detcd::net {

// Errors: unreachable, timed out, a refusal, a failed TLS handshake, a malformed answer. An https address
// (address.tls) is asked over TLS with `tls`, which it then requires.
absl::StatusOr<std::string> FetchClusterInfo(const PeerAddress& address, absl::Duration timeout,
                                             const PeerTls* tls = nullptr);

}  // namespace detcd::net

#endif  // DETCD_NET_CLUSTER_INFO_FETCH_H_
