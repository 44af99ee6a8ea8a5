// Applier: etcd's request semantics over the MVCC store and the lessor — what a Range, Put, DeleteRange, Txn,
// Compaction, LeaseGrant or LeaseRevoke does, returns and refuses, as etcd 3.4's apply layer does it. Writes arrive
// here only as committed Raft entries, so every replica applies the same requests in the same order and ends in the
// same state; reads are served here too (after ReadIndex, or locally for serializable ones). The applier fills each
// response except the header's cluster, member and term (the node core's), and reports the watch events of every
// revision it creates. Requests are assumed to have passed kv/request_check. No clock (lease grants take now_us from
// the caller), no IO.
#ifndef DETCD_KV_APPLIER_H_
#define DETCD_KV_APPLIER_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "api/etcdserverpb/rpc.pb.h"
#include "api/mvccpb/kv.pb.h"
#include "kv/lessor.h"
#include "kv/mvcc_store.h"

namespace detcd::kv {

// The changes one applied request made: a new revision and its events (empty if it wrote nothing).
struct Applied {
  int64_t revision = 0;
  std::vector<mvccpb::Event> events;
};

// etcd's mvcc operation counters (etcd_mvcc_range_total, _put_total, _delete_total, _txn_total), counted as etcd's
// metricsTxnWrite counts them: every range a request made of the store (a compare, and a put's or a precheck's look
// at a key's previous version, and the read of the revision after a compaction, included), every put, every delete
// range (one per call, however many keys), and a transaction for each store transaction of more than one operation
// (a transaction request that writes is two in etcd: its compares and prechecks, then its operations). Reads count
// on the member that serves them, writes on every member that applies them. Counters only: not state (in no
// snapshot or hash).
struct MvccOpCounts {
  uint64_t ranges = 0;
  uint64_t puts = 0;
  uint64_t deletes = 0;
  uint64_t txns = 0;
};

class Applier {
 public:
  Applier(MvccStore* store, Lessor* lessor) : store_(store), lessor_(lessor) {}

  // What the requests applied and served so far did to the store (see MvccOpCounts).
  const MvccOpCounts& op_counts() const { return counts_; }

  absl::Status Range(const etcdserverpb::RangeRequest& r, etcdserverpb::RangeResponse* resp) const;
  absl::Status Put(const etcdserverpb::PutRequest& r, etcdserverpb::PutResponse* resp, Applied* applied);
  absl::Status DeleteRange(const etcdserverpb::DeleteRangeRequest& r, etcdserverpb::DeleteRangeResponse* resp,
                           Applied* applied);
  absl::Status Txn(const etcdserverpb::TxnRequest& r, etcdserverpb::TxnResponse* resp, Applied* applied);
  absl::Status Compaction(const etcdserverpb::CompactionRequest& r, etcdserverpb::CompactionResponse* resp);
  absl::Status LeaseGrant(const etcdserverpb::LeaseGrantRequest& r, int64_t now_us,
                          etcdserverpb::LeaseGrantResponse* resp);
  absl::Status LeaseRevoke(const etcdserverpb::LeaseRevokeRequest& r, etcdserverpb::LeaseRevokeResponse* resp,
                           Applied* applied);

  // After a snapshot restore: every key's lease attachment comes from the store.
  void ReattachLeases();

 private:
  // Reads and writes of one transaction (or a single request) go through a view: a write transaction if the request
  // writes, else the store itself.
  class View;
  absl::Status RangeIn(const View& v, const etcdserverpb::RangeRequest& r, etcdserverpb::RangeResponse* resp) const;
  absl::Status PutIn(View& v, const etcdserverpb::PutRequest& r, etcdserverpb::PutResponse* resp);
  absl::Status DeleteIn(View& v, const etcdserverpb::DeleteRangeRequest& r, etcdserverpb::DeleteRangeResponse* resp);
  // Runs the chosen branch's operations; compares were evaluated already.
  absl::Status OpsIn(View& v, const etcdserverpb::TxnRequest& r, bool succeeded, etcdserverpb::TxnResponse* resp);
  bool Compares(const View& v, const etcdserverpb::TxnRequest& r) const;
  // Before anything is written: the checks that can fail a transaction (leases exist, ignore_* keys exist, read
  // revisions are valid), over the branches that will run.
  absl::Status Precheck(const View& v, const etcdserverpb::TxnRequest& r) const;

  MvccStore* store_;
  Lessor* lessor_;
  mutable MvccOpCounts counts_;  // counted by reads too (const): not state
};

// True if a list of operations (nested transactions' both branches included) contains a put or delete.
bool IsWrite(const etcdserverpb::TxnRequest& r);

}  // namespace detcd::kv

#endif  // DETCD_KV_APPLIER_H_
