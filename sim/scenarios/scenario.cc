#include "sim/scenarios/scenario.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <set>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/check.h"
#include "google/protobuf/io/tokenizer.h"
#include "google/protobuf/text_format.h"

namespace detcd::sim {

namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::TextFormat;

// Limits that keep virtual times far from int64 overflow and catch unit mistakes (seconds written as ms...).
constexpr int64_t kMaxDurationMs = 24LL * 3600 * 1000;
constexpr int64_t kMaxLatencyUs = 60LL * 1000 * 1000;

// Collects the text-format parser's complaints with their (0-based) positions.
class CollectingErrorCollector : public google::protobuf::io::ErrorCollector {
 public:
  explicit CollectingErrorCollector(std::string filename) : filename_(std::move(filename)) {}

  void AddError(int line, int column, const std::string& message) override {
    errors_.push_back(absl::StrCat(filename_, ":", line + 1, ":", column + 1, ": ", message));
  }
  void AddWarning(int line, int column, const std::string& message) override {
    errors_.push_back(absl::StrCat(filename_, ":", line + 1, ":", column + 1, ": warning: ", message));
  }

  const std::vector<std::string>& errors() const { return errors_; }

 private:
  std::string filename_;
  std::vector<std::string> errors_;
};

// One step of a field path: a field name and, for repeated fields, the element index (-1 otherwise).
struct PathStep {
  const char* field;
  int index;
};

// Semantic checks over a parsed scenario. Each error names the field path, and the position of the innermost
// element of that path the file actually spells out (an unset field has none: its enclosing block's is used).
class Validator {
 public:
  Validator(const simpb::Scenario& s, const TextFormat::ParseInfoTree* tree, std::string filename)
      : s_(s), tree_(tree), filename_(std::move(filename)) {}

  std::vector<std::string> Run();

 private:
  using Path = std::vector<PathStep>;

  void Error(const Path& path, const std::string& reason);
  std::string PathString(const Path& path) const;
  // Position (0-based line, column) of the deepest located element of path, or line -1.
  TextFormat::ParseLocation Locate(const Path& path) const;

  void CheckTop();
  void CheckRaft();
  void CheckWorkload();
  void CheckNetwork();
  void CheckDisk();
  void CheckFault(int i);
  void CheckSwarm();
  void CheckMembership();
  void CheckAutoCompaction();
  void CheckNodeId(const Path& path, uint64_t node);
  void CheckTarget(const Path& path, const simpb::Target& target, bool present);
  void CheckPair(const Path& path, const simpb::Target& from, bool has_from, const simpb::Target& to, bool has_to);
  void CheckProbability(const Path& path, double p);

  static Path Append(Path path, PathStep step) {
    path.push_back(step);
    return path;
  }

