// Json: a small, strict JSON reader and string quoting, for the one-object-per-line history files that detcd-check
// reads and detcd-sim writes (history/history.h), and for the other JSON lines the tools write (json_writer.h). It
// accepts objects, arrays, strings (with every JSON escape, UTF-8 validated), integers that fit in int64, true, false
// and null, and rejects anything else — fractions, exponents, leading zeros, duplicate object fields, nesting deeper
// than kMaxJsonDepth, trailing characters — with a message that names the column. It must never crash, recurse
// without bound or accept a document it cannot represent exactly; it knows nothing about histories.
#ifndef DETCD_HISTORY_JSON_H_
#define DETCD_HISTORY_JSON_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace detcd::history {

inline constexpr int kMaxJsonDepth = 32;

struct JsonValue {
  enum class Type { kNull, kBool, kInt, kString, kArray, kObject };

  Type type = Type::kNull;
  bool boolean = false;
  int64_t integer = 0;
  std::string string;
  std::vector<JsonValue> array;
  std::vector<std::pair<std::string, JsonValue>> object;  // in document order; names are unique

  // The member named `name` of an object, or nullptr (also for non-objects).
  const JsonValue* Find(absl::string_view name) const;
};

// "null", "a boolean", "an integer", "a string", "an array", "an object": for error messages.
const char* JsonTypeName(JsonValue::Type type);

// Parses exactly one JSON value surrounded by optional whitespace. Errors are InvalidArgument with a message such as
// "column 12: numbers must be integers (no fraction or exponent)".
absl::StatusOr<JsonValue> ParseJson(absl::string_view text);

// `s` as a JSON string literal, quotes included: ", \ and control characters escaped, well-formed UTF-8 kept as it
// is, and every byte that is not part of well-formed UTF-8 replaced by \ufffd — the result is valid JSON (and valid
// UTF-8) whatever bytes `s` holds.
std::string QuoteJsonString(absl::string_view s);

}  // namespace detcd::history

#endif  // DETCD_HISTORY_JSON_H_
