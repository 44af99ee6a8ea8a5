#include "load/value_stamp.h"

#include "gtest/gtest.h"

namespace detcd::load {
namespace {

TEST(ValueStampTest, RoundTripsAndPadsToSize) {
  const std::string v = StampedValue(0x0123456789abcdefLL, 256);
  EXPECT_EQ(v.size(), 256u);
  int64_t sent = 0;
  ASSERT_TRUE(ReadStamp(v, &sent));
  EXPECT_EQ(sent, 0x0123456789abcdefLL);
}

TEST(ValueStampTest, ShortSizesStillCarryTheStamp) {
  EXPECT_EQ(StampedValue(5, 0), "0000000000000005");
}

TEST(ValueStampTest, ForeignValuesAreNotStamps) {
  int64_t sent = 0;
  EXPECT_FALSE(ReadStamp("hello", &sent));
  EXPECT_FALSE(ReadStamp(std::string(16, 'x'), &sent));
}

}  // namespace
}  // namespace detcd::load
