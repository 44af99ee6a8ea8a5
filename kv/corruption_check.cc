#include "kv/corruption_check.h"

#include "absl/strings/str_cat.h"
#include "kv/mvcc_store.h"

namespace detcd::kv {

namespace {

std::string Hex(uint64_t id) { return absl::StrCat(absl::Hex(id)); }

std::string Compared(const HashKVAnswer& local, const PeerHashKV& p) {
  return absl::StrCat("local-member-revision: ", local.revision,
                      ", local-member-compact-revision: ", local.compact_revision, ", local-member-hash: ", local.hash,
                      ", remote-peer-id: ", Hex(p.member_id),
                      ", remote-peer-compact-revision: ", p.answer.compact_revision,
                      ", remote-peer-hash: ", p.answer.hash);
}

}  // namespace

absl::Status InconsistentWithPeers(uint64_t self) {
  return absl::DataLossError(absl::StrCat(Hex(self), " found data inconsistency with peers"));
}

CorruptionVerdict JudgeInitialHashes(uint64_t self, const HashKVAnswer& local, const std::vector<PeerHashKV>& peers) {
  CorruptionVerdict v;
  int mismatches = 0;
  for (const PeerHashKV& p : peers) {
    if (!p.error.ok()) {
      // etcd warns and goes on: a peer that cannot answer is no evidence either way.
      if (p.error.message() == ErrFutureRev().message()) {
        v.log.push_back(absl::StrCat("cannot fetch hash from slow remote peer ", Hex(p.member_id)));
      } else if (p.error.message() == ErrCompacted().message()) {
        v.log.push_back(
            absl::StrCat("cannot fetch hash from remote peer ", Hex(p.member_id), "; local member is behind"));
      } else {
        v.log.push_back(absl::StrCat("cannot fetch hash from remote peer ", Hex(p.member_id), ": ", p.error.message()));
      }
      continue;
    }
    if (p.answer.hash == local.hash) continue;
    if (p.answer.compact_revision == local.compact_revision) {
      v.log.push_back(absl::StrCat("found different hash values from remote peer (", Compared(local, p), ")"));
      ++mismatches;
    } else {
      v.log.push_back(absl::StrCat("found different compact revision values from remote peer (", Compared(local, p),
                                   ")"));
    }
  }
  v.inconsistent = mismatches > 0;
  if (!v.inconsistent) {
    v.log.push_back(absl::StrCat(Hex(self), " initial corruption checking passed; no corruption"));
  }
  return v;
}

CorruptionVerdict JudgeLeaderHashes(uint64_t self, const HashKVAnswer& before, const HashKVAnswer& after,
                                    const std::vector<PeerHashKV>& peers) {
  CorruptionVerdict v;
  auto mismatch = [&](uint64_t member, std::string line) {
    v.log.push_back(std::move(line));
    if (v.alarm_member == 0) v.alarm_member = member;  // etcd raises one alarm per check: the first
  };
  // The leader's own store changed under an unchanged revision: its own state is what is corrupt.
  if (after.hash != before.hash && after.revision == before.revision &&
      after.compact_revision == before.compact_revision) {
    mismatch(self, absl::StrCat("found hash mismatch (revision-1: ", before.revision, ", compact-revision-1: ",
                                before.compact_revision, ", hash-1: ", before.hash, ", revision-2: ", after.revision,
                                ", compact-revision-2: ", after.compact_revision, ", hash-2: ", after.hash, ")"));
  }
  for (const PeerHashKV& p : peers) {
    if (!p.error.ok()) continue;
    const std::string who = absl::StrCat("remote-peer-id: ", Hex(p.member_id));
    if (p.answer.revision > after.revision) {
      mismatch(p.member_id, absl::StrCat("revision from follower must be less than or equal to leader's (leader-"
                                         "revision: ", after.revision, ", follower-revision: ", p.answer.revision,
                                         ", ", who, ")"));
    }
    if (p.answer.compact_revision > after.compact_revision) {
      mismatch(p.member_id, absl::StrCat("compact revision from follower must be less than or equal to leader's "
                                         "(leader-compact-revision: ", after.compact_revision,
                                         ", follower-compact-revision: ", p.answer.compact_revision, ", ", who, ")"));
    }
    if (p.answer.compact_revision == before.compact_revision && p.answer.hash != before.hash) {
      mismatch(p.member_id, absl::StrCat("same compact revision then hashes must match (leader-revision: ",
                                         before.revision, ", leader-compact-revision: ", before.compact_revision,
                                         ", leader-hash: ", before.hash, ", follower-compact-revision: ",
                                         p.answer.compact_revision, ", follower-hash: ", p.answer.hash, ", ", who,
                                         ")"));
    }
  }
  return v;
}

}  // namespace detcd::kv
