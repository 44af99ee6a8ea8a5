#include "kv/applier.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "base/check.h"
#include "kv/errors.h"

namespace detcd::kv {

using etcdserverpb::Compare;
using etcdserverpb::RangeRequest;

// A request's window on the store: reads see its own earlier writes; writes share one revision.
class Applier::View {
 public:
  // write: open a write transaction (the request may write); else reads go to the store as it is. What the request
  // does through it is added to `counts` when it goes.
  View(MvccStore* store, bool write, MvccOpCounts* counts) : store_(store), counts_(counts) {
    DETCD_CHECK(counts_ != nullptr);
    if (write) txn_.emplace(store);
  }
  ~View() {
    counts_->ranges += ranges_ + checked_ranges_;
    counts_->puts += puts_;
    counts_->deletes += deletes_;
    // etcd's metricsTxnWrite.End: a store transaction of more than one operation. A transaction request that writes
    // is two of them in etcd: its compares and prechecks read in one, its operations run in another.
    const uint64_t ops = ranges_ + puts_ + deletes_;
    if (split_) {
      counts_->txns += (checked_ranges_ > 1 ? 1 : 0) + (ops > 1 ? 1 : 0);
    } else if (checked_ranges_ + ops > 1) {
      ++counts_->txns;
    }
  }
  View(const View&) = delete;
  View& operator=(const View&) = delete;
  absl::StatusOr<RangeResult> Range(const std::string& key, const std::string& end, const RangeOptions& o) const {
    if (!quiet_) ++(checking_ ? checked_ranges_ : ranges_);
    return txn_ ? txn_->Range(key, end, o) : store_->Range(key, end, o);
  }
  MvccStore::WriteTxn& txn() {
    DETCD_CHECK_MSG(txn_.has_value(), "a write through a read-only view");
    return *txn_;
  }
  // A transaction request that writes: counted as etcd's two store transactions (see ~View).
  void SplitPhases() { split_ = true; }
  // While one is alive, reads are a transaction's compares or prechecks (etcd's read phase), or (quiet) not counted
  // at all: the prechecks' evaluation of the compares, which the branch's evaluation repeats (etcd evaluates each
  // compare once).
  class Checking {
   public:
    explicit Checking(const View& v, bool quiet = false) : v_(v), checking_(v.checking_), quiet_(v.quiet_) {
      v_.checking_ = true;
      v_.quiet_ = v_.quiet_ || quiet;
    }
    ~Checking() {
      v_.checking_ = checking_;
      v_.quiet_ = quiet_;
    }

   private:
    const View& v_;
    const bool checking_;
    const bool quiet_;
  };
  MvccStore::WriteTxn::Replaced Put(const std::string& key, absl::string_view value, int64_t lease,
                                    mvccpb::KeyValue* prev) {
    ++puts_;
    return txn().Put(key, value, lease, prev);
  }
  int64_t DeleteRange(const std::string& key, const std::string& end, std::vector<mvccpb::KeyValue>* prev) {
    ++deletes_;
    return txn().DeleteRange(key, end, prev);
  }
  // The revision reads see now (the transaction's, once it wrote).
  int64_t rev() const { return txn_ && txn_->changed() ? txn_->write_rev() : store_->rev(); }
  const MvccStore& store() const { return *store_; }
  // Ends the transaction; returns what it created.
  Applied End() {
    Applied a;
    if (txn_) {
      const bool changed = txn_->changed();
      a.events = txn_->End();
      txn_.reset();
      if (changed) a.revision = store_->rev();
    }
    return a;
  }

