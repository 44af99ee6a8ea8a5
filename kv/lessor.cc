#include "kv/lessor.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/kv_snapshot.pb.h"

namespace detcd::kv {

namespace {
constexpr char kNotFound[] = "etcdserver: requested lease not found";
}  // namespace

absl::Status ErrLeaseNotFound() { return absl::NotFoundError(kNotFound); }
absl::Status ErrLeaseExist() { return absl::FailedPreconditionError("etcdserver: lease already exists"); }
absl::Status ErrLeaseTTLTooLarge() { return absl::OutOfRangeError("etcdserver: too large lease TTL"); }
absl::Status ErrNotPrimary() { return absl::UnavailableError("etcdserver: not primary"); }
bool IsErrLeaseNotFound(const absl::Status& s) { return absl::IsNotFound(s) && s.message() == kNotFound; }

absl::StatusOr<const Lease*> Lessor::Grant(int64_t id, int64_t ttl_s, int64_t now_us) {
  if (id == 0) return absl::InvalidArgumentError("etcdserver: lease ID must be chosen before it is granted");
  if (ttl_s > kMaxLeaseTTLSeconds) return ErrLeaseTTLTooLarge();
  if (leases_.count(id) > 0) return ErrLeaseExist();
  Lease& l = leases_[id];
  l.id = id;
  l.ttl_s = std::max(ttl_s, min_ttl_s_);
  l.expiry_us = primary_ ? now_us + l.ttl_s * 1'000'000 : 0;
  return &l;
}

absl::StatusOr<std::vector<std::string>> Lessor::Revoke(int64_t id) {
  auto it = leases_.find(id);
  if (it == leases_.end()) return ErrLeaseNotFound();
  std::vector<std::string> keys(it->second.keys.begin(), it->second.keys.end());
  leases_.erase(it);
  return keys;
}

void Lessor::Attach(int64_t id, const std::string& key) {
  auto it = leases_.find(id);
  if (it != leases_.end()) it->second.keys.insert(key);
}

void Lessor::Detach(int64_t id, const std::string& key) {
  auto it = leases_.find(id);
  if (it != leases_.end()) it->second.keys.erase(key);
}

const Lease* Lessor::Lookup(int64_t id) const {
  auto it = leases_.find(id);
  return it == leases_.end() ? nullptr : &it->second;
}

std::vector<int64_t> Lessor::Ids() const {
  std::vector<int64_t> out;
  out.reserve(leases_.size());
  for (const auto& [id, l] : leases_) out.push_back(id);
  return out;
}

void Lessor::Promote(int64_t now_us, int64_t extend_us) {
  primary_ = true;
  for (auto& [id, l] : leases_) l.expiry_us = now_us + l.ttl_s * 1'000'000 + extend_us;
}

void Lessor::Demote() {
  primary_ = false;
  for (auto& [id, l] : leases_) l.expiry_us = 0;
}

absl::StatusOr<int64_t> Lessor::Renew(int64_t id, int64_t now_us) {
  if (!primary_) return ErrNotPrimary();
  auto it = leases_.find(id);
  if (it == leases_.end()) return ErrLeaseNotFound();
  it->second.expiry_us = now_us + it->second.ttl_s * 1'000'000;
  return it->second.ttl_s;
}

std::vector<int64_t> Lessor::Expired(int64_t now_us, size_t limit) const {
  std::vector<std::pair<int64_t, int64_t>> due;  // (deadline, id)
  if (!primary_) return {};
  for (const auto& [id, l] : leases_) {
    if (l.expiry_us != 0 && l.expiry_us <= now_us) due.emplace_back(l.expiry_us, id);
  }
  std::sort(due.begin(), due.end());
  std::vector<int64_t> out;
  for (size_t i = 0; i < due.size() && i < limit; ++i) out.push_back(due[i].second);
  return out;
}

int64_t Lessor::RemainingSeconds(const Lease& l, int64_t now_us) const {
  if (!primary_ || l.expiry_us == 0) return l.ttl_s;
  // etcd: int64(Remaining().Seconds()), whole seconds left rounded down (29 just after a grant of 30).
  const int64_t left_us = l.expiry_us - now_us;
  return left_us <= 0 ? 0 : left_us / 1'000'000;
}

std::string Lessor::Serialize() const {
  kvpb::LeaseSnapshot snap;
  for (const auto& [id, l] : leases_) {
    kvpb::LeaseRecord* r = snap.add_leases();
    r->set_id(id);
    r->set_ttl(l.ttl_s);
  }
  return snap.SerializeAsString();
}

absl::Status Lessor::Restore(const std::string& data) {
  kvpb::LeaseSnapshot snap;
  if (!snap.ParseFromString(data)) return absl::DataLossError("lease snapshot does not parse");
  std::map<int64_t, Lease> leases;
  for (const kvpb::LeaseRecord& r : snap.leases()) {
    if (r.id() == 0 || r.ttl() <= 0 || r.ttl() > kMaxLeaseTTLSeconds || leases.count(r.id()) > 0) {
      return absl::DataLossError(absl::StrCat("lease snapshot: bad lease ", r.id(), " ttl ", r.ttl()));
    }
    Lease& l = leases[r.id()];
    l.id = r.id();
    l.ttl_s = r.ttl();
  }
  leases_ = std::move(leases);
  primary_ = false;
  return absl::OkStatus();
}

}  // namespace detcd::kv
