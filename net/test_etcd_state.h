// Test-only: a member state as etcdctl's session "put a 1; put b 2; put a 3; del b; lease grant 100; put l x --lease;
// compact 3; put c 4" leaves it (store and leases; the caller adds members), which the tests of the etcd snapshot
// (detcd -> etcd) and of the import (etcd -> detcd) both convert. Never linked into a binary.
#ifndef DETCD_NET_TEST_ETCD_STATE_H_
#define DETCD_NET_TEST_ETCD_STATE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "api/authpb/auth.pb.h"
#include "api/kv_request.pb.h"
#include "gtest/gtest.h"
#include "kv/lessor.h"
#include "kv/mvcc_store.h"

namespace detcd::net {

inline constexpr int64_t kEtcdctlSessionLease = 0x520da22c3ef8da09;

inline void Put(kv::MvccStore& s, const std::string& k, const std::string& v, int64_t lease = 0) {
  kv::MvccStore::WriteTxn txn(&s);
  txn.Put(k, v, lease, nullptr);
}

inline kvpb::StateSnapshot EtcdctlSessionState() {
  kv::MvccStore store(1);  // a member's store starts at 1, as etcd's
  Put(store, "a", "1");
  Put(store, "b", "2");
  Put(store, "a", "3");
  {
    kv::MvccStore::WriteTxn txn(&store);
    txn.DeleteRange("b", "", nullptr);
  }
  kv::Lessor lessor(1);
  EXPECT_TRUE(lessor.Grant(kEtcdctlSessionLease, 100, 0).ok());
  Put(store, "l", "x", kEtcdctlSessionLease);
  EXPECT_TRUE(store.Compact(3).ok());
  Put(store, "c", "4");
  kvpb::StateSnapshot state;
  state.set_store(store.Serialize());
  state.set_leases(lessor.Serialize());
  return state;
}

// An auth store with auth enabled, at auth revision 9: users cert (no password; role r), root (role root) and u (roles
// r and w); role r reads key a, reads and writes the range [b, c), writes the prefix p; roles root and w have no
// permissions. In name order, as detcd's store gives them; the bcrypt hashes are made up.
inline kvpb::AuthState EtcdAuthState() {
  kvpb::AuthState auth;
  auth.set_enabled(true);
  auth.set_revision(9);
  auto user = [&auth](const std::string& name, const std::string& hash, std::vector<std::string> roles) {
    authpb::User* u = auth.add_users();
    u->set_name(name);
    u->set_password(hash);
    for (const std::string& r : roles) u->add_roles(r);
    u->mutable_options()->set_no_password(hash.empty());
  };
  user("cert", "", {"r"});
  user("root", "$2a$10$aaaaaaaaaaaaaaaaaaaaaOaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", {"root"});
  user("u", "$2a$10$bbbbbbbbbbbbbbbbbbbbbObbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", {"r", "w"});
  authpb::Role* r = auth.add_roles();
  r->set_name("r");
  auto perm = [r](authpb::Permission::Type type, const std::string& key, const std::string& end) {
    authpb::Permission* p = r->add_keypermission();
    p->set_permtype(type);
    p->set_key(key);
    p->set_range_end(end);
  };
  perm(authpb::Permission::READ, "a", "");
  perm(authpb::Permission::READWRITE, "b", "c");
  perm(authpb::Permission::WRITE, "p", "q");
  auth.add_roles()->set_name("root");
  auth.add_roles()->set_name("w");
  return auth;
}

}  // namespace detcd::net

#endif  // DETCD_NET_TEST_ETCD_STATE_H_
