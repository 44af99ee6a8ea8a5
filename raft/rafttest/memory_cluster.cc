#include "raft/rafttest/memory_cluster.h"

#include "absl/strings/str_cat.h"
#include "raft/check.h"

namespace detcd::raft::rafttest {

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
      if (cut_.count({m.from(), m.to()}) > 0 || nodes_.count(m.to()) == 0) continue;
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
  applied_[id].clear();
  Build(id);
}

}  // namespace detcd::raft::rafttest
