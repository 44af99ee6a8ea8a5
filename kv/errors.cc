#include "kv/errors.h"

#include <string>

namespace detcd::kv {

absl::Status ErrEmptyKey() { return absl::InvalidArgumentError("etcdserver: key is not provided"); }
absl::Status ErrKeyNotFound() { return absl::InvalidArgumentError("etcdserver: key not found"); }
absl::Status ErrValueProvided() { return absl::InvalidArgumentError("etcdserver: value is provided"); }
absl::Status ErrLeaseProvided() { return absl::InvalidArgumentError("etcdserver: lease is provided"); }
absl::Status ErrTooManyOps() { return absl::InvalidArgumentError("etcdserver: too many operations in txn request"); }
absl::Status ErrDuplicateKey() { return absl::InvalidArgumentError("etcdserver: duplicate key given in txn request"); }
absl::Status ErrRequestTooLarge() { return absl::InvalidArgumentError("etcdserver: request is too large"); }
absl::Status ErrNoSpace() { return absl::ResourceExhaustedError("etcdserver: mvcc: database space exceeded"); }
absl::Status ErrCorrupt() { return absl::DataLossError("etcdserver: corrupt cluster"); }
absl::Status ErrNoLeader() { return absl::UnavailableError("etcdserver: no leader"); }
absl::Status ErrNotLeader() { return absl::FailedPreconditionError("etcdserver: not leader"); }
absl::Status ErrBadLeaderTransferee() { return absl::FailedPreconditionError("etcdserver: bad leader transferee"); }
// etcd 3.4 has no gRPC code for it: clients see Unknown.
absl::Status ErrLeaderTransferTimeout() {
  return absl::UnknownError("etcdserver: request timed out, leader transfer took too long");
}
absl::Status ErrTimeout() { return absl::UnavailableError("etcdserver: request timed out"); }
absl::Status ErrTimeoutDueToLeaderFail() {
  return absl::UnavailableError("etcdserver: request timed out, possibly due to previous leader failure");
}
absl::Status ErrStopped() { return absl::UnavailableError("etcdserver: server stopped"); }
absl::Status ErrTooManyRequests() { return absl::ResourceExhaustedError("etcdserver: too many requests"); }
absl::Status ErrMemberExist() { return absl::FailedPreconditionError("etcdserver: member ID already exist"); }
absl::Status ErrPeerURLExist() { return absl::FailedPreconditionError("etcdserver: Peer URLs already exists"); }
absl::Status ErrMemberNotFound() { return absl::NotFoundError("etcdserver: member not found"); }
absl::Status ErrMemberBadURLs() { return absl::InvalidArgumentError("etcdserver: given member URLs are invalid"); }
absl::Status ErrMemberNotLearner() {
  return absl::FailedPreconditionError("etcdserver: can only promote a learner member");
}
absl::Status ErrLearnerNotReady() {
  return absl::FailedPreconditionError("etcdserver: can only promote a learner member which is in sync with leader");
}
absl::Status ErrTooManyLearners() {
  return absl::FailedPreconditionError("etcdserver: too many learner members in cluster");
}
absl::Status ErrMemberNotEnoughStarted() {
  return absl::FailedPreconditionError("etcdserver: re-configuration failed due to not enough started members");
}
absl::Status ErrNotSupportedForLearner() { return absl::UnavailableError("etcdserver: rpc not supported for learner"); }

absl::Status ErrRootUserNotExist() { return absl::FailedPreconditionError("etcdserver: root user does not exist"); }
absl::Status ErrRootRoleNotExist() {
  return absl::FailedPreconditionError("etcdserver: root user does not have root role");
}
absl::Status ErrUserAlreadyExist() { return absl::FailedPreconditionError("etcdserver: user name already exists"); }
absl::Status ErrUserEmpty() { return absl::InvalidArgumentError("etcdserver: user name is empty"); }
absl::Status ErrUserNotFound() { return absl::FailedPreconditionError("etcdserver: user name not found"); }
absl::Status ErrRoleAlreadyExist() { return absl::FailedPreconditionError("etcdserver: role name already exists"); }
absl::Status ErrRoleNotFound() { return absl::FailedPreconditionError("etcdserver: role name not found"); }
absl::Status ErrRoleEmpty() { return absl::InvalidArgumentError("etcdserver: role name is empty"); }
absl::Status ErrAuthFailed() {
  return absl::InvalidArgumentError("etcdserver: authentication failed, invalid user ID or password");
}
absl::Status ErrPermissionDenied() { return absl::PermissionDeniedError("etcdserver: permission denied"); }
absl::Status ErrRoleNotGranted() {
  return absl::FailedPreconditionError("etcdserver: role is not granted to the user");
}
absl::Status ErrPermissionNotGranted() {
  return absl::FailedPreconditionError("etcdserver: permission is not granted to the role");
}
absl::Status ErrAuthNotEnabled() { return absl::FailedPreconditionError("etcdserver: authentication is not enabled"); }
absl::Status ErrInvalidAuthToken() { return absl::UnauthenticatedError("etcdserver: invalid auth token"); }
absl::Status ErrInvalidAuthMgmt() { return absl::InvalidArgumentError("etcdserver: invalid auth management"); }
absl::Status ErrAuthOldRevision() {
  return absl::InvalidArgumentError("etcdserver: revision of auth store is old");
}

std::string GrpcErrorText(const absl::Status& s) {
  static const char* const kNames[] = {"OK",           "Canceled",         "Unknown",        "InvalidArgument",
                                       "DeadlineExceeded", "NotFound",     "AlreadyExists",  "PermissionDenied",
                                       "ResourceExhausted", "FailedPrecondition", "Aborted",  "OutOfRange",
                                       "Unimplemented", "Internal",        "Unavailable",    "DataLoss",
                                       "Unauthenticated"};
  const int code = static_cast<int>(s.code());
  const std::string name = code >= 0 && code < 17 ? kNames[code] : "Code(" + std::to_string(code) + ")";
  return "rpc error: code = " + name + " desc = " + std::string(s.message());
}

}  // namespace detcd::kv
