// AuthChecker: etcd's auth promise, checked for the clients of a simulated cluster — no KV operation succeeded that
// the permissions in force at its admission forbade, none failed with "permission denied" that they allowed, and a
// write that an auth change overtook (one applied between its admission and its entry's apply) did not succeed.
//
// What it knows. Every entry any member applied (KvCluster's on_apply): replayed in log order into an AuthStore of
// its own (auth changes as the member applies them: an administrator's, or anybody's while auth is off; duplicates
// of a request id skipped as the member's dedup window skips them), it gives the auth store's state at every auth
// revision and, for every client put/delete/txn entry, what the member had to answer when it applied: "revision of
// auth store is old" if the store's revision had moved past the one the entry carries, else permitted or
// "permission denied" by the store then. From the workload, each operation (AuthOp): the user, the request, the
// member's auth revision at the instant it admitted the request (what the member resolved the token to — seen by the
// simulator, the client cannot see it), when it was invoked and completed, and how it ended.
//
// What it checks, for each operation that completed OK, with "permission denied" or (writes) with "revision of auth
// store is old" — never for invalid tokens, time-outs and other errors, which say nothing about permissions:
//   - every such read or write: OK => the auth state at its admission revision allows it; denied => it forbids it;
//   - a write also against its entry (the entry with the same request from the same user, first applied within the
//     operation's [invoke, complete]; for puts and txns the workload makes the request unique by its value, a delete
//     may have several candidates and one that explains the outcome is enough): its outcome is what the member had to
//     answer when the entry applied — so an OK write was not overtaken by an auth change, and "old revision" was
//     answered only to a write that one did overtake; an OK or "old revision" write with no entry at all is one too.
//     A write denied with no entry (refused before it was proposed, which no etcd member does) is judged by its
//     admission revision alone.
// What it cannot prove. Reads are served locally and leave nothing in the log: a read is judged by the state at its
// admission revision, which is exact only if the serving member checked it there (a read served after an auth change
// must fail with "old revision"; a member that served it anyway by the new rules, when those agree with the old, goes
// unnoticed — as does any bug that lies about the admission revision itself). Reads failing with "old revision" are
// not checked. The auth store's own rules (AuthStore::CheckRead/CheckWrite/CheckTxn: range coverage, permission
// types, the root role) are the reference here too: a bug in them would be the checker's as well. Enable is taken to
// be the one auth change that keeps the revision, and to come before any token a client uses. Leases (a put's lease
// keys), alarms (CORRUPT, NOSPACE refuse writes before the permission check) and users deleted while they hold tokens
// are outside what it models; the auth workload uses none of them. Entries nobody was seen to apply (a gap in the
// log) stop the replay: operations after it go unchecked.
// It never changes the cluster; it only reads what it is given.
#ifndef DETCD_SIM_CHECKERS_AUTH_CHECKER_H_
#define DETCD_SIM_CHECKERS_AUTH_CHECKER_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "api/kv_request.pb.h"
#include "api/raft.pb.h"
#include "kv/auth_store.h"

namespace detcd::sim {

// One client operation of the auth workload.
struct AuthOp {
  enum class Outcome { kOk, kDenied, kOldRevision, kOther };
  int client = 0;
  std::string user;
  uint64_t host = 0;                // the member's host it was sent to
  kvpb::ClientRequest request;      // as sent, without its credentials
  bool admitted = false;            // the member took it (else: refused connection)
  uint64_t admitted_revision = 0;   // the member's auth revision when it took it
  int64_t invoke_us = 0;
  int64_t complete_us = -1;         // -1: no answer (timed out)
  Outcome outcome = Outcome::kOther;
  std::string error;                // the member's error, if any
};

// The outcome a member gives an error.
AuthOp::Outcome AuthOutcomeOf(const absl::Status& s);

struct AuthCheckerStats {
  uint64_t entries = 0;          // distinct log entries seen
  uint64_t auth_changes = 0;     // auth changes applied in the replay
  uint64_t revisions = 0;        // auth revisions the replay went through
  uint64_t ops_checked = 0;      // operations checked against their admission revision
  uint64_t writes_matched = 0;   // writes checked against their entry
  uint64_t unchecked = 0;        // completed with an auth outcome but beyond what could be checked
};

class AuthChecker {
 public:
  // An entry a member applied at `now_us`. Any member, any order; the first data seen at an index is kept (the Raft
  // checker reports members that disagree).
  void OnApply(const raftpb::Entry& e, int64_t now_us);
  // Replays the log and checks every operation: "" if all hold, else the first violation, described.
  std::string Check(const std::vector<AuthOp>& ops);
  // When the operation of the violation Check found completed (-1: none).
  int64_t violation_us() const { return violation_us_; }
  const AuthCheckerStats& stats() const { return stats_; }

 private:
  struct Seen {
    raftpb::EntryType type = raftpb::ENTRY_NORMAL;
    std::string data;
    int64_t first_apply_us = 0;
  };
  // A client write as applied: who sent it, at which auth revision, and what the member had to answer.
  struct AppliedWrite {
    uint64_t index = 0;
    std::string user;
    uint64_t revision = 0;
    AuthOp::Outcome expected = AuthOp::Outcome::kOther;
    std::string why;  // the expected status's message
    int64_t first_apply_us = 0;
  };
  void Replay();
  // The auth state as it was at `revision` (its last state there); null if the replay never reached it.
  const kv::AuthStore* AtRevision(uint64_t revision) const;
  std::string CheckOp(const AuthOp& op);
  std::string Describe(const AuthOp& op) const;
  std::string Permissions(const kv::AuthStore& s, const std::string& user) const;

  std::map<uint64_t, Seen> log_;
  std::map<uint64_t, kv::AuthStore> at_revision_;
  // Client writes by their request (credentials cleared, serialized).
  std::multimap<std::string, AppliedWrite> writes_;
  bool replay_complete_ = true;
  int64_t violation_us_ = -1;
  AuthCheckerStats stats_;
};

// The permission a put, delete or txn needs (the member's CheckApplyPermission for them) or a range, against `s` for
// `who`.
absl::Status AuthPermission(const kv::AuthStore& s, const kv::AuthInfo& who, const kvpb::ClientRequest& r);

}  // namespace detcd::sim

#endif  // DETCD_SIM_CHECKERS_AUTH_CHECKER_H_
