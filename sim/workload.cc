#include "sim/workload.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace detcd::sim {

Workload::Workload(const WorkloadOptions& options, Cluster* cluster, EventLoop* loop, Prng* prng, Trace* trace)
    : options_(options), cluster_(cluster), loop_(loop), prng_(prng), trace_(trace) {
  DETCD_CHECK(options_.clients >= 1);
  client_busy_.assign(options_.clients, false);
  client_leader_hint_.assign(options_.clients, 0);
}

void Workload::Start(int64_t stop_issuing_us) {
  stop_issuing_us_ = stop_issuing_us;
  if (options_.proposals_per_sec > 0) ScheduleNextArrival();
}

void Workload::ScheduleNextArrival() {
  // Poisson arrivals: exponential gaps drawn by inverse CDF from the seeded generator.
  const double mean_us = 1e6 / options_.proposals_per_sec;
  const double u = prng_->Unit();
  int64_t gap = static_cast<int64_t>(-std::log(1.0 - u) * mean_us);
  if (gap < 1) gap = 1;
  if (loop_->Now() + gap >= stop_issuing_us_) return;
  loop_->ScheduleAfter(gap, [this] {
    Issue();
    ScheduleNextArrival();
  });
}

uint64_t Workload::PickTarget(int client) {
  uint64_t hint = client_leader_hint_[client];
  if (hint != 0) return hint;
  return prng_->Range(1, static_cast<uint64_t>(cluster_->size()));
}

int64_t Workload::ClientLatency() {
  return static_cast<int64_t>(prng_->Range(static_cast<uint64_t>(options_.client_latency_min_us),
                                           static_cast<uint64_t>(options_.client_latency_max_us)));
}

void Workload::Issue() {
  // An arrival finds an idle client, or is shed: clients wait for their previous request (closed loop).
  int client = -1;
  const int start = static_cast<int>(prng_->Uniform(static_cast<uint64_t>(options_.clients)));
  for (int i = 0; i < options_.clients; ++i) {
    const int c = (start + i) % options_.clients;
    if (!client_busy_[c]) {
      client = c;
      break;
    }
  }
  if (client < 0) return;
  client_busy_[client] = true;
  std::string value = absl::StrCat("c", client, "-", next_seq_++, ":");
  if (static_cast<int>(value.size()) < options_.value_bytes) value.resize(options_.value_bytes, 'x');
  Request& r = pending_[RequestId(value)];
  r.value = value;
  r.client = client;
  ++stats_.issued;
  SendAttempt(RequestId(value), PickTarget(client));
}

void Workload::SendAttempt(const std::string& id, uint64_t target) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  Request& r = it->second;
  const uint64_t attempt = ++r.attempt;
  ++stats_.attempts;
  trace_->Record(loop_->Now(), absl::StrCat("client ", r.client, " proposes ", id, " to node ", target));
  // The request travels to the node; if it arrives to a node that is down, or Raft drops it, the client hears
  // (or times out) and retries.
  loop_->ScheduleAfter(ClientLatency(), [this, id, target, attempt] {
    auto it = pending_.find(id);
    if (it == pending_.end() || it->second.attempt != attempt) return;
    absl::Status s = cluster_->Propose(target, it->second.value);
    if (s.ok()) {
      it->second.sent_to.insert(target);
      return;  // now wait for the apply, or the timeout below
    }
    // An immediate error: the client learns it after a round trip and tries the node's leader hint.
    client_leader_hint_[it->second.client] = cluster_->IsUp(target) ? cluster_->LeaderHint(target) : 0;
    if (client_leader_hint_[it->second.client] == target) client_leader_hint_[it->second.client] = 0;
    Retry(id, ClientLatency() + 10'000);
  });
  loop_->ScheduleAfter(options_.request_timeout_us, [this, id, attempt] {
    auto it = pending_.find(id);
    if (it == pending_.end() || it->second.attempt != attempt) return;
    client_leader_hint_[it->second.client] = 0;  // whoever we asked did not answer: forget it
    Retry(id, 0);
  });
}

void Workload::Retry(const std::string& id, int64_t delay_us) {
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  ++stats_.retries;
  const uint64_t attempt = ++it->second.attempt;  // cancels the previous attempt's timeout
  loop_->ScheduleAfter(delay_us, [this, id, attempt] {
    auto it = pending_.find(id);
    if (it == pending_.end() || it->second.attempt != attempt) return;
    // Ask around for the leader as a client library does: a random live node's hint, else a random node.
    uint64_t target = PickTarget(it->second.client);
    if (!cluster_->IsUp(target)) target = prng_->Range(1, static_cast<uint64_t>(cluster_->size()));
    const uint64_t hint = cluster_->IsUp(target) ? cluster_->LeaderHint(target) : 0;
    SendAttempt(id, hint != 0 ? hint : target);
  });
}

void Workload::OnApply(uint64_t node, const raftpb::Entry& entry) {
  if (entry.data().empty()) return;  // a new leader's empty entry
  const std::string id = RequestId(entry.data());

  auto it = pending_.find(id);
  if (it == pending_.end() || it->second.sent_to.count(node) == 0) return;
  // The node the client asked has applied it: the reply goes back to the client.
  const int client = it->second.client;
  acknowledged_.push_back(id);
  ++stats_.acknowledged;
  client_busy_[client] = false;
  client_leader_hint_[client] = node;
  trace_->Record(loop_->Now(), absl::StrCat("client ", client, " acknowledged ", id, " by node ", node));
  pending_.erase(it);
}

std::vector<std::string> Workload::PendingValues() const {
  std::vector<std::string> out;
  for (const auto& [id, r] : pending_) out.push_back(id);
  return out;
}

}  // namespace detcd::sim
