#include "storage/etcd_wal_reader.h"

#include <string>

#include "base/crc32c.h"
#include "gtest/gtest.h"

namespace detcd::storage {
namespace {

// A protobuf encoder for the few messages an etcd WAL holds.
void Varint(std::string* out, uint64_t v) {
  for (; v >= 0x80; v >>= 7) out->push_back(static_cast<char>((v & 0x7f) | 0x80));
  out->push_back(static_cast<char>(v));
}
void VarintField(std::string* out, uint32_t field, uint64_t v) {
  Varint(out, uint64_t{field} << 3);
  Varint(out, v);
}
void BytesField(std::string* out, uint32_t field, const std::string& b) {
  Varint(out, (uint64_t{field} << 3) | 2);
  Varint(out, b.size());
  *out += b;
}

// etcd's encoder: frames of {8-byte length with padding bits, walpb.Record, padding}, the CRC chained over records.
class Segment {
 public:
  explicit Segment(uint32_t crc) : crc_(crc) { Frame(4, "", crc); }
  void Add(uint64_t type, const std::string& data) {
    crc_ = Crc32cExtend(crc_, data.data(), data.size());
    Frame(type, data, crc_);
  }
  void Entry(uint64_t index, uint64_t term, uint64_t type = 0, const std::string& data = "") {
    std::string e;
    VarintField(&e, 1, type);
    VarintField(&e, 2, term);
    VarintField(&e, 3, index);
    if (!data.empty()) BytesField(&e, 4, data);
    Add(2, e);
  }
  std::string bytes() const { return bytes_ + std::string(64, '\0'); }  // preallocated zeros after
  uint32_t crc() const { return crc_; }

