// SharedKey: an immutable key, its bytes stored once and shared by count — the MVCC store's key index and every
// version of the key hold the same allocation (one block: count, length, bytes), so a key costs its bytes plus a few,
// however many versions refer to it, instead of a std::string per holder. Ordered bytewise as etcd orders keys.
// Not thread-safe (the count is plain): it belongs to the single-threaded store and must never be shared across
// threads.
#ifndef DETCD_KV_SHARED_KEY_H_
#define DETCD_KV_SHARED_KEY_H_

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>

#include "absl/strings/string_view.h"
#include "base/check.h"

namespace detcd::kv {

class SharedKey {
 public:
  SharedKey() = default;  // the empty key, no allocation
  explicit SharedKey(absl::string_view bytes) {
    if (bytes.empty()) return;
    DETCD_CHECK_MSG(bytes.size() <= UINT32_MAX, "a key longer than 4 GiB");
    block_ = static_cast<Block*>(::operator new(sizeof(Block) + bytes.size()));
    block_->count = 1;
    block_->size = static_cast<uint32_t>(bytes.size());
    std::memcpy(block_->bytes, bytes.data(), bytes.size());
  }
  SharedKey(const SharedKey& other) : block_(other.block_) {
    if (block_ != nullptr) {
      DETCD_CHECK_MSG(block_->count > 0 && block_->count < UINT32_MAX, "a shared key's count is broken");
      ++block_->count;
    }
  }
  SharedKey(SharedKey&& other) noexcept : block_(std::exchange(other.block_, nullptr)) {}
  SharedKey& operator=(SharedKey other) noexcept {
    std::swap(block_, other.block_);
    return *this;
  }
  ~SharedKey() {
    if (block_ == nullptr) return;
    DETCD_CHECK_MSG(block_->count > 0, "a shared key released more often than held");
    if (--block_->count == 0) ::operator delete(block_);
  }

  absl::string_view view() const {
    return block_ == nullptr ? absl::string_view() : absl::string_view(block_->bytes, block_->size);
  }
  std::string str() const { return std::string(view()); }
  const char* data() const { return block_ == nullptr ? "" : block_->bytes; }
  size_t size() const { return block_ == nullptr ? 0 : block_->size; }
  // How many holders share these bytes (0 for the empty key): for tests.
  uint32_t holders() const { return block_ == nullptr ? 0 : block_->count; }

 private:
  struct Block {
    uint32_t count;
    uint32_t size;
    char bytes[];
  };
  Block* block_ = nullptr;
};

// Bytewise order over SharedKey and anything convertible to absl::string_view, so maps keyed by SharedKey can be
// searched with a plain string.
struct SharedKeyLess {
  using is_transparent = void;
  static absl::string_view View(const SharedKey& k) { return k.view(); }
  static absl::string_view View(absl::string_view s) { return s; }
  static absl::string_view View(const std::string& s) { return s; }
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return View(a) < View(b);
  }
};

}  // namespace detcd::kv

#endif  // DETCD_KV_SHARED_KEY_H_
