#include "sim/workloads/membership_operator.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "kv/errors.h"

namespace detcd::sim {

namespace {

bool Is(const absl::Status& s, const absl::Status& error) {
  return s.code() == error.code() && s.message() == error.message();
}

std::string Outcome(const kv::ClientReply& r) { return r.status.ok() ? "ok" : std::string(r.status.message()); }

}  // namespace

MembershipOperator::MembershipOperator(const MembershipOperatorOptions& options, KvCluster* cluster,
                                       KvWorkload* workload, EventLoop* loop, Prng* prng, Trace* trace)
    : options_(options), cluster_(cluster), workload_(workload), loop_(loop), prng_(prng), trace_(trace) {
  DETCD_CHECK(options_.change_every_us > 0);
  DETCD_CHECK(options_.min_voters >= 1);
  for (uint64_t host = 1; host <= static_cast<uint64_t>(cluster_->size()); ++host) {
    const uint64_t id = cluster_->member(host);
    if (id == 0) continue;
    members_[id] = false;
    host_[id] = host;
  }
}

void MembershipOperator::Note(const std::string& what) {
  trace_->Record(loop_->Now(), absl::StrCat("operator: ", what));
}

int64_t MembershipOperator::Latency() {
  return static_cast<int64_t>(prng_->Range(static_cast<uint64_t>(options_.client_latency_min_us),
                                           static_cast<uint64_t>(options_.client_latency_max_us)));
}

int MembershipOperator::voters() const {
  int n = 0;
  for (const auto& [id, learner] : members_) n += learner ? 0 : 1;
  return n;
}

void MembershipOperator::Start(int64_t stop_us) {
  stop_us_ = stop_us;
  ScheduleNextChange();
}

void MembershipOperator::ScheduleNextChange() {
  const uint64_t mean = static_cast<uint64_t>(options_.change_every_us);
  loop_->ScheduleAfter(static_cast<int64_t>(prng_->Range(mean / 2, mean + mean / 2)), [this] { BeginChange(); });
}

void MembershipOperator::Finish() {
  Note(absl::StrCat("done: ", doing_));
  doing_.clear();
  ScheduleNextChange();
}

uint64_t MembershipOperator::Unknown(const kv::Membership* list) const {
  if (list == nullptr) return 0;
  for (const auto& [id, m] : list->members()) {
    // A member the operator removed is still in the list of a member that has not applied the removal yet.
    if (members_.count(id) == 0 && removed_.count(id) == 0) return id;
  }
  return 0;
}

std::string MembershipOperator::Differs(const kv::Membership& list) const {
  std::map<uint64_t, bool> actual;
  for (const auto& [id, m] : list.members()) actual[id] = m.is_learner();
  if (actual == members_) return "";
  std::string have, made;
  for (const auto& [id, learner] : actual)
    absl::StrAppend(&have, have.empty() ? "" : " ", id, learner ? "(learner)" : "");
  for (const auto& [id, learner] : members_)
    absl::StrAppend(&made, made.empty() ? "" : " ", id, learner ? "(learner)" : "");
  return absl::StrCat("the members are {", have, "}, the operator made {", made, "}");
}

void MembershipOperator::BeginChange() {
  DETCD_CHECK(idle());
  // A member the operator did not make: a member add it had given up on (its answer lost, and its peer URL then free
  // again because the member made by a retry was removed since), delayed in the network, that took effect late. It
  // is nobody's process: the operator removes it before anything else, after the fault phase too.
  if (const uint64_t stray = Unknown(ListMembers()); stray != 0) {
    doing_ = absl::StrCat("remove member ", stray, ", which the operator does not know (a late member add)");
    Note(doing_);
    return Remove(stray, [this] { Finish(); });
  }
  if (loop_->Now() >= stop_us_) return ScheduleNextChange();  // nothing but that after the fault phase
  std::vector<uint64_t> free;
  for (uint64_t host = 1; host <= static_cast<uint64_t>(cluster_->size()); ++host) {
    if (cluster_->member(host) == 0 && !cluster_->IsRefused(host)) free.push_back(host);
  }
  const int v = voters();
  const bool can_remove = v - 1 >= options_.min_voters;
  const bool can_grow = !free.empty();
  // Odd voter counts are the ones operators keep: from an even count, grow or shrink back to odd rather than replace.
  const uint64_t w_replace = can_remove ? (v % 2 == 1 ? 3 : 1) : 0;
  const uint64_t w_grow = can_grow ? (v % 2 == 1 ? 1 : 2) : 0;
  const uint64_t w_shrink = can_remove ? (v % 2 == 1 ? 1 : 2) : 0;
  if (w_replace + w_grow + w_shrink == 0) return ScheduleNextChange();
  const uint64_t roll = prng_->Range(0, w_replace + w_grow + w_shrink - 1);
  // etcd allows one learner at a time: an operator that keeps its learners adds voters while it has one.
  const bool learner = prng_->Chance(options_.learner_fraction) &&
                       (options_.promote_learners || static_cast<size_t>(v) == members_.size());
  if (roll < w_grow) {
    const uint64_t host = free[prng_->Range(0, free.size() - 1)];
    doing_ = absl::StrCat("grow: add a ", learner ? "learner" : "voter", " on host ", host);
    Note(doing_);
    return Add(host, learner, [this] { Finish(); });
  }
  // The member to remove: the leader now and then, a follower otherwise.
  std::vector<uint64_t> candidates;
  for (const auto& [id, is_learner] : members_) {
    if (!is_learner) candidates.push_back(id);
  }
  const uint64_t leader_host = cluster_->Leader();
  const uint64_t leader = leader_host == 0 ? 0 : cluster_->member(leader_host);
  uint64_t victim = 0;
  if (leader != 0 && members_.count(leader) > 0 && prng_->Chance(options_.remove_leader_fraction)) {
    victim = leader;
  } else {
    candidates.erase(std::remove(candidates.begin(), candidates.end(), leader), candidates.end());
    victim = candidates[prng_->Range(0, candidates.size() - 1)];
  }
  const bool is_leader = victim == leader;
  if (is_leader) ++stats_.leaders_removed;
  const uint64_t host = host_.at(victim);
  if (roll < w_grow + w_replace) {
    doing_ = absl::StrCat("replace ", is_leader ? "leader " : "member ", victim, " on host ", host, " by a new ",
                          learner ? "learner" : "voter");
    Note(doing_);
    return Remove(victim, [this, host, learner] { Add(host, learner, [this] { Finish(); }); });
  }
  doing_ = absl::StrCat("shrink: remove ", is_leader ? "leader " : "member ", victim, " on host ", host);
  Note(doing_);
  Remove(victim, [this] { Finish(); });
}

// ---- requests ----

bool MembershipOperator::Request(const kvpb::ClientRequest& req, ReplyFn reply) {
  std::vector<uint64_t> up;
  for (uint64_t host : workload_->endpoints()) {
    if (cluster_->core(host) != nullptr) up.push_back(host);
  }
  if (up.empty()) return false;
  const uint64_t host = up[prng_->Range(0, up.size() - 1)];
  const uint64_t attempt = ++attempt_;
  ++stats_.requests;
  auto answer = [this, attempt, host, reply](const kv::ClientReply& r) {
    if (attempt_ != attempt) return;  // given up on already
    ++attempt_;
    reply(r, host);
  };
  loop_->ScheduleAfter(Latency(), [this, host, req, answer] {
    const bool sent = cluster_->Submit(host, req, [this, answer](const kv::ClientReply& r) {
      loop_->ScheduleAfter(Latency(), [answer, r] { answer(r); });
    });
    if (!sent) {
      kv::ClientReply refused;
      refused.status = absl::UnavailableError("connection refused");
      answer(refused);
    }
  });
  loop_->ScheduleAfter(options_.request_timeout_us, [answer] {
    kv::ClientReply timed_out;
    timed_out.status = absl::DeadlineExceededError("timed out");
    answer(timed_out);
  });
  if (up.size() >= 2 && prng_->Chance(options_.impatient_fraction)) {
    // The same change from a second terminal, to another member: two changes pending at once (Raft turns the second
    // into an empty entry while the first is not applied; its requester then hears nothing and times out). Only its
    // answer is noted; the first request's answer is the one the operator goes by.
    uint64_t other = up[prng_->Range(0, up.size() - 2)];
    if (other == host) other = up.back();
    ++stats_.impatient;
    loop_->ScheduleAfter(Latency(), [this, other, req] {
      cluster_->Submit(other, req, [this, other, req](const kv::ClientReply& r) {
        Note(absl::StrCat("second terminal: ", req.ShortDebugString(), " via host ", other, ": ", Outcome(r)));
      });
    });
  }
  return true;
}

const kv::Membership* MembershipOperator::ListMembers() {
  std::vector<uint64_t> up;
  for (uint64_t host : workload_->endpoints()) {
    if (cluster_->core(host) != nullptr && !cluster_->IsPaused(host)) up.push_back(host);
  }
  if (up.empty()) return nullptr;
  return &cluster_->core(up[prng_->Range(0, up.size() - 1)])->membership();
}

void MembershipOperator::Retry(std::function<void()> attempt) {
  loop_->ScheduleAfter(static_cast<int64_t>(prng_->Range(200'000, 800'000)), std::move(attempt));
}

void MembershipOperator::UpdateEndpoints() {
  std::vector<uint64_t> hosts;
  for (const auto& [id, learner] : members_) {
    if (!learner) hosts.push_back(host_.at(id));
  }
  workload_->SetEndpoints(std::move(hosts));
}

// ---- remove ----

void MembershipOperator::Remove(uint64_t id, Done done) { RemoveAttempt(id, std::move(done)); }

void MembershipOperator::RemoveAttempt(uint64_t id, Done done) {
  kvpb::ClientRequest req;
  req.mutable_member_remove()->set_id(id);
  const bool sent = Request(req, [this, id, done](const kv::ClientReply& r, uint64_t host) {
    Note(absl::StrCat("member remove ", id, " via host ", host, ": ", Outcome(r)));
    if (r.status.ok()) return Removed(id, done);
    if (Is(r.status, kv::ErrMemberNotFound())) {
      // Definite only if that member knows the id was removed: one that lags may not know the member at all.
      const kv::NodeCore* core = cluster_->core(host);
      if (core != nullptr && core->membership().IsRemoved(id)) return Removed(id, done);
    } else if (!Is(r.status, kv::ErrMemberNotEnoughStarted()) && !Is(r.status, kv::ErrNotSupportedForLearner())) {
      // No answer, or an error that does not say whether the change was made: look at the list of members.
      ++stats_.unknown;
      if (const kv::Membership* list = ListMembers(); list != nullptr && list->IsRemoved(id)) {
        Note(absl::StrCat("the member list shows ", id, " removed"));
        return Removed(id, done);
      }
    }
    Retry([this, id, done] { RemoveAttempt(id, done); });
  });
  if (!sent) Retry([this, id, done] { RemoveAttempt(id, done); });
}

void MembershipOperator::Removed(uint64_t id, Done done) {
  ++stats_.removed;
  removed_.insert(id);
  auto it = host_.find(id);
  if (it == host_.end()) {  // a member the operator did not make: it runs nowhere
    ++stats_.strays_removed;
    return done();
  }
  const uint64_t host = it->second;
  members_.erase(id);
  host_.erase(id);
  UpdateEndpoints();
  // The removed member stops by itself once it applies its removal; if it never learns of it (cut off, or down), the
  // operator shuts it down a little later, for good.
  loop_->ScheduleAfter(static_cast<int64_t>(prng_->Range(0, 1'000'000)), [this, host, done] {
    cluster_->Decommission(host);
    done();
  });
}

// ---- add, promote ----

void MembershipOperator::Add(uint64_t host, bool learner, Done done) {
  // A peer URL no member ever had: the operator finds its member by it when an answer is lost.
  const std::string url = absl::StrCat("http://host", host, "-", next_url_++, ".sim:2380");
  AddAttempt(host, learner, url, std::move(done));
}

void MembershipOperator::AddAttempt(uint64_t host, bool learner, const std::string& url, Done done) {
  kvpb::ClientRequest req;
  req.mutable_member_add()->add_peerurls(url);
  req.mutable_member_add()->set_islearner(learner);
  auto find = [url](const kv::Membership* list) -> uint64_t {
    if (list == nullptr) return 0;
    for (const auto& [id, m] : list->members()) {
      if (std::find(m.peer_urls().begin(), m.peer_urls().end(), url) != m.peer_urls().end()) return id;
    }
    return 0;
  };
  const bool sent = Request(req, [this, host, learner, url, done, find](const kv::ClientReply& r, uint64_t via) {
    Note(absl::StrCat("member add ", url, learner ? " as learner" : "", " via host ", via, ": ", Outcome(r)));
    if (r.status.ok()) return Added(host, learner, r.response.member_add().member().id(), done);
    if (Is(r.status, kv::ErrPeerURLExist())) {
      // An earlier attempt took effect: that member has it in its list.
      const kv::NodeCore* core = cluster_->core(via);
      if (const uint64_t id = find(core == nullptr ? nullptr : &core->membership()); id != 0) {
        return Added(host, learner, id, done);
      }
    } else if (!Is(r.status, kv::ErrMemberNotEnoughStarted()) && !Is(r.status, kv::ErrNotSupportedForLearner())) {
      ++stats_.unknown;
      if (const uint64_t id = find(ListMembers()); id != 0) {
        Note(absl::StrCat("the member list shows ", url, " as member ", id));
        return Added(host, learner, id, done);
      }
    }
    if (Is(r.status, kv::ErrTooManyLearners())) {
      // The learner there is not the operator's (see BeginChange): it goes first.
      const kv::NodeCore* core = cluster_->core(via);
      if (const uint64_t stray = Unknown(core == nullptr ? nullptr : &core->membership()); stray != 0) {
        Note(absl::StrCat("remove member ", stray, " first, which the operator does not know (a late member add)"));
        return Remove(stray, [this, host, learner, url, done] { AddAttempt(host, learner, url, done); });
      }
    }
    Retry([this, host, learner, url, done] { AddAttempt(host, learner, url, done); });
  });
  if (!sent) Retry([this, host, learner, url, done] { AddAttempt(host, learner, url, done); });
}

void MembershipOperator::Added(uint64_t host, bool learner, uint64_t id, Done done) {
  DETCD_CHECK_MSG(id != 0 && members_.count(id) == 0, "member add answered with an id the operator knows");
  ++stats_.added;
  members_[id] = learner;
  host_[id] = host;
  // The new member's process starts a little later (provisioning), on its wiped host.
  loop_->ScheduleAfter(static_cast<int64_t>(prng_->Range(100'000, 1'000'000)), [this, host, learner, id, done] {
    cluster_->StartNewMember(host, id);
    if (!learner || !options_.promote_learners) {
      UpdateEndpoints();
      return done();
    }
    PromoteAttempt(id, done);
  });
}

void MembershipOperator::PromoteAttempt(uint64_t id, Done done) {
  kvpb::ClientRequest req;
  req.mutable_member_promote()->set_id(id);
  const bool sent = Request(req, [this, id, done](const kv::ClientReply& r, uint64_t via) {
    Note(absl::StrCat("member promote ", id, " via host ", via, ": ", Outcome(r)));
    if (r.status.ok() || Is(r.status, kv::ErrMemberNotLearner())) return Promoted(id, done);
    if (Is(r.status, kv::ErrLearnerNotReady())) {
      ++stats_.not_ready;
    } else if (!Is(r.status, kv::ErrMemberNotFound()) && !Is(r.status, kv::ErrMemberNotEnoughStarted()) &&
               !Is(r.status, kv::ErrNotSupportedForLearner())) {
      ++stats_.unknown;
      const kv::Membership* list = ListMembers();
      if (const kvpb::Member* m = list == nullptr ? nullptr : list->Find(id); m != nullptr && !m->is_learner()) {
        Note(absl::StrCat("the member list shows ", id, " promoted"));
        return Promoted(id, done);
      }
    }
    Retry([this, id, done] { PromoteAttempt(id, done); });
  });
  if (!sent) Retry([this, id, done] { PromoteAttempt(id, done); });
}

void MembershipOperator::Promoted(uint64_t id, Done done) {
  ++stats_.promoted;
  members_[id] = false;
  UpdateEndpoints();
  done();
}

}  // namespace detcd::sim
