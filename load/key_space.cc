#include "load/key_space.h"

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace detcd::load {

KeySpace::KeySpace(int64_t keys, int key_size, bool sequential)
    : keys_(keys), key_size_(key_size), sequential_(sequential) {
  DETCD_CHECK(FitsIn(keys, key_size));
}

bool KeySpace::FitsIn(int64_t keys, int key_size) {
  if (keys < 1 || key_size < 1) return false;
  int64_t limit = 1;  // 10^key_size, saturated: more digits than any int64 index needs always fit
  for (int i = 0; i < key_size && limit <= keys; ++i) limit *= 10;
  return keys <= limit;
}

std::string KeySpace::Key(int64_t index) const {
  DETCD_CHECK(index >= 0 && index < keys_);
  std::string digits = absl::StrCat(index);
  DETCD_CHECK(static_cast<int>(digits.size()) <= key_size_);
  return std::string(key_size_ - digits.size(), '0') + digits;
}

std::string KeySpace::Pick(Prng* prng) {
  if (sequential_) return Key(next_.fetch_add(1, std::memory_order_relaxed) % keys_);
  return Key(static_cast<int64_t>(prng->Uniform(static_cast<uint64_t>(keys_))));
}

}  // namespace detcd::load
