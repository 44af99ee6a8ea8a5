#include "net/auth_token_config.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/check.h"

namespace detcd::net {
namespace {

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

// Go's strings.Split (std::string_view is not Abseil's string_view in this Abseil, so absl::StrSplit does not take it).
std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  for (size_t start = 0;;) {
    const size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
    if (end == std::string_view::npos) return out;
    start = end + 1;
  }
}

void Note(std::vector<std::string>* notes, std::string note) {
  if (notes != nullptr) notes->push_back(std::move(note));
}

absl::Status Refuse(std::vector<std::string>* notes, std::string why, const char* etcd_error) {
  Note(notes, std::move(why));
  return absl::InvalidArgumentError(etcd_error);
}

// The sign-method names golang-jwt (v4, etcd 3.4.45) registers, and what etcd makes of each.
enum class MethodFamily { kAsymmetric, kHmac, kUnsupported };

bool LookUpMethod(const std::string& name, MethodFamily* family, const char** go_type) {
  static const std::map<std::string, std::pair<MethodFamily, const char*>> kMethods = {
      {"RS256", {MethodFamily::kAsymmetric, ""}},   {"RS384", {MethodFamily::kAsymmetric, ""}},
      {"RS512", {MethodFamily::kAsymmetric, ""}},   {"PS256", {MethodFamily::kAsymmetric, ""}},
      {"PS384", {MethodFamily::kAsymmetric, ""}},   {"PS512", {MethodFamily::kAsymmetric, ""}},
      {"ES256", {MethodFamily::kAsymmetric, ""}},   {"ES384", {MethodFamily::kAsymmetric, ""}},
      {"ES512", {MethodFamily::kAsymmetric, ""}},   {"HS256", {MethodFamily::kHmac, ""}},
      {"HS384", {MethodFamily::kHmac, ""}},         {"HS512", {MethodFamily::kHmac, ""}},
      // Registered by golang-jwt but refused by etcd's jwtOptions.Key(), which names their Go types.
      {"EdDSA", {MethodFamily::kUnsupported, "*jwt.SigningMethodEd25519"}},
      {"none", {MethodFamily::kUnsupported, "*jwt.signingMethodNone"}},
  };
  auto it = kMethods.find(name);
  if (it == kMethods.end()) return false;
  *family = it->second.first;
  *go_type = it->second.second;
  return true;
}

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

absl::StatusOr<int64_t> ParseGoDurationUs(std::string_view orig) {
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
  if (negative) return -static_cast<int64_t>(total_ns / 1000);  // 1<<63 ns negated is Go's minimum duration
  if (total_ns > (uint64_t{1} << 63) - 1) return invalid;
  return static_cast<int64_t>(total_ns / 1000);
}

absl::StatusOr<AuthTokenConfig> ParseAuthTokenConfig(std::string_view value, std::vector<std::string>* notes) {
  // decomposeOpts: the type, then key=value options; a malformed or repeated option refuses the whole value.
  const std::vector<std::string_view> parts = Split(value, ',');
  DETCD_CHECK(!parts.empty());
  std::map<std::string, std::string> options;
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::vector<std::string_view> pair = Split(parts[i], '=');
    if (pair.size() != 2) {
      return Refuse(notes, absl::StrCat("invalid token specific option: ", GoQuote(parts[i])), kErrInvalidAuthOpts);
    }
    if (!options.emplace(std::string(pair[0]), std::string(pair[1])).second) {
      return Refuse(notes, absl::StrCat("invalid token specific option, duplicated parameter ", GoQuote(pair[0])),
                    kErrInvalidAuthOpts);
    }
  }
  AuthTokenConfig config;
  const std::string_view type = parts[0];
  if (type == "simple") {  // options after "simple" are checked for their form above, then ignored (as etcd)
    config.kind = AuthTokenConfig::kSimple;
    return config;
  }
  if (type.empty()) {
    config.kind = AuthTokenConfig::kNop;
    return config;
  }
  if (type != "jwt") return Refuse(notes, absl::StrCat("unknown token type ", GoQuote(type)), kErrInvalidAuthOpts);

  // jwtOptions.ParseWithDefaults: ttl, the key files (read by Create here), then the sign method, which is required.
  config.kind = AuthTokenConfig::kJwt;
  if (const std::string& ttl = options["ttl"]; !ttl.empty()) {
    absl::StatusOr<int64_t> ttl_us = ParseGoDurationUs(ttl);
    if (!ttl_us.ok()) return Refuse(notes, absl::StrCat("ttl: ", ttl_us.status().message()), kErrInvalidAuthOpts);
    config.ttl_us = *ttl_us;
  }
  config.pub_key_path = options["pub-key"];
  config.priv_key_path = options["priv-key"];
  config.sign_method = options["sign-method"];
  MethodFamily family;
  const char* go_type = nullptr;
  if (!LookUpMethod(config.sign_method, &family, &go_type)) {
    return Refuse(notes, absl::StrCat(kErrInvalidAuthMethod, ": ", GoQuote(config.sign_method)),
                  kErrInvalidAuthOpts);
  }
  std::vector<std::string> unknown;
  for (const auto& [key, v] : options) {
    if (key != "ttl" && key != "pub-key" && key != "priv-key" && key != "sign-method") unknown.push_back(key);
  }
  if (!unknown.empty()) Note(notes, absl::StrCat("unknown JWT options: [", absl::StrJoin(unknown, " "), "]"));

  // jwtOptions.Key: the method decides which keys it needs.
  switch (family) {
    case MethodFamily::kUnsupported:
      return absl::InvalidArgumentError(absl::StrCat("unsupported signing method: ", go_type));
    case MethodFamily::kHmac:
      if (config.priv_key_path.empty()) {
        return Refuse(notes, "an HMAC sign method takes its secret from priv-key", kErrMissingKey);
      }
      break;
    case MethodFamily::kAsymmetric:
      if (config.priv_key_path.empty() && config.pub_key_path.empty()) {
        return Refuse(notes, "neither pub-key nor priv-key is given", kErrMissingKey);
      }
      break;
  }
  return config;
}

}  // namespace detcd::net
