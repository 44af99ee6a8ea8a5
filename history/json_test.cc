#include "history/json.h"

#include <string>

#include "base/prng.h"
#include "gtest/gtest.h"

namespace detcd::history {
namespace {

std::string ErrorOf(absl::string_view text) {
  absl::StatusOr<JsonValue> v = ParseJson(text);
  EXPECT_FALSE(v.ok()) << "accepted: " << text;
  return v.ok() ? "" : std::string(v.status().message());
}

TEST(Json, ParsesEveryKind) {
  absl::StatusOr<JsonValue> v =
      ParseJson(R"( {"a": 1, "b": -42, "c": "x\"\\\/\b\f\n\r\t\u00e9\ud83d\ude00", "d": [null, true, false, []], "e": {}} )");
  ASSERT_TRUE(v.ok()) << v.status();
  ASSERT_EQ(v->type, JsonValue::Type::kObject);
  ASSERT_EQ(v->object.size(), 5u);
  EXPECT_EQ(v->Find("a")->integer, 1);
  EXPECT_EQ(v->Find("b")->integer, -42);
  EXPECT_EQ(v->Find("c")->string, "x\"\\/\b\f\n\r\t\xc3\xa9\xf0\x9f\x98\x80");
  const JsonValue* d = v->Find("d");
  ASSERT_EQ(d->array.size(), 4u);
  EXPECT_EQ(d->array[0].type, JsonValue::Type::kNull);
  EXPECT_TRUE(d->array[1].boolean);
  EXPECT_EQ(d->array[2].type, JsonValue::Type::kBool);
  EXPECT_FALSE(d->array[2].boolean);
  EXPECT_EQ(d->array[3].type, JsonValue::Type::kArray);
  EXPECT_EQ(v->Find("e")->type, JsonValue::Type::kObject);
  EXPECT_EQ(v->Find("zz"), nullptr);
}

TEST(Json, IntegersUseTheWhole64BitRange) {
  EXPECT_EQ(ParseJson("9223372036854775807")->integer, INT64_MAX);
  EXPECT_EQ(ParseJson("-9223372036854775808")->integer, INT64_MIN);
  EXPECT_EQ(ParseJson("-0")->integer, 0);
  EXPECT_NE(ErrorOf("9223372036854775808").find("out of the 64-bit range"), std::string::npos);
  EXPECT_NE(ErrorOf("-9223372036854775809").find("out of the 64-bit range"), std::string::npos);
}

TEST(Json, RejectsWhatItCannotRepresentWithTheColumn) {
  EXPECT_EQ(ErrorOf("1.5"), "column 2: numbers must be integers (no fraction or exponent)");
  EXPECT_EQ(ErrorOf("1e3"), "column 2: numbers must be integers (no fraction or exponent)");
  EXPECT_EQ(ErrorOf("012"), "column 1: numbers may not have leading zeros");
  EXPECT_EQ(ErrorOf("{\"a\": 1} x"), "column 10: unexpected 'x' after the value");
  EXPECT_EQ(ErrorOf("{\"a\": 1, \"a\": 2}"), "column 10: duplicate field \"a\"");
  EXPECT_EQ(ErrorOf("{\"a\" 1}"), "column 6: expected ':', found '1'");
  EXPECT_EQ(ErrorOf("[1, 2"), "column 6: expected ',' or ']', found end of line");
  EXPECT_EQ(ErrorOf("[1,]"), "column 4: expected a value, found ']'");
  EXPECT_EQ(ErrorOf("{,}"), "column 2: expected a field name, found ','");
  EXPECT_EQ(ErrorOf("\"abc"), "column 5: unterminated string");
  EXPECT_EQ(ErrorOf("\"a\\x\""), "column 4: invalid escape in a string: backslash followed by 'x'");
  EXPECT_EQ(ErrorOf("\"a\tb\""), "column 3: control character byte 0x09 in a string (escape it)");
  EXPECT_EQ(ErrorOf("\"\\ud800\""), "column 8: unpaired UTF-16 surrogate in \\u escape");
  EXPECT_EQ(ErrorOf("\"\\u12g4\""), "column 6: \\u needs four hex digits, found 'g'");
  EXPECT_EQ(ErrorOf("\"\xff\""), "column 2: invalid UTF-8 in a string");
  EXPECT_EQ(ErrorOf("\"\xc0\x80\""), "column 2: invalid UTF-8 in a string");  // overlong NUL
  EXPECT_EQ(ErrorOf("\"\xed\xa0\x80\""), "column 2: invalid UTF-8 in a string");  // encoded surrogate
  EXPECT_EQ(ErrorOf("nul"), "column 1: expected a value, found 'n'");
  EXPECT_EQ(ErrorOf("NaN"), "column 1: expected a value, found 'N'");
  EXPECT_EQ(ErrorOf(""), "column 1: expected a value, found end of line");
  EXPECT_EQ(ErrorOf("-"), "column 2: expected a digit, found end of line");
  EXPECT_EQ(ErrorOf("'a'"), "column 1: expected a value, found '''");
}

TEST(Json, NestingIsBounded) {
  std::string deep(kMaxJsonDepth, '[');
  deep += std::string(kMaxJsonDepth, ']');
  EXPECT_TRUE(ParseJson(deep).ok());
  std::string too_deep(100000, '[');
  EXPECT_NE(ErrorOf(too_deep).find("nesting deeper than"), std::string::npos);
}

TEST(Json, QuotedStringsParseBack) {
  const std::string s = std::string("a\"b\\c\n\x01\x1f\x7f\xc3\xa9") + '\0' + "end";
  const std::string quoted = QuoteJsonString(s);
  EXPECT_EQ(quoted, "\"a\\\"b\\\\c\\n\\u0001\\u001f\\u007f\xc3\xa9\\u0000end\"");
  absl::StatusOr<JsonValue> back = ParseJson(quoted);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->string, s);
}

