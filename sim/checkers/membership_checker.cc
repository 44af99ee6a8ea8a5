#include "sim/checkers/membership_checker.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace detcd::sim {

namespace {

std::string Ids(const std::set<uint64_t>& ids) { return absl::StrCat("{", absl::StrJoin(ids, " "), "}"); }

}  // namespace

void MembershipChecker::Fail(std::string detail) {
  if (!violation_) violation_ = std::move(detail);
}

namespace {

void AppendWord(std::string* out, uint64_t v) {
  char b[sizeof v];
  std::memcpy(b, &v, sizeof v);
  out->append(b, sizeof v);
}

// Length-prefixed, so no two different lists of strings encode alike.
void AppendString(std::string* out, const std::string& s) {
  AppendWord(out, s.size());
  out->append(s);
}

void AppendStrings(std::string* out, const google::protobuf::RepeatedPtrField<std::string>& list) {
  AppendWord(out, static_cast<uint64_t>(list.size()));
  for (const std::string& s : list) AppendString(out, s);
}

// Digest and SameMembership read every field of kvpb::Member: one added there must be added to both.
void CheckMemberFieldsCovered() {
  static const bool all_fields = kvpb::Member::GetDescriptor()->field_count() == 5;
  DETCD_CHECK_MSG(all_fields, "kvpb::Member has fields MembershipChecker's Digest and SameMembership do not compare");
}

bool SameMember(const kvpb::Member& a, const kvpb::Member& b) {
  auto same_list = [](const google::protobuf::RepeatedPtrField<std::string>& x,
                      const google::protobuf::RepeatedPtrField<std::string>& y) {
    return x.size() == y.size() && std::equal(x.begin(), x.end(), y.begin());
  };
  return a.id() == b.id() && a.name() == b.name() && a.is_learner() == b.is_learner() &&
         same_list(a.peer_urls(), b.peer_urls()) && same_list(a.client_urls(), b.client_urls());
}

}  // namespace

bool MembershipChecker::SameMembership(const kv::Membership& a, const kv::Membership& b) {
  CheckMemberFieldsCovered();
  if (a.removed() != b.removed() || a.members().size() != b.members().size()) return false;
  auto x = a.members().begin();
  for (const auto& [id, member] : b.members()) {
    if (x->first != id || !SameMember(x->second, member)) return false;
    ++x;
  }
  return true;
}

std::string MembershipChecker::Digest(const kv::Membership& m) {
  // Written field by field (a proto serialization per member cost most of the checker's time).
  CheckMemberFieldsCovered();
  std::string out;
  out.reserve(m.members().size() * 96 + m.removed().size() * 8 + 16);
  AppendWord(&out, m.members().size());
  for (const auto& [id, member] : m.members()) {
    AppendWord(&out, id);
    AppendWord(&out, member.id());
    AppendString(&out, member.name());
    AppendStrings(&out, member.peer_urls());
    AppendStrings(&out, member.client_urls());
    out.push_back(member.is_learner() ? 'L' : 'V');
  }
  AppendWord(&out, m.removed().size());
  for (uint64_t gone : m.removed()) AppendWord(&out, gone);
  return out;
}

std::string MembershipChecker::ConfigurationDiffers(const kv::NodeCore& core) {
  // Run at every observation, so the common case (they agree) allocates nothing: the members (by id) against Raft's
  // voters and learners (sorted sets), walked together.
  const std::map<uint64_t, kvpb::Member>& members = core.membership().members();
  const std::set<uint64_t>& raft_voters = core.raft().raft().tracker().voters();
  const std::set<uint64_t>& raft_learners = core.raft().raft().tracker().learners();
  if (members.size() == raft_voters.size() + raft_learners.size()) {
    auto v = raft_voters.begin();
    auto l = raft_learners.begin();
    bool same = true;
    for (const auto& [id, member] : members) {
      auto& it = member.is_learner() ? l : v;
      const auto end = member.is_learner() ? raft_learners.end() : raft_voters.end();
      if (it == end || *it != id) {
        same = false;
        break;
      }
      ++it;
    }
    if (same) return "";
  }
  std::set<uint64_t> voters, learners;
  for (const auto& [id, member] : members) (member.is_learner() ? learners : voters).insert(id);
  if (raft_voters == voters && raft_learners == learners) return "";
  return absl::StrCat("Raft's configuration is voters ", Ids(raft_voters), " learners ", Ids(raft_learners),
                      " but its membership has voters ", Ids(voters), " learners ", Ids(learners));
}

