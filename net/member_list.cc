#include "net/member_list.h"

namespace detcd::net {

etcdserverpb::MemberListResponse MemberListFor(const MemberStatus& s, const std::string& name,
                                               const std::vector<std::string>& peer_urls,
                                               const std::vector<std::string>& client_urls) {
  etcdserverpb::MemberListResponse response;
  // etcd's ClusterServer.header: no revision.
  response.mutable_header()->set_cluster_id(s.cluster_id);
  response.mutable_header()->set_member_id(s.member_id);
  response.mutable_header()->set_raft_term(s.raft_term);
  for (const etcdserverpb::Member& m : s.members) *response.add_members() = m;
  if (s.members.empty()) {
    // Not even the bootstrap entries applied yet (a member that just started): this member as its flags say.
    etcdserverpb::Member* m = response.add_members();
    m->set_id(s.member_id);
    m->set_name(name);
    for (const std::string& url : peer_urls) m->add_peerurls(url);
    for (const std::string& url : client_urls) m->add_clienturls(url);
  }
  return response;
}

}  // namespace detcd::net
