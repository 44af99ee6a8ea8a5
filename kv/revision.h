// Revision: a point in the MVCC store's history. `main` is the store revision a write transaction produced (etcd's
// header revision, mod_revision, create_revision); `sub` orders the changes inside one transaction. Plain value type.
#ifndef DETCD_KV_REVISION_H_
#define DETCD_KV_REVISION_H_

#include <cstdint>
#include <tuple>

namespace detcd::kv {

struct Revision {
  int64_t main = 0;
  int64_t sub = 0;

  friend bool operator<(const Revision& a, const Revision& b) {
    return std::tie(a.main, a.sub) < std::tie(b.main, b.sub);
  }
  friend bool operator==(const Revision& a, const Revision& b) { return a.main == b.main && a.sub == b.sub; }
  friend bool operator!=(const Revision& a, const Revision& b) { return !(a == b); }
  friend bool operator<=(const Revision& a, const Revision& b) { return !(b < a); }
  friend bool operator>(const Revision& a, const Revision& b) { return b < a; }
};

}  // namespace detcd::kv

#endif  // DETCD_KV_REVISION_H_
