// Value stamps: the watch workload's writers put values that start with the moment the put was sent (steady clock,
// nanoseconds, 16 hex digits), so a watcher in the same process can tell each event's put-to-event latency from the
// event alone, with no table shared between threads.
#ifndef DETCD_LOAD_VALUE_STAMP_H_
#define DETCD_LOAD_VALUE_STAMP_H_

#include <chrono>
#include <cstdint>
#include <string>

namespace detcd::load {

inline constexpr int kStampBytes = 16;

inline int64_t SteadyNowNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// `sent_ns` as 16 hex digits, padded with 'v' to `size` bytes (at least the stamp).
inline std::string StampedValue(int64_t sent_ns, int size) {
  static const char kHex[] = "0123456789abcdef";
  std::string v(size > kStampBytes ? size : kStampBytes, 'v');
  uint64_t x = static_cast<uint64_t>(sent_ns);
  for (int i = kStampBytes - 1; i >= 0; --i, x >>= 4) v[i] = kHex[x & 15];
  return v;
}

// The send time a StampedValue carries; false when `value` does not start with one.
inline bool ReadStamp(const std::string& value, int64_t* sent_ns) {
  if (value.size() < kStampBytes) return false;
  uint64_t x = 0;
  for (int i = 0; i < kStampBytes; ++i) {
    const char c = value[i];
    int digit;
    if (c >= '0' && c <= '9') {
      digit = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      digit = c - 'a' + 10;
    } else {
      return false;
    }
    x = (x << 4) | static_cast<uint64_t>(digit);
  }
  *sent_ns = static_cast<int64_t>(x);
  return true;
}

}  // namespace detcd::load

#endif  // DETCD_LOAD_VALUE_STAMP_H_