 private:
  MvccStore* store_;
  MvccOpCounts* counts_;
  std::optional<MvccStore::WriteTxn> txn_;
  mutable uint64_t ranges_ = 0;
  mutable uint64_t checked_ranges_ = 0;  // by compares and prechecks
  mutable bool checking_ = false;
  mutable bool quiet_ = false;
  bool split_ = false;
  uint64_t puts_ = 0;
  uint64_t deletes_ = 0;
};

namespace {

// The latest version of key as the view sees it, if any.
std::optional<mvccpb::KeyValue> Latest(const absl::StatusOr<RangeResult>& r) {
  if (!r.ok() || r->kvs.empty()) return std::nullopt;
  return r->kvs[0];
}

bool CheckCompare(const Compare& c, const mvccpb::KeyValue& kv) {
  int cmp = 0;
  auto three_way = [](int64_t a, int64_t b) { return a < b ? -1 : (a > b ? 1 : 0); };
  switch (c.target()) {
    case Compare::VERSION:
      cmp = three_way(kv.version(), c.version());
      break;
    case Compare::CREATE:
      cmp = three_way(kv.create_revision(), c.create_revision());
      break;
    case Compare::MOD:
      cmp = three_way(kv.mod_revision(), c.mod_revision());
      break;
    case Compare::VALUE: {
      const int r = kv.value().compare(c.value());
      cmp = r < 0 ? -1 : (r > 0 ? 1 : 0);
      break;
    }
    case Compare::LEASE:
      cmp = three_way(kv.lease(), c.lease());
      break;
    default:
      return false;
  }
  switch (c.result()) {
    case Compare::EQUAL:
      return cmp == 0;
    case Compare::GREATER:
      return cmp > 0;
    case Compare::LESS:
      return cmp < 0;
    case Compare::NOT_EQUAL:
      return cmp != 0;
    default:
      return false;
  }
}

bool OpsWrite(const google::protobuf::RepeatedPtrField<etcdserverpb::RequestOp>& ops) {
  for (const auto& op : ops) {
    if (op.has_request_put() || op.has_request_delete_range()) return true;
    if (op.has_request_txn() && IsWrite(op.request_txn())) return true;
  }
  return false;
}

int64_t SortValue(const mvccpb::KeyValue& kv, RangeRequest::SortTarget t) {
  switch (t) {
    case RangeRequest::VERSION:
      return kv.version();
    case RangeRequest::CREATE:
      return kv.create_revision();
    case RangeRequest::MOD:
      return kv.mod_revision();
    default:
      return 0;
  }
}

}  // namespace

bool IsWrite(const etcdserverpb::TxnRequest& r) { return OpsWrite(r.success()) || OpsWrite(r.failure()); }

absl::Status Applier::Range(const RangeRequest& r, etcdserverpb::RangeResponse* resp) const {
  View v(store_, /*write=*/false, &counts_);
  return RangeIn(v, r, resp);
}

absl::Status Applier::RangeIn(const View& v, const RangeRequest& r, etcdserverpb::RangeResponse* resp) const {
  if (!RangeRequest::SortOrder_IsValid(r.sort_order()) || !RangeRequest::SortTarget_IsValid(r.sort_target())) {
    return absl::InvalidArgumentError("etcdserver: invalid sort option");
  }
  RangeOptions o;
  o.rev = r.revision();
  o.count_only = r.count_only();
  const bool filtered = r.min_mod_revision() != 0 || r.max_mod_revision() != 0 || r.min_create_revision() != 0 ||
                        r.max_create_revision() != 0;
  // Sorting and filtering need every key; otherwise one beyond the limit tells whether there are more.
  if (r.sort_order() == RangeRequest::NONE && !filtered && r.limit() > 0) o.limit = r.limit() + 1;
  absl::StatusOr<RangeResult> rr = v.Range(r.key(), r.range_end(), o);
  if (!rr.ok()) return rr.status();
  std::vector<mvccpb::KeyValue>& kvs = rr->kvs;
  if (filtered) {
    kvs.erase(std::remove_if(kvs.begin(), kvs.end(),
                             [&](const mvccpb::KeyValue& kv) {
                               return (r.max_mod_revision() != 0 && kv.mod_revision() > r.max_mod_revision()) ||
                                      (r.min_mod_revision() != 0 && kv.mod_revision() < r.min_mod_revision()) ||
                                      (r.max_create_revision() != 0 &&
                                       kv.create_revision() > r.max_create_revision()) ||
                                      (r.min_create_revision() != 0 &&
                                       kv.create_revision() < r.min_create_revision());
                             }),
              kvs.end());
  }
  RangeRequest::SortOrder order = r.sort_order();
  // etcd: a sort target other than the key with no order means ascending.
  if (r.sort_target() != RangeRequest::KEY && order == RangeRequest::NONE) order = RangeRequest::ASCEND;
  if (order != RangeRequest::NONE) {
    const RangeRequest::SortTarget t = r.sort_target();
    // Keys come in ascending order; a stable sort keeps it among equal targets, so results are deterministic.
    auto less = [t](const mvccpb::KeyValue& a, const mvccpb::KeyValue& b) {
      if (t == RangeRequest::KEY) return a.key() < b.key();
      if (t == RangeRequest::VALUE) return a.value() < b.value();
      return SortValue(a, t) < SortValue(b, t);
    };
    if (order == RangeRequest::DESCEND) {
      std::stable_sort(kvs.begin(), kvs.end(), [&](const auto& a, const auto& b) { return less(b, a); });
    } else {
      std::stable_sort(kvs.begin(), kvs.end(), less);
    }
  }
  if (r.limit() > 0 && static_cast<int64_t>(kvs.size()) > r.limit()) {
    kvs.resize(static_cast<size_t>(r.limit()));
    resp->set_more(true);
  }
  resp->mutable_header()->set_revision(rr->rev);
  resp->set_count(rr->count);
  for (mvccpb::KeyValue& kv : kvs) {
    mvccpb::KeyValue* out = resp->add_kvs();
    *out = std::move(kv);
    if (r.keys_only()) out->clear_value();
  }
  return absl::OkStatus();
}

absl::Status Applier::PutIn(View& v, const etcdserverpb::PutRequest& r, etcdserverpb::PutResponse* resp) {
  absl::string_view value = r.value();
  int64_t lease = r.lease();
  std::optional<mvccpb::KeyValue> latest;  // read only when the request needs it; outlives the put (value may be in it)
  if (r.ignore_value() || r.ignore_lease()) {
    latest = Latest(v.Range(r.key(), "", RangeOptions{}));
    if (!latest) return ErrKeyNotFound();
    if (r.ignore_value()) value = latest->value();
    if (r.ignore_lease()) lease = latest->lease();
  }
  if (lease != 0 && lessor_->Lookup(lease) == nullptr) return ErrLeaseNotFound();
  mvccpb::KeyValue old;
  const MvccStore::WriteTxn::Replaced replaced = v.Put(r.key(), value, lease, r.prev_kv() ? &old : nullptr);
  if (replaced.existed && replaced.lease != lease) lessor_->Detach(replaced.lease, r.key());
  if (lease != 0) lessor_->Attach(lease, r.key());
  if (r.prev_kv() && replaced.existed) *resp->mutable_prev_kv() = std::move(old);
  return absl::OkStatus();
}

absl::Status Applier::DeleteIn(View& v, const etcdserverpb::DeleteRangeRequest& r,
                               etcdserverpb::DeleteRangeResponse* resp) {
  std::vector<mvccpb::KeyValue> prev;
  resp->set_deleted(v.DeleteRange(r.key(), r.range_end(), &prev));
  for (mvccpb::KeyValue& kv : prev) {
    if (kv.lease() != 0) lessor_->Detach(kv.lease(), kv.key());
    if (r.prev_kv()) *resp->add_prev_kvs() = std::move(kv);
  }
  return absl::OkStatus();
}

absl::Status Applier::Put(const etcdserverpb::PutRequest& r, etcdserverpb::PutResponse* resp, Applied* applied) {
  View v(store_, /*write=*/true, &counts_);
  absl::Status s = PutIn(v, r, resp);
  *applied = v.End();
  resp->mutable_header()->set_revision(store_->rev());
  return s;
}

absl::Status Applier::DeleteRange(const etcdserverpb::DeleteRangeRequest& r, etcdserverpb::DeleteRangeResponse* resp,
                                  Applied* applied) {
  View v(store_, /*write=*/true, &counts_);
  absl::Status s = DeleteIn(v, r, resp);
  *applied = v.End();
  resp->mutable_header()->set_revision(store_->rev());
  return s;
}

bool Applier::Compares(const View& v, const etcdserverpb::TxnRequest& r) const {
  View::Checking checking(v);
  for (const Compare& c : r.compare()) {
    absl::StatusOr<RangeResult> rr = v.Range(c.key(), c.range_end(), RangeOptions{});
    if (!rr.ok()) return false;
    if (rr->kvs.empty()) {
      // A missing key compares as the zero KeyValue, except on its value: there is no value to compare.
      if (c.target() == Compare::VALUE) return false;
      if (!CheckCompare(c, mvccpb::KeyValue())) return false;
      continue;
    }
    for (const mvccpb::KeyValue& kv : rr->kvs) {
      if (!CheckCompare(c, kv)) return false;
    }
  }
  return true;
}

absl::Status Applier::Precheck(const View& v, const etcdserverpb::TxnRequest& r) const {
  View::Checking checking(v);
  bool succeeded;
  {
    View::Checking quiet(v, /*quiet=*/true);  // evaluated again (and counted) when the branch runs
    succeeded = Compares(v, r);
  }
  for (const auto& op : succeeded ? r.success() : r.failure()) {
    if (op.has_request_range()) {
      const int64_t rev = op.request_range().revision();
      if (rev > v.rev()) return ErrFutureRev();
      if (rev > 0 && rev < v.store().compacted_rev()) return ErrCompacted();
    } else if (op.has_request_put()) {
      const etcdserverpb::PutRequest& p = op.request_put();
      if (p.ignore_value() || p.ignore_lease()) {
        if (!Latest(v.Range(p.key(), "", RangeOptions{}))) return ErrKeyNotFound();
      }
      if (p.lease() != 0 && lessor_->Lookup(p.lease()) == nullptr) return ErrLeaseNotFound();
    } else if (op.has_request_txn()) {
      if (absl::Status s = Precheck(v, op.request_txn()); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::Status Applier::OpsIn(View& v, const etcdserverpb::TxnRequest& r, bool succeeded,
                            etcdserverpb::TxnResponse* resp) {
  resp->set_succeeded(succeeded);
  for (const auto& op : succeeded ? r.success() : r.failure()) {
    etcdserverpb::ResponseOp* out = resp->add_responses();
    absl::Status s;
    if (op.has_request_range()) {
      s = RangeIn(v, op.request_range(), out->mutable_response_range());
    } else if (op.has_request_put()) {
      s = PutIn(v, op.request_put(), out->mutable_response_put());
    } else if (op.has_request_delete_range()) {
      s = DeleteIn(v, op.request_delete_range(), out->mutable_response_delete_range());
    } else if (op.has_request_txn()) {
      const bool nested = Compares(v, op.request_txn());
      s = OpsIn(v, op.request_txn(), nested, out->mutable_response_txn());
    }
    // Prechecked: nothing here can fail but a broken invariant.
    DETCD_CHECK_MSG(s.ok(), std::string(s.message()).c_str());
  }
  return absl::OkStatus();
}

absl::Status Applier::Txn(const etcdserverpb::TxnRequest& r, etcdserverpb::TxnResponse* resp, Applied* applied) {
  View v(store_, IsWrite(r), &counts_);
  if (IsWrite(r)) v.SplitPhases();
  // Every check that can fail runs before the first write, so a failed transaction changes nothing.
  if (absl::Status s = Precheck(v, r); !s.ok()) {
    *applied = v.End();
    return s;
  }
  const bool succeeded = Compares(v, r);
  absl::Status s = OpsIn(v, r, succeeded, resp);
  *applied = v.End();
  // Sub-responses' headers carry the transaction's final revision, as etcd's do — except a nested transaction's,
  // which etcd 3.4 leaves empty (only the outermost is filled).
  const int64_t rev = store_->rev();
  resp->mutable_header()->set_revision(rev);
  std::vector<etcdserverpb::TxnResponse*> stack{resp};
  while (!stack.empty()) {
    etcdserverpb::TxnResponse* t = stack.back();
    stack.pop_back();
    for (auto& op : *t->mutable_responses()) {
      if (op.has_response_range()) op.mutable_response_range()->mutable_header()->set_revision(rev);
      if (op.has_response_put()) op.mutable_response_put()->mutable_header()->set_revision(rev);
      if (op.has_response_delete_range()) op.mutable_response_delete_range()->mutable_header()->set_revision(rev);
      if (op.has_response_txn()) {
        op.mutable_response_txn()->mutable_header();  // present, empty
        stack.push_back(op.mutable_response_txn());
      }
    }
  }
  return s;
}

absl::Status Applier::Compaction(const etcdserverpb::CompactionRequest& r, etcdserverpb::CompactionResponse* resp) {
  absl::Status s = store_->Compact(r.revision());
  if (s.ok()) ++counts_.ranges;  // etcd's applier reads the current revision with a range after compacting
  resp->mutable_header()->set_revision(store_->rev());
  return s;
}

absl::Status Applier::LeaseGrant(const etcdserverpb::LeaseGrantRequest& r, int64_t now_us,
                                 etcdserverpb::LeaseGrantResponse* resp) {
  absl::StatusOr<const Lease*> l = lessor_->Grant(r.id(), r.ttl(), now_us);
  resp->mutable_header()->set_revision(store_->rev());
  if (!l.ok()) return l.status();
  resp->set_id((*l)->id);
  resp->set_ttl((*l)->ttl_s);
  return absl::OkStatus();
}

absl::Status Applier::LeaseRevoke(const etcdserverpb::LeaseRevokeRequest& r, etcdserverpb::LeaseRevokeResponse* resp,
                                  Applied* applied) {
  absl::StatusOr<std::vector<std::string>> keys = lessor_->Revoke(r.id());
  if (!keys.ok()) {
    resp->mutable_header()->set_revision(store_->rev());
    return keys.status();
  }
  // Every attached key goes in one revision.
  View v(store_, /*write=*/true, &counts_);
  for (const std::string& k : *keys) v.DeleteRange(k, "", nullptr);
  *applied = v.End();
  resp->mutable_header()->set_revision(store_->rev());
  return absl::OkStatus();
}

void Applier::ReattachLeases() {
  // Key by key, no value copied: a range over every key would copy the whole state.
  store_->ForEachLeasedKey([this](absl::string_view key, int64_t lease) { lessor_->Attach(lease, std::string(key)); });
}

}  // namespace detcd::kv
