#include "base/go_text.h"

#include <limits>

#include "gtest/gtest.h"

namespace detcd {
namespace {

TEST(GoTextTest, QuoteEscapesAsGoDoes) {
  EXPECT_EQ(GoQuote("plain"), "\"plain\"");
  EXPECT_EQ(GoQuote("a\"b\\c\n\t\r"), "\"a\\\"b\\\\c\\n\\t\\r\"");
  EXPECT_EQ(GoQuote(std::string("\x01\x7f", 2)), "\"\\x01\\x7f\"");
}

TEST(GoTextTest, DurationsAsGoParsesThem) {
  EXPECT_EQ(*ParseGoDurationNs("0"), 0);
  EXPECT_EQ(*ParseGoDurationNs("5m"), 300'000'000'000);
  EXPECT_EQ(*ParseGoDurationNs("1h30m"), 5'400'000'000'000);
  EXPECT_EQ(*ParseGoDurationNs("1.5s"), 1'500'000'000);
  EXPECT_EQ(*ParseGoDurationNs("-100ms"), -100'000'000);
  EXPECT_EQ(*ParseGoDurationNs("2\xc2\xb5s"), 2'000);
  EXPECT_EQ(*ParseGoDurationNs("-2562047h47m16.854775808s"), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(ParseGoDurationNs("2562047h47m16.854775808s").status().message(),
            "time: invalid duration \"2562047h47m16.854775808s\"");
  EXPECT_EQ(ParseGoDurationNs("").status().message(), "time: invalid duration \"\"");
  EXPECT_EQ(ParseGoDurationNs("5").status().message(), "time: missing unit in duration \"5\"");
  EXPECT_EQ(ParseGoDurationNs("5d").status().message(), "time: unknown unit \"d\" in duration \"5d\"");
  EXPECT_EQ(ParseGoDurationNs(".s").status().message(), "time: invalid duration \".s\"");
}

}  // namespace
}  // namespace detcd
