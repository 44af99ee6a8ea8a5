// JsonObjectWriter: builds one JSON object on one line, field by field — for the machine-readable lines tools print
// (detcd-sim --json). Strings go through QuoteJsonString, so any bytes give valid JSON; numbers that JSON cannot
// hold (NaN, infinities) are written as null. It writes in the order it is called and does not check that names are
// unique: each caller names its fields once.
#ifndef DETCD_HISTORY_JSON_WRITER_H_
#define DETCD_HISTORY_JSON_WRITER_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace detcd::history {

class JsonObjectWriter {
 public:
  JsonObjectWriter& String(absl::string_view name, absl::string_view value);
  JsonObjectWriter& Int(absl::string_view name, int64_t value);
  JsonObjectWriter& Uint(absl::string_view name, uint64_t value);
  // With up to `decimals` digits after the point (trailing zeros kept: the width is stable for readers).
  JsonObjectWriter& Double(absl::string_view name, double value, int decimals = 6);
  JsonObjectWriter& Bool(absl::string_view name, bool value);
  JsonObjectWriter& Null(absl::string_view name);
  JsonObjectWriter& UintArray(absl::string_view name, absl::Span<const uint64_t> values);
  // `object` must be the text of a finished object (another writer's Finish()).
  JsonObjectWriter& Object(absl::string_view name, const std::string& object);

  // The object's text, "{...}" without a newline.
  std::string Finish() const;

 private:
  void Name(absl::string_view name);

  std::string body_;
};

}  // namespace detcd::history

#endif  // DETCD_HISTORY_JSON_WRITER_H_
