// MemberListFor: Cluster.MemberList's answer, the same for gRPC and the JSON gateway — etcd's header for the
// cluster server (no revision) and the members as the Raft log made them (MemberStatus::members: peer URLs, learners,
// each one's name and client URLs as it published them); before the member applied anything, itself as its flags say.
#ifndef DETCD_NET_MEMBER_LIST_H_
#define DETCD_NET_MEMBER_LIST_H_

#include <string>
#include <vector>

#include "api/etcdserverpb/rpc.pb.h"
#include "net/member_runtime.h"

namespace detcd::net {

etcdserverpb::MemberListResponse MemberListFor(const MemberStatus& status, const std::string& name,
                                               const std::vector<std::string>& peer_urls,
                                               const std::vector<std::string>& client_urls);

}  // namespace detcd::net

#endif  // DETCD_NET_MEMBER_LIST_H_
