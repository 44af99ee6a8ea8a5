// Replica: the state machine every simulated node runs on top of Raft — the distinct request ids of the applied
// entries, in the order they were first applied (a retried request committed twice counts once). It can snapshot
// itself to bytes and be restored from them, as a node's state machine must for log compaction and InstallSnapshot.
// Restore never trusts its input: bytes that do not parse are an error, not a crash.
#ifndef DETCD_SIM_REPLICA_H_
#define DETCD_SIM_REPLICA_H_

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "api/raft.pb.h"

namespace detcd::sim {

class Replica {
 public:
  // Applies a committed entry; entries must come in index order, each after applied_index().
  void Apply(const raftpb::Entry& entry);
  std::string Snapshot() const;
  absl::Status Restore(absl::string_view data);
  void Clear();

  uint64_t applied_index() const { return applied_index_; }
  const std::vector<std::string>& ids() const { return ids_; }
  bool Holds(const std::string& id) const { return id_set_.count(id) > 0; }

 private:
  uint64_t applied_index_ = 0;
  std::vector<std::string> ids_;
  std::set<std::string> id_set_;
};

// The request id a value carries: "c<client>-<seq>:" then padding up to the value size -> "c<client>-<seq>".
std::string RequestId(absl::string_view value);

}  // namespace detcd::sim

#endif  // DETCD_SIM_REPLICA_H_
