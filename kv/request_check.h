// Request checks at the API edge: what etcd 3.4 refuses before a request reaches Raft — an empty key, a value or lease
// given together with ignore_value/ignore_lease, a transaction with too many operations, or one that writes a key
// twice (two puts, or a put inside a deleted range, in the branch that could run together). Errors are etcd's
// (kv/errors.h). Pure functions: no state, no IO.
#ifndef DETCD_KV_REQUEST_CHECK_H_
#define DETCD_KV_REQUEST_CHECK_H_

#include "absl/status/status.h"
#include "api/etcdserverpb/rpc.pb.h"

namespace detcd::kv {

absl::Status CheckRange(const etcdserverpb::RangeRequest& r);
absl::Status CheckPut(const etcdserverpb::PutRequest& r);
absl::Status CheckDeleteRange(const etcdserverpb::DeleteRangeRequest& r);
// max_txn_ops: etcd's --max-txn-ops (default 128), per list (compares, success, failure), at every nesting level.
absl::Status CheckTxn(const etcdserverpb::TxnRequest& r, int max_txn_ops);

}  // namespace detcd::kv

#endif  // DETCD_KV_REQUEST_CHECK_H_
