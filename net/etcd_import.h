// EtcdImport: an etcd 3.4 data directory's contents — its backend database (member/snap/db, read by
// storage/bbolt_reader.h) and its WAL (storage/etcd_wal_reader.h) — as a detcd member's state, so a member starts on
// the output of `etcdctl snapshot restore` (or on the directory of a stopped etcd): the way from etcd to detcd. The
// reverse of net/etcd_snapshot.h. Pure conversion: no IO.
//
// What it takes (the formats are in etcd_snapshot.h):
//   key    every version, tombstones too; versions an unfinished compaction left behind are dropped as etcd's
//          compaction would drop them (for each key, only its newest version at or below the compaction revision,
//          unless that is a tombstone)
//   meta   consistent_index (the Raft index the backend reflects: the member's applied index); the compaction
//          revision (scheduledCompactRev, or finishedCompactRev if later)
//   lease  every lease (ID, TTL; keys are attached again from their versions' lease field on restore)
//   alarm  every alarm
//   auth, authUsers, authRoles
//          whether auth is enabled, the auth revision, every user (its bcrypt hash, roles, options) and every role
//          (its key permissions); bytes that do not decode are refused with an error naming the bucket
// Members: `etcdctl snapshot restore` leaves the source cluster's members in the backend and writes the new ones to
// the WAL as conf-change entries from index 1; so a WAL that starts at index 1 gives the membership by replaying its
// conf changes, and otherwise the backend's members and members_removed buckets do, with the WAL's conf changes after
// the consistent index applied on top. Entries past the consistent index that etcd committed must be ones detcd can
// apply here — empty entries (a new leader's), conf changes, and etcd's own v2 writes (a member's published
// attributes, applied to it; the cluster version, dropped), which etcd logs after every start and does not count in
// the backend's consistent index; a v3 request there (a write not yet in the backend) is refused with an error that
// names it, as are uncommitted requests.
#ifndef DETCD_NET_ETCD_IMPORT_H_
#define DETCD_NET_ETCD_IMPORT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/kv_request.pb.h"
#include "api/raft.pb.h"
#include "storage/bbolt_reader.h"
#include "storage/etcd_wal_reader.h"

namespace detcd::net {

struct ImportedEtcdMember {
  kvpb::StateSnapshot state;          // the member's state at applied_index
  raftpb::SnapshotMetadata snapshot;  // index = applied index, its term, the configuration then
  raftpb::HardState hard_state;       // etcd's term and vote; commit = the applied index
  uint64_t member_id = 0;             // etcd's, from its WAL's metadata
  uint64_t cluster_id = 0;
  int64_t revision = 0;
  int64_t compacted_revision = 0;
  size_t versions = 0;
  size_t leases = 0;
  size_t skipped_entries = 0;  // entries past the consistent index taken here (empty, conf changes, etcd's v2 writes)
};

absl::StatusOr<ImportedEtcdMember> ImportEtcdMember(const storage::BboltDatabase& db, const storage::EtcdWal& wal);

}  // namespace detcd::net

#endif  // DETCD_NET_ETCD_IMPORT_H_
