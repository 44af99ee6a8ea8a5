// Request checks: etcd's refusals before Raft — empty keys, ignore_* conflicts, too many txn operations, and the
// duplicate-key rule across nested transactions.
#include "kv/request_check.h"

#include "gtest/gtest.h"

namespace detcd::kv {
namespace {

etcdserverpb::RequestOp PutOp(const std::string& k) {
  etcdserverpb::RequestOp op;
  op.mutable_request_put()->set_key(k);
  return op;
}

etcdserverpb::RequestOp DelOp(const std::string& k, const std::string& end = "") {
  etcdserverpb::RequestOp op;
  op.mutable_request_delete_range()->set_key(k);
  op.mutable_request_delete_range()->set_range_end(end);
  return op;
}

TEST(RequestCheckTest, EmptyKeysAndIgnoreConflicts) {
  EXPECT_EQ(CheckRange(etcdserverpb::RangeRequest()).message(), "etcdserver: key is not provided");
  EXPECT_EQ(CheckDeleteRange(etcdserverpb::DeleteRangeRequest()).message(), "etcdserver: key is not provided");
  etcdserverpb::PutRequest p;
  EXPECT_EQ(CheckPut(p).message(), "etcdserver: key is not provided");
  p.set_key("k");
  EXPECT_TRUE(CheckPut(p).ok());
  p.set_ignore_value(true);
  p.set_value("v");
  EXPECT_EQ(CheckPut(p).message(), "etcdserver: value is provided");
  p.clear_value();
  p.set_ignore_lease(true);
  p.set_lease(3);
  EXPECT_EQ(CheckPut(p).message(), "etcdserver: lease is provided");
}

TEST(RequestCheckTest, TooManyOps) {
  etcdserverpb::TxnRequest t;
  for (int i = 0; i < 3; ++i) *t.add_success() = PutOp("k" + std::to_string(i));
  EXPECT_TRUE(CheckTxn(t, 3).ok());
  *t.add_success() = PutOp("k9");
  EXPECT_EQ(CheckTxn(t, 3).message(), "etcdserver: too many operations in txn request");
  etcdserverpb::TxnRequest nested;
  *nested.add_success()->mutable_request_txn() = t;
  EXPECT_FALSE(CheckTxn(nested, 3).ok()) << "nested lists count too";
}

TEST(RequestCheckTest, DuplicateKeys) {
  etcdserverpb::TxnRequest t;
  *t.add_success() = PutOp("a");
  *t.add_success() = PutOp("a");
  EXPECT_EQ(CheckTxn(t, 128).message(), "etcdserver: duplicate key given in txn request");
  t.Clear();
  *t.add_success() = PutOp("b");
  *t.add_success() = DelOp("a", "c");
  EXPECT_FALSE(CheckTxn(t, 128).ok()) << "a put inside a deleted range";
  t.Clear();
  *t.add_success() = PutOp("a");
  *t.add_failure() = PutOp("a");
  EXPECT_TRUE(CheckTxn(t, 128).ok()) << "success and failure never both run";
  t.Clear();
  *t.add_success() = PutOp("c");
  *t.add_success() = DelOp("a", "c");
  EXPECT_TRUE(CheckTxn(t, 128).ok()) << "c is outside [a, c)";
  // Nested: both branches of a nested txn may put the same key, but not a key the outer list puts.
  etcdserverpb::TxnRequest inner;
  *inner.add_success() = PutOp("x");
  *inner.add_failure() = PutOp("x");
  t.Clear();
  *t.add_success()->mutable_request_txn() = inner;
  EXPECT_TRUE(CheckTxn(t, 128).ok());
  *t.add_success() = PutOp("x");
  EXPECT_FALSE(CheckTxn(t, 128).ok());
  t.Clear();
  *t.add_success()->mutable_request_txn() = inner;
  *t.add_success() = DelOp("x");
  EXPECT_FALSE(CheckTxn(t, 128).ok()) << "a nested put inside an outer delete";
  etcdserverpb::TxnRequest bad_compare;
  bad_compare.add_compare();
  EXPECT_EQ(CheckTxn(bad_compare, 128).message(), "etcdserver: key is not provided");
}

}  // namespace
}  // namespace detcd::kv
