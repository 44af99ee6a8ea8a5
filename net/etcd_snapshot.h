// EtcdSnapshot: a member's state (kvpb::StateSnapshot) as the file etcd 3.4's Maintenance.Snapshot streams, so that
// `etcdctl snapshot status` reads it and `etcdctl snapshot restore` turns it into a data directory stock etcd 3.4
// starts on (a way from detcd to etcd; net/etcd_import.h is the way back). The file is etcd's backend database — a
// bbolt file (storage/bbolt_writer.h) with the buckets etcd 3.4 creates — padded to a multiple of 512 bytes, then
// the SHA-256 of those bytes, which restore checks.
//
// Buckets, as etcd 3.4 writes them (mvcc/kvstore.go, lease/lessor.go, etcdserver/api/membership/store.go,
// etcdserver/apply alarms, auth/store.go):
//   key             revision bytes (8-byte big-endian main, '_', 8-byte big-endian sub, 't' after a tombstone's)
//                   → marshaled mvccpb.KeyValue (a tombstone's holds only the key); every version kept
//   meta            "consistent_index" → 8-byte big-endian applied Raft index; "scheduledCompactRev" and
//                   "finishedCompactRev" → revision bytes {compaction revision, 0}, once compacted
//   lease           8-byte big-endian lease id → marshaled leasepb.Lease{ID, TTL}
//   members         member id in lowercase hex → JSON of etcd's membership.Member
//   members_removed member id in lowercase hex → "removed"
//   cluster         "clusterVersion" → "3.4.0"
//   alarm           marshaled etcdserverpb.AlarmMember → empty
//   auth            "authRevision" → 8-byte big-endian auth revision; "authEnabled" → 1 byte, 1, while auth is on
//                   (etcd also writes 0 once auth was turned off again; detcd leaves the key out, which etcd reads
//                   alike)
//   authUsers       user name → marshaled authpb.User (its bcrypt hash, roles, options)
//   authRoles       role name → marshaled authpb.Role (its key permissions)
// etcd derives the store's revision from the "key" bucket's last key (or the compaction revision, if later); a
// state whose revision neither shows is refused rather than written with a revision that would go back.
// Pure conversion: no IO, no clock; callers run it off the member's core thread on a consistent copy.
#ifndef DETCD_NET_ETCD_SNAPSHOT_H_
#define DETCD_NET_ETCD_SNAPSHOT_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "api/kv_request.pb.h"
#include "api/kv_snapshot.pb.h"
#include "kv/etcd_version_bytes.h"
#include "storage/bbolt_writer.h"

namespace detcd::net {

// etcd 3.4's backend buckets for `state`, sorted by name, each sorted by key. `consistent_index`: the Raft index the
// state reflects. Consumes state's store and lease bytes (cleared) to keep one copy of the keyspace in memory.
absl::StatusOr<std::vector<storage::BboltBucket>> EtcdBackendBuckets(kvpb::StateSnapshot* state,
                                                                     uint64_t consistent_index);

// The whole streamed file for serialized kvpb::StateSnapshot bytes: database, zero padding to 512, SHA-256.
absl::StatusOr<std::string> EtcdSnapshotFile(std::string state_snapshot, uint64_t consistent_index);

// What the streamed snapshot (net/etcd_snapshot_stream.h) builds on. The one large bucket, by name and by place in
// EtcdSmallBuckets' list.
inline constexpr char kEtcdKeyBucket[] = "key";
inline constexpr size_t kEtcdKeyBucketIndex = 5;
// Every bucket, sorted by name, from the state without its store; the "key" bucket in its place, empty.
absl::StatusOr<std::vector<storage::BboltBucket>> EtcdSmallBuckets(const kvpb::StateSnapshot& state,
                                                                   int64_t compacted_revision,
                                                                   uint64_t consistent_index);
// One version as etcd's "key" bucket holds it: revision bytes → marshaled mvccpb.KeyValue.
void EtcdKeyItem(const kvpb::StoreRecord& record, std::string* key, std::string* value);
// FailedPrecondition if etcd, restoring its revision from the newest version kept and the compaction revision, would
// not come back to `revision`.
absl::Status CheckEtcdRevision(int64_t revision, int64_t last_main, int64_t compacted_revision);

// etcd's revision bytes ("revToBytes"), with its tombstone mark: kv/etcd_version_bytes.h.
using kv::EtcdRevisionKey;

// JSON of etcd 3.4's membership.Member as encoding/json writes it into the "members" bucket:
// {"id":N,"peerURLs":[...],"isLearner":true,"name":"...","clientURLs":[...]}, the last three only when set.
std::string EtcdMemberJson(const kvpb::Member& member);

}  // namespace detcd::net

#endif  // DETCD_NET_ETCD_SNAPSHOT_H_
