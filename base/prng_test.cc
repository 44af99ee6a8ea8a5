// Prng: the seeded generator every random choice in the core and the simulator comes from — determinism per seed,
// bounded draws within their bounds and roughly uniform, inclusive ranges.
#include "base/prng.h"

#include <cstdint>
#include <set>
#include <vector>

#include "gtest/gtest.h"

namespace detcd {
namespace {

std::vector<uint64_t> Draw(uint64_t seed, int n) {
  Prng p(seed);
  std::vector<uint64_t> out;
  for (int i = 0; i < n; ++i) out.push_back(p.Next());
  return out;
}

TEST(PrngTest, SameSeedSameSequence) {
  EXPECT_EQ(Draw(42, 1000), Draw(42, 1000));
  Prng p(42);
  p.Next();
  p.Reseed(42);
  EXPECT_EQ(p.Next(), Draw(42, 1)[0]) << "Reseed restarts the sequence";
}

TEST(PrngTest, DifferentSeedsDiffer) {
  std::set<uint64_t> firsts;
  for (uint64_t seed = 0; seed < 1000; ++seed) firsts.insert(Draw(seed, 1)[0]);
  EXPECT_EQ(firsts.size(), 1000u) << "nearby seeds give unrelated first draws";
  EXPECT_NE(Draw(1, 100), Draw(2, 100));
}

TEST(PrngTest, SeedZeroIsUsable) {
  const std::vector<uint64_t> d = Draw(0, 100);
  EXPECT_EQ(std::set<uint64_t>(d.begin(), d.end()).size(), 100u);
}

// Pins the generator's output: a change here changes every simulator trace, so it must be deliberate. The values
// come from an independent implementation of SplitMix64 seeding + xoshiro256** and Lemire's bounded draw.
TEST(PrngTest, OutputIsPinned) {
  EXPECT_EQ(Draw(0, 3), (std::vector<uint64_t>{0x99ec5f36cb75f2b4ULL, 0xbf6e1f784956452aULL, 0x1a5f849d4933e6e0ULL}));
  EXPECT_EQ(Draw(12345, 3),
            (std::vector<uint64_t>{0xbe6a36374160d49bULL, 0x214aaa0637a688c6ULL, 0xf69d16de9954d388ULL}));
  Prng p(2024);
  std::vector<uint64_t> draws;
  for (int i = 0; i < 12; ++i) draws.push_back(p.Uniform(10));
  EXPECT_EQ(draws, (std::vector<uint64_t>{0, 7, 0, 1, 7, 2, 3, 2, 5, 0, 7, 9}));
}

TEST(PrngTest, UniformStaysInBounds) {
  Prng p(7);
  for (uint64_t bound : {1ull, 2ull, 3ull, 7ull, 10ull, 1000ull, (1ull << 63) + 5, ~0ull}) {
    for (int i = 0; i < 2000; ++i) ASSERT_LT(p.Uniform(bound), bound) << bound;
  }
  EXPECT_EQ(p.Uniform(1), 0u);
}

TEST(PrngTest, UniformIsRoughlyUniform) {
  constexpr int kBuckets = 10;
  constexpr int kDraws = 100000;
  Prng p(99);
  std::vector<int> counts(kBuckets, 0);
  for (int i = 0; i < kDraws; ++i) ++counts[p.Uniform(kBuckets)];
  // Expected 10000 per bucket, standard deviation ~95: 5% slack is > 5 sigma.
  for (int b = 0; b < kBuckets; ++b) {
    EXPECT_GT(counts[b], kDraws / kBuckets * 95 / 100) << "bucket " << b;
    EXPECT_LT(counts[b], kDraws / kBuckets * 105 / 100) << "bucket " << b;
  }
}

// A bound just over 2^63 is where a naive modulo is most biased (values below 2^63 - 5 would be twice as likely):
// the top half must get about half the draws.
TEST(PrngTest, UniformHasNoModuloBiasForHugeBounds) {
  const uint64_t bound = (1ull << 63) + (1ull << 62);  // 1.5 * 2^63
  Prng p(3);
  int upper = 0;
  constexpr int kDraws = 20000;
  for (int i = 0; i < kDraws; ++i) upper += p.Uniform(bound) >= (1ull << 63) ? 1 : 0;
  // Unbiased: P(>= 2^63) = 1/3. Modulo reduction of a 64-bit draw would give 1/4.
  EXPECT_NEAR(static_cast<double>(upper) / kDraws, 1.0 / 3, 0.02);
}

TEST(PrngTest, RangeIsInclusive) {
  Prng p(5);
  std::set<uint64_t> seen;
  for (int i = 0; i < 1000; ++i) {
    const uint64_t v = p.Range(3, 7);
    ASSERT_GE(v, 3u);
    ASSERT_LE(v, 7u);
    seen.insert(v);
  }
  EXPECT_EQ(seen, (std::set<uint64_t>{3, 4, 5, 6, 7}));
  EXPECT_EQ(p.Range(9, 9), 9u);
  const uint64_t big = p.Range(~0ull - 1, ~0ull);
  EXPECT_GE(big, ~0ull - 1);
}

// The full 64-bit range must not collapse to its lower bound (hi - lo + 1 overflows to 0 there).
TEST(PrngTest, FullRangeIsNotConstant) {
  Prng p(8);
  std::set<uint64_t> seen;
  for (int i = 0; i < 100; ++i) seen.insert(p.Range(0, ~0ull));
  EXPECT_GT(seen.size(), 90u);
}

TEST(PrngTest, UnitAndChance) {
  Prng p(11);
  int hits = 0;
  for (int i = 0; i < 10000; ++i) {
    const double u = p.Unit();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    hits += p.Chance(0.25) ? 1 : 0;
  }
  EXPECT_NEAR(hits / 10000.0, 0.25, 0.03);
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(p.Chance(0));
    EXPECT_FALSE(p.Chance(-1));
    EXPECT_TRUE(p.Chance(1));
  }
}

}  // namespace
}  // namespace detcd