 private:
  void Frame(uint64_t type, const std::string& data, uint32_t crc) {
    std::string rec;
    VarintField(&rec, 1, type);
    VarintField(&rec, 2, crc);
    if (!data.empty()) BytesField(&rec, 3, data);
    const uint64_t pad = (8 - rec.size() % 8) % 8;
    uint64_t len = rec.size() | (pad > 0 ? (uint64_t{0x80 | pad} << 56) : 0);
    for (int i = 0; i < 8; ++i, len >>= 8) bytes_.push_back(static_cast<char>(len & 0xff));
    bytes_ += rec + std::string(pad, '\0');
  }
  uint32_t crc_;
  std::string bytes_;
};

std::string Metadata(uint64_t node, uint64_t cluster) {
  std::string m;
  VarintField(&m, 1, node);
  VarintField(&m, 2, cluster);
  return m;
}

std::string HardState(uint64_t term, uint64_t vote, uint64_t commit) {
  std::string h;
  VarintField(&h, 1, term);
  VarintField(&h, 2, vote);
  VarintField(&h, 3, commit);
  return h;
}

TEST(EtcdWalReaderTest, ReadsWhatRestoreWrites) {
  // etcdctl snapshot restore: metadata, one conf change per member, the hard state, a snapshot record.
  Segment s(0);
  s.Add(1, Metadata(0xaaaa, 0xcccc));
  std::string cc;
  VarintField(&cc, 2, 0);
  VarintField(&cc, 3, 0xaaaa);
  BytesField(&cc, 4, R"({"id":43690,"peerURLs":["http://a:2380"],"name":"m1"})");
  s.Entry(1, 1, 1, cc);
  s.Add(3, HardState(1, 0xaaaa, 1));
  std::string snap;
  VarintField(&snap, 1, 1);
  VarintField(&snap, 2, 1);
  s.Add(5, snap);
  absl::StatusOr<EtcdWal> wal = ReadEtcdWal({{"0000000000000000-0000000000000000.wal", s.bytes()}});
  ASSERT_TRUE(wal.ok()) << wal.status();
  EXPECT_EQ(wal->member_id, 0xaaaau);
  EXPECT_EQ(wal->cluster_id, 0xccccu);
  EXPECT_EQ(wal->snapshot_index, 1u);
  EXPECT_EQ(wal->term, 1u);
  EXPECT_EQ(wal->commit, 1u);
  ASSERT_EQ(wal->entries.size(), 1u);
  EXPECT_EQ(wal->entries[0].type, 1u);
  absl::StatusOr<EtcdConfChange> c = DecodeEtcdConfChange(wal->entries[0].data);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->node_id, 0xaaaau);
  EXPECT_NE(c->context.find("\"name\":\"m1\""), std::string::npos);
}

TEST(EtcdWalReaderTest, LaterEntriesReplaceAndSegmentsChain) {
  Segment a(0);
  a.Add(1, Metadata(1, 2));
  for (uint64_t i = 1; i <= 5; ++i) a.Entry(i, 1);
  a.Entry(4, 2);  // a new leader overwrote 4 and 5
  Segment b(a.crc());
  b.Add(1, Metadata(1, 2));
  b.Entry(5, 2, 0, "x");
  b.Add(3, HardState(2, 1, 5));
  absl::StatusOr<EtcdWal> wal = ReadEtcdWal({{"a", a.bytes()}, {"b", b.bytes()}});
  ASSERT_TRUE(wal.ok()) << wal.status();
  ASSERT_EQ(wal->entries.size(), 5u);
  EXPECT_EQ(wal->entries[3].term, 2u);
  EXPECT_EQ(wal->entries[4].data, "x");
  // A second segment that does not continue the first's CRC chain is refused.
  Segment c(12345);
  c.Add(1, Metadata(1, 2));
  wal = ReadEtcdWal({{"a", a.bytes()}, {"c", c.bytes()}});
  ASSERT_FALSE(wal.ok());
  EXPECT_EQ(wal.status().message(), "etcd wal: c at offset 0: CRC record does not continue the previous segment");
}

TEST(EtcdWalReaderTest, StopsAtATornTailAndRefusesDamage) {
  Segment s(0);
  s.Add(1, Metadata(1, 2));
  s.Entry(1, 1, 0, "data");
  s.Entry(2, 1, 0, "more");
  const std::string whole = s.bytes().substr(0, s.bytes().size() - 64);
  // Cut in the last record: the two records before it are read.
  absl::StatusOr<EtcdWal> wal = ReadEtcdWal({{"s", whole.substr(0, whole.size() - 3)}});
  ASSERT_TRUE(wal.ok()) << wal.status();
  EXPECT_EQ(wal->entries.size(), 1u);
  // Cut short in a segment that is not the last: refused.
  wal = ReadEtcdWal({{"s", whole.substr(0, whole.size() - 3)}, {"t", Segment(0).bytes()}});
  ASSERT_FALSE(wal.ok());
  EXPECT_NE(wal.status().message().find("runs past the end of the segment"), std::string::npos) << wal.status();
  // A flipped byte in a record's data: a CRC mismatch, naming the offset.
  std::string bad = whole;
  bad[bad.size() - 5] ^= 0x10;
  wal = ReadEtcdWal({{"s", bad}});
  ASSERT_FALSE(wal.ok());
  EXPECT_NE(wal.status().message().find("etcd wal: s at offset"), std::string::npos) << wal.status();
  // No metadata at all.
  wal = ReadEtcdWal({{"s", Segment(0).bytes()}});
  ASSERT_FALSE(wal.ok());
  EXPECT_EQ(wal.status().message(), "etcd wal: no metadata record");
}

TEST(EtcdWalReaderTest, SurvivesDamageAnywhere) {
  Segment s(0);
  s.Add(1, Metadata(1, 2));
  for (uint64_t i = 1; i <= 50; ++i) s.Entry(i, 1, 0, std::string(i, 'v'));
  const std::string whole = s.bytes();
  uint64_t x = 99;
  for (int i = 0; i < 3000; ++i) {
    std::string bad = whole;
    x = x * 6364136223846793005ull + 1442695040888963407ull;
    bad[(x >> 20) % bad.size()] = static_cast<char>(x >> 56);
    (void)ReadEtcdWal({{"s", bad}});
  }
}

TEST(EtcdWalReaderTest, SegmentNames) {
  EXPECT_TRUE(IsEtcdWalSegmentName("0000000000000000-0000000000000000.wal"));
  EXPECT_TRUE(IsEtcdWalSegmentName("00000000000000a1-00000000000f0000.wal"));
  EXPECT_FALSE(IsEtcdWalSegmentName("0000000000000000-0000000000000000.wal.tmp"));
  EXPECT_FALSE(IsEtcdWalSegmentName("0.tmp"));
}

}  // namespace
}  // namespace detcd::storage
