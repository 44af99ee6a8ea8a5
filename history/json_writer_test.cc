#include "history/json_writer.h"

#include <cmath>
#include <limits>

#include "gtest/gtest.h"
#include "history/json.h"

namespace detcd::history {
namespace {

TEST(JsonObjectWriter, WritesFieldsInOrder) {
  const uint64_t seeds[] = {3, 17};
  const std::string inner = JsonObjectWriter().Uint("safety", 1).Finish();
  const std::string line = JsonObjectWriter()
                               .String("type", "seed")
                               .Int("n", -5)
                               .Uint("big", std::numeric_limits<uint64_t>::max())
                               .Double("t", 1.5, 3)
                               .Bool("ok", false)
                               .Null("nothing")
                               .UintArray("seeds", seeds)
                               .UintArray("none", {})
                               .Object("by", inner)
                               .Finish();
  EXPECT_EQ(
      line,
      R"({"type":"seed","n":-5,"big":18446744073709551615,"t":1.500,"ok":false,"nothing":null,"seeds":[3,17],)"
      R"("none":[],)"
      R"("by":{"safety":1}})");
  EXPECT_EQ(JsonObjectWriter().Finish(), "{}");
}

TEST(JsonObjectWriter, NumbersJsonCannotHoldAreNull) {
  const std::string line = JsonObjectWriter()
                               .Double("nan", std::nan(""))
                               .Double("inf", std::numeric_limits<double>::infinity())
                               .Double("big", 1e20, 0)
                               .Finish();
  EXPECT_EQ(line, R"({"nan":null,"inf":null,"big":100000000000000000000})");
}

// Strings with quotes, backslashes, control characters and bytes that are not UTF-8 still make a line the strict
// reader accepts (its integers are int64, so only the string fields are written here).
TEST(JsonObjectWriter, AnyStringGivesValidJson) {
  const std::string nasty = std::string("q\"b\\s\n\t\x01\x7f\xff\xc3\xa9") + '\0' + "\xe2\x82";
  const std::string line = JsonObjectWriter().String(nasty, nasty).Int("n", 1).Finish();
  absl::StatusOr<JsonValue> v = ParseJson(line);
  ASSERT_TRUE(v.ok()) << v.status() << ": " << line;
  ASSERT_EQ(v->object.size(), 2u);
  EXPECT_EQ(v->object[0].second.string, v->object[0].first);
  EXPECT_EQ(v->object[0].second.string.substr(0, 10), std::string("q\"b\\s\n\t\x01\x7f") + "\xef");
}

}  // namespace
}  // namespace detcd::history
