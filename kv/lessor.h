// Lessor: etcd's leases — a lease has an ID, a granted TTL and the keys attached to it; when it expires or is revoked
// its keys are deleted. Grants, revokes and attachments are applied through Raft on every replica, so all agree on
// which leases exist and which keys they hold. Expiry is the leader's alone (the "primary" lessor): only it has
// deadlines, from the time its driver gives it; it finds expired leases and proposes their revocation. A new leader
// extends every deadline (Promote) so that no lease expires because of an election; a follower holds none (Demote).
// The lessor never reads a clock: every call that needs the time takes `now_us` from the caller. It does not touch
// the key-value store: Revoke returns the keys for the caller to delete.
#ifndef DETCD_KV_LESSOR_H_
#define DETCD_KV_LESSOR_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace detcd::kv {

// etcd's lease errors, with its gRPC messages.
absl::Status ErrLeaseNotFound();      // "etcdserver: requested lease not found"
absl::Status ErrLeaseExist();         // "etcdserver: lease already exists"
absl::Status ErrLeaseTTLTooLarge();   // "etcdserver: too large lease TTL"
absl::Status ErrNotPrimary();         // "etcdserver: not primary" (keep-alives go to the leader)
bool IsErrLeaseNotFound(const absl::Status& s);

inline constexpr int64_t kMaxLeaseTTLSeconds = 9'000'000'000;

struct Lease {
  int64_t id = 0;
  int64_t ttl_s = 0;         // granted TTL, seconds (at least the minimum)
  int64_t expiry_us = 0;     // primary only: when it expires; 0 on a follower (never, here)
  std::set<std::string> keys;
};

class Lessor {
 public:
  // min_ttl_s: shorter requested TTLs are raised to this (etcd: 1.5 election timeouts, rounded up to seconds).
  explicit Lessor(int64_t min_ttl_s) : min_ttl_s_(min_ttl_s) {}

  // ---- applied through Raft (every replica) ----
  absl::StatusOr<const Lease*> Grant(int64_t id, int64_t ttl_s, int64_t now_us);
  // Removes the lease; returns the keys that were attached (the caller deletes them in one revision).
  absl::StatusOr<std::vector<std::string>> Revoke(int64_t id);
  // key is now held by lease id (0: none); it leaves the lease that held it before, if another.
  void Attach(int64_t id, const std::string& key);
  void Detach(int64_t id, const std::string& key);

  const Lease* Lookup(int64_t id) const;
  std::vector<int64_t> Ids() const;
  size_t size() const { return leases_.size(); }

  // ---- leader only ----
  // Becomes primary: every lease gets a fresh deadline, now + its TTL + extend_us.
  void Promote(int64_t now_us, int64_t extend_us);
  void Demote();
  bool primary() const { return primary_; }
  // A keep-alive: the deadline moves to now + TTL. Returns the TTL.
  absl::StatusOr<int64_t> Renew(int64_t id, int64_t now_us);
  // Leases whose deadline passed (primary only), oldest deadline first, at most `limit`.
  std::vector<int64_t> Expired(int64_t now_us, size_t limit) const;
  // Seconds left before the lease expires (primary), or its TTL (follower: it does not know the deadline).
  int64_t RemainingSeconds(const Lease& l, int64_t now_us) const;

  // Snapshot: (id, ttl) of every lease; attachments are rebuilt from the store (each kv names its lease).
  std::string Serialize() const;
  absl::Status Restore(const std::string& data);

 private:
  int64_t min_ttl_s_;
  bool primary_ = false;
  std::map<int64_t, Lease> leases_;
};

}  // namespace detcd::kv

#endif  // DETCD_KV_LESSOR_H_
