#include "sim/world/trace.h"

#include "absl/strings/str_format.h"
#include "base/check.h"

namespace detcd::sim {

void Trace::HashBytes(const void* data, size_t n) {
  const unsigned char* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) {
    hash_ ^= p[i];
    hash_ *= kFnvPrime;
  }
}

void Trace::HashLine(int64_t now_us, absl::string_view line) {
  DETCD_CHECK(now_us >= 0);
  // Integers are hashed byte by byte in little-endian order, so the hash does not depend on the host's byte order.
  // The line's length goes in first so that ("ab", "c") and ("a", "bc") across two records hash differently.
  unsigned char header[16];
  const uint64_t t = static_cast<uint64_t>(now_us);
  const uint64_t len = line.size();
  for (int i = 0; i < 8; ++i) {
    header[i] = static_cast<unsigned char>(t >> (8 * i));
    header[8 + i] = static_cast<unsigned char>(len >> (8 * i));
  }
  HashBytes(header, sizeof(header));
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
