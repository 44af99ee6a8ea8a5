// etcd's corruption checks as pure judgements over hashes already gathered (etcdserver/corrupt.go): what a member
// starting with --experimental-initial-corrupt-check concludes from its peers' HashKV at its own revision, and what a
// leader's periodic check (--experimental-corrupt-check-time) concludes from its hash before and after a
// linearizable barrier and its followers' answers — with etcd's log lines. It gathers nothing and raises nothing
// itself: the member's driver fetches the hashes (peer HTTP /members/hashkv, or the simulator's members) and proposes
// the CORRUPT alarm it names.
#ifndef DETCD_KV_CORRUPTION_CHECK_H_
#define DETCD_KV_CORRUPTION_CHECK_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace detcd::kv {

// One member's HashKV answer: the hash of its store up to the revision asked, its current revision (the answer's
// header) and its compaction revision (-1 before any, as etcd reports it).
struct HashKVAnswer {
  uint32_t hash = 0;
  int64_t revision = 0;
  int64_t compact_revision = -1;
};

struct PeerHashKV {
  uint64_t member_id = 0;
  absl::Status error;  // not ok: no answer (unreachable, or etcd's ErrFutureRev / ErrCompacted)
  HashKVAnswer answer;
};

struct CorruptionVerdict {
  std::vector<std::string> log;  // etcd's lines, in order
  bool inconsistent = false;     // initial check: refuse to start ("<id> found data inconsistency with peers")
  uint64_t alarm_member = 0;     // periodic check: raise CORRUPT for this member (0: none), as etcd, the first found
};

// `local`: this member's hash at its revision; `peers`: their hashes at that revision.
CorruptionVerdict JudgeInitialHashes(uint64_t self, const HashKVAnswer& local, const std::vector<PeerHashKV>& peers);

// On the leader: `before` its hash when it asked the followers (at before.revision), `after` its hash once a
// linearizable read completed after their answers.
CorruptionVerdict JudgeLeaderHashes(uint64_t self, const HashKVAnswer& before, const HashKVAnswer& after,
                                    const std::vector<PeerHashKV>& peers);

// The error a member refusing to start gives (etcd's text).
absl::Status InconsistentWithPeers(uint64_t self);

}  // namespace detcd::kv

#endif  // DETCD_KV_CORRUPTION_CHECK_H_
