#include "base/go_text.h"

#include <limits>
#include <map>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace detcd {
namespace {

// Go's leadingInt: the leading digits of *s as a number; false on overflow past 1<<63.
bool LeadingInt(std::string_view* s, uint64_t* x) {
  size_t i = 0;
  *x = 0;
  for (; i < s->size() && (*s)[i] >= '0' && (*s)[i] <= '9'; ++i) {
    if (*x > (uint64_t{1} << 63) / 10) return false;
    *x = *x * 10 + static_cast<uint64_t>((*s)[i] - '0');
    if (*x > (uint64_t{1} << 63)) return false;
  }
  s->remove_prefix(i);
  return true;
}

// Go's leadingFraction: the digits after '.', as f / scale; digits past what fits are consumed and dropped.
void LeadingFraction(std::string_view* s, uint64_t* f, double* scale) {
  size_t i = 0;
  bool overflow = false;
  *f = 0;
  *scale = 1;
  for (; i < s->size() && (*s)[i] >= '0' && (*s)[i] <= '9'; ++i) {
    if (overflow) continue;
    if (*f > (uint64_t{1} << 63) / 10) {
      overflow = true;
      continue;
    }
    uint64_t y = *f * 10 + static_cast<uint64_t>((*s)[i] - '0');
    if (y > (uint64_t{1} << 63)) {
      overflow = true;
      continue;
    }
    *f = y;
    *scale *= 10;
  }
  s->remove_prefix(i);
}

}  // namespace

// Go's strconv.Quote, for the texts these messages quote (bytes from 0x80 up are kept as they are).
std::string GoQuote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7f) {
          static const char kHex[] = "0123456789abcdef";
          out += "\\x";
          out += kHex[c >> 4];
          out += kHex[c & 15];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  return out + "\"";
}

absl::StatusOr<int64_t> ParseGoDurationNs(std::string_view orig) {
  const absl::Status invalid = absl::InvalidArgumentError(absl::StrCat("time: invalid duration ", GoQuote(orig)));
  std::string_view s = orig;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return 0;
  if (s.empty()) return invalid;
  static const std::map<std::string_view, uint64_t> kUnitNs = {
      {"ns", 1},          {"us", 1000},       {"\xc2\xb5s", 1000}, {"\xce\xbcs", 1000},
      {"ms", 1'000'000},  {"s", 1'000'000'000}, {"m", 60'000'000'000}, {"h", 3'600'000'000'000}};
  uint64_t total_ns = 0;
  while (!s.empty()) {
    if (!(s[0] == '.' || (s[0] >= '0' && s[0] <= '9'))) return invalid;
    const size_t before_int = s.size();
    uint64_t v = 0;
    if (!LeadingInt(&s, &v)) return invalid;
    const bool pre = s.size() != before_int;
    bool post = false;
    uint64_t f = 0;
    double scale = 1;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      const size_t before_frac = s.size();
      LeadingFraction(&s, &f, &scale);
      post = s.size() != before_frac;
    }
    if (!pre && !post) return invalid;
    size_t i = 0;
    while (i < s.size() && s[i] != '.' && !(s[i] >= '0' && s[i] <= '9')) ++i;
    if (i == 0) return absl::InvalidArgumentError(absl::StrCat("time: missing unit in duration ", GoQuote(orig)));
    const std::string_view unit_name = s.substr(0, i);
    s.remove_prefix(i);
    auto unit = kUnitNs.find(unit_name);
    if (unit == kUnitNs.end()) {
      return absl::InvalidArgumentError(
          absl::StrCat("time: unknown unit ", GoQuote(unit_name), " in duration ", GoQuote(orig)));
    }
    if (v > (uint64_t{1} << 63) / unit->second) return invalid;
    v *= unit->second;
    if (f > 0) {
      v += static_cast<uint64_t>(static_cast<double>(f) * (static_cast<double>(unit->second) / scale));
      if (v > (uint64_t{1} << 63)) return invalid;
    }
    total_ns += v;
    if (total_ns > (uint64_t{1} << 63)) return invalid;
  }
  if (negative) {
    // 1<<63 ns negated is Go's minimum duration.
    return total_ns == (uint64_t{1} << 63) ? std::numeric_limits<int64_t>::min() : -static_cast<int64_t>(total_ns);
  }
  if (total_ns > (uint64_t{1} << 63) - 1) return invalid;
  return static_cast<int64_t>(total_ns);
}

}  // namespace detcd
