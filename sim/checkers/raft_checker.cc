#include "sim/checkers/raft_checker.h"

#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace detcd::sim {

namespace {

uint64_t Mix(uint64_t h, uint64_t v) {
  // FNV-1a over the 8 bytes of v, then a final avalanche so that chains of similar entries spread well.
  for (int i = 0; i < 8; ++i) {
    h ^= (v >> (8 * i)) & 0xff;
    h *= 0x100000001b3ULL;
  }
  h ^= h >> 29;
  return h;
}

}  // namespace

uint64_t EntryDigest(const raftpb::Entry& e) {
  uint64_t h = 0xcbf29ce484222325ULL;
  h = Mix(h, e.term());
  h = Mix(h, static_cast<uint64_t>(e.type()));
  // Eight bytes per step (the data of large entries dominated simulation time when hashed byte by byte).
  const std::string& d = e.data();
  size_t i = 0;
  for (; i + 8 <= d.size(); i += 8) {
    uint64_t word;
    std::memcpy(&word, d.data() + i, 8);
    h = (h ^ word) * 0x9e3779b97f4a7c15ULL;
    h ^= h >> 32;
  }
  for (; i < d.size(); ++i) {
    h ^= static_cast<unsigned char>(d[i]);
    h *= 0x100000001b3ULL;
  }
  return Mix(h, d.size());
}

uint64_t ChainDigest(uint64_t prev_chain, const raftpb::Entry& e) { return Mix(Mix(prev_chain, e.index()), EntryDigest(e)); }

void RaftChecker::Fail(const std::string& checker, const std::string& detail) {
  if (violation_) return;  // the first violation is the interesting one
  violation_ = Violation{checker, detail, now_us_};
}

void RaftChecker::RecordChain(uint64_t index, uint64_t term, uint64_t chain, uint64_t node) {
  auto [it, inserted] = chain_at_.emplace(std::make_pair(index, term), chain);
  if (!inserted && it->second != chain) {
    Fail("log-matching", absl::StrCat("node ", node, " holds an entry at index ", index, " term ", term,
                                      " whose log prefix differs from another node's entry with the same index and "
                                      "term"));
  }
}

void RaftChecker::ObservePersisted(uint64_t node, const std::vector<raftpb::Entry>& appended) {
  if (appended.empty()) return;
  ++version_;
  std::vector<uint64_t>& chain = durable_chain_[node];
  if (chain.empty()) chain.push_back(0);
  const uint64_t first = appended[0].index();
  DETCD_CHECK_MSG(first >= 1 && first <= chain.size(), "persisted entries leave a gap in the durable log");
  chain.resize(first);
  for (const raftpb::Entry& e : appended) {
    chain.push_back(ChainDigest(chain.back(), e));
    RecordChain(e.index(), e.term(), chain.back(), node);
  }
}

bool RaftChecker::CheckSnapshotPoint(uint64_t node, uint64_t index, uint64_t term, const char* when) {
  if (index == 0) return true;
  if (index > committed_.size()) {
    Fail("state-machine-safety", absl::StrCat("node ", node, " ", when, " a snapshot at index ", index,
                                              " beyond the committed log (", committed_.size(), ")"));
    return false;
  }
  if (committed_[index - 1].first != term) {
    Fail("state-machine-safety", absl::StrCat("node ", node, " ", when, " a snapshot at index ", index, " term ", term,
                                              " but the committed entry there has term ", committed_[index - 1].first));
    return false;
  }
  return true;
}

void RaftChecker::ObserveSnapshot(uint64_t node, uint64_t index, uint64_t term) {
  ++version_;
  if (!CheckSnapshotPoint(node, index, term, "persisted")) return;
  std::vector<uint64_t>& chain = durable_chain_[node];
  chain.assign(committed_chain_.begin(), committed_chain_.begin() + static_cast<std::ptrdiff_t>(index) + 1);
}

void RaftChecker::ObserveRestart(uint64_t node, const raftpb::HardState& hs,
                                 const std::vector<raftpb::Entry>& durable_log) {
  ++version_;
  DETCD_CHECK_MSG(!durable_log.empty(), "a durable log always has its dummy entry");
  const uint64_t snap_index = durable_log[0].index();
  if (!CheckSnapshotPoint(node, snap_index, durable_log[0].term(), "restarted from")) return;
  std::vector<uint64_t>& chain = durable_chain_[node];
  const std::vector<uint64_t> synced = chain;  // what the node had made durable before it went down
  // Up to the snapshot the log is the committed one (just checked); the entries after it are chained on.
  chain.assign(committed_chain_.begin(), committed_chain_.begin() + static_cast<std::ptrdiff_t>(snap_index) + 1);
  for (size_t i = 1; i < durable_log.size(); ++i) chain.push_back(ChainDigest(chain.back(), durable_log[i]));
  const uint64_t last = chain.size() - 1;
  // Every entry it synced survives (it may have acknowledged it): a restart that forgets one — recovery cutting a
  // record that was synced — could let it vote for, or become, a leader without an entry a quorum counted on it for.
  for (uint64_t i = 1; i < synced.size(); ++i) {
    if (i <= last && chain[i] == synced[i]) continue;
    Fail("durability", absl::StrCat("node ", node, " restarted without entry ", i, " it had synced (its durable log ",
                                    i <= last ? "differs there" : absl::StrCat("ends at ", last), ")"));
    return;
  }
  if (hs.commit() > last) {
    Fail("durability", absl::StrCat("node ", node, " restarted with commit ", hs.commit(), " but its durable log ends at ",
                                    last));
    return;
  }
  const uint64_t upto = std::min<uint64_t>(hs.commit(), committed_.size());
  if (upto > 0 && chain[upto] != committed_chain_[upto]) {
    Fail("durability", absl::StrCat("node ", node, " restarted with a durable log that differs from the committed log "
                                    "at or before index ", upto));
  }
}

