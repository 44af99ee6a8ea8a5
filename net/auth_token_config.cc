#include "net/auth_token_config.h"

#include <algorithm>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/check.h"
#include "base/go_text.h"

namespace detcd::net {
namespace {

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

}  // namespace

absl::StatusOr<int64_t> ParseGoDurationUs(std::string_view text) {
  absl::StatusOr<int64_t> ns = ParseGoDurationNs(text);
  if (!ns.ok()) return ns.status();
  return *ns / 1000;  // truncated towards zero, as before
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
