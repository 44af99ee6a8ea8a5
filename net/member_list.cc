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
  } else {
    etcdserverpb::Member* m = response.add_members();
    m->set_id(s.member_id);
    m->set_name(name);
    for (const std::string& url : peer_urls) m->add_peerurls(url);
    for (const std::string& url : client_urls) m->add_clienturls(url);
  }
  // What each member published through Raft is the truth about its client URLs (as in etcd's member list).
  for (etcdserverpb::Member& m : *response.mutable_members()) {
    for (const kvpb::MemberAttributes& p : s.published) {
      if (p.id() != m.id()) continue;
      if (!p.name().empty()) m.set_name(p.name());
      m.clear_clienturls();
      for (const std::string& url : p.client_urls()) m.add_clienturls(url);
    }
  }
  return response;
}

}  // namespace detcd::net
