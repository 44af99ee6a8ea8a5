// etcd 3.4's bytes for one stored version of a key, as its backend keeps it in bucket "key": the revision bytes
// (8-byte big-endian main, '_', 8-byte big-endian sub, then 't' for a tombstone) and the value (the version as a
// serialized mvccpb.KeyValue; a tombstone's holds the key alone). MvccStore::HashKV hashes these pieces, so its
// number is etcd's for the same history, and the etcd-format snapshot writer (net/etcd_snapshot) stores them.
// Pure computation: no state, no allocation beyond the caller's string.
#ifndef DETCD_KV_ETCD_VERSION_BYTES_H_
#define DETCD_KV_ETCD_VERSION_BYTES_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace detcd::kv {

// One version as etcd stores it. A tombstone's create, version, value and lease are not stored (etcd writes the
// key alone); mod is its revision.
struct EtcdVersion {
  absl::string_view key;
  int64_t main = 0;
  int64_t sub = 0;
  bool tombstone = false;
  int64_t create = 0;
  int64_t version = 0;
  absl::string_view value;
  int64_t lease = 0;
};

// The revision bytes: 17 bytes, 18 with a tombstone's 't'.
std::string EtcdRevisionKey(int64_t main, int64_t sub, bool tombstone = false);
// The same written at out (room for kEtcdRevisionKeyMax bytes); returns what follows them.
inline constexpr size_t kEtcdRevisionKeyMax = 18;
char* StoreEtcdRevisionKey(char* out, int64_t main, int64_t sub, bool tombstone);

// Calls emit(absl::string_view) with consecutive pieces whose concatenation is the version's value bytes (protobuf's
// encoding of mvccpb.KeyValue: fields in number order, zero fields left out). The key and value are handed over as
// they are, not copied.
template <typename Emit>
void EmitEtcdVersionValue(const EtcdVersion& v, Emit&& emit);

// The value bytes appended to *out.
void AppendEtcdVersionValue(const EtcdVersion& v, std::string* out);

// ---- implementation ----------------------------------------------------------------------------------------------

namespace etcd_version_bytes_internal {
// A protobuf varint at p (at most 10 bytes); returns what follows it.
inline char* PutVarint(char* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<char>(v);
  return p;
}
// A varint field (tag, then the number as a uint64: a negative int64 takes ten bytes, as protobuf writes it).
inline char* PutNumberField(char* p, int field, int64_t v) {
  if (v == 0) return p;
  *p++ = static_cast<char>(field << 3);
  return PutVarint(p, static_cast<uint64_t>(v));
}
}  // namespace etcd_version_bytes_internal

template <typename Emit>
void EmitEtcdVersionValue(const EtcdVersion& v, Emit&& emit) {
  using etcd_version_bytes_internal::PutNumberField;
  using etcd_version_bytes_internal::PutVarint;
  // mvccpb.KeyValue: key = 1, create_revision = 2, mod_revision = 3, version = 4, value = 5, lease = 6.
  char buf[4 * 11 + 11];
  char* p = buf;
  if (!v.key.empty()) {
    *p++ = static_cast<char>((1 << 3) | 2);
    p = PutVarint(p, v.key.size());
    emit(absl::string_view(buf, static_cast<size_t>(p - buf)));
    emit(v.key);
  }
  if (v.tombstone) return;
  p = buf;
  p = PutNumberField(p, 2, v.create);
  p = PutNumberField(p, 3, v.main);
  p = PutNumberField(p, 4, v.version);
  if (!v.value.empty()) {
    *p++ = static_cast<char>((5 << 3) | 2);
    p = PutVarint(p, v.value.size());
    emit(absl::string_view(buf, static_cast<size_t>(p - buf)));
    emit(v.value);
    p = buf;
  }
  p = PutNumberField(p, 6, v.lease);
  if (p != buf) emit(absl::string_view(buf, static_cast<size_t>(p - buf)));
}

}  // namespace detcd::kv

#endif  // DETCD_KV_ETCD_VERSION_BYTES_H_
