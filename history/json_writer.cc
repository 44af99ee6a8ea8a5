#include "history/json_writer.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "history/json.h"

namespace detcd::history {

void JsonObjectWriter::Name(absl::string_view name) {
  if (!body_.empty()) body_.push_back(',');
  absl::StrAppend(&body_, QuoteJsonString(name), ":");
}

JsonObjectWriter& JsonObjectWriter::String(absl::string_view name, absl::string_view value) {
  Name(name);
  body_ += QuoteJsonString(value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Int(absl::string_view name, int64_t value) {
  Name(name);
  absl::StrAppend(&body_, value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Uint(absl::string_view name, uint64_t value) {
  Name(name);
  absl::StrAppend(&body_, value);
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Double(absl::string_view name, double value, int decimals) {
  Name(name);
  if (!std::isfinite(value)) {
    body_ += "null";
  } else {
    // %f never writes an exponent, and a digit always precedes the point: valid JSON numbers.
    absl::StrAppendFormat(&body_, "%.*f", decimals, value);
  }
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Bool(absl::string_view name, bool value) {
  Name(name);
  body_ += value ? "true" : "false";
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Null(absl::string_view name) {
  Name(name);
  body_ += "null";
  return *this;
}

JsonObjectWriter& JsonObjectWriter::UintArray(absl::string_view name, absl::Span<const uint64_t> values) {
  Name(name);
  body_.push_back('[');
  for (size_t i = 0; i < values.size(); ++i) absl::StrAppend(&body_, i > 0 ? "," : "", values[i]);
  body_.push_back(']');
  return *this;
}

JsonObjectWriter& JsonObjectWriter::Object(absl::string_view name, const std::string& object) {
  Name(name);
  body_ += object;
  return *this;
}

std::string JsonObjectWriter::Finish() const { return absl::StrCat("{", body_, "}"); }

}  // namespace detcd::history
