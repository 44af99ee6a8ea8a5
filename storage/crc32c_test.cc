#include "storage/crc32c.h"

#include <string>

#include "gtest/gtest.h"

namespace detcd::storage {
namespace {

TEST(Crc32cTest, KnownVectors) {
  EXPECT_EQ(Crc32c(""), 0u);
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
}

TEST(Crc32cTest, ExtendEqualsWhole) {
  std::string s;
  for (int i = 0; i < 1000; ++i) s.push_back(static_cast<char>(i * 7 + 3));
  for (size_t cut : {0, 1, 7, 8, 9, 500, 999, 1000}) {
    EXPECT_EQ(Crc32cExtend(Crc32c(s.substr(0, cut)), s.data() + cut, s.size() - cut), Crc32c(s)) << cut;
  }
}

TEST(Crc32cTest, EveryBitFlipChangesTheCrc) {
  std::string s(100, 'a');
  const uint32_t base = Crc32c(s);
  for (size_t i = 0; i < s.size(); ++i) {
    for (int b = 0; b < 8; ++b) {
      s[i] ^= static_cast<char>(1 << b);
      EXPECT_NE(Crc32c(s), base);
      s[i] ^= static_cast<char>(1 << b);
    }
  }
}

}  // namespace
}  // namespace detcd::storage
