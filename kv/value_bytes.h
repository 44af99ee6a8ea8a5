// ValueBytes: a stored version's value, its bytes in one allocation of exactly their length (no terminator, no
// spare capacity) and a 32-bit length beside the pointer — 16 bytes in the version record instead of std::string's
// 32, and an allocation that fits the allocator's size class of the value itself (a 256-byte value in a std::string
// asks for 257 bytes, which tcmalloc rounds to 288). Deep-copied when copied; immutable once made.
// Must never hold more than 4 GiB (checked); values are bounded far below that by the request size limit.
#ifndef DETCD_KV_VALUE_BYTES_H_
#define DETCD_KV_VALUE_BYTES_H_

#include <cstdint>
#include <cstring>
#include <memory>
#include <string>

#include "absl/strings/string_view.h"
#include "base/check.h"

namespace detcd::kv {

class ValueBytes {
 public:
  ValueBytes() = default;  // the empty value, no allocation
  explicit ValueBytes(absl::string_view bytes) { Assign(bytes); }
  ValueBytes(const ValueBytes& other) { Assign(other.view()); }
  ValueBytes(ValueBytes&& other) noexcept = default;
  ValueBytes& operator=(const ValueBytes& other) {
    if (this != &other) Assign(other.view());
    return *this;
  }
  ValueBytes& operator=(ValueBytes&& other) noexcept = default;
  ValueBytes& operator=(absl::string_view bytes) {
    Assign(bytes);
    return *this;
  }

  absl::string_view view() const { return absl::string_view(bytes_.get(), size_); }
  std::string str() const { return std::string(view()); }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  void Assign(absl::string_view bytes) {
    DETCD_CHECK_MSG(bytes.size() <= UINT32_MAX, "a value longer than 4 GiB");
    std::unique_ptr<char[]> fresh;
    if (!bytes.empty()) {
      fresh.reset(new char[bytes.size()]);
      std::memcpy(fresh.get(), bytes.data(), bytes.size());
    }
    bytes_ = std::move(fresh);
    size_ = static_cast<uint32_t>(bytes.size());
  }

  std::unique_ptr<char[]> bytes_;
  uint32_t size_ = 0;
};

}  // namespace detcd::kv

#endif  // DETCD_KV_VALUE_BYTES_H_
