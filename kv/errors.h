// etcd's client-facing errors: the exact messages and gRPC codes (absl::StatusCode values equal gRPC's) that etcd
// 3.4 returns, so that clients recognise them, retry and fail over as they do against etcd. One place for all of
// them; the MVCC store's and the lessor's own errors are declared beside them and worded the same way.
#ifndef DETCD_KV_ERRORS_H_
#define DETCD_KV_ERRORS_H_

#include <string>

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
// Authentication and authorization (etcd's auth store, as rpctypes words them for clients).
absl::Status ErrRootUserNotExist();      // "etcdserver: root user does not exist"
absl::Status ErrRootRoleNotExist();      // "etcdserver: root user does not have root role"
absl::Status ErrUserAlreadyExist();      // "etcdserver: user name already exists"
absl::Status ErrUserEmpty();             // "etcdserver: user name is empty" (also: no credentials while auth is on)
absl::Status ErrUserNotFound();          // "etcdserver: user name not found"
absl::Status ErrRoleAlreadyExist();      // "etcdserver: role name already exists"
absl::Status ErrRoleNotFound();          // "etcdserver: role name not found"
absl::Status ErrRoleEmpty();             // "etcdserver: role name is empty"
absl::Status ErrAuthFailed();            // "etcdserver: authentication failed, invalid user ID or password"
absl::Status ErrPermissionDenied();      // "etcdserver: permission denied"
absl::Status ErrRoleNotGranted();        // "etcdserver: role is not granted to the user"
absl::Status ErrPermissionNotGranted();  // "etcdserver: permission is not granted to the role"
absl::Status ErrAuthNotEnabled();        // "etcdserver: authentication is not enabled"
absl::Status ErrInvalidAuthToken();      // "etcdserver: invalid auth token" (Unauthenticated)
absl::Status ErrInvalidAuthMgmt();       // "etcdserver: invalid auth management"
absl::Status ErrAuthOldRevision();       // "etcdserver: revision of auth store is old"

// An error as Go's gRPC prints it ("rpc error: code = PermissionDenied desc = etcdserver: permission denied"): what
// etcd puts in a watch's cancel_reason when it refuses a watch for auth.
std::string GrpcErrorText(const absl::Status& s);

}  // namespace detcd::kv

#endif  // DETCD_KV_ERRORS_H_
