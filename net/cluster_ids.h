// Member and cluster IDs as etcd 3.4 computes them, so that a detcd member started with etcd's flags has the ID etcd
// would give it (the default member is 8e9e05c52164694d in cluster cdf818194e3a8c32): a member's ID is the first 8
// bytes (big-endian) of SHA-1 over its sorted peer URLs joined, then the cluster token; the cluster's ID is the same
// over its members' IDs, sorted, as 8-byte big-endian numbers. Pure functions.
#ifndef DETCD_NET_CLUSTER_IDS_H_
#define DETCD_NET_CLUSTER_IDS_H_

#include <cstdint>
#include <string>
#include <vector>

namespace detcd::net {

uint64_t EtcdMemberId(std::vector<std::string> peer_urls, const std::string& cluster_token);
uint64_t EtcdClusterId(std::vector<uint64_t> member_ids);
// etcd prints IDs as lower-case hex without leading zeros (types.ID.String()).
std::string IdHex(uint64_t id);

}  // namespace detcd::net

#endif  // DETCD_NET_CLUSTER_IDS_H_
