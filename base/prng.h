// Prng: the one source of randomness for the pure core and the simulator — a seeded xoshiro256** generator with
// hand-written bounded draws. std:: distributions are implementation-defined, so they are never used: the same seed
// must give the same numbers on every build. Never seed it from anything but the driver's seed.
#ifndef DETCD_BASE_PRNG_H_
#define DETCD_BASE_PRNG_H_

#include <cstdint>

namespace detcd {

class Prng {
 public:
  explicit Prng(uint64_t seed) { Reseed(seed); }

  void Reseed(uint64_t seed) {
    // SplitMix64 expands the seed so that nearby seeds give unrelated states (and the state is never all zero).
    uint64_t x = seed;
    for (uint64_t& word : state_) {
      x += 0x9e3779b97f4a7c15ULL;
      uint64_t z = x;
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
      word = z ^ (z >> 31);
    }
  }

  uint64_t Next() {
    const uint64_t result = Rotl(state_[1] * 5, 7) * 9;
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = Rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, bound); bound must be > 0. Lemire's multiply-shift with rejection: no modulo bias.
  uint64_t Uniform(uint64_t bound) {
    if (bound <= 1) return 0;
    for (;;) {
      const unsigned __int128 m = static_cast<unsigned __int128>(Next()) * bound;
      const uint64_t low = static_cast<uint64_t>(m);
      if (low >= bound || low >= (-bound) % bound) return static_cast<uint64_t>(m >> 64);
    }
  }

  // Uniform in [lo, hi] (inclusive); requires lo <= hi.
  uint64_t Range(uint64_t lo, uint64_t hi) {
    // For the full 64-bit span hi - lo + 1 wraps to 0, and Uniform(0) would always give lo: every value is fair game.
    if (hi - lo == ~uint64_t{0}) return Next();
    return lo + Uniform(hi - lo + 1);
  }

  // A double in [0, 1) with 53 random bits.
  double Unit() { return static_cast<double>(Next() >> 11) * (1.0 / 9007199254740992.0); }

  // True with probability p (p <= 0 never, p >= 1 always).
  bool Chance(double p) { return p > 0 && (p >= 1 || Unit() < p); }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
};

}  // namespace detcd

#endif  // DETCD_BASE_PRNG_H_
