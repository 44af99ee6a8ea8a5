#include "sim/world/trace.h"

#include "absl/strings/str_format.h"
#include "base/check.h"
#include "base/little_endian.h"

namespace detcd::sim {

void Trace::HashBytes(const void* data, size_t n) {
  // Eight bytes per multiply (a byte-at-a-time FNV was a twentieth of a simulated run): each word is folded in with
  // xor, multiplied by an odd constant (a bijection, so a changed word always changes the state) and its high bits
  // are mixed down; the tail goes in byte by byte as before.
  const unsigned char* p = static_cast<const unsigned char*>(data);
  uint64_t h = hash_;
  for (; n >= 8; n -= 8, p += 8) h = MixWord(h, LoadLittleEndian(reinterpret_cast<const char*>(p), 8));
  for (; n > 0; --n, ++p) {
    h ^= *p;
    h *= kFnvPrime;
  }
  hash_ = h;
}

void Trace::HashLine(int64_t now_us, absl::string_view line) {
  DETCD_CHECK(now_us >= 0);
  // The time and the line's length go in first, each as one word (what HashBytes makes of their eight
  // little-endian bytes), so the hash does not depend on the host's byte order, and ("ab", "c") and ("a", "bc")
  // across two records hash differently.
  HashWord(static_cast<uint64_t>(now_us));
  HashWord(line.size());
  HashBytes(line.data(), line.size());
  ++records_;
}

void Trace::Emit(int64_t now_us, absl::string_view line) {
  std::string formatted = Format(now_us, line);
  if (out_ != nullptr) *out_ << formatted << '\n';
  if (keep_last_ > 0) {
    kept_.push_back(std::move(formatted));
    while (kept_.size() > keep_last_) kept_.pop_front();
  }
}

void Trace::Record(int64_t now_us, absl::string_view line) {
  HashLine(now_us, line);
  if (out_ != nullptr || keep_last_ > 0) Emit(now_us, line);
}

void Trace::RecordLazy(int64_t now_us, absl::string_view hashed, const std::function<std::string()>& readable) {
  HashLine(now_us, hashed);
  if (out_ != nullptr || keep_last_ > 0) Emit(now_us, readable());
}

void Trace::set_keep_last(size_t n) {
  keep_last_ = n;
  while (kept_.size() > keep_last_) kept_.pop_front();
}

std::string Trace::HashHex() const { return absl::StrFormat("%016x", hash_); }

std::string Trace::Format(int64_t now_us, absl::string_view line) {
  // Integer arithmetic, not a double: the printed time must be exact.
  return absl::StrFormat("[%4d.%06ds] %s", now_us / 1'000'000, now_us % 1'000'000, line);
}

}  // namespace detcd::sim