void MembershipChecker::Observe(const kv::NodeCore& core) {
  if (violation_) return;
  const uint64_t id = core.id();
  if (stopped_.count(id) > 0) {
    return Fail(absl::StrCat("member ", id, " runs again after it was removed and stopped for good"));
  }
  // Its host stops it right after the event in which it applied its own removal: seen so once, never twice.
  if (core.removed() && !applied_own_removal_.insert(id).second) {
    return Fail(absl::StrCat("member ", id, " keeps running after it applied its own removal"));
  }
  const kv::Membership& m = core.membership();
  for (uint64_t gone : m.removed()) {
    if (m.Find(gone) != nullptr)
      return Fail(absl::StrCat("member ", id, " lists removed member ", gone, " as a member"));
  }
  // A leader's snapshot on its way to disk: Raft has its configuration already, the state machine not yet.
  if (core.raft().raft().log().PendingSnapshot() == nullptr) {
    if (std::string d = ConfigurationDiffers(core); !d.empty()) {
      return Fail(absl::StrCat("member ", id, " at applied index ", core.applied_index(), ": ", d));
    }
  }
  // The same applied index, the same membership: compared when this member's applied index or membership moved.
  const std::pair<uint64_t, uint64_t> now{core.applied_index(), m.version()};
  auto [it, first] = last_seen_.emplace(id, now);
  if (!first && it->second == now) return;
  it->second = now;
  auto [d, fresh] = digested_.try_emplace(id);
  if (fresh || !SameMembership(d->second.membership, m)) {
    d->second.membership = m;
    d->second.digest_id = digest_ids_.emplace(Digest(m), digest_ids_.size()).first->second;
  }
  auto [at, inserted] = at_index_.try_emplace(core.applied_index(), d->second.digest_id, id);
  if (!inserted && at->second.first != d->second.digest_id) {
    Fail(absl::StrCat("members ", at->second.second, " and ", id, " applied index ", core.applied_index(),
                      " with different memberships"));
  }
}

void MembershipChecker::OnStopped(uint64_t member) { stopped_.insert(member); }

void MembershipChecker::Finish(const std::vector<const kv::NodeCore*>& running, const std::set<uint64_t>& refused,
                               const std::map<uint64_t, bool>* expected) {
  if (violation_ || running.empty()) return;
  const kv::NodeCore& first = *running[0];
  const std::string reference = Digest(first.membership());
  std::set<uint64_t> live;
  for (const kv::NodeCore* core : running) {
    live.insert(core->id());
    if (Digest(core->membership()) != reference) {
      return Fail(absl::StrCat("at the end members ", first.id(), " and ", core->id(),
                               " disagree on the membership (members or removed ids)"));
    }
    if (std::string d = ConfigurationDiffers(*core); !d.empty()) {
      return Fail(absl::StrCat("at the end member ", core->id(), ": ", d));
    }
    const raftpb::ConfState cs = core->raft().raft().conf_state();
    for (uint64_t gone : core->membership().removed()) {
      for (uint64_t v : cs.voters()) {
        if (v == gone) return Fail(absl::StrCat("removed member ", gone, " is a voter on member ", core->id()));
      }
      for (uint64_t l : cs.learners()) {
        if (l == gone) return Fail(absl::StrCat("removed member ", gone, " is a learner on member ", core->id()));
      }
    }
  }
  std::set<uint64_t> members;
  for (const auto& [id, member] : first.membership().members()) {
    if (refused.count(id) == 0) members.insert(id);
  }
  if (members != live) {
    return Fail(absl::StrCat("at the end the members are ", Ids(members), " but the members running are ", Ids(live)));
  }
  if (expected != nullptr) {
    std::map<uint64_t, bool> actual;
    for (const auto& [id, member] : first.membership().members()) actual[id] = member.is_learner();
    if (actual != *expected) {
      std::set<uint64_t> want;
      for (const auto& [id, learner] : *expected) want.insert(id);
      return Fail(absl::StrCat("at the end the cluster's members are ", Ids(members), " but the operator made ",
                               Ids(want), " (or a learner differs)"));
    }
  }
}

}  // namespace detcd::sim