// Bytes that are not well-formed UTF-8 (a checker's message may hold any) become U+FFFD, one per byte, so the
// quoted string is still valid JSON; the well-formed sequences around them are kept.
TEST(Json, QuotingReplacesInvalidUtf8) {
  const struct {
    std::string in, quoted;
  } cases[] = {
      {"a\x80z", "\"a\\ufffdz\""},                      // lone continuation byte
      {"a\xc3", "\"a\\ufffd\""},                        // truncated at the end
      {"\xc3(", "\"\\ufffd(\""},                        // lead byte without its continuation
      {"\xc0\xaf", "\"\\ufffd\\ufffd\""},               // overlong '/'
      {"\xed\xa0\x80", "\"\\ufffd\\ufffd\\ufffd\""},    // UTF-16 surrogate
      {"\xf4\x90\x80\x80", "\"\\ufffd\\ufffd\\ufffd\\ufffd\""},  // above U+10FFFF
      {"\xff\xfe", "\"\\ufffd\\ufffd\""},
      {"\xe2\x82\xac\x80\xf0\x9f\x98\x80", "\"\xe2\x82\xac\\ufffd\xf0\x9f\x98\x80\""},  // euro, bad, emoji
  };
  for (const auto& c : cases) {
    const std::string quoted = QuoteJsonString(c.in);
    EXPECT_EQ(quoted, c.quoted);
    absl::StatusOr<JsonValue> back = ParseJson(quoted);
    EXPECT_TRUE(back.ok()) << back.status() << " for " << quoted;
  }
}

// Any bytes at all quote to a string the strict reader accepts (it validates UTF-8 and rejects raw control
// characters); strings that are well-formed UTF-8 read back unchanged.
TEST(Json, QuotingAnyBytesGivesValidJson) {
  Prng prng(11);
  for (int round = 0; round < 20000; ++round) {
    std::string s(prng.Uniform(12), '\0');
    for (char& c : s) c = static_cast<char>(prng.Uniform(256));
    const std::string quoted = QuoteJsonString(s);
    absl::StatusOr<JsonValue> back = ParseJson(quoted);
    ASSERT_TRUE(back.ok()) << back.status() << " for " << quoted;
    if (back->string.find("\xef\xbf\xbd") == std::string::npos) {
      EXPECT_EQ(back->string, s);
    }
  }
}

// Random bytes and random edits of a valid line: the reader returns a value or an error, and never crashes.
TEST(Json, SurvivesGarbage) {
  const std::string valid = R"({"process": 1, "type": "ok", "f": "cas", "key": "k\u00e9", "value": [null, "x"]})";
  const std::string alphabet = "{}[]\":,\\-0123456789eE.tfnulr \t\x80\xc3\xff";
  Prng prng(7);
  for (int round = 0; round < 20000; ++round) {
    std::string s = valid;
    const int edits = 1 + static_cast<int>(prng.Uniform(4));
    for (int e = 0; e < edits; ++e) {
      const size_t at = prng.Uniform(s.size() + 1);
      switch (prng.Uniform(3)) {
        case 0: s.insert(at, 1, alphabet[prng.Uniform(alphabet.size())]); break;
        case 1: if (at < s.size()) s.erase(at, 1); break;
        default: if (at < s.size()) s[at] = static_cast<char>(prng.Uniform(256)); break;
      }
    }
    (void)ParseJson(s);
  }
}

}  // namespace
}  // namespace detcd::history
