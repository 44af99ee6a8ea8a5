#include "kv/mvcc_store.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/kv_snapshot.pb.h"
#include "base/check.h"
#include "base/crc32c.h"
#include "kv/etcd_version_bytes.h"

namespace detcd::kv {

namespace {
constexpr char kCompacted[] = "etcdserver: mvcc: required revision has been compacted";
constexpr char kFutureRev[] = "etcdserver: mvcc: required revision is a future revision";

// etcd's range convention: an empty end is the single key; "\0" is every key >= key.
bool AllFrom(const std::string& end) { return end.size() == 1 && end[0] == '\0'; }
}  // namespace

absl::Status ErrCompacted() { return absl::OutOfRangeError(kCompacted); }
absl::Status ErrFutureRev() { return absl::OutOfRangeError(kFutureRev); }
bool IsErrCompacted(const absl::Status& s) { return absl::IsOutOfRange(s) && s.message() == kCompacted; }
bool IsErrFutureRev(const absl::Status& s) { return absl::IsOutOfRange(s) && s.message() == kFutureRev; }

template <typename Fn>
void MvccStore::ForEachKey(const std::string& key, const std::string& end, Fn fn) const {
  if (end.empty()) {
    auto it = index_.find(key);
    if (it != index_.end()) fn(it->first, it->second);
    return;
  }
  const bool all_from = AllFrom(end);
  for (auto it = index_.lower_bound(key); it != index_.end(); ++it) {
    if (!all_from && !(it->first.view() < absl::string_view(end))) break;
    if (!fn(it->first, it->second)) break;
  }
}

absl::StatusOr<int64_t> MvccStore::ReadRev(int64_t rev, int64_t current) const {
  if (rev <= 0) return current;
  if (rev > current) return ErrFutureRev();
  if (rev < compacted_rev_) return ErrCompacted();
  return rev;
}

mvccpb::KeyValue MvccStore::ToKeyValue(const Revision& rev, const Record& r) const {
  mvccpb::KeyValue kv;
  kv.set_key(r.key.data(), r.key.size());
  kv.set_create_revision(r.create_main);
  kv.set_mod_revision(rev.main);
  kv.set_version(r.version);
  kv.set_value(r.value.view().data(), r.value.size());
  kv.set_lease(r.lease);
  return kv;
}

absl::StatusOr<RangeResult> MvccStore::Range(const std::string& key, const std::string& end,
                                             const RangeOptions& opts) const {
  DETCD_CHECK_MSG(!txn_open_, "read outside the open write transaction");
  return RangeAt(key, end, opts, rev_);
}

absl::StatusOr<RangeResult> MvccStore::RangeAt(const std::string& key, const std::string& end,
                                               const RangeOptions& opts, int64_t current) const {
  absl::StatusOr<int64_t> at = ReadRev(opts.rev, current);
  if (!at.ok()) return at.status();
  RangeResult result;
  result.rev = current;
  ForEachKey(key, end, [&](const SharedKey&, const KeyIndex& ki) {
    KeyAt k;
    if (!ki.Get(*at, &k)) return true;
    ++result.count;
    if (opts.count_only || (opts.limit > 0 && static_cast<int64_t>(result.kvs.size()) >= opts.limit)) return true;
    auto rec = records_.find(k.mod);
    DETCD_CHECK_MSG(rec != records_.end(), "index points at a revision the store does not hold");
    result.kvs.push_back(ToKeyValue(k.mod, rec->second));
    return true;
  });
  return result;
}

void MvccStore::ForEachLeasedKey(const std::function<void(absl::string_view key, int64_t lease)>& fn) const {
  for (const auto& [key, ki] : index_) {
    if (!ki.IsLive()) continue;
    auto rec = records_.find(ki.changes().back().rev);
    DETCD_CHECK_MSG(rec != records_.end(), "index points at a revision the store does not hold");
    if (rec->second.lease != 0) fn(key.view(), rec->second.lease);
  }
}

MvccStore::Index::iterator MvccStore::IndexEntry(const std::string& key) {
  auto it = index_.find(key);
  if (it == index_.end()) it = index_.emplace(SharedKey(key), KeyIndex()).first;
  DETCD_CHECK_MSG(it->first.view() == key, "the key index found another key");
  return it;
}

void MvccStore::Insert(const Revision& rev, Record r) {
  bytes_ += RecordBytes(r);
  const bool inserted = records_.emplace(rev, std::move(r)).second;
  DETCD_CHECK_MSG(inserted, "two writes at one revision");
}

MvccStore::WriteTxn::WriteTxn(MvccStore* store) : store_(store), main_(store->rev_ + 1) {
  DETCD_CHECK_MSG(!store_->txn_open_, "a write transaction is already open");
  store_->txn_open_ = true;
}

MvccStore::WriteTxn::~WriteTxn() {
  if (!ended_) End();
}

absl::StatusOr<RangeResult> MvccStore::WriteTxn::Range(const std::string& key, const std::string& end,
                                                        RangeOptions opts) const {
  // Reads see the transaction's own writes; the header revision is the store's revision once they are in.
  absl::StatusOr<RangeResult> r = store_->RangeAt(key, end, opts, changed() ? main_ : main_ - 1);
  return r;
}

MvccStore::WriteTxn::Replaced MvccStore::WriteTxn::Put(const std::string& key, absl::string_view value,
                                                       int64_t lease, mvccpb::KeyValue* prev) {
  DETCD_CHECK(!ended_);
  auto entry = store_->IndexEntry(key);
  KeyIndex& ki = entry->second;
  Replaced replaced;
  KeyAt k;
  if (ki.Get(main_, &k)) {
    const Record& old = store_->records_.at(k.mod);
    replaced.existed = true;
    replaced.lease = old.lease;
    if (prev != nullptr) *prev = store_->ToKeyValue(k.mod, old);
  } else if (prev != nullptr) {
    prev->Clear();
  }
  const Revision rev{main_, sub_++};
  if (!ki.IsLive()) ++store_->live_keys_;
  const KeyChange& c = ki.Put(rev);
  Record r;
  r.key = entry->first;  // the index's bytes, shared
  r.value = value;
  r.create_main = c.create_main;
  r.version = c.version;
  r.lease = lease;
  mvccpb::Event* ev = &events_.emplace_back();
  ev->set_type(mvccpb::Event::PUT);
  *ev->mutable_kv() = store_->ToKeyValue(rev, r);
  store_->Insert(rev, std::move(r));
  return replaced;
}

int64_t MvccStore::WriteTxn::DeleteRange(const std::string& key, const std::string& end,
                                         std::vector<mvccpb::KeyValue>* prev) {
  DETCD_CHECK(!ended_);
  std::vector<SharedKey> live;
  store_->ForEachKey(key, end, [&](const SharedKey& k, const KeyIndex& ki) {
    if (ki.IsLive()) live.push_back(k);
    return true;
  });
  for (const SharedKey& k : live) {
    auto entry = store_->index_.find(k);
    DETCD_CHECK_MSG(entry != store_->index_.end(), "a live key left the index inside a transaction");
    KeyIndex& ki = entry->second;
    if (prev != nullptr) {
      KeyAt at;
      DETCD_CHECK(ki.Get(main_, &at));
      prev->push_back(store_->ToKeyValue(at.mod, store_->records_.at(at.mod)));
    }
    const Revision rev{main_, sub_++};
    DETCD_CHECK(ki.Tombstone(rev));
    DETCD_CHECK_MSG(store_->live_keys_ > 0, "a live key deleted while none is counted");
    --store_->live_keys_;
    Record r;
    r.key = k;
    r.tombstone = true;
    store_->Insert(rev, std::move(r));
    mvccpb::Event* ev = &events_.emplace_back();
    ev->set_type(mvccpb::Event::DELETE);
    ev->mutable_kv()->set_key(k.data(), k.size());
    ev->mutable_kv()->set_mod_revision(main_);
  }
  return static_cast<int64_t>(live.size());
}

std::vector<mvccpb::Event> MvccStore::WriteTxn::End() {
  DETCD_CHECK(!ended_);
  ended_ = true;
  store_->txn_open_ = false;
  if (changed()) store_->rev_ = main_;
  return std::move(events_);
}

size_t MvccStore::CountLiveKeys() const {
  size_t n = 0;
  for (const auto& [key, ki] : index_) n += ki.IsLive() ? 1 : 0;
  return n;
}

absl::Status MvccStore::Compact(int64_t rev) {
  DETCD_CHECK_MSG(!txn_open_, "compaction inside a write transaction");
  if (rev <= compacted_rev_) return ErrCompacted();
  if (rev > rev_) return ErrFutureRev();
  std::vector<Revision> removed;
  for (auto it = index_.begin(); it != index_.end();) {
    it->second.Compact(rev, &removed, /*drop_tombstone_at_rev=*/testing_revision_from_records_);
    if (it->second.Empty()) {
      it = index_.erase(it);
    } else {
      ++it;
    }
  }
  ++compactions_;
  int64_t pinned_rev_max = -1;
  for (const auto& [id, pin] : pins_) pinned_rev_max = std::max(pinned_rev_max, pin.rev);
  for (const Revision& r : removed) {
    auto it = records_.find(r);
    DETCD_CHECK(it != records_.end());
    bytes_ -= RecordBytes(it->second);
    if (r.main <= pinned_rev_max) {
      // A snapshot in progress still has to write it: out of sight, not out of memory, until its pins go.
      const bool held = held_.emplace(r, Held{std::move(it->second), compactions_}).second;
      DETCD_CHECK_MSG(held, "a version compacted twice while pinned");
    }
    records_.erase(it);
  }
  compacted_rev_ = rev;
  // Compaction keeps every live key live (it drops only what no read at or after rev sees); the test-only breakage
  // that drops a tombstone can revive one.
  if (testing_revision_from_records_) live_keys_ = CountLiveKeys();
  DETCD_CHECK_MSG(live_keys_ <= index_.size(), "more live keys counted than the index holds");
  return absl::OkStatus();
}

absl::StatusOr<std::vector<mvccpb::Event>> MvccStore::Changes(int64_t from, int64_t to) const {
  if (from < compacted_rev_) return ErrCompacted();
  std::vector<mvccpb::Event> out;
  for (auto it = records_.lower_bound(Revision{from, 0}); it != records_.end() && it->first.main <= to; ++it) {
    mvccpb::Event& ev = out.emplace_back();
    if (it->second.tombstone) {
      ev.set_type(mvccpb::Event::DELETE);
      ev.mutable_kv()->set_key(it->second.key.data(), it->second.key.size());
      ev.mutable_kv()->set_mod_revision(it->first.main);
    } else {
      ev.set_type(mvccpb::Event::PUT);
      *ev.mutable_kv() = ToKeyValue(it->first, it->second);
    }
  }
  return out;
}

absl::StatusOr<uint32_t> MvccStore::HashKV(int64_t rev) const {
  // etcd refuses a hash at the compaction revision itself (a read there is allowed).
  if (rev > 0 && rev <= compacted_rev_) return ErrCompacted();
  absl::StatusOr<int64_t> at = ReadRev(rev, rev_);
  if (!at.ok()) return at.status();
  // etcd 3.4's HashByRev: the CRC-32C of "key" (its bucket's name), then each version's revision bytes and value, in
  // revision order, up to `at`. Of the versions at or below the compaction revision it takes only those still their
  // key's newest at `at` (its "keep" set) — unless no key is live at `at`, when that set is empty and it skips none.
  // Its compaction also dropped a delete at the compaction revision, which this store keeps for watchers.
  bool any_live = false;
  for (const auto& [key, ki] : index_) {
    KeyAt k;
    if (ki.Get(*at, &k)) {
      any_live = true;
      break;
    }
  }
  uint32_t crc = Crc32c("key");
  const auto extend = [&crc](absl::string_view piece) { crc = Crc32cExtend(crc, piece.data(), piece.size()); };
  for (auto it = records_.begin(); it != records_.end() && it->first.main <= *at; ++it) {
    const Record& r = it->second;
    if (it->first.main <= compacted_rev_) {
      if (r.tombstone) continue;
      if (any_live) {
        auto ki = index_.find(r.key);
        DETCD_CHECK_MSG(ki != index_.end(), "a stored version whose key the index does not hold");
        KeyAt k;
        if (!ki->second.Get(*at, &k) || !(k.mod == it->first)) continue;
      }
    }
    char rev_key[kEtcdRevisionKeyMax];
    extend(absl::string_view(
        rev_key,
        static_cast<size_t>(StoreEtcdRevisionKey(rev_key, it->first.main, it->first.sub, r.tombstone) - rev_key)));
    EmitEtcdVersionValue(EtcdVersion{absl::string_view(r.key.data(), r.key.size()), it->first.main, it->first.sub,
                                     r.tombstone, r.create_main, r.version, r.value.view(), r.lease},
                         extend);
  }
  return crc;
}

std::string MvccStore::Serialize() const {
  kvpb::StoreSnapshot snap;
  snap.set_revision(rev_);
  snap.set_compacted_revision(compacted_rev_);
  for (const auto& [rev, r] : records_) {
    ToStoreRecord(rev, r, snap.add_records());
  }
  return snap.SerializeAsString();
}

void MvccStore::ForEachVersion(const std::function<void(const Revision&, const Record&)>& fn) const {
  for (const auto& [rev, r] : records_) fn(rev, r);
}

void MvccStore::ToStoreRecord(const Revision& rev, const Record& r, kvpb::StoreRecord* out) {
  out->Clear();
  out->set_main(rev.main);
  out->set_sub(rev.sub);
  out->set_key(r.key.data(), r.key.size());
  out->set_value(r.value.view().data(), r.value.size());
  out->set_create_revision(r.create_main);
  out->set_version(r.version);
  out->set_lease(r.lease);
  out->set_tombstone(r.tombstone);
}

MvccStore::PinId MvccStore::AddPin(int64_t rev) {
  DETCD_CHECK_MSG(rev >= compacted_rev_ && rev <= rev_, "pinning a revision the store cannot hold");
  const PinId id = next_pin_++;
  pins_.emplace(id, PinInfo{rev, compactions_});
  return id;
}

void MvccStore::RemovePin(PinId pin) {
  const size_t erased = pins_.erase(pin);
  DETCD_CHECK_MSG(erased == 1, "removing a pin the store does not hold");
  if (pins_.empty()) {
    held_.clear();
    return;
  }
  for (auto it = held_.begin(); it != held_.end();) {
    bool seen = false;
    for (const auto& [id, p] : pins_) seen = seen || Sees(p, it->first, it->second);
    it = seen ? std::next(it) : held_.erase(it);
  }
}

int64_t MvccStore::pin_rev(PinId pin) const {
  auto it = pins_.find(pin);
  DETCD_CHECK_MSG(it != pins_.end(), "asking for a pin the store does not hold");
  return it->second.rev;
}

void MvccStore::Pin(int64_t rev) {
  DETCD_CHECK_MSG(!own_pin_, "one own pin at a time");
  own_pin_ = AddPin(rev);
}

void MvccStore::Unpin() {
  DETCD_CHECK_MSG(own_pin_.has_value(), "unpinning a store that is not pinned");
  RemovePin(*own_pin_);
  own_pin_.reset();
}

std::optional<Revision> MvccStore::VisitVersions(Revision from, int64_t to_main, size_t max,
                                                 const std::function<bool(const Revision&, const Record&)>& fn) const {
  const PinInfo* own = own_pin_ ? &pins_.at(*own_pin_) : nullptr;
  DETCD_CHECK_MSG(own == nullptr || to_main <= own->rev, "visiting past the pinned revision");
  return Visit(from, to_main, own, max, fn);
}

std::optional<Revision> MvccStore::VisitPinnedVersions(
    PinId pin, Revision from, size_t max, const std::function<bool(const Revision&, const Record&)>& fn) const {
  auto it = pins_.find(pin);
  DETCD_CHECK_MSG(it != pins_.end(), "visiting with a pin the store does not hold");
  return Visit(from, it->second.rev, &it->second, max, fn);
}

std::optional<Revision> MvccStore::Visit(Revision from, int64_t to_main, const PinInfo* pin, size_t max,
                                         const std::function<bool(const Revision&, const Record&)>& fn) const {
  DETCD_CHECK(max > 0);
  // Two ordered sources, merged: what compaction left in place, and what it removed that this pin still sees.
  auto live = records_.lower_bound(from);
  auto held = held_.lower_bound(from);
  auto skip_unseen = [&] {
    while (held != held_.end() && held->first.main <= to_main && (pin == nullptr || !Sees(*pin, held->first,
                                                                                            held->second))) {
      ++held;
    }
  };
  for (size_t n = 0;; ++n) {
    skip_unseen();
    const bool live_ok = live != records_.end() && live->first.main <= to_main;
    const bool held_ok = held != held_.end() && held->first.main <= to_main;
    if (!live_ok && !held_ok) return std::nullopt;
    const bool take_live = live_ok && (!held_ok || live->first < held->first);
    const Revision& next = take_live ? live->first : held->first;
    if (n == max) return next;
    DETCD_CHECK_MSG(!(live_ok && held_ok && live->first == held->first), "a version both kept and held");
    bool go_on;
    if (take_live) {
      go_on = fn(live->first, live->second);
      ++live;
    } else {
      go_on = fn(held->first, held->second.record);
      ++held;
    }
    if (!go_on) max = n + 1;  // the next round returns where to resume
  }
}

absl::Status MvccStore::Restore(const std::string& data) {
  DETCD_CHECK_MSG(pins_.empty(), "restoring a store a snapshot in progress pinned");
  kvpb::StoreSnapshot snap;
  if (!snap.ParseFromString(data)) return absl::DataLossError("kv store snapshot does not parse");
  Restoring restoring;
  for (const kvpb::StoreRecord& in : snap.records()) {
    if (absl::Status s = restoring.Add(in); !s.ok()) return s;
  }
  return FinishRestore(std::move(restoring), snap.revision(), snap.compacted_revision());
}

absl::Status MvccStore::Restoring::Add(const kvpb::StoreRecord& in) {
  const Revision rev{in.main(), in.sub()};
  if (rev.main < 1 || rev.sub < 0 || (!records_.empty() && !(records_.rbegin()->first < rev))) {
    return absl::DataLossError(absl::StrCat("kv store snapshot: record at revision ", rev.main, ".", rev.sub,
                                            " out of order or out of range"));
  }
  KeyChange c;
  c.rev = rev;
  c.tombstone = in.tombstone();
  c.create_main = in.create_revision();
  c.version = in.version();
  auto entry = index_.find(in.key());
  if (entry == index_.end()) entry = index_.emplace(SharedKey(in.key()), KeyIndex()).first;
  if (!entry->second.Restore(c)) {
    return absl::DataLossError(absl::StrCat("kv store snapshot: record at revision ", rev.main, ".", rev.sub,
                                            " is inconsistent with the key's history"));
  }
  Record r;
  r.key = entry->first;  // the index's bytes, shared
  r.value = in.value();
  r.create_main = in.create_revision();
  r.version = in.version();
  r.lease = in.lease();
  r.tombstone = in.tombstone();
  bytes_ += RecordBytes(r);
  records_.emplace_hint(records_.end(), rev, std::move(r));
  return absl::OkStatus();
}

absl::Status MvccStore::FinishRestore(Restoring restoring, int64_t revision, int64_t compacted_revision) {
  DETCD_CHECK_MSG(pins_.empty(), "restoring a store a snapshot in progress pinned");
  if (revision < 0 || compacted_revision < 0 || compacted_revision > revision) {
    return absl::DataLossError(
        absl::StrCat("kv store snapshot: revision ", revision, " compacted at ", compacted_revision));
  }
  // Versions come in revision order: the newest is the only one that can be past the snapshot's revision.
  if (!restoring.records_.empty() && restoring.records_.rbegin()->first.main > revision) {
    const Revision last = restoring.records_.rbegin()->first;
    return absl::DataLossError(absl::StrCat("kv store snapshot: record at revision ", last.main, ".", last.sub,
                                            " out of order or out of range"));
  }
  rev_ = revision;
  if (testing_revision_from_records_) {
    rev_ = restoring.records_.empty() ? 0 : restoring.records_.rbegin()->first.main;
  }
  compacted_rev_ = compacted_revision;
  index_ = std::move(restoring.index_);
  records_ = std::move(restoring.records_);
  bytes_ = restoring.bytes_;
  live_keys_ = CountLiveKeys();
  return absl::OkStatus();
}

}  // namespace detcd::kv
