#include "kv/shared_key.h"

#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "gtest/gtest.h"

namespace detcd::kv {
namespace {

TEST(SharedKeyTest, CopiesShareOneBlockUntilTheLastGoes) {
  SharedKey a("some/key/with/more/than/sixteen/bytes");
  EXPECT_EQ(a.holders(), 1u);
  {
    SharedKey b = a;
    SharedKey c(b);
    EXPECT_EQ(a.holders(), 3u);
    EXPECT_EQ(b.data(), a.data()) << "a copy holds the same bytes, not a copy of them";
    EXPECT_EQ(c.view(), "some/key/with/more/than/sixteen/bytes");
  }
  EXPECT_EQ(a.holders(), 1u);
  SharedKey moved = std::move(a);
  EXPECT_EQ(moved.holders(), 1u);
  EXPECT_EQ(a.size(), 0u);  // NOLINT(bugprone-use-after-move): a moved-from key is the empty key
  EXPECT_EQ(moved.str(), "some/key/with/more/than/sixteen/bytes");
}

TEST(SharedKeyTest, EmptyKeyAndBytesThatAreNotText) {
  SharedKey empty;
  EXPECT_EQ(empty.size(), 0u);
  EXPECT_EQ(empty.view(), "");
  EXPECT_EQ(SharedKey("").holders(), 0u);
  const std::string binary("a\0b\xff", 4);
  SharedKey k(binary);
  EXPECT_EQ(k.size(), 4u);
  EXPECT_EQ(k.str(), binary);
}

TEST(SharedKeyTest, OrdersBytewiseAndIsSearchableWithAPlainString) {
  absl::btree_map<SharedKey, int, SharedKeyLess> m;
  for (const std::string& s : {std::string("b"), std::string("a"), std::string("\xff"), std::string("ab")}) {
    m.emplace(SharedKey(s), static_cast<int>(s.size()));
  }
  std::vector<std::string> order;
  for (const auto& [k, v] : m) order.push_back(k.str());
  // Bytes compare unsigned, as etcd (Go) compares keys: 0xff sorts last.
  EXPECT_EQ(order, (std::vector<std::string>{"a", "ab", "b", "\xff"}));
  EXPECT_NE(m.find(std::string("ab")), m.end());
  EXPECT_EQ(m.find(std::string("abc")), m.end());
  EXPECT_EQ(m.lower_bound(std::string("aa"))->first.view(), "ab");
}

}  // namespace
}  // namespace detcd::kv
