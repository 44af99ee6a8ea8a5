#include "kv/membership.h"

#include "absl/strings/numbers.h"
#include "absl/strings/match.h"
#include "kv/errors.h"

namespace detcd::kv {

namespace {

bool ValidPeerUrl(const std::string& url) {
  std::string rest;
  if (absl::StartsWith(url, "http://")) {
    rest = url.substr(7);
  } else if (absl::StartsWith(url, "https://")) {
    rest = url.substr(8);
  } else {
    return false;
  }
  if (rest.find_first_of("/?#@ ") != std::string::npos) return false;  // etcd: no path, query or user info
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;  // host:port, both present
  const std::string host = rest.substr(0, colon);
  if (host.front() == '[' && host.back() != ']') return false;
  int port = 0;
  return absl::SimpleAtoi(rest.substr(colon + 1), &port) && port > 0 && port < 65536;
}

}  // namespace

bool ValidPeerUrls(const std::vector<std::string>& urls) {
  if (urls.empty()) return false;
  for (const std::string& u : urls) {
    if (!ValidPeerUrl(u)) return false;
  }
  return true;
}

const kvpb::Member* Membership::Find(uint64_t id) const {
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : &it->second;
}

bool Membership::PeerUrlTaken(const kvpb::Member& m, uint64_t except) const {
  for (const auto& [id, other] : members_) {
    if (id == except) continue;
    for (const std::string& a : other.peer_urls()) {
      for (const std::string& b : m.peer_urls()) {
        if (a == b) return true;
      }
    }
  }
  return false;
}

absl::Status Membership::Check(const raftpb::ConfChange& cc, const kvpb::ConfChangeContext& context) const {
  const uint64_t id = cc.node_id();
  if (id == 0) return ErrMemberNotFound();
  // etcd answers a removed id as "member not found" (membership.ErrIDRemoved maps to ErrGRPCMemberNotFound).
  if (IsRemoved(id)) return ErrMemberNotFound();
  const kvpb::Member* existing = Find(id);
  switch (cc.type()) {
    case raftpb::CONF_CHANGE_ADD_NODE:
    case raftpb::CONF_CHANGE_ADD_LEARNER_NODE: {
      if (context.is_promote()) {
        if (cc.type() != raftpb::CONF_CHANGE_ADD_NODE || existing == nullptr) return ErrMemberNotFound();
        if (!existing->is_learner()) return ErrMemberNotLearner();
        return absl::OkStatus();
      }
      if (existing != nullptr) return ErrMemberExist();
      if (PeerUrlTaken(context.member(), 0)) return ErrPeerURLExist();
      if (cc.type() == raftpb::CONF_CHANGE_ADD_LEARNER_NODE) {
        size_t learners = 0;
        for (const auto& [other, m] : members_) learners += m.is_learner() ? 1 : 0;
        if (learners >= kMaxLearners) return ErrTooManyLearners();
      }
      return absl::OkStatus();
    }
    case raftpb::CONF_CHANGE_REMOVE_NODE:
      return existing == nullptr ? ErrMemberNotFound() : absl::OkStatus();
    case raftpb::CONF_CHANGE_UPDATE_NODE:
      if (existing == nullptr) return ErrMemberNotFound();
      if (PeerUrlTaken(context.member(), id)) return ErrPeerURLExist();
      return absl::OkStatus();
    default:
      return absl::InvalidArgumentError("etcdserver: unknown configuration change");
  }
}

void Membership::Apply(const raftpb::ConfChange& cc, const kvpb::ConfChangeContext& context) {
  const uint64_t id = cc.node_id();
  ++version_;
  switch (cc.type()) {
    case raftpb::CONF_CHANGE_ADD_NODE:
    case raftpb::CONF_CHANGE_ADD_LEARNER_NODE:
      if (context.is_promote()) {
        members_[id].set_is_learner(false);
        return;
      } else {
        kvpb::Member m = context.member();
        m.set_id(id);
        m.set_is_learner(cc.type() == raftpb::CONF_CHANGE_ADD_LEARNER_NODE);
        members_[id] = std::move(m);
      }
      return;
    case raftpb::CONF_CHANGE_REMOVE_NODE:
      members_.erase(id);
      removed_.insert(id);
      return;
    case raftpb::CONF_CHANGE_UPDATE_NODE:
      *members_[id].mutable_peer_urls() = context.member().peer_urls();
      return;
    default:
      return;
  }
}

void Membership::Publish(const kvpb::MemberAttributes& attributes) {
  auto it = members_.find(attributes.id());
  if (it == members_.end()) return;
  ++version_;
  it->second.set_name(attributes.name());
  *it->second.mutable_client_urls() = attributes.client_urls();
}

bool Membership::ReadyToAddVoter() const {
  int members = 1;  // the one to add
  int started = 0;
  for (const auto& [id, m] : members_) {
    if (m.is_learner()) continue;
    ++members;
    started += m.name().empty() ? 0 : 1;
  }
  if (started == 1 && members == 2) return true;  // a single member adds a second one
  return started >= members / 2 + 1;
}

bool Membership::ReadyToRemoveVoter(uint64_t id) const {
  int members = 0;
  int started = 0;
  for (const auto& [other, m] : members_) {
    if (m.is_learner() || other == id) continue;
    ++members;
    started += m.name().empty() ? 0 : 1;
  }
  return started >= members / 2 + 1;
}

bool Membership::ReadyToPromote(uint64_t id) const {
  int members = 0;
  int started = 0;
  for (const auto& [other, m] : members_) {
    if (m.is_learner() && other != id) continue;
    ++members;
    started += m.name().empty() ? 0 : 1;
  }
  if (started == 1 && members == 2) return true;
  return started >= members / 2 + 1;
}

std::vector<etcdserverpb::Member> Membership::ToEtcd() const {
  std::vector<etcdserverpb::Member> out;
  for (const auto& [id, m] : members_) {
    etcdserverpb::Member e;
    e.set_id(id);
    e.set_name(m.name());
    *e.mutable_peerurls() = m.peer_urls();
    *e.mutable_clienturls() = m.client_urls();
    e.set_islearner(m.is_learner());
    out.push_back(std::move(e));
  }
  return out;
}

void Membership::SaveTo(kvpb::StateSnapshot* snapshot) const {
  for (const auto& [id, m] : members_) *snapshot->add_cluster_members() = m;
  for (uint64_t id : removed_) snapshot->add_removed_member_ids(id);
}

void Membership::RestoreFrom(const kvpb::StateSnapshot& snapshot) {
  members_.clear();
  removed_.clear();
  for (const kvpb::Member& m : snapshot.cluster_members()) members_[m.id()] = m;
  removed_.insert(snapshot.removed_member_ids().begin(), snapshot.removed_member_ids().end());
  ++version_;
}

}  // namespace detcd::kv
