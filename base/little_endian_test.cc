// StoreLittleEndian / LoadLittleEndian / AppendLittleEndian: the byte layout written down by hand, every width, and
// round trips.
#include "base/little_endian.h"

#include <cstring>
#include <string>

#include "gtest/gtest.h"

namespace detcd {
namespace {

TEST(LittleEndianTest, LeastSignificantByteFirst) {
  char buf[8];
  EXPECT_EQ(StoreLittleEndian(buf, 0x0807060504030201ULL, 8), buf + 8);
  EXPECT_EQ(std::string(buf, 8), std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EXPECT_EQ(LoadLittleEndian("\x01\x02\x03\x04\x05\x06\x07\x08", 8), 0x0807060504030201ULL);
  EXPECT_EQ(LoadLittleEndian("\xff\x00\x00\x80", 4), 0x800000ffULL);
}

TEST(LittleEndianTest, OnlyTheLowBytesAreWrittenAndRead) {
  for (int bytes = 1; bytes <= 8; ++bytes) {
    char buf[9];
    std::memset(buf, 'x', sizeof(buf));
    const uint64_t v = 0xf1e2d3c4b5a69788ULL;
    EXPECT_EQ(StoreLittleEndian(buf, v, bytes), buf + bytes);
    EXPECT_EQ(buf[bytes], 'x') << bytes << ": wrote past its bytes";
    const uint64_t mask = bytes == 8 ? ~uint64_t{0} : (uint64_t{1} << (8 * bytes)) - 1;
    EXPECT_EQ(LoadLittleEndian(buf, bytes), v & mask) << bytes;
  }
}

TEST(LittleEndianTest, AppendAddsOnlyTheLowBytesAfterWhatIsThere) {
  std::string out = "ab";
  AppendLittleEndian(&out, 0x0807060504030201ULL, 3);
  EXPECT_EQ(out, std::string("ab\x01\x02\x03", 5));
  AppendLittleEndian(&out, 0xfedcba9876543210ULL, 8);
  ASSERT_EQ(out.size(), 13u);
  EXPECT_EQ(LoadLittleEndian(out.data() + 5, 8), 0xfedcba9876543210ULL);
  AppendLittleEndian(&out, 7, 1);
  EXPECT_EQ(out.back(), '\x07');
}

}  // namespace
}  // namespace detcd
