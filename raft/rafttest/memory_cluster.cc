#include "raft/rafttest/memory_cluster.h"

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace detcd::raft::rafttest {

namespace {

// The state machine's snapshot: each applied item as "<length>:<bytes>".
std::string EncodeApplied(const std::vector<std::string>& applied) {
  std::string out;
  for (const std::string& a : applied) absl::StrAppend(&out, a.size(), ":", a);
  return out;
}

std::vector<std::string> DecodeApplied(const std::string& data) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < data.size()) {
    const size_t colon = data.find(':', pos);
    DETCD_CHECK_MSG(colon != std::string::npos, "malformed test snapshot");
    const size_t len = std::stoul(data.substr(pos, colon - pos));
    out.push_back(data.substr(colon + 1, len));
    pos = colon + 1 + len;
  }
  return out;
}

}  // namespace

MemoryCluster::MemoryCluster(int n, std::function<void(Config*)> configure) : configure_(std::move(configure)), n_(n) {
  for (uint64_t id = 1; id <= static_cast<uint64_t>(n); ++id) {
    storages_[id] = std::make_unique<MemoryStorage>();
    applied_[id];
    Build(id);
  }
}

void MemoryCluster::Build(uint64_t id) {
  Config c;
  c.id = id;
  for (uint64_t p = 1; p <= static_cast<uint64_t>(n_); ++p) c.peers.push_back(p);
  c.seed = id;
  c.storage = storages_[id].get();
  c.applied = storages_[id]->Snapshot().metadata().index();  // the state machine starts from the snapshot
  if (configure_) configure_(&c);
  nodes_[id] = std::make_unique<RawNode>(c);
}

std::vector<uint64_t> MemoryCluster::ids() const {
  std::vector<uint64_t> out;
  for (const auto& [id, node] : nodes_) out.push_back(id);
  return out;
}

bool MemoryCluster::ProcessReady(uint64_t id) {
  RawNode& n = *nodes_.at(id);
  if (!n.HasReady()) return false;
  Ready rd = n.GetReady();
  MemoryStorage& st = *storages_.at(id);
  if (rd.snapshot) {
    DETCD_CHECK(st.ApplySnapshot(*rd.snapshot).ok());
    applied_[id] = DecodeApplied(rd.snapshot->data());
  }
  st.Append(rd.entries);
  if (rd.hard_state) st.SetHardState(*rd.hard_state);
  for (raftpb::Message& m : rd.messages) queue_.push_back(std::move(m));
  for (const raftpb::Entry& e : rd.committed_entries) {
    if (e.type() == raftpb::ENTRY_CONF_CHANGE) {
      raftpb::ConfChange cc;
      DETCD_CHECK_MSG(cc.ParseFromString(e.data()), "undecodable configuration change in the log");
      n.ApplyConfChange(cc);
      applied_[id].push_back(absl::StrCat("conf:", cc.type(), ":", cc.node_id()));
    } else if (!e.data().empty()) {
      applied_[id].push_back(e.data());
    }
  }
  n.Advance(rd);
  return true;
}

size_t MemoryCluster::Stabilize() {
  size_t delivered = 0;
  for (;;) {
    bool progress = false;
    for (auto& [id, node] : nodes_) progress |= ProcessReady(id);
    while (!queue_.empty()) {
      raftpb::Message m = std::move(queue_.front());
      queue_.pop_front();
      progress = true;
      const bool lost = cut_.count({m.from(), m.to()}) > 0 || nodes_.count(m.to()) == 0;
      if (m.type() == raftpb::MSG_SNAP && nodes_.count(m.from()) > 0) {
        // The sender's transport learns whether its snapshot stream made it.
        nodes_.at(m.from())->ReportSnapshot(m.to(), lost);
        if (!lost) ++snapshots_delivered_;
      }
      if (lost) continue;
      (void)nodes_.at(m.to())->Step(m);
      ++delivered;
    }
    if (!progress) return delivered;
  }
}

void MemoryCluster::Tick(uint64_t id, int times) {
  for (int i = 0; i < times; ++i) nodes_.at(id)->Tick();
}

bool MemoryCluster::Elect(uint64_t id) {
  (void)nodes_.at(id)->Campaign();
  Stabilize();
  return nodes_.at(id)->raft().state() == StateType::kLeader;
}

uint64_t MemoryCluster::Leader() const {
  for (const auto& [id, node] : nodes_) {
    if (node->raft().state() == StateType::kLeader) return id;
  }
  return kNone;
}

void MemoryCluster::Cut(uint64_t a, uint64_t b) {
  cut_.insert({a, b});
  cut_.insert({b, a});
}

void MemoryCluster::Isolate(uint64_t id) {
  for (const auto& [other, node] : nodes_) {
    if (other != id) Cut(id, other);
  }
}

void MemoryCluster::Join(uint64_t id) {
  storages_[id] = std::make_unique<MemoryStorage>();
  applied_[id].clear();
  Build(id);
}

void MemoryCluster::Restart(uint64_t id) {
  // The state machine comes back from the snapshot; the log after it is applied again.
  applied_[id] = DecodeApplied(storages_.at(id)->Snapshot().data());
  Build(id);
}

uint64_t MemoryCluster::Compact(uint64_t id, uint64_t keep_entries) {
  RawNode& n = *nodes_.at(id);
  MemoryStorage& st = *storages_.at(id);
  const uint64_t index = n.raft().log().applied();
  absl::StatusOr<raftpb::Snapshot> snap = st.CreateSnapshot(index, n.raft().conf_state(), EncodeApplied(applied_[id]));
  DETCD_CHECK_MSG(snap.ok(), snap.status().ToString().c_str());
  if (index > keep_entries && index - keep_entries > st.FirstIndex() - 1) {
    DETCD_CHECK(st.Compact(index - keep_entries).ok());
  }
  return index;
}

}  // namespace detcd::raft::rafttest
