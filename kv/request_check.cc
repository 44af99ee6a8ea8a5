#include "kv/request_check.h"

#include <set>
#include <string>
#include <vector>

#include "kv/errors.h"

namespace detcd::kv {

namespace {

// A deleted range as the duplicate-key check sees it: [key, end), a single key when end is empty, every key >= key
// when end is "\0".
struct Deleted {
  std::string key;
  std::string end;
  bool Holds(const std::string& k) const {
    if (end.empty()) return k == key;
    if (end.size() == 1 && end[0] == '\0') return k >= key;
    return key <= k && k < end;
  }
};

bool AnyHolds(const std::vector<Deleted>& dels, const std::string& k) {
  for (const Deleted& d : dels) {
    if (d.Holds(k)) return true;
  }
  return false;
}

// The keys a list of operations puts and the ranges it deletes, nested transactions included; fails if one list
// could write a key twice. Both branches of a nested transaction may put the same key (only one of them runs).
absl::Status CheckIntervals(const google::protobuf::RepeatedPtrField<etcdserverpb::RequestOp>& ops,
                            std::set<std::string>* puts, std::vector<Deleted>* dels) {
  for (const auto& op : ops) {
    if (op.has_request_delete_range()) {
      dels->push_back({op.request_delete_range().key(), op.request_delete_range().range_end()});
    }
  }
  for (const auto& op : ops) {
    if (!op.has_request_txn()) continue;
    std::set<std::string> puts_then, puts_else;
    std::vector<Deleted> dels_then, dels_else;
    if (absl::Status s = CheckIntervals(op.request_txn().success(), &puts_then, &dels_then); !s.ok()) return s;
    if (absl::Status s = CheckIntervals(op.request_txn().failure(), &puts_else, &dels_else); !s.ok()) return s;
    for (const std::string& k : puts_then) {
      if (puts->count(k) > 0 || AnyHolds(*dels, k)) return ErrDuplicateKey();
      puts->insert(k);
    }
    for (const std::string& k : puts_else) {
      if (puts->count(k) > 0 && puts_then.count(k) == 0) return ErrDuplicateKey();
      if (AnyHolds(*dels, k)) return ErrDuplicateKey();
      puts->insert(k);
    }
    dels->insert(dels->end(), dels_then.begin(), dels_then.end());
    dels->insert(dels->end(), dels_else.begin(), dels_else.end());
  }
  for (const auto& op : ops) {
    if (!op.has_request_put()) continue;
    const std::string& k = op.request_put().key();
    if (puts->count(k) > 0 || AnyHolds(*dels, k)) return ErrDuplicateKey();
    puts->insert(k);
  }
  return absl::OkStatus();
}

absl::Status CheckOp(const etcdserverpb::RequestOp& op, int max_txn_ops) {
  switch (op.request_case()) {
    case etcdserverpb::RequestOp::kRequestRange:
      return CheckRange(op.request_range());
    case etcdserverpb::RequestOp::kRequestPut:
      return CheckPut(op.request_put());
    case etcdserverpb::RequestOp::kRequestDeleteRange:
      return CheckDeleteRange(op.request_delete_range());
    case etcdserverpb::RequestOp::kRequestTxn:
      return CheckTxn(op.request_txn(), max_txn_ops);
    default:
      return absl::OkStatus();  // an empty op does nothing, as in etcd
  }
}

}  // namespace

absl::Status CheckRange(const etcdserverpb::RangeRequest& r) {
  if (r.key().empty()) return ErrEmptyKey();
  return absl::OkStatus();
}

absl::Status CheckPut(const etcdserverpb::PutRequest& r) {
  if (r.key().empty()) return ErrEmptyKey();
  if (r.ignore_value() && !r.value().empty()) return ErrValueProvided();
  if (r.ignore_lease() && r.lease() != 0) return ErrLeaseProvided();
  return absl::OkStatus();
}

absl::Status CheckDeleteRange(const etcdserverpb::DeleteRangeRequest& r) {
  if (r.key().empty()) return ErrEmptyKey();
  return absl::OkStatus();
}

absl::Status CheckTxn(const etcdserverpb::TxnRequest& r, int max_txn_ops) {
  if (r.compare_size() > max_txn_ops || r.success_size() > max_txn_ops || r.failure_size() > max_txn_ops) {
    return ErrTooManyOps();
  }
  for (const auto& c : r.compare()) {
    if (c.key().empty()) return ErrEmptyKey();
  }
  for (const auto& op : r.success()) {
    if (absl::Status s = CheckOp(op, max_txn_ops); !s.ok()) return s;
  }
  for (const auto& op : r.failure()) {
    if (absl::Status s = CheckOp(op, max_txn_ops); !s.ok()) return s;
  }
  std::set<std::string> puts;
  std::vector<Deleted> dels;
  if (absl::Status s = CheckIntervals(r.success(), &puts, &dels); !s.ok()) return s;
  puts.clear();
  dels.clear();
  return CheckIntervals(r.failure(), &puts, &dels);
}

}  // namespace detcd::kv