std::optional<uint64_t> RaftChecker::ChainAt(uint64_t node, const raft::RaftLog& log, uint64_t i) const {
  if (i == 0) return 0;
  if (i > log.LastIndex()) return std::nullopt;
  if (const raftpb::Snapshot* snap = log.PendingSnapshot()) {
    // A snapshot from the leader, not yet durable: the log is the committed one up to its index (ObserveCommit
    // checks that point), then the unstable tail.
    const uint64_t s = snap->metadata().index();
    if (s >= committed_chain_.size()) return std::nullopt;
    if (i <= s) return committed_chain_[i];
    uint64_t h = committed_chain_[s];
    for (const raftpb::Entry& e : log.UnstableEntries()) {
      h = ChainDigest(h, e);
      if (e.index() == i) return h;
    }
    return std::nullopt;
  }
  const uint64_t stable_last = log.StableLastIndex();
  auto it = durable_chain_.find(node);
  static const std::vector<uint64_t>* const empty = new std::vector<uint64_t>{0};  // a node with nothing durable
  const std::vector<uint64_t>& chain = it == durable_chain_.end() ? *empty : it->second;
  // The durable chain is valid up to the start of the unstable tail (which may have replaced a durable suffix).
  DETCD_CHECK_MSG(stable_last < chain.size(), "durable chain shorter than the log's stable prefix");
  if (i <= stable_last) return chain[i];
  uint64_t h = chain[stable_last];
  for (const raftpb::Entry& e : log.UnstableEntries()) {
    h = ChainDigest(h, e);
    if (e.index() == i) return h;
  }
  return std::nullopt;
}

void RaftChecker::ObserveRole(uint64_t node, uint64_t term, raft::StateType state, const raft::RaftLog& log) {
  if (state != raft::StateType::kLeader) return;
  auto [it, inserted] = leader_by_term_.emplace(term, node);
  if (!inserted && it->second != node) {
    Fail("election-safety", absl::StrCat("nodes ", it->second, " and ", node, " are both leader in term ", term));
    return;
  }
  if (!leader_checked_.emplace(std::make_pair(node, term), true).second) return;
  // Leader completeness: everything committed so far must be in the new leader's log.
  const uint64_t c = committed_.size();
  std::optional<uint64_t> chain = ChainAt(node, log, c);
  if (!chain || *chain != committed_chain_[c]) {
    Fail("leader-completeness", absl::StrCat("node ", node, " became leader in term ", term, " with last index ",
                                             log.LastIndex(), " but its log lacks or differs from committed entries "
                                             "up to ", c));
  }
}

void RaftChecker::ObserveCommit(uint64_t node, const raft::RaftLog& log) {
  if (const raftpb::Snapshot* snap = log.PendingSnapshot()) {
    if (!CheckSnapshotPoint(node, snap->metadata().index(), snap->metadata().term(), "received")) return;
  }
  const uint64_t node_commit = log.committed();
  const uint64_t c = committed_.size();
  const uint64_t common = std::min(node_commit, c);
  if (common > 0) {
    std::optional<uint64_t> chain = ChainAt(node, log, common);
    if (!chain || *chain != committed_chain_[common]) {
      Fail("state-machine-safety", absl::StrCat("node ", node, " committed a log that differs from the committed log "
                                                "at or before index ", common));
      return;
    }
  }
  if (node_commit <= c) return;
  ++version_;
  // This node is the first to commit (c, node_commit]: those entries join the committed log.
  for (const raftpb::Entry& e : log.Slice(c + 1, node_commit + 1, UINT64_MAX)) {
    committed_.emplace_back(e.term(), EntryDigest(e));
    committed_chain_.push_back(ChainDigest(committed_chain_.back(), e));
  }
}

void RaftChecker::ObserveApply(uint64_t node, const raftpb::Entry& entry) {
  const uint64_t i = entry.index();
  if (i == 0 || i > committed_.size()) {
    Fail("state-machine-safety", absl::StrCat("node ", node, " applied index ", i, " which no node has committed"));
    return;
  }
  const auto& [term, digest] = committed_[i - 1];
  if (entry.term() != term || EntryDigest(entry) != digest) {
    Fail("state-machine-safety", absl::StrCat("node ", node, " applied at index ", i, " an entry of term ", entry.term(),
                                              " that differs from the committed entry of term ", term));
  }
}

void RaftChecker::ObserveInvariantBroken(uint64_t node, const std::string& what) {
  Fail("node-invariant", absl::StrCat("node ", node, ": ", what));
}

void RaftChecker::ObserveStepError(uint64_t node, const raftpb::Message& m, const std::string& error) {
  Fail("protocol", absl::StrCat("node ", node, " refused a message from ", m.from(), " (type ", m.type(), ", term ",
                                m.term(), "): ", error));
}

}  // namespace detcd::sim
