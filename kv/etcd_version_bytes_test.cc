// etcd's bytes for a stored version: the revision key laid out byte by byte, and the value equal to what protobuf
// itself serializes for the same mvccpb.KeyValue (an independent encoder), including zero fields, long keys and values
// (multi-byte lengths), large and negative numbers.
#include "kv/etcd_version_bytes.h"

#include <string>
#include <vector>

#include "api/mvccpb/kv.pb.h"
#include "gtest/gtest.h"

namespace detcd::kv {
namespace {

std::string Expected(const EtcdVersion& v) {
  mvccpb::KeyValue kv;
  kv.set_key(std::string(v.key));
  if (!v.tombstone) {
    kv.set_create_revision(v.create);
    kv.set_mod_revision(v.main);
    kv.set_version(v.version);
    kv.set_value(std::string(v.value));
    kv.set_lease(v.lease);
  }
  return kv.SerializeAsString();
}

TEST(EtcdVersionBytesTest, RevisionKeyIsBigEndianMainUnderscoreSub) {
  const std::string k = EtcdRevisionKey(0x0102030405060708, 9);
  ASSERT_EQ(k.size(), 17u);
  EXPECT_EQ(k, std::string("\x01\x02\x03\x04\x05\x06\x07\x08_\0\0\0\0\0\0\0\x09", 17));
  const std::string t = EtcdRevisionKey(5, 0, /*tombstone=*/true);
  ASSERT_EQ(t.size(), 18u);
  EXPECT_EQ(t, std::string("\0\0\0\0\0\0\0\x05_\0\0\0\0\0\0\0\0t", 18));
}

TEST(EtcdVersionBytesTest, ValueIsProtobufsKeyValue) {
  const std::string long_key(300, 'k');
  const std::string long_value(70000, 'v');
  std::vector<EtcdVersion> cases = {
      {"a", 2, 0, false, 2, 1, "1", 0},
      {"a", 3, 0, false, 2, 2, "", 0},                // empty value: no field 5
      {"b", 4, 1, false, 4, 1, "x", 0x694d7a3b1c2d},  // a lease
      {long_key, 1LL << 40, 7, false, 1LL << 35, 300, long_value, 0},
      {"n", 9, 0, false, 9, 1, "z", -1},         // a negative number takes ten bytes
      {"gone", 6, 0, true, 2, 3, "ignored", 5},  // a tombstone: the key alone
  };
  for (const EtcdVersion& v : cases) {
    std::string got = "prefix";
    AppendEtcdVersionValue(v, &got);
    EXPECT_EQ(got, "prefix" + Expected(v)) << v.key.substr(0, 8) << " at " << v.main;
    std::string pieces;
    int calls = 0;
    EmitEtcdVersionValue(v, [&](absl::string_view p) {
      ++calls;
      pieces.append(p.data(), p.size());
    });
    EXPECT_EQ(pieces, Expected(v));
    EXPECT_GE(calls, v.value.empty() || v.tombstone ? 1 : 3) << "key and value are handed over, not copied";
  }
}

}  // namespace
}  // namespace detcd::kv
