#include "sim/world/trace.h"

#include <set>
#include <sstream>
#include <string>

#include "gtest/gtest.h"

namespace detcd::sim {
namespace {

TEST(TraceTest, EmptyTraceHasFnvOffsetBasis) {
  Trace trace;
  EXPECT_EQ(trace.HashHex(), "cbf29ce484222325");
  EXPECT_EQ(trace.records(), 0u);
}

TEST(TraceTest, SameInputsGiveSameHash) {
  Trace a, b;
  for (Trace* t : {&a, &b}) {
    t->Record(0, "start");
    t->Record(1'500, "1->2 MsgApp");
    t->Record(2'000'000, "crash node 3");
  }
  EXPECT_EQ(a.Hash(), b.Hash());
  EXPECT_EQ(a.HashHex(), b.HashHex());
  EXPECT_EQ(a.records(), 3u);
}

TEST(TraceTest, DifferentLineTimeOrOrderChangesHash) {
  auto hash = [](std::initializer_list<std::pair<int64_t, const char*>> records) {
    Trace t;
    for (const auto& [time_us, line] : records) t.Record(time_us, line);
    return t.Hash();
  };
  const uint64_t base = hash({{1, "a"}, {2, "b"}});
  EXPECT_NE(base, hash({{1, "a"}, {2, "c"}}));   // line
  EXPECT_NE(base, hash({{1, "a"}, {3, "b"}}));   // time
  EXPECT_NE(base, hash({{2, "b"}, {1, "a"}}));   // order
  EXPECT_NE(base, hash({{1, "a"}}));             // count
  EXPECT_NE(hash({{1, "ab"}, {1, "c"}}), hash({{1, "a"}, {1, "bc"}}));  // boundaries
}

TEST(TraceTest, AnyChangedByteOfALongLineChangesHash) {
  // Lines are hashed eight bytes at a time with a byte-wise tail: a change in a word, in the tail, or of a single bit
  // anywhere must show.
  const std::string line = "recv 1->2 MsgApp t3 i5/2 c4 n2";  // 30 bytes: three words and a six-byte tail
  auto hash = [](const std::string& l) {
    Trace t;
    t.Record(7, l);
    return t.Hash();
  };
  std::set<uint64_t> seen{hash(line)};
  for (size_t i = 0; i < line.size(); ++i) {
    for (unsigned char bit : {0x01, 0x80}) {
      std::string changed = line;
      changed[i] = static_cast<char>(changed[i] ^ bit);
      EXPECT_TRUE(seen.insert(hash(changed)).second) << "byte " << i << " bit " << int{bit};
    }
  }
}

TEST(TraceTest, HashHexIsSixteenLowercaseDigits) {
  Trace t;
  t.Record(42, "x");
  const std::string hex = t.HashHex();
  ASSERT_EQ(hex.size(), 16u);
  for (char c : hex) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << hex;
}

TEST(TraceTest, PrintsReadableLines) {
  std::ostringstream out;
  Trace t;
  t.set_output(&out);
  t.Record(12'345'678, "node 1 leader term 2");
  t.Record(5, "tick");
  EXPECT_EQ(out.str(), "[  12.345678s] node 1 leader term 2\n[   0.000005s] tick\n");
}

TEST(TraceTest, OutputDoesNotChangeHash) {
  std::ostringstream out;
  Trace quiet, loud;
  loud.set_output(&out);
  loud.set_keep_last(1);
  quiet.Record(7, "same");
  loud.Record(7, "same");
  EXPECT_EQ(quiet.Hash(), loud.Hash());
}

TEST(TraceTest, KeepsOnlyTheLastLines) {
  Trace t;
  t.set_keep_last(2);
  t.Record(1, "one");
  t.Record(2, "two");
  t.Record(3, "three");
  ASSERT_EQ(t.kept_lines().size(), 2u);
  EXPECT_EQ(t.kept_lines()[0], "[   0.000002s] two");
  EXPECT_EQ(t.kept_lines()[1], "[   0.000003s] three");
}

TEST(TraceTest, LazyRecordHashesItsKeyAndBuildsTheLineOnlyWhenShown) {
  int built = 0;
  auto readable = [&built] {
    ++built;
    return std::string("client 1 -> node 2: put foo");
  };
  Trace quiet;
  quiet.RecordLazy(7, "key-bytes", readable);
  EXPECT_EQ(built, 0);  // nobody reads lines: never made
  EXPECT_EQ(quiet.records(), 1u);

  std::ostringstream out;
  Trace shown;
  shown.set_output(&out);
  shown.RecordLazy(7, "key-bytes", readable);
  EXPECT_EQ(built, 1);
  EXPECT_EQ(out.str(), "[   0.000007s] client 1 -> node 2: put foo\n");
  EXPECT_EQ(quiet.Hash(), shown.Hash());  // printing changes nothing hashed

  Trace plain;
  plain.Record(7, "key-bytes");
  EXPECT_EQ(plain.Hash(), quiet.Hash());  // the key is hashed as a line would be
  Trace other;
  other.RecordLazy(7, "other-bytes", readable);
  EXPECT_NE(other.Hash(), quiet.Hash());
}

}  // namespace
}  // namespace detcd::sim