  const simpb::Scenario& s_;
  const TextFormat::ParseInfoTree* tree_;
  std::string filename_;
  int nodes_ = 3;
  std::vector<std::string> errors_;
};

std::string Validator::PathString(const Path& path) const {
  std::string out;
  for (const PathStep& step : path) {
    if (!out.empty()) out += ".";
    out += step.field;
    if (step.index >= 0) absl::StrAppend(&out, "[", step.index, "]");
  }
  return out;
}

TextFormat::ParseLocation Validator::Locate(const Path& path) const {
  TextFormat::ParseLocation best(-1, -1);
  const TextFormat::ParseInfoTree* tree = tree_;
  const Descriptor* descriptor = simpb::Scenario::descriptor();
  for (const PathStep& step : path) {
    if (tree == nullptr || descriptor == nullptr) break;
    const FieldDescriptor* field = descriptor->FindFieldByName(step.field);
    DETCD_CHECK_MSG(field != nullptr, step.field);
    // The parse tree wants index -1 for singular fields and a real index for repeated ones.
    const int index = field->is_repeated() ? std::max(step.index, 0) : -1;
    const TextFormat::ParseLocation here = tree->GetLocation(field, index);
    if (here.line < 0) break;
    best = here;
    if (field->cpp_type() != FieldDescriptor::CPPTYPE_MESSAGE) break;
    tree = tree->GetTreeForNested(field, index);
    descriptor = field->message_type();
  }
  return best;
}

void Validator::Error(const Path& path, const std::string& reason) {
  const TextFormat::ParseLocation where = Locate(path);
  const std::string position = where.line >= 0 ? absl::StrCat(":", where.line + 1, ":", where.column + 1) : "";
  errors_.push_back(absl::StrCat(filename_, position, ": ", PathString(path), ": ", reason));
}

std::vector<std::string> Validator::Run() {
  CheckTop();
  CheckRaft();
  CheckWorkload();
  CheckNetwork();
  CheckDisk();
  for (int i = 0; i < s_.faults_size(); ++i) CheckFault(i);
  CheckSwarm();
  CheckMembership();
  CheckAutoCompaction();
  return errors_;
}

void Validator::CheckTop() {
  if (s_.has_nodes()) {
    if (s_.nodes() < 1 || s_.nodes() > kMaxNodes) {
      Error({{"nodes", -1}}, absl::StrCat(s_.nodes(), " is outside 1..", kMaxNodes));
    } else {
      nodes_ = static_cast<int>(s_.nodes());
    }
  }
  if (s_.duration_ms() <= 0 || s_.duration_ms() > kMaxDurationMs) {
    Error({{"duration_ms", -1}},
          absl::StrCat("must be in 1..", kMaxDurationMs, " (the fault phase), got ", s_.duration_ms()));
  }
  if (s_.liveness_bound_ms() <= 0 || s_.liveness_bound_ms() > kMaxDurationMs) {
    Error({{"liveness_bound_ms", -1}},
          absl::StrCat("must be in 1..", kMaxDurationMs, " (time allowed to converge after the heal), got ",
                       s_.liveness_bound_ms()));
  }
  if (s_.has_tick_ms() && (s_.tick_ms() < 1 || s_.tick_ms() > 10'000)) {
    Error({{"tick_ms", -1}}, absl::StrCat(s_.tick_ms(), " is outside 1..10000"));
  }
}

void Validator::CheckRaft() {
  const simpb::RaftConfig& r = s_.raft();
  const int election = r.has_election_ticks() ? static_cast<int>(r.election_ticks()) : RaftSettings().election_ticks;
  const int heartbeat =
      r.has_heartbeat_ticks() ? static_cast<int>(r.heartbeat_ticks()) : RaftSettings().heartbeat_ticks;
  if (r.has_election_ticks() && (r.election_ticks() < 1 || r.election_ticks() > 10'000)) {
    Error({{"raft", -1}, {"election_ticks", -1}}, absl::StrCat(r.election_ticks(), " is outside 1..10000"));
  }
  if (r.has_heartbeat_ticks() && r.heartbeat_ticks() < 1) {
    Error({{"raft", -1}, {"heartbeat_ticks", -1}}, "must be >= 1");
  }
  if (heartbeat >= election) {
    Error({{"raft", -1}, {r.has_heartbeat_ticks() ? "heartbeat_ticks" : "election_ticks", -1}},
          absl::StrCat("heartbeat_ticks (", heartbeat, ") must be less than election_ticks (", election, ")"));
  }
  if (r.has_max_inflight_msgs() && r.max_inflight_msgs() < 1) {
    Error({{"raft", -1}, {"max_inflight_msgs", -1}}, "must be >= 1");
  }
  if (r.has_max_size_per_msg_bytes() && r.max_size_per_msg_bytes() < 1) {
    Error({{"raft", -1}, {"max_size_per_msg_bytes", -1}}, "must be >= 1");
  }
}

void Validator::CheckWorkload() {
  const simpb::Workload& w = s_.workload();
  const Path at{{"workload", -1}};
  if (w.has_proposals_per_sec() && !(w.proposals_per_sec() >= 0 && w.proposals_per_sec() <= 1e6)) {
    Error(Append(at, {"proposals_per_sec", -1}), absl::StrCat(w.proposals_per_sec(), " is outside [0, 1000000]"));
  }
  if (w.has_clients() && (w.clients() < 1 || w.clients() > 10'000)) {
    Error(Append(at, {"clients", -1}), absl::StrCat(w.clients(), " is outside 1..10000"));
  }
  if (w.has_request_timeout_ms() && (w.request_timeout_ms() < 1 || w.request_timeout_ms() > kMaxDurationMs)) {
    Error(Append(at, {"request_timeout_ms", -1}), absl::StrCat("must be > 0, got ", w.request_timeout_ms()));
  }
  if (w.has_value_bytes() && (w.value_bytes() < 1 || w.value_bytes() > (1u << 20))) {
    Error(Append(at, {"value_bytes", -1}), absl::StrCat(w.value_bytes(), " is outside 1..1048576"));
  }
}

void Validator::CheckProbability(const Path& path, double p) {
  if (!(p >= 0 && p <= 1)) Error(path, absl::StrCat("probability ", p, " is outside [0, 1]"));
}

void Validator::CheckNetwork() {
  const simpb::Network& n = s_.network();
  const Path at{{"network", -1}};
  const NetworkOptions defaults;
  const int64_t lo = n.has_latency_min_us() ? n.latency_min_us() : defaults.latency_min_us;
  const int64_t hi = n.has_latency_max_us() ? n.latency_max_us() : defaults.latency_max_us;
  if (lo < 0) Error(Append(at, {"latency_min_us", -1}), absl::StrCat("must be >= 0, got ", lo));
  if (hi > kMaxLatencyUs) Error(Append(at, {"latency_max_us", -1}), absl::StrCat("must be <= ", kMaxLatencyUs));
  if (lo > hi) {
    Error(Append(at, {n.has_latency_min_us() ? "latency_min_us" : "latency_max_us", -1}),
          absl::StrCat("latency_min_us (", lo, ") is greater than latency_max_us (", hi, ")"));
  }
  if (n.has_latency_mean_us()) {
    if (n.distribution() != simpb::EXPONENTIAL) {
      Error(Append(at, {"latency_mean_us", -1}), "only used with distribution: EXPONENTIAL");
    } else if (n.latency_mean_us() < lo || n.latency_mean_us() > hi) {
      Error(Append(at, {"latency_mean_us", -1}),
            absl::StrCat(n.latency_mean_us(), " is outside [latency_min_us, latency_max_us] = [", lo, ", ", hi, "]"));
    }
  }
  CheckProbability(Append(at, {"drop_probability", -1}), n.drop_probability());
  CheckProbability(Append(at, {"duplicate_probability", -1}), n.duplicate_probability());
  CheckProbability(Append(at, {"reorder_probability", -1}), n.reorder_probability());
  if (n.has_reorder_delay_max_us() && (n.reorder_delay_max_us() < 1 || n.reorder_delay_max_us() > kMaxLatencyUs)) {
    Error(Append(at, {"reorder_delay_max_us", -1}), absl::StrCat("must be in 1..", kMaxLatencyUs));
  }
}

void Validator::CheckDisk() {
  const simpb::Disk& d = s_.disk();
  const Path at{{"disk", -1}};
  const DiskSettings defaults;
  const int64_t lo = d.has_sync_latency_min_us() ? d.sync_latency_min_us() : defaults.sync_latency_min_us;
  const int64_t hi = d.has_sync_latency_max_us() ? d.sync_latency_max_us() : defaults.sync_latency_max_us;
  if (lo < 0) Error(Append(at, {"sync_latency_min_us", -1}), absl::StrCat("must be >= 0, got ", lo));
  if (hi > kMaxLatencyUs) Error(Append(at, {"sync_latency_max_us", -1}), absl::StrCat("must be <= ", kMaxLatencyUs));
  if (lo > hi) {
    Error(Append(at, {d.has_sync_latency_min_us() ? "sync_latency_min_us" : "sync_latency_max_us", -1}),
          absl::StrCat("sync_latency_min_us (", lo, ") is greater than sync_latency_max_us (", hi, ")"));
  }
  if (d.has_wal_segment_bytes() && (d.wal_segment_bytes() < 4096 || d.wal_segment_bytes() > (uint64_t{1} << 30))) {
    Error(Append(at, {"wal_segment_bytes", -1}), absl::StrCat("must be in 4096..", uint64_t{1} << 30));
  }
  if (d.has_snapshot_piece_bytes() &&
      (d.snapshot_piece_bytes() < 1 || d.snapshot_piece_bytes() > (uint64_t{1} << 30))) {
    Error(Append(at, {"snapshot_piece_bytes", -1}), absl::StrCat("must be in 1..", uint64_t{1} << 30));
  }
}

void Validator::CheckAutoCompaction() {
  const simpb::KvWorkload& k = s_.kv();
  const Path at{{"kv", -1}};
  if (k.has_auto_compaction_mode() && k.auto_compaction_mode() != "periodic" &&
      k.auto_compaction_mode() != "revision") {
    Error(Append(at, {"auto_compaction_mode", -1}),
          absl::StrCat("must be \"periodic\" or \"revision\", got \"", k.auto_compaction_mode(), "\""));
  }
  if (k.has_auto_compaction_mode() != k.has_auto_compaction_retention()) {
    Error(Append(at, {k.has_auto_compaction_mode() ? "auto_compaction_retention" : "auto_compaction_mode", -1}),
          "auto_compaction_mode and auto_compaction_retention go together");
  }
  if (k.has_auto_compaction_retention() &&
      (k.auto_compaction_retention() < 1 || k.auto_compaction_retention() > kMaxDurationMs)) {
    Error(Append(at, {"auto_compaction_retention", -1}), absl::StrCat("must be in 1..", kMaxDurationMs));
  }
  if (k.has_corrupt_check_ms() && (k.corrupt_check_ms() < 1 || k.corrupt_check_ms() > kMaxDurationMs)) {
    Error(Append(at, {"corrupt_check_ms", -1}), absl::StrCat("must be in 1..", kMaxDurationMs));
  }
  if (k.corrupt_member() != 0 && (!k.has_corrupt_check_ms() || k.corrupt_member() > s_.nodes())) {
    Error(Append(at, {"corrupt_member", -1}), "needs corrupt_check_ms and must name one of the nodes");
  }
  if (k.has_auth()) {
    const simpb::AuthWorkload& a = k.auth();
    const Path auth = Append(at, {"auth", -1});
    // The auth clients know the founding members only, and requests without credentials (the kv clients', the
    // cluster's corruption canary) are refused once auth is on.
    if (k.has_membership()) Error(auth, "cannot be combined with kv.membership");
    if (k.has_corrupt_check_ms()) Error(auth, "cannot be combined with kv.corrupt_check_ms");
    if (a.has_keys() && (a.keys() < 1 || a.keys() > 99)) Error(Append(auth, {"keys", -1}), "must be in 1..99");
    if (a.has_users() && a.users() < 1) Error(Append(auth, {"users", -1}), "must be at least 1");
    if (a.has_roles() && a.roles() < 1) Error(Append(auth, {"roles", -1}), "must be at least 1");
    if (a.has_change_every_ms() && (a.change_every_ms() < 1 || a.change_every_ms() > kMaxDurationMs)) {
      Error(Append(auth, {"change_every_ms", -1}), absl::StrCat("must be in 1..", kMaxDurationMs));
    }
    if (a.has_request_timeout_ms() && (a.request_timeout_ms() < 1 || a.request_timeout_ms() > kMaxDurationMs)) {
      Error(Append(auth, {"request_timeout_ms", -1}), absl::StrCat("must be in 1..", kMaxDurationMs));
    }
  }
}

void Validator::CheckMembership() {
  if (!s_.kv().has_membership()) return;
  const simpb::MembershipChanges& m = s_.kv().membership();
  const Path at{{"kv", -1}, {"membership", -1}};
  const int founding = m.has_founding_members() ? static_cast<int>(m.founding_members()) : nodes_;
  if (m.has_founding_members() && (m.founding_members() < 1 || founding > nodes_)) {
    Error(Append(at, {"founding_members", -1}),
          absl::StrCat(m.founding_members(), " is outside 1..", nodes_, " (the hosts)"));
  }
  if (m.change_every_ms() <= 0 || m.change_every_ms() > kMaxDurationMs) {
    Error(Append(at, {"change_every_ms", -1}),
          absl::StrCat("must be in 1..", kMaxDurationMs, ", got ", m.change_every_ms()));
  }
  if (m.has_min_voters() && (m.min_voters() < 1 || static_cast<int>(m.min_voters()) > founding)) {
    Error(Append(at, {"min_voters", -1}),
          absl::StrCat(m.min_voters(), " is outside 1..", founding, " (the founding members)"));
  }
  if (m.has_learner_fraction()) CheckProbability(Append(at, {"learner_fraction", -1}), m.learner_fraction());
  if (m.has_impatient_fraction()) CheckProbability(Append(at, {"impatient_fraction", -1}), m.impatient_fraction());
  if (m.has_remove_leader_fraction()) {
    CheckProbability(Append(at, {"remove_leader_fraction", -1}), m.remove_leader_fraction());
  }
  if (m.has_request_timeout_ms() && (m.request_timeout_ms() < 1 || m.request_timeout_ms() > kMaxDurationMs)) {
    Error(Append(at, {"request_timeout_ms", -1}), absl::StrCat("must be in 1..", kMaxDurationMs));
  }
}

void Validator::CheckNodeId(const Path& path, uint64_t node) {
  if (node < 1 || node > static_cast<uint64_t>(nodes_)) {
    Error(path, absl::StrCat("node ", node, " is outside 1..", nodes_, " (the cluster has ", nodes_, " nodes)"));
  }
}

void Validator::CheckTarget(const Path& path, const simpb::Target& target, bool present) {
  switch (target.kind_case()) {
    case simpb::Target::kNode:
      CheckNodeId(Append(path, {"node", -1}), target.node());
      return;
    case simpb::Target::kSelect:
      if (target.select() == simpb::Target::SELECTOR_UNSPECIFIED) {
        Error(Append(path, {"select", -1}), "must be LEADER, FOLLOWER or RANDOM");
      }
      if (target.select() == simpb::Target::FOLLOWER && nodes_ < 2) {
        Error(Append(path, {"select", -1}), "FOLLOWER needs at least 2 nodes");
      }
      return;
    case simpb::Target::KIND_NOT_SET:
      Error(path, present ? "set either node or select" : "missing (a node id or a selector)");
      return;
  }
}

void Validator::CheckPair(const Path& path, const simpb::Target& from, bool has_from, const simpb::Target& to,
                          bool has_to) {
  CheckTarget(Append(path, {"from", -1}), from, has_from);
  CheckTarget(Append(path, {"to", -1}), to, has_to);
  if (nodes_ < 2) Error(path, "needs at least 2 nodes");
  const bool same_node = from.has_node() && to.has_node() && from.node() == to.node();
  const bool both_leader = from.has_select() && to.has_select() && from.select() == simpb::Target::LEADER &&
                           to.select() == simpb::Target::LEADER;
  if (same_node || both_leader) Error(Append(path, {"to", -1}), "from and to are the same node");
}

void Validator::CheckFault(int i) {
  const simpb::Fault& f = s_.faults(i);
  const Path at{{"faults", i}};
  if (s_.duration_ms() > 0 && (f.at_ms() < 0 || f.at_ms() >= s_.duration_ms())) {
    Error(Append(at, {"at_ms", -1}),
          absl::StrCat(f.at_ms(), " is outside the fault phase [0, ", s_.duration_ms(), ")"));
  }
  if (f.duration_ms() < 0) Error(Append(at, {"duration_ms", -1}), "must be >= 0 (0 = until the heal)");
  switch (f.kind_case()) {
    case simpb::Fault::kIsolate:
      CheckTarget(Append(Append(at, {"isolate", -1}), {"target", -1}), f.isolate().target(), f.isolate().has_target());
      break;
    case simpb::Fault::kPartition: {
      const Path p = Append(at, {"partition", -1});
      std::set<uint64_t> seen;
      for (int g = 0; g < f.partition().groups_size(); ++g) {
        const simpb::Group& group = f.partition().groups(g);
        const Path gp = Append(p, {"groups", g});
        if (group.nodes().empty()) Error(gp, "empty group");
        for (int k = 0; k < group.nodes_size(); ++k) {
          const uint64_t node = group.nodes(k);
          CheckNodeId(Append(gp, {"nodes", k}), node);
          if (!seen.insert(node).second)
            Error(Append(gp, {"nodes", k}), absl::StrCat("node ", node, " is in two groups"));
        }
      }
      const int listed_groups = f.partition().groups_size();
      const bool rest_nonempty = seen.size() < static_cast<size_t>(nodes_);
      if (listed_groups + (rest_nonempty ? 1 : 0) < 2) {
        Error(p, "needs at least two sides (groups, plus the nodes named in none)");
      }
      break;
    }
    case simpb::Fault::kAsymmetric:
      CheckPair(Append(at, {"asymmetric", -1}), f.asymmetric().from(), f.asymmetric().has_from(), f.asymmetric().to(),
                f.asymmetric().has_to());
      break;
    case simpb::Fault::kBridge: {
      const simpb::Bridge& b = f.bridge();
      const Path p = Append(at, {"bridge", -1});
      CheckNodeId(Append(p, {"node", -1}), b.node());
      if (b.side_a().empty()) Error(Append(p, {"side_a", -1}), "empty side");
      if (b.side_b().empty()) Error(Append(p, {"side_b", -1}), "empty side");
      std::set<uint64_t> seen{b.node()};
      for (const char* side : {"side_a", "side_b"}) {
        const auto& nodes = std::string(side) == "side_a" ? b.side_a() : b.side_b();
        for (int k = 0; k < nodes.size(); ++k) {
          CheckNodeId(Append(p, {side, k}), nodes[k]);
          if (!seen.insert(nodes[k]).second) {
            Error(Append(p, {side, k}), absl::StrCat("node ", nodes[k], " appears twice (node, side_a, side_b)"));
          }
        }
      }
      break;
    }
    case simpb::Fault::kClog:
      CheckPair(Append(at, {"clog", -1}), f.clog().from(), f.clog().has_from(), f.clog().to(), f.clog().has_to());
      break;
    case simpb::Fault::kCrash:
      CheckTarget(Append(Append(at, {"crash", -1}), {"target", -1}), f.crash().target(), f.crash().has_target());
      if (f.crash().restart_after_ms() < 0) {
        Error(Append(Append(at, {"crash", -1}), {"restart_after_ms", -1}), "must be >= 0 (0 = at the heal)");
      }
      if (f.duration_ms() != 0) {
        Error(Append(at, {"duration_ms", -1}), "not used by crash: set crash.restart_after_ms instead");
      }
      break;
    case simpb::Fault::kCrashAfterSend: {
      const Path p = Append(at, {"crash_after_send", -1});
      CheckTarget(Append(p, {"target", -1}), f.crash_after_send().target(), f.crash_after_send().has_target());
      if (f.crash_after_send().restart_after_ms() < 0) {
        Error(Append(p, {"restart_after_ms", -1}), "must be >= 0 (0 = at the heal)");
      }
      break;
    }
    case simpb::Fault::kPause:
      CheckTarget(Append(Append(at, {"pause", -1}), {"target", -1}), f.pause().target(), f.pause().has_target());
      break;
    case simpb::Fault::kClockDrift: {
      const Path p = Append(at, {"clock_drift", -1});
      CheckTarget(Append(p, {"target", -1}), f.clock_drift().target(), f.clock_drift().has_target());
      const double factor = f.clock_drift().factor();
      if (!(factor >= 0.1 && factor <= 10)) {
        Error(Append(p, {"factor", -1}), absl::StrCat(factor, " is outside [0.1, 10]"));
      }
      break;
    }
    case simpb::Fault::kHeal:
      if (f.duration_ms() != 0) Error(Append(at, {"duration_ms", -1}), "not used by heal");
      break;
    case simpb::Fault::kDiskError:
      CheckTarget(Append(Append(at, {"disk_error", -1}), {"target", -1}), f.disk_error().target(),
                  f.disk_error().has_target());
      break;
    case simpb::Fault::kDiskFull:
      CheckTarget(Append(Append(at, {"disk_full", -1}), {"target", -1}), f.disk_full().target(),
                  f.disk_full().has_target());
      break;
    case simpb::Fault::kBitRot:
      CheckTarget(Append(Append(at, {"bit_rot", -1}), {"target", -1}), f.bit_rot().target(), f.bit_rot().has_target());
      if (f.duration_ms() != 0) Error(Append(at, {"duration_ms", -1}), "not used by bit_rot (a flipped bit stays)");
      break;
    case simpb::Fault::kLaggingFollower: {
      const Path p = Append(at, {"lagging_follower", -1});
      CheckTarget(Append(p, {"target", -1}), f.lagging_follower().target(), f.lagging_follower().has_target());
      if (f.lagging_follower().has_delay_ms() && f.lagging_follower().delay_ms() <= 0) {
        Error(Append(p, {"delay_ms", -1}), "must be > 0");
      }
      if (nodes_ < 2) Error(p, "needs at least 2 nodes");
      break;
    }
    case simpb::Fault::kLeaderWithLearners:
      if (nodes_ < 2) Error(Append(at, {"leader_with_learners", -1}), "needs at least 2 nodes");
      break;
    case simpb::Fault::kSnapshotDuringConfChange: {
      const Path p = Append(at, {"snapshot_during_conf_change", -1});
      CheckTarget(Append(p, {"target", -1}), f.snapshot_during_conf_change().target(),
                  f.snapshot_during_conf_change().has_target());
      if (nodes_ < 2) Error(p, "needs at least 2 nodes");
      break;
    }
    case simpb::Fault::kWalTailCorruption: {
      const Path p = Append(at, {"wal_tail_corruption", -1});
      CheckTarget(Append(p, {"target", -1}), f.wal_tail_corruption().target(), f.wal_tail_corruption().has_target());
      if (f.wal_tail_corruption().has_records() &&
          (f.wal_tail_corruption().records() < 1 || f.wal_tail_corruption().records() > 1000)) {
        Error(Append(p, {"records", -1}), absl::StrCat(f.wal_tail_corruption().records(), " is outside 1..1000"));
      }
      if (f.duration_ms() != 0) {
        Error(Append(at, {"duration_ms", -1}), "not used by wal_tail_corruption (the node restarts at once)");
      }
      break;
    }
    case simpb::Fault::KIND_NOT_SET:
      Error(at,
            "no fault kind (isolate, partition, asymmetric, bridge, clog, crash, crash_after_send, pause, "
            "clock_drift, heal, disk_error, disk_full, bit_rot, wal_tail_corruption, lagging_follower, "
            "leader_with_learners or snapshot_during_conf_change)");
      break;
  }
}

void Validator::CheckSwarm() {
  const simpb::Swarm& w = s_.swarm();
  const Path at{{"swarm", -1}};
  for (int k = 0; k < w.kinds_size(); ++k) {
    if (w.kinds(k) == simpb::FAULT_KIND_UNSPECIFIED) Error(Append(at, {"kinds", k}), "FAULT_KIND_UNSPECIFIED");
  }
  if (!w.enabled()) return;
  if (w.mean_interval_ms() <= 0) Error(Append(at, {"mean_interval_ms", -1}), "must be > 0 when swarm is enabled");
  if (w.has_max_concurrent() && (w.max_concurrent() < 1 || w.max_concurrent() > 100)) {
    Error(Append(at, {"max_concurrent", -1}), absl::StrCat(w.max_concurrent(), " is outside 1..100"));
  }
  if (w.has_min_fault_duration_ms() && w.min_fault_duration_ms() < 1) {
    Error(Append(at, {"min_fault_duration_ms", -1}), "must be >= 1");
  }
  if (w.has_max_fault_duration_ms()) {
    const int64_t lo =
        w.has_min_fault_duration_ms() ? w.min_fault_duration_ms() : SwarmSettings().min_fault_duration_ms;
    if (w.max_fault_duration_ms() < lo) {
      Error(Append(at, {"max_fault_duration_ms", -1}),
            absl::StrCat(w.max_fault_duration_ms(), " is less than min_fault_duration_ms (", lo, ")"));
    }
  }
}

// Fills a ScenarioConfig from a scenario that passed validation.
ScenarioConfig ApplyDefaults(const simpb::Scenario& s, const std::string& filename) {
  ScenarioConfig c;
  c.proto = s;
  c.path = filename;
  c.name = s.name();
  if (c.name.empty()) {
    // The file's base name without extension.
    const size_t slash = filename.find_last_of('/');
    c.name = slash == std::string::npos ? filename : filename.substr(slash + 1);
    const size_t dot = c.name.find('.');
    if (dot != std::string::npos && dot > 0) c.name.resize(dot);
  }
  c.description = s.description();
  if (s.has_nodes()) c.nodes = static_cast<int>(s.nodes());
  c.duration_ms = s.duration_ms();
  c.liveness_bound_ms = s.liveness_bound_ms();
  if (s.has_tick_ms()) c.tick_ms = s.tick_ms();

  const simpb::RaftConfig& r = s.raft();
  if (r.has_election_ticks()) c.raft.election_ticks = static_cast<int>(r.election_ticks());
  if (r.has_heartbeat_ticks()) c.raft.heartbeat_ticks = static_cast<int>(r.heartbeat_ticks());
  if (r.has_pre_vote()) c.raft.pre_vote = r.pre_vote();
  if (r.has_check_quorum()) c.raft.check_quorum = r.check_quorum();
  if (r.has_max_inflight_msgs()) c.raft.max_inflight_msgs = r.max_inflight_msgs();
  if (r.has_max_size_per_msg_bytes()) c.raft.max_size_per_msg_bytes = r.max_size_per_msg_bytes();

  const simpb::Workload& w = s.workload();
  if (w.has_proposals_per_sec()) c.workload.proposals_per_sec = w.proposals_per_sec();
  if (w.has_clients()) c.workload.clients = static_cast<int>(w.clients());
  if (w.has_request_timeout_ms()) c.workload.request_timeout_ms = w.request_timeout_ms();
  if (w.has_value_bytes()) c.workload.value_bytes = static_cast<int>(w.value_bytes());

  const simpb::Network& n = s.network();
  if (n.has_latency_min_us()) c.network.latency_min_us = n.latency_min_us();
  if (n.has_latency_max_us()) c.network.latency_max_us = n.latency_max_us();
  c.network.distribution =
      n.distribution() == simpb::EXPONENTIAL ? LatencyDistribution::kExponential : LatencyDistribution::kUniform;
  c.network.latency_mean_us =
      n.has_latency_mean_us() ? n.latency_mean_us()
                              : c.network.latency_min_us + (c.network.latency_max_us - c.network.latency_min_us) / 5;
  c.network.drop_probability = n.drop_probability();
  c.network.duplicate_probability = n.duplicate_probability();
  c.network.reorder_probability = n.reorder_probability();
  c.network.reorder_delay_max_us =
      n.has_reorder_delay_max_us() ? n.reorder_delay_max_us() : 5 * std::max<int64_t>(c.network.latency_max_us, 1);

  if (s.disk().has_sync_latency_min_us()) c.disk.sync_latency_min_us = s.disk().sync_latency_min_us();
  if (s.disk().has_sync_latency_max_us()) c.disk.sync_latency_max_us = s.disk().sync_latency_max_us();
  c.disk.crash_loss = s.disk().crash_loss();
  if (s.disk().has_wal_segment_bytes()) c.disk.wal_segment_bytes = s.disk().wal_segment_bytes();
  if (s.disk().has_snapshot_count()) c.disk.snapshot_count = s.disk().snapshot_count();
  if (s.disk().has_snapshot_catch_up_entries()) c.disk.snapshot_catch_up_entries = s.disk().snapshot_catch_up_entries();
  if (s.disk().has_snapshot_piece_bytes()) c.disk.snapshot_piece_bytes = s.disk().snapshot_piece_bytes();

  c.faults.assign(s.faults().begin(), s.faults().end());

  const simpb::Swarm& sw = s.swarm();
  c.swarm.enabled = sw.enabled();
  c.swarm.draw_only = sw.draw_only();
  c.swarm.mean_interval_ms = sw.mean_interval_ms();
  if (sw.has_max_concurrent()) c.swarm.max_concurrent = static_cast<int>(sw.max_concurrent());
  std::set<int> kinds(sw.kinds().begin(), sw.kinds().end());
  if (kinds.empty()) {
    for (int k = simpb::FaultKind_MIN + 1; k <= simpb::FaultKind_MAX; ++k) kinds.insert(k);
  }
  for (int k : kinds) c.swarm.kinds.push_back(static_cast<simpb::FaultKind>(k));
  if (s.kv().has_membership()) {
    const simpb::MembershipChanges& m = s.kv().membership();
    c.swarm.membership_changes = true;
    c.swarm.learners = !m.has_learner_fraction() || m.learner_fraction() > 0;
  }
  if (sw.has_min_fault_duration_ms()) c.swarm.min_fault_duration_ms = sw.min_fault_duration_ms();
  c.swarm.max_fault_duration_ms = sw.has_max_fault_duration_ms()
                                      ? sw.max_fault_duration_ms()
                                      : std::max(c.swarm.min_fault_duration_ms, c.duration_ms / 4);
  return c;
}

absl::StatusOr<ScenarioConfig> Validate(const simpb::Scenario& s, const TextFormat::ParseInfoTree* tree,
                                        const std::string& filename) {
  const std::vector<std::string> errors = Validator(s, tree, filename).Run();
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  return ApplyDefaults(s, filename);
}

std::string Seconds(int64_t ms) { return absl::StrFormat("%d.%03ds", ms / 1000, ms % 1000); }

std::string NodeList(const google::protobuf::RepeatedField<uint64_t>& nodes) {
  return absl::StrCat("{", absl::StrJoin(nodes, " "), "}");
}

}  // namespace

absl::StatusOr<ScenarioConfig> LoadScenarioFile(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int error = errno;
    return absl::Status(absl::ErrnoToStatusCode(error),
                        absl::StrCat("cannot read scenario file '", path, "': ", std::strerror(error)));
  }
  std::string text;
  char buffer[1 << 14];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof(buffer), file)) > 0) text.append(buffer, n);
  const int error = std::ferror(file) ? errno : 0;
  std::fclose(file);
  if (error != 0) {
    return absl::Status(absl::ErrnoToStatusCode(error),
                        absl::StrCat("cannot read scenario file '", path, "': ", std::strerror(error)));
  }
  return ParseScenarioText(text, path);
}

