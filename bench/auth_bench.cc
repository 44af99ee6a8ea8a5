// Google Benchmark for auth's permission check (kv::AuthStore::CheckRead/CheckWrite), the work every request of a
// non-root user costs once auth is on: one key and one range, for users whose roles hold 1..1000 permissions (single
// keys and prefixes spread over four roles), the key allowed (found) or not (refused at the end of the search).
// Run: bazel run -c opt //bench:auth_bench   (figures in docs/performance.md)
#include <cstdio>
#include <cstdlib>
#include <string>

#include "benchmark/benchmark.h"
#include "kv/auth_store.h"

namespace detcd::kv {
namespace {

std::string Key(int i) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "key/%06d", i);
  return buf;
}

// A store with auth on and user "u" holding `perms` permissions through four roles: even ones on a key, odd ones on
// that key's prefix (key + "/").
AuthStore StoreWith(int perms) {
  AuthStore s;
  etcdserverpb::AuthUserAddRequest add;
  add.set_name("root");
  add.set_password("hash");
  (void)s.UserAdd(add);
  add.set_name("u");
  (void)s.UserAdd(add);
  etcdserverpb::AuthUserGrantRoleRequest grant;
  grant.set_user("root");
  grant.set_role("root");
  (void)s.UserGrantRole(grant);
  for (int r = 0; r < 4; ++r) {
    etcdserverpb::AuthRoleAddRequest role;
    role.set_name("r" + std::to_string(r));
    (void)s.RoleAdd(role);
    grant.set_user("u");
    grant.set_role(role.name());
    (void)s.UserGrantRole(grant);
  }
  for (int i = 0; i < perms; ++i) {
    etcdserverpb::AuthRoleGrantPermissionRequest p;
    p.set_name("r" + std::to_string(i % 4));
    p.mutable_perm()->set_permtype(authpb::Permission::READWRITE);
    const std::string k = Key(i * 2);
    if (i % 2 == 0) {
      p.mutable_perm()->set_key(k);
    } else {
      p.mutable_perm()->set_key(k + "/");
      p.mutable_perm()->set_range_end(k + "0");  // the prefix k + "/"
    }
    (void)s.RoleGrantPermission(p);
  }
  if (!s.Enable().ok()) std::abort();
  return s;
}

void BM_AuthCheckKey(benchmark::State& state) {
  const int perms = static_cast<int>(state.range(0));
  AuthStore s = StoreWith(perms);
  const AuthInfo u{"u", s.revision()};
  const std::string allowed = Key(((perms / 2) & ~1) * 2);  // an even permission's key
  const std::string refused = Key(perms * 2 + 1);
  if (!s.CheckWrite(u, allowed, "").ok() || s.CheckWrite(u, refused, "").ok()) {
    state.SkipWithError("the store does not answer as built");
    return;
  }
  for (auto _ : state) {
    benchmark::DoNotOptimize(s.CheckWrite(u, allowed, ""));
    benchmark::DoNotOptimize(s.CheckWrite(u, refused, ""));
  }
  state.SetItemsProcessed(state.iterations() * 2);
}
BENCHMARK(BM_AuthCheckKey)->Arg(1)->Arg(10)->Arg(100)->Arg(1000);

void BM_AuthCheckPrefixRange(benchmark::State& state) {
  const int perms = static_cast<int>(state.range(0));
  AuthStore s = StoreWith(perms);
  const AuthInfo u{"u", s.revision()};
  const int odd = perms > 1 ? ((perms / 2) | 1) : 1;  // an odd permission: a prefix
  const std::string prefix = Key(odd * 2) + "/";
  const std::string end = Key(odd * 2) + "0";
  if (!s.CheckRead(u, prefix + "a", end).ok() || s.CheckRead(u, prefix, Key(odd * 2 + 2)).ok()) {
    state.SkipWithError("the store does not answer as built");
    return;
  }
  for (auto _ : state) benchmark::DoNotOptimize(s.CheckRead(u, prefix + "a", end));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_AuthCheckPrefixRange)->Arg(10)->Arg(100)->Arg(1000);

}  // namespace
}  // namespace detcd::kv

BENCHMARK_MAIN();
