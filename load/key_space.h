// KeySpace: the keys a benchmark workload uses — K distinct keys, each the zero-padded decimal of its index, exactly
// key_size bytes, so every key starts with a digit and one range ["0", ":") covers them all (the watch workload's
// range). Picks are sequential (one counter shared by all clients) or uniformly random per client.
#ifndef DETCD_LOAD_KEY_SPACE_H_
#define DETCD_LOAD_KEY_SPACE_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "base/prng.h"

namespace detcd::load {

class KeySpace {
 public:
  // Requires FitsIn(keys, key_size).
  KeySpace(int64_t keys, int key_size, bool sequential);

  // Whether `keys` distinct indexes have decimal forms of at most key_size digits.
  static bool FitsIn(int64_t keys, int key_size);

  std::string Key(int64_t index) const;
  // The next key for a client whose private generator is `prng` (unused when sequential).
  std::string Pick(Prng* prng);

  int64_t size() const { return keys_; }
  static constexpr const char* kRangeBegin = "0";
  static constexpr const char* kRangeEnd = ":";  // '9' + 1

 private:
  const int64_t keys_;
  const int key_size_;
  const bool sequential_;
  std::atomic<int64_t> next_{0};
};

}  // namespace detcd::load

#endif  // DETCD_LOAD_KEY_SPACE_H_
