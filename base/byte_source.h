// ByteSource: bytes handed over in order, a bounded piece at a time, from wherever a driver keeps them — a file it
// reads (storage::SnapshotFileReader), a string in memory (StringByteSource) — so that a decoder of something too
// large to hold at once (a member's state snapshot) never needs it whole. The decoder asks for the next n bytes;
// the source knows how many are left. A source never reads ahead of what it is asked for by more than its own
// buffer, and an error (a failed read) ends it.
#ifndef DETCD_BASE_BYTE_SOURCE_H_
#define DETCD_BASE_BYTE_SOURCE_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "base/check.h"

namespace detcd {

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Bytes not yet read.
  virtual uint64_t remaining() const = 0;
  // Appends the next n bytes to *out (n <= remaining()).
  virtual absl::Status Read(size_t n, std::string* out) = 0;
};

// The bytes of a string the caller keeps alive.
class StringByteSource final : public ByteSource {
 public:
  explicit StringByteSource(absl::string_view data) : data_(data) {}
  uint64_t remaining() const override { return data_.size() - at_; }
  absl::Status Read(size_t n, std::string* out) override {
    DETCD_CHECK_MSG(n <= remaining(), "reading past the end of a byte source");
    out->append(data_.data() + at_, n);
    at_ += n;
    return absl::OkStatus();
  }

 private:
  absl::string_view data_;
  size_t at_ = 0;
};

}  // namespace detcd

#endif  // DETCD_BASE_BYTE_SOURCE_H_
