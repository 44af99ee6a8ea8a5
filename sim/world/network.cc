#include "sim/world/network.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "base/check.h"
#include "base/little_endian.h"
#include "raft/message_names.h"

namespace detcd::sim {

namespace {

std::string GroupString(const std::vector<uint64_t>& nodes) { return absl::StrCat("{", absl::StrJoin(nodes, " "), "}"); }

std::string TimeString(TimeUs t_us) { return absl::StrCat(t_us / 1'000'000, ".", absl::StrFormat("%06d", t_us % 1'000'000), "s"); }

}  // namespace

Network::Network(const NetworkOptions& options, int nodes, EventLoop* loop, Prng* prng, Trace* trace, DeliverFn deliver)
    : options_(options),
      nodes_(nodes),
      loop_(loop),
      prng_(prng),
      trace_(trace),
      deliver_(std::move(deliver)),
      block_count_(nodes + 1, std::vector<int>(nodes + 1, 0)),
      clog_count_(nodes + 1, std::vector<int>(nodes + 1, 0)),
      append_delay_us_(nodes + 1, 0) {
  DETCD_CHECK(nodes >= 1);
  DETCD_CHECK(loop != nullptr && prng != nullptr);
  DETCD_CHECK(options.latency_min_us >= 0);
  DETCD_CHECK_MSG(options.latency_min_us <= options.latency_max_us, "latency_min_us > latency_max_us");
  DETCD_CHECK(options.reorder_delay_max_us >= 0);
  for (double p : {options.drop_probability, options.duplicate_probability, options.reorder_probability}) {
    DETCD_CHECK_MSG(p >= 0 && p <= 1, "probability outside [0, 1]");
  }
}

void Network::NodeOutOfRange(uint64_t id) {
  DETCD_CHECK_MSG(false, absl::StrCat("node id ", id, " out of range").c_str());
  std::abort();
}

uint64_t Network::HostOf(uint64_t id) const {
  if (!host_of_) {
    CheckNode(id);
    return id;
  }
  const uint64_t host = host_of_(id);
  if (host != 0) CheckNode(host);
  return host;
}

void Network::Record(const std::string& line) {
  if (trace_ != nullptr) trace_->Record(loop_->Now(), line);
}

TimeUs Network::DrawLatency() {
  const TimeUs lo = options_.latency_min_us;
  const TimeUs hi = options_.latency_max_us;
  if (options_.distribution == LatencyDistribution::kUniform) {
    return static_cast<TimeUs>(prng_->Range(static_cast<uint64_t>(lo), static_cast<uint64_t>(hi)));
  }
  const TimeUs mean_us = options_.latency_mean_us > 0 ? options_.latency_mean_us : lo + (hi - lo) / 5;
  const double tail_mean_us = static_cast<double>(std::max<TimeUs>(mean_us - lo, 0));
  // Inverse CDF of the exponential distribution, by hand: std:: distributions differ between library versions.
  // 1 - Unit() is in (0, 1], so the log is finite.
  const double tail_us = -tail_mean_us * std::log(1.0 - prng_->Unit());
  const double capped_us = std::min(tail_us, static_cast<double>(hi - lo));
  return lo + static_cast<TimeUs>(capped_us);
}

void Network::Send(raftpb::Message&& m) {
  const uint64_t from = HostOf(m.from());
  const uint64_t to = HostOf(m.to());
  ++stats_.sent;
  if (from == 0 || to == 0) {
    ++stats_.dropped_unroutable;
    Record(absl::StrCat("net drop ", DescribeMessage(m), " (no host runs ", from == 0 ? m.from() : m.to(), ")"));
    return;
  }
  if (Blocked(from, to)) {
    ++stats_.dropped_blocked;
    Record(absl::StrCat("net drop ", DescribeMessage(m), " (link blocked)"));
    return;
  }
  if (prng_->Chance(options_.drop_probability)) {
    ++stats_.dropped_random;
    Record(absl::StrCat("net drop ", DescribeMessage(m), " (random)"));
    return;
  }
  int copies = 1;
  if (prng_->Chance(options_.duplicate_probability)) {
    ++copies;
    ++stats_.duplicated;
    Record(absl::StrCat("net duplicate ", DescribeMessage(m)));
  }
  // Copies share one immutable message: a duplicate costs no second proto copy.
  auto shared = std::make_shared<const raftpb::Message>(std::move(m));
  const raftpb::Message& sent = *shared;
  const TimeUs reorder_max_us =
      options_.reorder_delay_max_us > 0 ? options_.reorder_delay_max_us : 5 * std::max<TimeUs>(options_.latency_max_us, 1);
  for (int i = 0; i < copies; ++i) {
    TimeUs delay_us = DrawLatency();
    if (prng_->Chance(options_.reorder_probability)) {
      ++stats_.reordered;
      delay_us += static_cast<TimeUs>(prng_->Range(1, static_cast<uint64_t>(reorder_max_us)));
    }
    if (sent.type() == raftpb::MSG_APP || sent.type() == raftpb::MSG_SNAP) delay_us += append_delay_us_[to];
    const TimeUs arrival_us = loop_->Now() + delay_us;
    ++in_flight_;
    if (Clogged(from, to)) {
      ++stats_.clogged;
      held_[{from, to}].push_back(Held{shared, arrival_us});
    } else {
      ScheduleDelivery(shared, arrival_us);
    }
  }
}

void Network::ScheduleDelivery(std::shared_ptr<const raftpb::Message> m, TimeUs at_us) {
  // The message waits in a numbered place of its own, so the event captures two words (std::function holds them
  // without an allocation; a shared_ptr beside `this` would not fit). Deliveries are never cancelled.
  uint32_t place;
  if (!free_places_.empty()) {
    place = free_places_.back();
    free_places_.pop_back();
  } else {
    place = static_cast<uint32_t>(travelling_.size());
    travelling_.emplace_back();
  }
  DETCD_CHECK(travelling_[place] == nullptr);
  travelling_[place] = std::move(m);
  loop_->Schedule(at_us, [this, place] {
    std::shared_ptr<const raftpb::Message> arrived = std::move(travelling_[place]);  // leaves the place empty
    free_places_.push_back(place);
    Deliver(std::move(arrived));
  });
}

void Network::Deliver(std::shared_ptr<const raftpb::Message> shared) {
  const raftpb::Message& m = *shared;
  DETCD_CHECK(in_flight_ > 0);
  --in_flight_;
  // A cut that happened while the message travelled loses it, as a real one would.
  const uint64_t from = HostOf(m.from());
  const uint64_t to = HostOf(m.to());
  if (from == 0 || to == 0) {
    ++stats_.dropped_unroutable;
    Record(absl::StrCat("net drop ", DescribeMessage(m), " (no host runs ", from == 0 ? m.from() : m.to(), ")"));
    return;
  }
  if (Blocked(from, to)) {
    ++stats_.dropped_in_flight;
    Record(absl::StrCat("net drop ", DescribeMessage(m), " (link cut in flight)"));
    return;
  }
  ++stats_.delivered;
  DETCD_CHECK_MSG(deliver_ != nullptr, "network has no delivery callback");
  deliver_(std::move(shared));
}

bool Network::Blocked(uint64_t from, uint64_t to) const {
  CheckNode(from);
  CheckNode(to);
  return block_count_[from][to] > 0;
}

bool Network::Clogged(uint64_t from, uint64_t to) const {
  CheckNode(from);
  CheckNode(to);
  return clog_count_[from][to] > 0;
}

Network::FaultId Network::AddBlockFault(std::string description, std::vector<Link> links) {
  std::sort(links.begin(), links.end());
  links.erase(std::unique(links.begin(), links.end()), links.end());
  for (const Link& l : links) ++block_count_[l.first][l.second];
  const FaultId id = next_fault_id_++;
  Record(absl::StrCat("net ", description, " [f", id, "]"));
  Fault& f = faults_[id];
  f.description = std::move(description);
  f.blocked = std::move(links);
  return id;
}

Network::FaultId Network::Isolate(uint64_t node) {
  CheckNode(node);
  std::vector<Link> links;
  for (uint64_t other = 1; other <= static_cast<uint64_t>(nodes_); ++other) {
    if (other == node) continue;
    links.push_back({node, other});
    links.push_back({other, node});
  }
  return AddBlockFault(absl::StrCat("isolate ", node), std::move(links));
}

Network::FaultId Network::Partition(const std::vector<std::vector<uint64_t>>& groups) {
  const int unlisted_group = static_cast<int>(groups.size());
  std::vector<int> group_of(nodes_ + 1, unlisted_group);
  std::vector<std::string> parts;
  for (int g = 0; g < static_cast<int>(groups.size()); ++g) {
    for (uint64_t node : groups[g]) {
      CheckNode(node);
      DETCD_CHECK_MSG(group_of[node] == unlisted_group, "node in two partition groups");
      group_of[node] = g;
    }
    parts.push_back(GroupString(groups[g]));
  }
  std::vector<uint64_t> rest;
  for (uint64_t n = 1; n <= static_cast<uint64_t>(nodes_); ++n) {
    if (group_of[n] == unlisted_group) rest.push_back(n);
  }
  if (!rest.empty()) parts.push_back(GroupString(rest));
  std::vector<Link> links;
  for (uint64_t a = 1; a <= static_cast<uint64_t>(nodes_); ++a) {
    for (uint64_t b = 1; b <= static_cast<uint64_t>(nodes_); ++b) {
      if (group_of[a] != group_of[b]) links.push_back({a, b});
    }
  }
  return AddBlockFault(absl::StrCat("partition ", absl::StrJoin(parts, " ")), std::move(links));
}

Network::FaultId Network::BlockOneWay(uint64_t from, uint64_t to) {
  CheckNode(from);
  CheckNode(to);
  DETCD_CHECK(from != to);
  return AddBlockFault(absl::StrCat("block ", from, "->", to), {{from, to}});
}

Network::FaultId Network::Bridge(uint64_t node, const std::vector<uint64_t>& side_a,
                                 const std::vector<uint64_t>& side_b) {
  CheckNode(node);
  std::vector<Link> links;
  for (uint64_t a : side_a) {
    CheckNode(a);
    DETCD_CHECK_MSG(a != node, "bridge node on a side");
    for (uint64_t b : side_b) {
      CheckNode(b);
      DETCD_CHECK_MSG(a != b && b != node, "bridge sides overlap");
      links.push_back({a, b});
      links.push_back({b, a});
    }
  }
  return AddBlockFault(absl::StrCat("bridge ", node, " between ", GroupString(side_a), " and ", GroupString(side_b)),
                       std::move(links));
}

Network::FaultId Network::Clog(uint64_t from, uint64_t to, TimeUs until_us) {
  CheckNode(from);
  CheckNode(to);
  DETCD_CHECK(from != to);
  DETCD_CHECK_MSG(until_us >= loop_->Now(), "clog ends in the past");
  const FaultId id = next_fault_id_++;
  ++clog_count_[from][to];
  Fault& f = faults_[id];
  f.description = absl::StrCat("clog ", from, "->", to, " until ", TimeString(until_us));
  f.is_clog = true;
  f.clog_link = {from, to};
  f.expiry_event = loop_->Schedule(until_us, [this, id] { Remove(id); });
  Record(absl::StrCat("net ", f.description, " [f", id, "]"));
  return id;
}

Network::FaultId Network::SlowAppends(uint64_t to, TimeUs extra_us) {
  CheckNode(to);
  DETCD_CHECK(extra_us > 0);
  const FaultId id = next_fault_id_++;
  append_delay_us_[to] += extra_us;
  Fault& f = faults_[id];
  f.description = absl::StrCat("appends to ", to, " slowed by ", TimeString(extra_us));
  f.slow_to = to;
  f.slow_us = extra_us;
  Record(absl::StrCat("net ", f.description, " [f", id, "]"));
  return id;
}

void Network::Remove(FaultId id) {
  auto it = faults_.find(id);
  if (it == faults_.end()) return;
  Fault f = std::move(it->second);
  faults_.erase(it);
  Record(absl::StrCat("net end [f", id, "] ", f.description));
  for (const Link& l : f.blocked) {
    DETCD_CHECK(block_count_[l.first][l.second] > 0);
    --block_count_[l.first][l.second];
  }
  if (f.slow_to != 0) {
    DETCD_CHECK(append_delay_us_[f.slow_to] >= f.slow_us);
    append_delay_us_[f.slow_to] -= f.slow_us;
  }
  if (!f.is_clog) return;
  loop_->Cancel(f.expiry_event);
  const auto [from, to] = f.clog_link;
  DETCD_CHECK(clog_count_[from][to] > 0);
  if (--clog_count_[from][to] > 0) return;
  auto held = held_.find(f.clog_link);
  if (held == held_.end()) return;
  // Schedule in send order: messages due at the same instant keep their order.
  for (Held& h : held->second) ScheduleDelivery(std::move(h.message), std::max(h.arrival_us, loop_->Now()));
  held_.erase(held);
}

void Network::Heal() {
  Record("net heal");
  while (!faults_.empty()) Remove(faults_.begin()->first);
  DETCD_CHECK(held_.empty());
}

MessageKeyBytes MessageKey(const raftpb::Message& m) {
  const uint64_t fields[] = {m.from(),   m.to(),     static_cast<uint64_t>(m.type()),
                             m.term(),   m.index(),  m.log_term(),
                             m.commit(), static_cast<uint64_t>(m.entries_size()), m.reject() ? 1u : 0u,
                             m.reject_hint()};
  static_assert(sizeof(fields) == std::tuple_size_v<MessageKeyBytes>, "one key byte per field byte");
  MessageKeyBytes key;
  char* at = key.data();
  for (uint64_t f : fields) at = StoreLittleEndian(at, f, 8);
  return key;
}

std::string DescribeMessage(const raftpb::Message& m) {
  std::string s = absl::StrCat(m.from(), "->", m.to(), " ", raft::MessageTypeName(m.type()), " t", m.term());
  switch (m.type()) {
    case raftpb::MSG_APP:
      absl::StrAppend(&s, " i", m.index(), "/", m.log_term(), " c", m.commit(), " n", m.entries_size());
      break;
    case raftpb::MSG_APP_RESP:
      absl::StrAppend(&s, " i", m.index());
      if (m.reject()) absl::StrAppend(&s, " rej hint ", m.reject_hint(), "/", m.log_term());
      break;
    case raftpb::MSG_VOTE:
    case raftpb::MSG_PRE_VOTE:
      absl::StrAppend(&s, " last ", m.index(), "/", m.log_term());
      break;
    case raftpb::MSG_VOTE_RESP:
    case raftpb::MSG_PRE_VOTE_RESP:
      if (m.reject()) absl::StrAppend(&s, " rej");
      break;
    case raftpb::MSG_HEARTBEAT:
      absl::StrAppend(&s, " c", m.commit());
      break;
    case raftpb::MSG_PROP:
      absl::StrAppend(&s, " n", m.entries_size());
      break;
    default:
      break;
  }
  return s;
}

}  // namespace detcd::sim
