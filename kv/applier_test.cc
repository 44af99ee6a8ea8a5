// Applier: etcd 3.4's request semantics — range options (limit/more/count, sort, filters, keys_only, revisions), put
// options (prev_kv, ignore_value, ignore_lease, leases), delete ranges, transactions (every compare target and
// result, ranges in compares, missing keys, nested transactions, atomic failure), compaction and leases.
#include "kv/applier.h"

#include "gtest/gtest.h"
#include "kv/errors.h"

namespace detcd::kv {
namespace {

using etcdserverpb::Compare;
using etcdserverpb::RangeRequest;

class ApplierTest : public ::testing::Test {
 protected:
  MvccStore store;
  Lessor lessor{1};
  Applier a{&store, &lessor};

  int64_t Put(const std::string& k, const std::string& v, int64_t lease = 0) {
    etcdserverpb::PutRequest r;
    r.set_key(k);
    r.set_value(v);
    r.set_lease(lease);
    etcdserverpb::PutResponse resp;
    Applied applied;
    EXPECT_TRUE(a.Put(r, &resp, &applied).ok());
    return resp.header().revision();
  }
  etcdserverpb::RangeResponse Range(RangeRequest r) {
    etcdserverpb::RangeResponse resp;
    absl::Status s = a.Range(r, &resp);
    EXPECT_TRUE(s.ok()) << s;
    return resp;
  }
  static RangeRequest Req(const std::string& key, const std::string& end = "") {
    RangeRequest r;
    r.set_key(key);
    r.set_range_end(end);
    return r;
  }
  static std::vector<std::string> Keys(const etcdserverpb::RangeResponse& r) {
    std::vector<std::string> out;
    for (const auto& kv : r.kvs()) out.push_back(kv.key());
    return out;
  }
};

TEST_F(ApplierTest, RangeLimitMoreAndCount) {
  for (const char* k : {"a", "b", "c", "d"}) Put(k, "v");
  RangeRequest r = Req("a", "z");
  r.set_limit(2);
  etcdserverpb::RangeResponse resp = Range(r);
  EXPECT_EQ(Keys(resp), (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(resp.more());
  EXPECT_EQ(resp.count(), 4);
  EXPECT_EQ(resp.header().revision(), 4);
  r.set_limit(4);
  EXPECT_FALSE(Range(r).more());
  r.set_limit(0);
  r.set_count_only(true);
  resp = Range(r);
  EXPECT_EQ(resp.kvs_size(), 0);
  EXPECT_EQ(resp.count(), 4);
}

TEST_F(ApplierTest, RangeSortsFiltersAndStripsValues) {
  Put("a", "3");  // rev 1
  Put("b", "1");  // rev 2
  Put("c", "2");  // rev 3
  Put("a", "4");  // rev 4: a's mod revision is the newest
  RangeRequest r = Req("a", "z");
  r.set_sort_target(RangeRequest::MOD);  // no order given: ascending
  EXPECT_EQ(Keys(Range(r)), (std::vector<std::string>{"b", "c", "a"}));
  r.set_sort_order(RangeRequest::DESCEND);
  r.set_sort_target(RangeRequest::VALUE);
  EXPECT_EQ(Keys(Range(r)), (std::vector<std::string>{"a", "c", "b"}));
  r.set_sort_target(RangeRequest::KEY);
  r.set_limit(1);
  etcdserverpb::RangeResponse resp = Range(r);
  EXPECT_EQ(Keys(resp), (std::vector<std::string>{"c"})) << "the limit applies after sorting";
  EXPECT_TRUE(resp.more());
  RangeRequest f = Req("a", "z");
  f.set_min_mod_revision(2);
  f.set_max_mod_revision(3);
  f.set_max_create_revision(2);
  EXPECT_EQ(Keys(Range(f)), (std::vector<std::string>{"b"}));
  RangeRequest ko = Req("a");
  ko.set_keys_only(true);
  resp = Range(ko);
  ASSERT_EQ(resp.kvs_size(), 1);
  EXPECT_EQ(resp.kvs(0).value(), "");
  EXPECT_EQ(resp.kvs(0).version(), 2);
  RangeRequest bad = Req("a");
  bad.set_sort_order(static_cast<RangeRequest::SortOrder>(9));
  EXPECT_FALSE(a.Range(bad, &resp).ok());
}

TEST_F(ApplierTest, RangeAtRevisionAndItsErrors) {
  Put("k", "1");
  Put("k", "2");
  RangeRequest r = Req("k");
  r.set_revision(1);
  EXPECT_EQ(Range(r).kvs(0).value(), "1");
  r.set_revision(3);
  etcdserverpb::RangeResponse resp;
  EXPECT_EQ(a.Range(r, &resp).message(), "etcdserver: mvcc: required revision is a future revision");
  etcdserverpb::CompactionRequest c;
  c.set_revision(2);
  etcdserverpb::CompactionResponse cresp;
  ASSERT_TRUE(a.Compaction(c, &cresp).ok());
  r.set_revision(1);
  EXPECT_EQ(a.Range(r, &resp).message(), "etcdserver: mvcc: required revision has been compacted");
  EXPECT_EQ(a.Compaction(c, &cresp).message(), "etcdserver: mvcc: required revision has been compacted");
}

TEST_F(ApplierTest, PutOptions) {
  Put("k", "v1");
  etcdserverpb::PutRequest r;
  r.set_key("k");
  r.set_value("v2");
  r.set_prev_kv(true);
  etcdserverpb::PutResponse resp;
  Applied applied;
  ASSERT_TRUE(a.Put(r, &resp, &applied).ok());
  EXPECT_EQ(resp.prev_kv().value(), "v1");
  EXPECT_EQ(applied.revision, 2);
  ASSERT_EQ(applied.events.size(), 1u);
  EXPECT_EQ(applied.events[0].kv().value(), "v2");
  // ignore_value keeps the value and changes the lease.
  ASSERT_TRUE(lessor.Grant(5, 10, 0).ok());
  etcdserverpb::PutRequest iv;
  iv.set_key("k");
  iv.set_ignore_value(true);
  iv.set_lease(5);
  ASSERT_TRUE(a.Put(iv, &resp, &applied).ok());
  etcdserverpb::RangeResponse got = Range(Req("k"));
  EXPECT_EQ(got.kvs(0).value(), "v2");
  EXPECT_EQ(got.kvs(0).lease(), 5);
  EXPECT_EQ(lessor.Lookup(5)->keys.count("k"), 1u);
  // ignore_lease keeps the lease.
  etcdserverpb::PutRequest il;
  il.set_key("k");
  il.set_value("v3");
  il.set_ignore_lease(true);
  ASSERT_TRUE(a.Put(il, &resp, &applied).ok());
  EXPECT_EQ(Range(Req("k")).kvs(0).lease(), 5);
  // Errors: ignore_value on a missing key; an unknown lease. Nothing is written.
  etcdserverpb::PutRequest missing;
  missing.set_key("nope");
  missing.set_ignore_value(true);
  EXPECT_EQ(a.Put(missing, &resp, &applied).message(), "etcdserver: key not found");
  etcdserverpb::PutRequest badlease;
  badlease.set_key("x");
  badlease.set_lease(77);
  EXPECT_EQ(a.Put(badlease, &resp, &applied).message(), "etcdserver: requested lease not found");
  EXPECT_EQ(applied.revision, 0);
  EXPECT_EQ(store.rev(), 4);
  // A put without a lease takes the key off its old lease.
  Put("k", "v4");
  EXPECT_EQ(lessor.Lookup(5)->keys.count("k"), 0u);
}

TEST_F(ApplierTest, DeleteRangeDetachesAndReturnsPrevious) {
  ASSERT_TRUE(lessor.Grant(5, 10, 0).ok());
  Put("a", "1", 5);
  Put("b", "2");
  etcdserverpb::DeleteRangeRequest d;
  d.set_key("a");
  d.set_range_end("c");
  d.set_prev_kv(true);
  etcdserverpb::DeleteRangeResponse resp;
  Applied applied;
  ASSERT_TRUE(a.DeleteRange(d, &resp, &applied).ok());
  EXPECT_EQ(resp.deleted(), 2);
  ASSERT_EQ(resp.prev_kvs_size(), 2);
  EXPECT_EQ(resp.prev_kvs(1).value(), "2");
  EXPECT_EQ(applied.events.size(), 2u);
  EXPECT_TRUE(lessor.Lookup(5)->keys.empty());
  ASSERT_TRUE(a.DeleteRange(d, &resp, &applied).ok());
  EXPECT_EQ(resp.deleted(), 0);
  EXPECT_EQ(applied.revision, 0) << "deleting nothing makes no revision";
}

Compare Cmp(const std::string& key, Compare::CompareTarget t, Compare::CompareResult res, int64_t n,
            const std::string& value = "") {
  Compare c;
  c.set_key(key);
  c.set_target(t);
  c.set_result(res);
  switch (t) {
    case Compare::VERSION:
      c.set_version(n);
      break;
    case Compare::CREATE:
      c.set_create_revision(n);
      break;
    case Compare::MOD:
      c.set_mod_revision(n);
      break;
    case Compare::LEASE:
      c.set_lease(n);
      break;
    default:
      c.set_value(value);
  }
  return c;
}

bool TxnSucceeds(Applier& a, const Compare& c) {
  etcdserverpb::TxnRequest t;
  *t.add_compare() = c;
  etcdserverpb::TxnResponse resp;
  Applied applied;
  EXPECT_TRUE(a.Txn(t, &resp, &applied).ok());
  return resp.succeeded();
}

TEST_F(ApplierTest, TxnCompareTargetsAndResults) {
  Put("k", "b");  // rev 1
  Put("k", "c");  // rev 2: version 2, create 1, mod 2
  EXPECT_TRUE(TxnSucceeds(a, Cmp("k", Compare::VERSION, Compare::EQUAL, 2)));
  EXPECT_TRUE(TxnSucceeds(a, Cmp("k", Compare::VERSION, Compare::GREATER, 1)));
  EXPECT_FALSE(TxnSucceeds(a, Cmp("k", Compare::VERSION, Compare::LESS, 2)));
  EXPECT_TRUE(TxnSucceeds(a, Cmp("k", Compare::CREATE, Compare::EQUAL, 1)));
  EXPECT_TRUE(TxnSucceeds(a, Cmp("k", Compare::MOD, Compare::NOT_EQUAL, 1)));
  EXPECT_TRUE(TxnSucceeds(a, Cmp("k", Compare::VALUE, Compare::GREATER, 0, "b")));
  EXPECT_TRUE(TxnSucceeds(a, Cmp("k", Compare::VALUE, Compare::EQUAL, 0, "c")));
  EXPECT_TRUE(TxnSucceeds(a, Cmp("k", Compare::LEASE, Compare::EQUAL, 0)));
  // Equal is neither greater nor less, whatever the target.
  for (Compare::CompareResult r : {Compare::GREATER, Compare::LESS, Compare::NOT_EQUAL}) {
    EXPECT_FALSE(TxnSucceeds(a, Cmp("k", Compare::VERSION, r, 2))) << r;
    EXPECT_FALSE(TxnSucceeds(a, Cmp("k", Compare::CREATE, r, 1))) << r;
    EXPECT_FALSE(TxnSucceeds(a, Cmp("k", Compare::MOD, r, 2))) << r;
    EXPECT_FALSE(TxnSucceeds(a, Cmp("k", Compare::VALUE, r, 0, "c"))) << r;
    EXPECT_FALSE(TxnSucceeds(a, Cmp("k", Compare::LEASE, r, 0))) << r;
  }
  EXPECT_TRUE(TxnSucceeds(a, Cmp("k", Compare::MOD, Compare::LESS, 3)));
  EXPECT_TRUE(TxnSucceeds(a, Cmp("k", Compare::VALUE, Compare::LESS, 0, "d")));
  // A missing key is version 0 (so "create if absent" works) but has no value to compare.
  EXPECT_TRUE(TxnSucceeds(a, Cmp("missing", Compare::VERSION, Compare::EQUAL, 0)));
  EXPECT_TRUE(TxnSucceeds(a, Cmp("missing", Compare::CREATE, Compare::EQUAL, 0)));
  EXPECT_FALSE(TxnSucceeds(a, Cmp("missing", Compare::VALUE, Compare::EQUAL, 0, "")));
  EXPECT_FALSE(TxnSucceeds(a, Cmp("missing", Compare::VALUE, Compare::NOT_EQUAL, 0, "x")));
}

TEST_F(ApplierTest, TxnCompareOverARangeNeedsEveryKey) {
  Put("p/a", "1");
  Put("p/b", "1");
  Put("p/b", "2");
  Compare c = Cmp("p/", Compare::VERSION, Compare::EQUAL, 1);
  c.set_range_end("p0");
  EXPECT_FALSE(TxnSucceeds(a, c)) << "p/b has version 2";
  c.set_result(Compare::GREATER);
  c.set_version(0);
  EXPECT_TRUE(TxnSucceeds(a, c));
}

TEST_F(ApplierTest, TxnBranchesReadTheirOwnWritesInOneRevision) {
  Put("k", "v");
  etcdserverpb::TxnRequest t;
  *t.add_compare() = Cmp("k", Compare::VALUE, Compare::EQUAL, 0, "v");
  etcdserverpb::RequestOp* put = t.add_success();
  put->mutable_request_put()->set_key("k");
  put->mutable_request_put()->set_value("w");
  put = t.add_success();
  put->mutable_request_put()->set_key("j");
  put->mutable_request_put()->set_value("x");
  t.add_success()->mutable_request_range()->set_key("k");
  t.add_failure()->mutable_request_range()->set_key("k");
  etcdserverpb::TxnResponse resp;
  Applied applied;
  ASSERT_TRUE(a.Txn(t, &resp, &applied).ok());
  EXPECT_TRUE(resp.succeeded());
  ASSERT_EQ(resp.responses_size(), 3);
  EXPECT_EQ(resp.responses(2).response_range().kvs(0).value(), "w");
  EXPECT_EQ(resp.header().revision(), 2) << "two puts, one revision";
  EXPECT_EQ(resp.responses(0).response_put().header().revision(), 2);
  EXPECT_EQ(applied.events.size(), 2u);
  // Failure branch: compare fails, the range runs, nothing is written.
  resp.Clear();
  ASSERT_TRUE(a.Txn(t, &resp, &applied).ok());
  EXPECT_FALSE(resp.succeeded());
  EXPECT_EQ(resp.responses(0).response_range().kvs(0).value(), "w");
  EXPECT_EQ(applied.revision, 0);
  EXPECT_EQ(store.rev(), 2);
}

TEST_F(ApplierTest, TxnFailsAtomicallyOnABadLease) {
  etcdserverpb::TxnRequest t;
  etcdserverpb::RequestOp* p = t.add_success();
  p->mutable_request_put()->set_key("a");
  p->mutable_request_put()->set_value("1");
  p = t.add_success();
  p->mutable_request_put()->set_key("b");
  p->mutable_request_put()->set_lease(42);
  etcdserverpb::TxnResponse resp;
  Applied applied;
  EXPECT_EQ(a.Txn(t, &resp, &applied).message(), "etcdserver: requested lease not found");
  EXPECT_EQ(store.rev(), 0) << "the first put did not happen either";
  EXPECT_TRUE(Range(Req("a")).kvs().empty());
}

TEST_F(ApplierTest, NestedTxn) {
  Put("a", "1");
  etcdserverpb::TxnRequest t;
  etcdserverpb::TxnRequest* inner = t.add_success()->mutable_request_txn();
  *inner->add_compare() = Cmp("a", Compare::VALUE, Compare::EQUAL, 0, "2");
  inner->add_success()->mutable_request_put()->set_key("then");
  inner->add_failure()->mutable_request_put()->set_key("else");
  etcdserverpb::TxnResponse resp;
  Applied applied;
  ASSERT_TRUE(a.Txn(t, &resp, &applied).ok());
  EXPECT_TRUE(resp.succeeded());
  EXPECT_FALSE(resp.responses(0).response_txn().succeeded());
  EXPECT_EQ(Keys(Range(Req("a", "z"))), (std::vector<std::string>{"a", "else"}));
  // etcd 3.4 (checked against 3.4.23): a nested transaction's header is there but empty; its operations' headers
  // carry the revision.
  EXPECT_TRUE(resp.responses(0).response_txn().has_header());
  EXPECT_EQ(resp.responses(0).response_txn().header().revision(), 0);
  EXPECT_EQ(resp.responses(0).response_txn().responses(0).response_put().header().revision(), 2);
  EXPECT_EQ(resp.header().revision(), 2);
}

TEST_F(ApplierTest, LeaseGrantAndRevokeDeletesKeysInOneRevision) {
  etcdserverpb::LeaseGrantRequest g;
  g.set_id(9);
  g.set_ttl(0);  // raised to the minimum
  etcdserverpb::LeaseGrantResponse gresp;
  ASSERT_TRUE(a.LeaseGrant(g, 0, &gresp).ok());
  EXPECT_EQ(gresp.id(), 9);
  EXPECT_EQ(gresp.ttl(), 1);
  EXPECT_EQ(a.LeaseGrant(g, 0, &gresp).message(), "etcdserver: lease already exists");
  Put("a", "1", 9);
  Put("b", "1", 9);
  Put("c", "1");
  etcdserverpb::LeaseRevokeRequest rv;
  rv.set_id(9);
  etcdserverpb::LeaseRevokeResponse rresp;
  Applied applied;
  ASSERT_TRUE(a.LeaseRevoke(rv, &rresp, &applied).ok());
  EXPECT_EQ(applied.revision, 4);
  EXPECT_EQ(applied.events.size(), 2u);
  EXPECT_EQ(Keys(Range(Req("a", "z"))), (std::vector<std::string>{"c"}));
  EXPECT_EQ(a.LeaseRevoke(rv, &rresp, &applied).message(), "etcdserver: requested lease not found");
}

TEST_F(ApplierTest, ReattachLeasesAfterRestore) {
  ASSERT_TRUE(lessor.Grant(3, 10, 0).ok());
  Put("a", "1", 3);
  MvccStore store2;
  Lessor lessor2(1);
  ASSERT_TRUE(store2.Restore(store.Serialize()).ok());
  ASSERT_TRUE(lessor2.Restore(lessor.Serialize()).ok());
  Applier a2(&store2, &lessor2);
  a2.ReattachLeases();
  EXPECT_EQ(lessor2.Lookup(3)->keys.count("a"), 1u);
}

}  // namespace
}  // namespace detcd::kv

namespace detcd::kv {
namespace {

// etcd's mvcc counters as its metricsTxnWrite counts them, and the store's live keys (etcd_debugging_mvcc_keys_total).
TEST_F(ApplierTest, CountsStoreOperationsAsEtcdAndLiveKeys) {
  Put("a", "1");
  Put("b", "1");
  Put("a", "2");  // no new key
  EXPECT_EQ(a.op_counts().puts, 3u);
  EXPECT_EQ(a.op_counts().txns, 0u);  // one operation each
  EXPECT_EQ(store.live_keys(), 2u);
  Range(Req("a", "z"));
  EXPECT_EQ(a.op_counts().ranges, 1u);
  etcdserverpb::DeleteRangeRequest d;
  d.set_key("a");
  d.set_range_end("z");  // two keys, one delete range
  etcdserverpb::DeleteRangeResponse dr;
  Applied applied;
  ASSERT_TRUE(a.DeleteRange(d, &dr, &applied).ok());
  EXPECT_EQ(a.op_counts().deletes, 1u);
  EXPECT_EQ(store.live_keys(), 0u);
  EXPECT_EQ(store.keys(), 2u);  // their history stays until compaction
  // Two compares (each counted once, though checked before the branch runs), a put and a nested transaction with
  // a compare and a range: as etcd, the compares (three) are one store transaction and the operations (two) another.
  etcdserverpb::TxnRequest t;
  for (const char* k : {"a", "b"}) {
    Compare* c = t.add_compare();
    c->set_key(k);
    c->set_target(Compare::VERSION);
    c->set_result(Compare::EQUAL);
    c->set_version(0);
  }
  etcdserverpb::PutRequest* p = t.add_success()->mutable_request_put();
  p->set_key("c");
  p->set_value("v");
  etcdserverpb::TxnRequest* nested = t.add_success()->mutable_request_txn();
  Compare* nc = nested->add_compare();
  nc->set_key("c");
  nc->set_target(Compare::VERSION);
  nc->set_result(Compare::EQUAL);
  nc->set_version(1);
  *nested->add_success()->mutable_request_range() = Req("c");
  etcdserverpb::TxnResponse tr;
  ASSERT_TRUE(a.Txn(t, &tr, &applied).ok());
  EXPECT_TRUE(tr.succeeded());
  EXPECT_EQ(a.op_counts().ranges, 1u + 4u);
  EXPECT_EQ(a.op_counts().puts, 4u);
  EXPECT_EQ(a.op_counts().txns, 2u);
  EXPECT_EQ(store.live_keys(), 1u);
  // A read-only transaction is one: its compare and its range.
  etcdserverpb::TxnRequest ro;
  Compare* rc = ro.add_compare();
  rc->set_key("c");
  rc->set_target(Compare::VERSION);
  rc->set_result(Compare::EQUAL);
  rc->set_version(1);
  *ro.add_success()->mutable_request_range() = Req("c");
  ASSERT_TRUE(a.Txn(ro, &tr, &applied).ok());
  EXPECT_EQ(a.op_counts().ranges, 5u + 2u);
  EXPECT_EQ(a.op_counts().txns, 3u);
  // A compare and a put: one operation in each of etcd's two store transactions, neither a transaction of more.
  etcdserverpb::TxnRequest one;
  *one.add_compare() = *rc;
  one.mutable_compare(0)->set_version(2);  // c's version after the put below
  *one.add_failure()->mutable_request_put() = *p;
  ASSERT_TRUE(a.Txn(one, &tr, &applied).ok());
  EXPECT_FALSE(tr.succeeded());
  EXPECT_EQ(a.op_counts().txns, 3u);
  EXPECT_EQ(a.op_counts().puts, 5u);
  EXPECT_EQ(a.op_counts().ranges, 8u);
  // A restored store counts its live keys.
  MvccStore copy;
  ASSERT_TRUE(copy.Restore(store.Serialize()).ok());
  EXPECT_EQ(copy.live_keys(), 1u);
  // Compaction keeps live keys live and forgets deleted ones; etcd's applier reads the revision after it.
  etcdserverpb::CompactionRequest compact;
  compact.set_revision(store.rev());
  etcdserverpb::CompactionResponse compacted;
  ASSERT_TRUE(a.Compaction(compact, &compacted).ok());
  EXPECT_EQ(a.op_counts().ranges, 9u);
  EXPECT_EQ(store.live_keys(), 1u);
  EXPECT_EQ(store.keys(), 1u);
}

}  // namespace
}  // namespace detcd::kv
