// ValueBytes: exact-length storage of a version's value; copies are deep, moves leave the source empty.
#include "kv/value_bytes.h"

#include <string>
#include <utility>

#include "gtest/gtest.h"

namespace detcd::kv {
namespace {

TEST(ValueBytesTest, HoldsTheBytesGiven) {
  const std::string bytes("a\0b value", 9);  // an embedded NUL survives
  ValueBytes v(bytes);
  EXPECT_EQ(v.size(), 9u);
  EXPECT_EQ(v.view(), bytes);
  EXPECT_EQ(v.str(), bytes);
  EXPECT_FALSE(v.empty());
}

TEST(ValueBytesTest, EmptyValueHasNoBytes) {
  ValueBytes v;
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(v.view(), "");
  v = absl::string_view("x");
  v = absl::string_view();
  EXPECT_TRUE(v.empty());
  EXPECT_EQ(v.str(), "");
}

TEST(ValueBytesTest, CopiesAreIndependent) {
  ValueBytes a(std::string(300, 'a'));
  ValueBytes b = a;
  EXPECT_NE(a.view().data(), b.view().data());
  EXPECT_EQ(a.view(), b.view());
  b = absl::string_view("other");
  EXPECT_EQ(a.view(), std::string(300, 'a'));
  EXPECT_EQ(b.view(), "other");
  a = a;  // self-assignment keeps the bytes
  EXPECT_EQ(a.size(), 300u);
}

TEST(ValueBytesTest, MoveTakesTheAllocation) {
  ValueBytes a("moved");
  const char* where = a.view().data();
  ValueBytes b = std::move(a);
  EXPECT_EQ(b.view().data(), where);
  EXPECT_EQ(b.view(), "moved");
}

TEST(ValueBytesTest, SmallerThanAString) { EXPECT_LT(sizeof(ValueBytes), sizeof(std::string)); }

}  // namespace
}  // namespace detcd::kv
