// Which member of which cluster this process is: etcd's member and cluster IDs, kept in the data directory once the
// member is created (a restarted member is who it was, whatever --initial-cluster says now, as etcd reads them from
// its WAL), and, for a member joining a running cluster (--initial-cluster-state=existing), learned from the members'
// peer ports: the member whose peer URLs are this one's --initial-advertise-peer-urls (etcd's
// ValidateClusterAndAssignIDs). Blocking file and network IO; start-up only.
#ifndef DETCD_CMD_DETCD_IDENTITY_H_
#define DETCD_CMD_DETCD_IDENTITY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/kv_request.pb.h"
#include "net/peer_transport.h"

namespace detcd {

struct MemberIds {
  uint64_t member_id = 0;
  uint64_t cluster_id = 0;
};

// <data_dir>/member/detcd-ids: written (durably, atomically) once the member's directories are created and locked.
absl::Status SaveMemberIds(const std::string& data_dir, const MemberIds& ids);
// nullopt if the file is not there; an error if it is there but unreadable or malformed.
absl::StatusOr<std::optional<MemberIds>> LoadMemberIds(const std::string& data_dir);

// "http://host:port" or "https://host:port" → host and port (and tls for https); nullopt for anything else.
std::optional<net::PeerAddress> PeerAddressOf(const std::string& url);

// Asks each address in turn (each at most `timeout`; https ones over TLS with `tls`) for the cluster's members; the
// first answer wins. Errors: nobody answered (etcd: "could not retrieve cluster information from the given URLs").
absl::StatusOr<kvpb::ClusterInfo> FetchCluster(const std::vector<net::PeerAddress>& peers, absl::Duration timeout,
                                               const net::PeerTls* tls = nullptr);

// The member of `cluster` whose peer URLs are `peer_urls` (as sets); an error in etcd's words if there is none.
absl::StatusOr<kvpb::Member> FindSelf(const kvpb::ClusterInfo& cluster, const std::vector<std::string>& peer_urls);

}  // namespace detcd

#endif  // DETCD_CMD_DETCD_IDENTITY_H_
