#include "raft/read_only.h"

namespace detcd::raft {

std::string ReadContext(const raftpb::Message& m) { return m.entries_size() > 0 ? m.entries(0).data() : std::string(); }

bool ReadOnly::AddRequest(uint64_t index, const raftpb::Message& request) {
  const std::string ctx = ReadContext(request);
  if (pending_.count(ctx) > 0) return false;
  ReadIndexStatus& status = pending_[ctx];
  status.request = request;
  status.index = index;
  queue_.push_back(ctx);
  return true;
}

size_t ReadOnly::RecvAck(uint64_t from, const std::string& ctx) {
  auto it = pending_.find(ctx);
  if (it == pending_.end()) return 0;
  it->second.acks.insert(from);
  return it->second.acks.size();
}

std::vector<ReadIndexStatus> ReadOnly::Advance(const std::string& ctx) {
  std::vector<ReadIndexStatus> out;
  if (pending_.count(ctx) == 0) return out;
  while (!queue_.empty()) {
    std::string front = std::move(queue_.front());
    queue_.pop_front();
    auto it = pending_.find(front);
    out.push_back(std::move(it->second));
    pending_.erase(it);
    if (front == ctx) break;
  }
  return out;
}

}  // namespace detcd::raft
