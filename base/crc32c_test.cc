#include "base/crc32c.h"

#include <string>

#include "gtest/gtest.h"

namespace detcd {
namespace {

TEST(Crc32cTest, KnownVectors) {
  EXPECT_EQ(Crc32c(""), 0u);
  EXPECT_EQ(Crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc32c(std::string(32, '\xff')), 0x62A8AB43u);
}

TEST(Crc32cTest, KnownVectorsOnBothPaths) {
  for (auto extend : {&crc32c_internal::ExtendPortable, &crc32c_internal::ExtendHardware}) {
    if (extend == &crc32c_internal::ExtendHardware && !crc32c_internal::HaveHardware()) continue;
    EXPECT_EQ(extend(0, "123456789", 9), 0xE3069283u);
    const std::string zeros(32, '\0');
    EXPECT_EQ(extend(0, zeros.data(), zeros.size()), 0x8A9136AAu);
  }
}

TEST(Crc32cTest, HardwareAndTablesAgreeOnEveryLengthAndAlignment) {
  if (!crc32c_internal::HaveHardware()) GTEST_SKIP() << "no SSE4.2 on this CPU: only the tables run";
  std::string s;
  for (int i = 0; i < 300; ++i) s.push_back(static_cast<char>(i * 37 + i / 5));
  for (size_t start = 0; start < 9; ++start) {
    for (size_t n = 0; start + n <= s.size(); n += (n < 40 ? 1 : 13)) {
      for (uint32_t seed : {0u, 0xDEADBEEFu}) {
        EXPECT_EQ(crc32c_internal::ExtendHardware(seed, s.data() + start, n),
                  crc32c_internal::ExtendPortable(seed, s.data() + start, n))
            << "start " << start << " length " << n << " seed " << seed;
      }
    }
  }
}

TEST(Crc32cTest, ExtendEqualsWhole) {
  std::string s;
  for (int i = 0; i < 1000; ++i) s.push_back(static_cast<char>(i * 7 + 3));
  for (size_t cut : {0, 1, 7, 8, 9, 500, 999, 1000}) {
    EXPECT_EQ(Crc32cExtend(Crc32c(s.substr(0, cut)), s.data() + cut, s.size() - cut), Crc32c(s)) << cut;
  }
}

TEST(Crc32cTest, CombineEqualsWhole) {
  std::string s;
  for (int i = 0; i < 5000; ++i) s.push_back(static_cast<char>(i * 131 + i / 7));
  for (size_t cut : {0, 1, 7, 8, 9, 500, 4095, 4999, 5000}) {
    const std::string a = s.substr(0, cut);
    const std::string b = s.substr(cut);
    EXPECT_EQ(Crc32cCombine(Crc32c(a), Crc32c(b), b.size()), Crc32c(s)) << cut;
  }
  // Three runs, as a streamed snapshot file joins them.
  const uint32_t ab = Crc32cCombine(Crc32c(s.substr(0, 10)), Crc32c(s.substr(10, 3000)), 3000);
  EXPECT_EQ(Crc32cCombine(ab, Crc32c(s.substr(3010)), s.size() - 3010), Crc32c(s));
  EXPECT_EQ(Crc32cCombine(Crc32c(s), 0, 0), Crc32c(s)) << "an empty second run changes nothing";
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
}  // namespace detcd
