// etcd's client-facing errors: the exact messages and gRPC codes (absl::StatusCode values equal gRPC's) that etcd
// 3.4 returns, so that clients recognise them, retry and fail over as they do against etcd. One place for all of
// them; the MVCC store's and the lessor's own errors are declared beside them and worded the same way.
#ifndef DETCD_KV_ERRORS_H_
#define DETCD_KV_ERRORS_H_

#include "absl/status/status.h"

namespace detcd::kv {

absl::Status ErrEmptyKey();         // "etcdserver: key is not provided"
absl::Status ErrKeyNotFound();      // "etcdserver: key not found"
absl::Status ErrValueProvided();    // "etcdserver: value is provided"
absl::Status ErrLeaseProvided();    // "etcdserver: lease is provided"
absl::Status ErrTooManyOps();       // "etcdserver: too many operations in txn request"
absl::Status ErrDuplicateKey();     // "etcdserver: duplicate key given in txn request"
absl::Status ErrRequestTooLarge();  // "etcdserver: request is too large"
absl::Status ErrNoSpace();          // "etcdserver: mvcc: database space exceeded"
absl::Status ErrCorrupt();          // "etcdserver: corrupt cluster" (DataLoss): writes while a CORRUPT alarm is raised
absl::Status ErrNoLeader();         // "etcdserver: no leader"
absl::Status ErrNotLeader();        // "etcdserver: not leader" (FailedPrecondition, as etcd's)
absl::Status ErrBadLeaderTransferee();    // "etcdserver: bad leader transferee"
absl::Status ErrLeaderTransferTimeout();  // "etcdserver: request timed out, leader transfer took too long"
absl::Status ErrTimeout();          // "etcdserver: request timed out"
absl::Status ErrTimeoutDueToLeaderFail();  // "etcdserver: request timed out, possibly due to previous leader failure"
absl::Status ErrStopped();          // "etcdserver: server stopped"
// "etcdserver: too many requests" (ResourceExhausted): the member is overloaded — its apply lags its commit index by
// more than etcd's maxGapBetweenApplyAndCommitIndex, or its queue of requests in flight is full.
absl::Status ErrTooManyRequests();
// Membership changes (Cluster service).
absl::Status ErrMemberExist();         // "etcdserver: member ID already exist"
absl::Status ErrPeerURLExist();        // "etcdserver: Peer URLs already exists"
absl::Status ErrMemberNotFound();      // "etcdserver: member not found" (also for a removed member's id)
absl::Status ErrMemberBadURLs();       // "etcdserver: given member URLs are invalid"
absl::Status ErrMemberNotLearner();    // "etcdserver: can only promote a learner member"
absl::Status ErrLearnerNotReady();     // "etcdserver: can only promote a learner member which is in sync with leader"
absl::Status ErrTooManyLearners();     // "etcdserver: too many learner members in cluster"
absl::Status ErrNotSupportedForLearner();  // "etcdserver: rpc not supported for learner"
absl::Status ErrMemberNotEnoughStarted();  // "etcdserver: re-configuration failed due to not enough started members"

}  // namespace detcd::kv

#endif  // DETCD_KV_ERRORS_H_
