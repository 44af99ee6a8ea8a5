// ReadOnly: a leader's queue of pending ReadIndex requests (§6.4 of the Raft thesis). Each request remembers the
// commit index at the time it arrived; it is safe to serve once a quorum has answered a heartbeat sent after it, which
// proves no newer leader existed then. An acknowledgement of a later request confirms all earlier ones, so one
// heartbeat round serves a whole batch. It sends nothing itself.
#ifndef DETCD_RAFT_READ_ONLY_H_
#define DETCD_RAFT_READ_ONLY_H_

#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "api/raft.pb.h"

namespace detcd::raft {

struct ReadIndexStatus {
  raftpb::Message request;  // the MsgReadIndex (from self, or forwarded by a follower)
  uint64_t index = 0;       // the leader's commit index when the request arrived
  std::set<uint64_t> acks;  // voters that answered a heartbeat carrying this request's context
};

class ReadOnly {
 public:
  // Returns false if a request with the same context is already pending (the duplicate is ignored).
  bool AddRequest(uint64_t index, const raftpb::Message& request);
  // Records a heartbeat answer carrying ctx; returns how many voters (self included by the caller) acked it, or 0
  // if ctx is unknown.
  size_t RecvAck(uint64_t from, const std::string& ctx);
  // Who acknowledged the request with ctx (empty if none is pending).
  std::set<uint64_t> Acks(const std::string& ctx) const {
    auto it = pending_.find(ctx);
    return it == pending_.end() ? std::set<uint64_t>() : it->second.acks;
  }
  // Removes and returns every request up to and including the one with ctx, oldest first.
  std::vector<ReadIndexStatus> Advance(const std::string& ctx);
  // Context of the newest pending request, or "" if none.
  std::string LastPendingContext() const { return queue_.empty() ? std::string() : queue_.back(); }
  size_t pending() const { return queue_.size(); }
  void Reset() {
    pending_.clear();
    queue_.clear();
  }

 private:
  std::map<std::string, ReadIndexStatus> pending_;
  std::deque<std::string> queue_;
};

// The context of a ReadIndex request travels as the data of its single entry, as in etcd's raft.
std::string ReadContext(const raftpb::Message& m);

}  // namespace detcd::raft

#endif  // DETCD_RAFT_READ_ONLY_H_