absl::StatusOr<ScenarioConfig> ParseScenarioText(absl::string_view text, const std::string& filename) {
  simpb::Scenario scenario;
  CollectingErrorCollector collector(filename);
  TextFormat::ParseInfoTree tree;
  TextFormat::Parser parser;
  parser.RecordErrorsTo(&collector);
  parser.WriteLocationsTo(&tree);
  const bool ok = parser.ParseFromString(std::string(text), &scenario);
  if (!ok || !collector.errors().empty()) {
    if (collector.errors().empty()) return absl::InvalidArgumentError(absl::StrCat(filename, ": cannot parse"));
    return absl::InvalidArgumentError(absl::StrJoin(collector.errors(), "\n"));
  }
  return Validate(scenario, &tree, filename);
}

absl::StatusOr<ScenarioConfig> ScenarioConfigFromProto(const simpb::Scenario& scenario, const std::string& filename) {
  return Validate(scenario, nullptr, filename);
}

std::string ScenarioToText(const simpb::Scenario& scenario, absl::string_view header) {
  std::string out;
  if (!header.empty()) {
    for (absl::string_view line : absl::StrSplit(header, '\n')) {
      absl::StrAppend(&out, line.empty() ? "#" : "# ", line, "\n");
    }
  }
  TextFormat::Printer printer;
  printer.SetUseShortRepeatedPrimitives(true);
  std::string body;
  DETCD_CHECK(printer.PrintToString(scenario, &body));
  return out + body;
}

