#include "storage/wal_record.h"

#include <string>

#include "gtest/gtest.h"

namespace detcd::storage {
namespace {

using Kind = DecodedRecord::Kind;

// A record placed at offset 504 so that its header straddles the sector boundary at 512.
std::string Straddling(size_t payload_bytes) {
  std::string buf(504, 'p');
  EncodeRecord(RecordType::kEntry, std::string(payload_bytes, 'x'), &buf);
  return buf;
}

// The on-disk layout, byte for byte (a WAL written by any earlier build must still read): length, type, three zero
// bytes, the payload's CRC-32C (type byte then payload), the header's CRC-32C, the payload, zeros to 8 bytes.
// The bytes were computed outside this code (a bitwise CRC-32C).
TEST(WalRecordTest, LayoutIsFixed) {
  std::string buf = "before";
  EncodeRecord(RecordType::kEntry, "abc", &buf);
  std::string hex;
  for (unsigned char c : buf.substr(6)) {
    static const char kDigits[] = "0123456789abcdef";
    hex.push_back(kDigits[c >> 4]);
    hex.push_back(kDigits[c & 15]);
  }
  EXPECT_EQ(hex, "03000000020000008bf42fa1e71ae4a76162630000000000");
  EXPECT_EQ(buf.substr(0, 6), "before");
}

TEST(WalRecordTest, RoundTripAndEnd) {
  std::string buf;
  EncodeRecord(RecordType::kHardState, "abc", &buf);
  EncodeRecord(RecordType::kEntry, "", &buf);
  buf.append(64, '\0');
  DecodedRecord a = DecodeRecord(buf, 0);
  ASSERT_EQ(a.kind, Kind::kRecord);
  EXPECT_EQ(a.type, RecordType::kHardState);
  EXPECT_EQ(a.payload, "abc");
  EXPECT_EQ(a.next_offset % 8, 0u);
  DecodedRecord b = DecodeRecord(buf, a.next_offset);
  ASSERT_EQ(b.kind, Kind::kRecord);
  EXPECT_EQ(b.payload, "");
  EXPECT_EQ(DecodeRecord(buf, b.next_offset).kind, Kind::kEnd);
  EXPECT_EQ(DecodeRecord(buf, buf.size()).kind, Kind::kEnd);
}

TEST(WalRecordTest, LostSecondHalfOfAStraddlingHeaderIsTorn) {
  std::string buf = Straddling(100);
  std::fill(buf.begin() + 512, buf.begin() + 520, '\0');
  EXPECT_EQ(DecodeRecord(buf, 504).kind, Kind::kTorn);
}

TEST(WalRecordTest, LostFirstHalfOfAStraddlingHeaderIsTorn) {
  std::string buf = Straddling(100);
  std::fill(buf.begin() + 504, buf.begin() + 512, '\0');
  EXPECT_EQ(DecodeRecord(buf, 504).kind, Kind::kTorn);
}

TEST(WalRecordTest, LostPayloadSectorIsTornButAFlippedBitIsCorrupt) {
  std::string torn = Straddling(1500);
  std::fill(torn.begin() + 1024, torn.begin() + 1536, '\0');
  EXPECT_EQ(DecodeRecord(torn, 504).kind, Kind::kTorn);
  std::string flipped = Straddling(1500);
  flipped[1100] ^= 0x01;
  DecodedRecord r = DecodeRecord(flipped, 504);
  EXPECT_EQ(r.kind, Kind::kCorrupt);
  EXPECT_EQ(r.reason, "record checksum mismatch");
}

TEST(WalRecordTest, CutShortIsTornAndBadHeaderIsCorrupt) {
  std::string buf;
  EncodeRecord(RecordType::kEntry, std::string(100, 'x'), &buf);
  EXPECT_EQ(DecodeRecord(buf.substr(0, 50), 0).kind, Kind::kTorn);
  EXPECT_EQ(DecodeRecord(buf.substr(0, 10), 0).kind, Kind::kTorn);
  std::string bad = buf;
  bad[1] ^= 0x01;  // length
  EXPECT_EQ(DecodeRecord(bad, 0).kind, Kind::kCorrupt);
  std::string pad = buf;
  pad[buf.size() - 1] = 'z';
  EXPECT_EQ(DecodeRecord(pad, 0).kind, Kind::kCorrupt);
}

}  // namespace
}  // namespace detcd::storage
