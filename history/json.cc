#include "history/json.h"

#include <limits>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace detcd::history {
namespace {

// Length of the well-formed UTF-8 sequence at s[pos] (RFC 3629: no overlongs, no surrogates, <= U+10FFFF), or 0.
size_t Utf8SequenceLength(absl::string_view s, size_t pos) {
  auto byte = [&](size_t i) -> unsigned { return pos + i < s.size() ? static_cast<unsigned char>(s[pos + i]) : 0; };
  auto cont = [&](size_t i) { return (byte(i) & 0xc0) == 0x80; };
  const unsigned b0 = byte(0);
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 >= 0xe0 && b0 <= 0xef) {
    if (!cont(1) || !cont(2)) return 0;
    if (b0 == 0xe0 && byte(1) < 0xa0) return 0;  // overlong
    if (b0 == 0xed && byte(1) >= 0xa0) return 0;  // UTF-16 surrogate
    return 3;
  }
  if (b0 >= 0xf0 && b0 <= 0xf4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (b0 == 0xf0 && byte(1) < 0x90) return 0;  // overlong
    if (b0 == 0xf4 && byte(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

// A recursive-descent reader over one line. Every failure is returned, never thrown or asserted: the input is
// untrusted. Recursion is bounded by kMaxJsonDepth.
class Reader {
 public:
  explicit Reader(absl::string_view text) : text_(text) {}

  absl::StatusOr<JsonValue> ReadDocument() {
    JsonValue value;
    SkipSpace();
    if (absl::Status s = ReadValue(&value, 0); !s.ok()) return s;
    SkipSpace();
    if (pos_ != text_.size()) return Error("unexpected " + Describe() + " after the value");
    return value;
  }

 private:
  absl::Status Error(const std::string& what) const {
    return absl::InvalidArgumentError(absl::StrCat("column ", pos_ + 1, ": ", what));
  }

  // The character at the cursor, for messages: 'x', "end of line", or a byte in hex if it is not printable.
  std::string Describe() const {
    if (pos_ >= text_.size()) return "end of line";
    const unsigned char c = static_cast<unsigned char>(text_[pos_]);
    if (c >= 0x20 && c < 0x7f) return absl::StrFormat("'%c'", c);
    return absl::StrFormat("byte 0x%02x", c);
  }

  void SkipSpace() {
    while (pos_ < text_.size() &&
           (text_[pos_] == ' ' || text_[pos_] == '\t' || text_[pos_] == '\r' || text_[pos_] == '\n')) {
      ++pos_;
    }
  }

  bool Consume(char c) {
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  absl::Status ReadValue(JsonValue* out, int depth) {
    if (pos_ >= text_.size()) return Error("expected a value, found end of line");
    const char c = text_[pos_];
    if (c == '{' || c == '[') {
      if (depth >= kMaxJsonDepth) return Error(absl::StrCat("nesting deeper than ", kMaxJsonDepth));
      return c == '{' ? ReadObject(out, depth + 1) : ReadArray(out, depth + 1);
    }
    if (c == '"') {
      out->type = JsonValue::Type::kString;
      return ReadString(&out->string);
    }
    if (c == '-' || (c >= '0' && c <= '9')) return ReadInteger(out);
    if (ReadWord("true")) {
      out->type = JsonValue::Type::kBool;
      out->boolean = true;
      return absl::OkStatus();
    }
    if (ReadWord("false")) {
      out->type = JsonValue::Type::kBool;
      out->boolean = false;
      return absl::OkStatus();
    }
    if (ReadWord("null")) {
      out->type = JsonValue::Type::kNull;
      return absl::OkStatus();
    }
    return Error("expected a value, found " + Describe());
  }

  bool ReadWord(absl::string_view word) {
    if (text_.substr(pos_, word.size()) != word) return false;
    pos_ += word.size();
    return true;
  }

  absl::Status ReadObject(JsonValue* out, int depth) {
    out->type = JsonValue::Type::kObject;
    ++pos_;  // '{'
    SkipSpace();
    if (Consume('}')) return absl::OkStatus();
    absl::flat_hash_set<std::string> names;  // a set, so that a line with many fields stays linear
    for (;;) {
      SkipSpace();
      if (pos_ >= text_.size() || text_[pos_] != '"') return Error("expected a field name, found " + Describe());
      const size_t name_pos = pos_;
      std::string name;
      if (absl::Status s = ReadString(&name); !s.ok()) return s;
      if (!names.insert(name).second) {
        pos_ = name_pos;
        return Error("duplicate field " + QuoteJsonString(name));
      }
      SkipSpace();
      if (!Consume(':')) return Error("expected ':', found " + Describe());
      SkipSpace();
      JsonValue member;
      if (absl::Status s = ReadValue(&member, depth); !s.ok()) return s;
      out->object.emplace_back(std::move(name), std::move(member));
      SkipSpace();
      if (Consume('}')) return absl::OkStatus();
      if (!Consume(',')) return Error("expected ',' or '}', found " + Describe());
    }
  }

  absl::Status ReadArray(JsonValue* out, int depth) {
    out->type = JsonValue::Type::kArray;
    ++pos_;  // '['
    SkipSpace();
    if (Consume(']')) return absl::OkStatus();
    for (;;) {
      SkipSpace();
      JsonValue element;
      if (absl::Status s = ReadValue(&element, depth); !s.ok()) return s;
      out->array.push_back(std::move(element));
      SkipSpace();
      if (Consume(']')) return absl::OkStatus();
      if (!Consume(',')) return Error("expected ',' or ']', found " + Describe());
    }
  }

  // JSON's number grammar, restricted to integers: -?(0|[1-9][0-9]*), no fraction, no exponent, within int64.
  absl::Status ReadInteger(JsonValue* out) {
    const size_t start = pos_;
    const bool negative = Consume('-');
    if (pos_ >= text_.size() || text_[pos_] < '0' || text_[pos_] > '9') {
      return Error("expected a digit, found " + Describe());
    }
    if (text_[pos_] == '0' && pos_ + 1 < text_.size() && text_[pos_ + 1] >= '0' && text_[pos_ + 1] <= '9') {
      return Error("numbers may not have leading zeros");
    }
    // Accumulate the magnitude as unsigned so that INT64_MIN, whose magnitude is INT64_MAX + 1, fits.
    const uint64_t limit = negative ? uint64_t{1} << 63 : static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
    uint64_t magnitude = 0;
    while (pos_ < text_.size() && text_[pos_] >= '0' && text_[pos_] <= '9') {
      const uint64_t digit = static_cast<uint64_t>(text_[pos_] - '0');
      if (magnitude > (limit - digit) / 10) {
        pos_ = start;
        return Error("integer out of the 64-bit range");
      }
      magnitude = magnitude * 10 + digit;
      ++pos_;
    }
    if (pos_ < text_.size() && (text_[pos_] == '.' || text_[pos_] == 'e' || text_[pos_] == 'E')) {
      return Error("numbers must be integers (no fraction or exponent)");
    }
    out->type = JsonValue::Type::kInt;
    // Two's complement negation of the magnitude is exact for every value in range, INT64_MIN included.
    out->integer = negative ? static_cast<int64_t>(~magnitude + 1) : static_cast<int64_t>(magnitude);
    return absl::OkStatus();
  }

  absl::Status ReadHex4(uint32_t* out) {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) {
      if (pos_ >= text_.size()) return Error("\\u needs four hex digits, found end of line");
      const char c = text_[pos_];
      uint32_t d;
      if (c >= '0' && c <= '9') {
        d = static_cast<uint32_t>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        d = static_cast<uint32_t>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        d = static_cast<uint32_t>(c - 'A' + 10);
      } else {
        return Error("\\u needs four hex digits, found " + Describe());
      }
      v = v * 16 + d;
      ++pos_;
    }
    *out = v;
    return absl::OkStatus();
  }

  static void AppendUtf8(uint32_t cp, std::string* out) {
    if (cp < 0x80) {
      out->push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out->push_back(static_cast<char>(0xc0 | (cp >> 6)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
      out->push_back(static_cast<char>(0xe0 | (cp >> 12)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
      out->push_back(static_cast<char>(0xf0 | (cp >> 18)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
      out->push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
  }

  absl::Status ReadString(std::string* out) {
    ++pos_;  // opening quote
    for (;;) {
      if (pos_ >= text_.size()) return Error("unterminated string");
      const unsigned char c = static_cast<unsigned char>(text_[pos_]);
      if (c == '"') {
        ++pos_;
        return absl::OkStatus();
      }
      if (c < 0x20) return Error("control character " + Describe() + " in a string (escape it)");
      if (c >= 0x80) {
        const size_t n = Utf8SequenceLength(text_, pos_);
        if (n == 0) return Error("invalid UTF-8 in a string");
        out->append(text_.data() + pos_, n);
        pos_ += n;
        continue;
      }
      if (c != '\\') {
        out->push_back(static_cast<char>(c));
        ++pos_;
        continue;
      }
      ++pos_;
      if (pos_ >= text_.size()) return Error("unterminated string");
      const char e = text_[pos_];
      switch (e) {
        case '"': out->push_back('"'); break;
        case '\\': out->push_back('\\'); break;
        case '/': out->push_back('/'); break;
        case 'b': out->push_back('\b'); break;
        case 'f': out->push_back('\f'); break;
        case 'n': out->push_back('\n'); break;
        case 'r': out->push_back('\r'); break;
        case 't': out->push_back('\t'); break;
        case 'u': {
          ++pos_;
          uint32_t cp;
          if (absl::Status s = ReadHex4(&cp); !s.ok()) return s;
          if (cp >= 0xdc00 && cp <= 0xdfff) return Error("unpaired UTF-16 surrogate in \\u escape");
          if (cp >= 0xd800 && cp <= 0xdbff) {
            if (!ReadWord("\\u")) return Error("unpaired UTF-16 surrogate in \\u escape");
            uint32_t low;
            if (absl::Status s = ReadHex4(&low); !s.ok()) return s;
            if (low < 0xdc00 || low > 0xdfff) return Error("unpaired UTF-16 surrogate in \\u escape");
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
          }
          AppendUtf8(cp, out);
          continue;  // the cursor is already past the escape
        }
        default:
          return Error("invalid escape in a string: backslash followed by " + Describe());
      }
      ++pos_;
    }
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

const JsonValue* JsonValue::Find(absl::string_view name) const {
  for (const auto& [member_name, value] : object) {
    if (member_name == name) return &value;
  }
  return nullptr;
}

const char* JsonTypeName(JsonValue::Type type) {
  switch (type) {
    case JsonValue::Type::kNull: return "null";
    case JsonValue::Type::kBool: return "a boolean";
    case JsonValue::Type::kInt: return "an integer";
    case JsonValue::Type::kString: return "a string";
    case JsonValue::Type::kArray: return "an array";
    case JsonValue::Type::kObject: return "an object";
  }
  return "?";
}

absl::StatusOr<JsonValue> ParseJson(absl::string_view text) { return Reader(text).ReadDocument(); }

std::string QuoteJsonString(absl::string_view s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      // Well-formed UTF-8 is kept as it is; any other byte becomes U+FFFD, as Go's encoding/json does, so that the
      // output is always valid JSON whatever a message was made of.
      const size_t n = Utf8SequenceLength(s, i);
      if (n == 0) {
        out += "\\ufffd";
      } else {
        out.append(s.data() + i, n);
        i += n - 1;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          out += absl::StrFormat("\\u%04x", c);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out += "\"";
  return out;
}

}  // namespace detcd::history