simpb::Scenario ScriptedScenario(const simpb::Scenario& base, const std::vector<simpb::Fault>& faults) {
  simpb::Scenario s = base;
  s.clear_swarm();
  s.clear_faults();
  for (const simpb::Fault& f : faults) *s.add_faults() = f;
  return s;
}

std::string TargetSummary(const simpb::Target& target) {
  switch (target.kind_case()) {
    case simpb::Target::kNode:
      return absl::StrCat("node ", target.node());
    case simpb::Target::kSelect:
      switch (target.select()) {
        case simpb::Target::LEADER:
          return "leader";
        case simpb::Target::FOLLOWER:
          return "a follower";
        case simpb::Target::RANDOM:
          return "a random node";
        default:
          return "?";
      }
    case simpb::Target::KIND_NOT_SET:
      break;
  }
  return "?";
}

std::string FaultSummary(const simpb::Fault& f) {
  std::string when = absl::StrCat("at ", Seconds(f.at_ms()));
  if (f.duration_ms() > 0) absl::StrAppend(&when, " for ", Seconds(f.duration_ms()));
  std::string what;
  switch (f.kind_case()) {
    case simpb::Fault::kIsolate:
      what = absl::StrCat("isolate ", TargetSummary(f.isolate().target()));
      break;
    case simpb::Fault::kPartition: {
      std::vector<std::string> groups;
      for (const simpb::Group& g : f.partition().groups()) groups.push_back(NodeList(g.nodes()));
      what = absl::StrCat("partition ", absl::StrJoin(groups, " "));
      break;
    }
    case simpb::Fault::kAsymmetric:
      what = absl::StrCat("block ", TargetSummary(f.asymmetric().from()), " -> ", TargetSummary(f.asymmetric().to()));
      break;
    case simpb::Fault::kBridge:
      what = absl::StrCat("bridge node ", f.bridge().node(), " between ", NodeList(f.bridge().side_a()), " and ",
                          NodeList(f.bridge().side_b()));
      break;
    case simpb::Fault::kClog:
      what = absl::StrCat("clog ", TargetSummary(f.clog().from()), " -> ", TargetSummary(f.clog().to()));
      break;
    case simpb::Fault::kCrash:
      what =
          absl::StrCat("crash ", TargetSummary(f.crash().target()), ", restart ",
                       f.crash().restart_after_ms() > 0 ? absl::StrCat("after ", Seconds(f.crash().restart_after_ms()))
                                                        : "at the heal");
      break;
    case simpb::Fault::kCrashAfterSend: {
      const simpb::CrashAfterSend& c = f.crash_after_send();
      what = absl::StrCat(
          "crash ", TargetSummary(c.target()), " right after its next ",
          c.message() == simpb::CrashAfterSend::VOTE_RESP  ? "vote grant"
          : c.message() == simpb::CrashAfterSend::APP_RESP ? "append acknowledgement"
                                                           : "vote grant or append acknowledgement",
          ", restart ",
          c.restart_after_ms() > 0 ? absl::StrCat("after ", Seconds(c.restart_after_ms())) : "at the heal");
      break;
    }
    case simpb::Fault::kPause:
      what = absl::StrCat("pause ", TargetSummary(f.pause().target()));
      break;
    case simpb::Fault::kClockDrift:
      what = absl::StrCat("clock of ", TargetSummary(f.clock_drift().target()), " runs x", f.clock_drift().factor());
      break;
    case simpb::Fault::kHeal:
      what = "heal everything";
      break;
    case simpb::Fault::kDiskError:
      what = absl::StrCat("EIO on every ", f.disk_error().on_sync() ? "sync" : "write", " of ",
                          TargetSummary(f.disk_error().target()), "'s disk");
      break;
    case simpb::Fault::kDiskFull:
      what = absl::StrCat("disk of ", TargetSummary(f.disk_full().target()), " full");
      break;
    case simpb::Fault::kBitRot:
      what = absl::StrCat("flip a synced bit in ",
                          f.bit_rot().where() == simpb::BitRot::WAL        ? "the WAL"
                          : f.bit_rot().where() == simpb::BitRot::SNAPSHOT ? "a snapshot"
                                                                           : "the data",
                          " of ", TargetSummary(f.bit_rot().target()));
      break;
    case simpb::Fault::kLaggingFollower:
      what =
          absl::StrCat("appends to ", TargetSummary(f.lagging_follower().target()), " lag ",
                       Seconds(f.lagging_follower().has_delay_ms() ? f.lagging_follower().delay_ms() : kDefaultLagMs));
      break;
    case simpb::Fault::kLeaderWithLearners:
      what = "cut the leader off from every voter, its learners beside it";
      break;
    case simpb::Fault::kSnapshotDuringConfChange:
      what = absl::StrCat("isolate ", TargetSummary(f.snapshot_during_conf_change().target()),
                          " until only a snapshot of a newer configuration can catch it up");
      break;
    case simpb::Fault::kWalTailCorruption: {
      const uint32_t records = f.wal_tail_corruption().has_records() ? f.wal_tail_corruption().records() : 1;
      what = absl::StrCat("flip a bit in ",
                          records == 1 ? "the newest synced WAL record"
                                       : absl::StrCat("one of the ", records, " newest synced WAL records"),
                          " of ", TargetSummary(f.wal_tail_corruption().target()), ", restart it at once");
      break;
    }
    case simpb::Fault::KIND_NOT_SET:
      what = "no fault";
      break;
  }
  if (f.duration_ms() == 0 && f.kind_case() != simpb::Fault::kCrash && f.kind_case() != simpb::Fault::kHeal &&
      f.kind_case() != simpb::Fault::kBitRot && f.kind_case() != simpb::Fault::kCrashAfterSend &&
      f.kind_case() != simpb::Fault::kWalTailCorruption) {
    absl::StrAppend(&what, " until the heal");
  }
  return absl::StrCat(when, ": ", what);
}

}  // namespace detcd::sim
