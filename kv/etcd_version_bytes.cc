#include "kv/etcd_version_bytes.h"

namespace detcd::kv {

std::string EtcdRevisionKey(int64_t main, int64_t sub, bool tombstone) {
  std::string out(17 + (tombstone ? 1 : 0), '\0');
  for (int i = 0; i < 8; ++i) {
    out[static_cast<size_t>(7 - i)] = static_cast<char>(static_cast<uint64_t>(main) >> (8 * i));
    out[static_cast<size_t>(16 - i)] = static_cast<char>(static_cast<uint64_t>(sub) >> (8 * i));
  }
  out[8] = '_';
  if (tombstone) out[17] = 't';
  return out;
}

void AppendEtcdVersionValue(const EtcdVersion& v, std::string* out) {
  EmitEtcdVersionValue(v, [out](absl::string_view piece) { out->append(piece.data(), piece.size()); });
}

}  // namespace detcd::kv
