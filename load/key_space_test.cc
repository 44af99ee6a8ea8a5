#include "load/key_space.h"

#include <set>

#include "gtest/gtest.h"

namespace detcd::load {
namespace {

TEST(KeySpaceTest, KeysAreZeroPaddedToKeySize) {
  KeySpace keys(1000, 8, true);
  EXPECT_EQ(keys.Key(0), "00000000");
  EXPECT_EQ(keys.Key(999), "00000999");
}

TEST(KeySpaceTest, FitsInCountsDecimalDigits) {
  EXPECT_TRUE(KeySpace::FitsIn(10, 1));
  EXPECT_FALSE(KeySpace::FitsIn(11, 1));
  EXPECT_TRUE(KeySpace::FitsIn(1000000, 6));
  EXPECT_FALSE(KeySpace::FitsIn(1000001, 6));
  EXPECT_TRUE(KeySpace::FitsIn(int64_t{1} << 62, 40));
  EXPECT_FALSE(KeySpace::FitsIn(0, 8));
}

TEST(KeySpaceTest, SequentialPicksCycleThroughEveryKey) {
  KeySpace keys(3, 2, true);
  Prng prng(1);
  EXPECT_EQ(keys.Pick(&prng), "00");
  EXPECT_EQ(keys.Pick(&prng), "01");
  EXPECT_EQ(keys.Pick(&prng), "02");
  EXPECT_EQ(keys.Pick(&prng), "00");
}

TEST(KeySpaceTest, RandomPicksStayInsideTheWatchRange) {
  KeySpace keys(50, 4, false);
  Prng prng(7);
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) {
    const std::string k = keys.Pick(&prng);
    EXPECT_GE(k, KeySpace::kRangeBegin);
    EXPECT_LT(k, KeySpace::kRangeEnd);
    seen.insert(k);
  }
  EXPECT_EQ(seen.size(), 50u);
}

}  // namespace
}  // namespace detcd::load
