// Membership: the cluster's members as the Raft log made them (etcd's RaftCluster). The founding members come from
// the bootstrap entries at the head of the log, later ones from configuration changes; every change is judged against
// the members at the moment its entry applies, by etcd's rules (an id once removed never returns, no two members share
// a peer URL, at most one learner, only a learner is promoted), so every member makes the same decision from the same
// log. Names and client URLs come from what each member published about itself. It travels in snapshots.
// It never does IO, reads a clock or talks to Raft: NodeCore applies to Raft the changes this accepts.
#ifndef DETCD_KV_MEMBERSHIP_H_
#define DETCD_KV_MEMBERSHIP_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "api/etcdserverpb/rpc.pb.h"
#include "api/kv_request.pb.h"
#include "api/raft.pb.h"

namespace detcd::kv {

// etcd's check of the peer URLs a member is added or updated with: at least one, each scheme://host:port with
// scheme http or https and nothing after the port.
bool ValidPeerUrls(const std::vector<std::string>& urls);

class Membership {
 public:
  static constexpr size_t kMaxLearners = 1;  // etcd 3.4's limit

  // Whether the change `cc` (with its context) may be made to the members as they are now; etcd's error if not.
  absl::Status Check(const raftpb::ConfChange& cc, const kvpb::ConfChangeContext& context) const;
  // Makes a change Check accepted.
  void Apply(const raftpb::ConfChange& cc, const kvpb::ConfChangeContext& context);
  // A member published its name and client URLs; ignored for an id that is not a member.
  void Publish(const kvpb::MemberAttributes& attributes);

  // etcd's --strict-reconfig-check: whether enough voting members have started (published their name) for the
  // change to keep a quorum of started members (etcd's IsReadyToAddVotingMember, IsReadyToRemoveVotingMember,
  // IsReadyToPromoteMember).
  bool ReadyToAddVoter() const;
  bool ReadyToRemoveVoter(uint64_t id) const;
  bool ReadyToPromote(uint64_t id) const;

  const std::map<uint64_t, kvpb::Member>& members() const { return members_; }
  const kvpb::Member* Find(uint64_t id) const;
  bool IsRemoved(uint64_t id) const { return removed_.count(id) > 0; }
  const std::set<uint64_t>& removed() const { return removed_; }
  // Counts every change (members added, removed, updated, published): a driver compares it to notice one.
  uint64_t version() const { return version_; }
  // The members as etcd's Cluster service lists them, by id.
  std::vector<etcdserverpb::Member> ToEtcd() const;

  void SaveTo(kvpb::StateSnapshot* snapshot) const;
  void RestoreFrom(const kvpb::StateSnapshot& snapshot);

 private:
  bool PeerUrlTaken(const kvpb::Member& m, uint64_t except) const;

  std::map<uint64_t, kvpb::Member> members_;
  std::set<uint64_t> removed_;
  uint64_t version_ = 0;
};

}  // namespace detcd::kv

#endif  // DETCD_KV_MEMBERSHIP_H_
