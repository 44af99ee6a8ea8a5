#include "kv/etcd_version_bytes.h"

namespace detcd::kv {

char* StoreEtcdRevisionKey(char* out, int64_t main, int64_t sub, bool tombstone) {
  for (int i = 0; i < 8; ++i) {
    out[7 - i] = static_cast<char>(static_cast<uint64_t>(main) >> (8 * i));
    out[16 - i] = static_cast<char>(static_cast<uint64_t>(sub) >> (8 * i));
  }
  out[8] = '_';
  if (!tombstone) return out + 17;
  out[17] = 't';
  return out + 18;
}

std::string EtcdRevisionKey(int64_t main, int64_t sub, bool tombstone) {
  char buf[kEtcdRevisionKeyMax];
  return std::string(buf, static_cast<size_t>(StoreEtcdRevisionKey(buf, main, sub, tombstone) - buf));
}

void AppendEtcdVersionValue(const EtcdVersion& v, std::string* out) {
  EmitEtcdVersionValue(v, [out](absl::string_view piece) { out->append(piece.data(), piece.size()); });
}

}  // namespace detcd::kv
