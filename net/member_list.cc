#include "net/member_list.h"

namespace detcd::net {

etcdserverpb::MemberListResponse MemberListFor(const MemberStatus& s, const std::vector<etcdserverpb::Member>& members,
                                               const std::string& name, const std::vector<std::string>& peer_urls,
                                               const std::vector<std::string>& client_urls) {
  etcdserverpb::MemberListResponse response;
  // etcd's ClusterServer.header: no revision.
  response.mutable_header()->set_cluster_id(s.cluster_id);
  response.mutable_header()->set_member_id(s.member_id);
  response.mutable_header()->set_raft_term(s.raft_term);
  if (!members.empty()) {
    for (const etcdserverpb::Member& m : members) *response.add_members() = m;
    return response;
  }
  etcdserverpb::Member* m = response.add_members();
  m->set_id(s.member_id);
  m->set_name(name);
  for (const std::string& url : peer_urls) m->add_peerurls(url);
  for (const std::string& url : client_urls) m->add_clienturls(url);
  return response;
}

}  // namespace detcd::net
