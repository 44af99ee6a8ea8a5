// Trace: the simulator's record of what happened. Every event is folded into a 64-bit hash (eight bytes at a time,
// multiply and xor-shift) — two runs with the same binary, scenario and seed must end with the same hash, which is
// how determinism is checked — and, when readable tracing is on, printed as "[  12.345678s] line". It never
// influences the simulation, and never hashes anything that is not a pure function of the seed (no pointers, no
// wall-clock time, no hash-container order).
#ifndef DETCD_SIM_WORLD_TRACE_H_
#define DETCD_SIM_WORLD_TRACE_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <ostream>
#include <string>

#include "absl/strings/string_view.h"

namespace detcd::sim {

class Trace {
 public:
  Trace() = default;
  Trace(const Trace&) = delete;
  Trace& operator=(const Trace&) = delete;

  // Folds (now_us, line) into the hash; prints and/or keeps the readable line if enabled.
  void Record(int64_t now_us, absl::string_view line);
  // The same for an event whose readable line is costly to make: `hashed` (which must tell the event apart as well
  // as the readable line would, e.g. a message's serialized bytes) goes into the hash, and readable() is called only
  // if a line is printed or kept. The hash never depends on whether lines are.
  void RecordLazy(int64_t now_us, absl::string_view hashed, const std::function<std::string()>& readable);

  // Readable lines go to out as they are recorded (nullptr = off, the default). The stream must outlive the Trace.
  void set_output(std::ostream* out) { out_ = out; }
  // Keeps the last n readable lines in memory (0 = none, the default), e.g. to print the tail after a failure.
  void set_keep_last(size_t n);
  const std::deque<std::string>& kept_lines() const { return kept_; }

  uint64_t Hash() const { return hash_; }
  // The hash as 16 lowercase hex digits.
  std::string HashHex() const;
  // Events recorded so far.
  uint64_t records() const { return records_; }

  // "[  12.345678s] line" (no newline).
  static std::string Format(int64_t now_us, absl::string_view line);

 private:
  void HashBytes(const void* data, size_t n);
  // One eight-byte word into the hash: the same as HashBytes of its little-endian bytes.
  void HashWord(uint64_t w) { hash_ = MixWord(hash_, w); }
  static uint64_t MixWord(uint64_t h, uint64_t w) {
    h = (h ^ w) * kWordPrime;
    return h ^ (h >> 31);
  }
  void HashLine(int64_t now_us, absl::string_view line);
  void Emit(int64_t now_us, absl::string_view line);

  static constexpr uint64_t kFnvOffsetBasis = 0xcbf29ce484222325ULL;
  static constexpr uint64_t kFnvPrime = 0x100000001b3ULL;
  static constexpr uint64_t kWordPrime = 0x9e3779b97f4a7c15ULL;  // odd: multiplying by it loses nothing

  uint64_t hash_ = kFnvOffsetBasis;
  uint64_t records_ = 0;
  std::ostream* out_ = nullptr;
  size_t keep_last_ = 0;
  std::deque<std::string> kept_;
};

}  // namespace detcd::sim

#endif  // DETCD_SIM_WORLD_TRACE_H_
