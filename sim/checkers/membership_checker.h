// MembershipChecker: etcd's membership and Raft's configuration in a simulated cluster whose members change, checked
// while the run goes on and at its end:
//   - configuration follows membership: after every event a member handled, Raft's configuration (voters, learners)
//     is exactly its membership (voters = the members that are not learners) — unless a leader's snapshot is on its
//     way to disk (Raft takes the snapshot's configuration when it receives it, the state machine when it is durable);
//   - no removed member in any configuration, and none among the members;
//   - members agree: two members that applied the same index have the same membership (members and removed ids);
//   - removed means gone: a member that applied its own removal handles no event after that one, and one that stopped
//     for good after its removal is never seen running again.
// At the end (Finish), once the cluster converged: every running member has the same members and removed ids, its
// configuration equals them, every member of the cluster runs somewhere (but those whose disk is corrupt), nothing
// runs that is not a member, and the
// membership is the one the operator made (if one is given).
// It only records: it never changes the simulation, reads no clock and draws no randomness. The first violation is
// kept; later ones are ignored.
#ifndef DETCD_SIM_CHECKERS_MEMBERSHIP_CHECKER_H_
#define DETCD_SIM_CHECKERS_MEMBERSHIP_CHECKER_H_

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "kv/node_core.h"

namespace detcd::sim {

class MembershipChecker {
 public:
  // A running member after it handled an event.
  void Observe(const kv::NodeCore& core);
  // A removed member stopped for good.
  void OnStopped(uint64_t member);
  // End of run, over the members still running; refused: members whose data is corrupt (they cannot run, and stay
  // members until an operator replaces them). expected, if not null: the members the operator made (id -> is a
  // learner).
  void Finish(const std::vector<const kv::NodeCore*>& running, const std::set<uint64_t>& refused,
              const std::map<uint64_t, bool>* expected);

  // A digest of a membership (members with every field, and removed ids; not the version counter): equal digests,
  // equal memberships.
  static std::string Digest(const kv::Membership& m);
  // Whether a and b hold the same members (every field) and removed ids, as Digest would tell, without building it.
  static bool SameMembership(const kv::Membership& a, const kv::Membership& b);

  bool ok() const { return !violation_.has_value(); }
  const std::optional<std::string>& violation() const { return violation_; }

 private:
  void Fail(std::string detail);
  // "" if the member's configuration is its membership; what differs otherwise.
  static std::string ConfigurationDiffers(const kv::NodeCore& core);
  std::optional<std::string> violation_;
  std::set<uint64_t> stopped_;                                     // removed members that stopped for good
  std::set<uint64_t> applied_own_removal_;                         // members seen after they applied their own removal
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> last_seen_;    // member -> (applied index, membership version)
  // A member's membership as it last digested it: the next observation compares contents (cheap) and builds a
  // digest only when they differ. Never trusts the version counter: what a member holds is what is compared.
  struct Digested {
    kv::Membership membership;
    uint64_t digest_id = 0;
  };
  std::map<uint64_t, Digested> digested_;                       // member -> its last digested membership
  std::map<std::string, uint64_t> digest_ids_;                  // each distinct digest, numbered
  std::map<uint64_t, std::pair<uint64_t, uint64_t>> at_index_;  // applied index -> (digest id, who saw it first)
};

}  // namespace detcd::sim

#endif  // DETCD_SIM_CHECKERS_MEMBERSHIP_CHECKER_H_
