// etcd 3.4's config file, read the way etcd reads it: sigs.k8s.io/yaml turns the YAML (go-yaml v2, YAML 1.1
// scalars) into JSON, which encoding/json decodes into embed.configYAML, then into etcdmain's configProxy. The key
// table and the type rules below are etcd v3.4.45's (embed/config.go, etcdmain/config.go); the error texts were
// checked against etcd 3.4.23's binary.
#include "cmd/detcd_config_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <regex>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "base/check.h"
#include "yaml-cpp/yaml.h"

namespace detcd {
namespace {

// The Go type etcd decodes a key into: it decides which YAML values are accepted and the flag text made of them.
enum class GoType { kBool, kUint, kUint32, kUint64, kInt, kInt64, kDuration, kString, kStrings };

// The struct that declares a key. Its name is in the decoder's errors; and configProxy, decoded on its own (not
// embedded), gets YAML numbers and booleans as text in its string fields, where configYAML refuses them.
enum class Owner { kConfigYaml, kConfigProxy, kSecurity };

struct FileKey {
  const char* key;
  // The detcd flag it sets; nullptr for a setting of a later etcd release that detcd lacks, refused unless left at
  // its zero value (as the flag is refused on the command line).
  const char* flag;
  GoType type;
  Owner owner = Owner::kConfigYaml;
};

// Every key etcd 3.4 reads at the top level of the file.
const std::vector<FileKey>& TopLevelKeys() {
  static const std::vector<FileKey> kKeys = {
      // embed.Config
      {"name", "name", GoType::kString},
      {"data-dir", "data-dir", GoType::kString},
      {"wal-dir", "wal-dir", GoType::kString},
      {"snapshot-count", "snapshot-count", GoType::kUint64},
      {"max-snapshots", "max-snapshots", GoType::kUint},
      {"max-wals", "max-wals", GoType::kUint},
      {"heartbeat-interval", "heartbeat-interval", GoType::kUint},
      {"election-timeout", "election-timeout", GoType::kUint},
      {"initial-election-tick-advance", "initial-election-tick-advance", GoType::kBool},
      {"backend-batch-interval", "backend-batch-interval", GoType::kDuration},
      {"backend-batch-limit", "backend-batch-limit", GoType::kInt},
      {"quota-backend-bytes", "quota-backend-bytes", GoType::kInt64},
      {"max-txn-ops", "max-txn-ops", GoType::kUint},
      {"max-request-bytes", "max-request-bytes", GoType::kUint},
      {"max-concurrent-streams", "max-concurrent-streams", GoType::kUint32},
      {"cipher-suites", "cipher-suites", GoType::kStrings},
      {"tls-min-version", nullptr, GoType::kString},
      {"tls-max-version", nullptr, GoType::kString},
      {"initial-cluster-state", "initial-cluster-state", GoType::kString},
      {"discovery-srv", "discovery-srv", GoType::kString},
      {"discovery-srv-name", "discovery-srv-name", GoType::kString},
      {"discovery-proxy", "discovery-proxy", GoType::kString},
      {"discovery", "discovery", GoType::kString},
      {"initial-cluster", "initial-cluster", GoType::kString},
      {"initial-cluster-token", "initial-cluster-token", GoType::kString},
      {"strict-reconfig-check", "strict-reconfig-check", GoType::kBool},
      {"enable-v2", "enable-v2", GoType::kBool},
      {"auto-compaction-mode", "auto-compaction-mode", GoType::kString},
      {"auto-compaction-retention", "auto-compaction-retention", GoType::kString},
      {"grpc-keepalive-min-time", "grpc-keepalive-min-time", GoType::kDuration},
      {"grpc-keepalive-interval", "grpc-keepalive-interval", GoType::kDuration},
      {"grpc-keepalive-timeout", "grpc-keepalive-timeout", GoType::kDuration},
      {"pre-vote", "pre-vote", GoType::kBool},
      {"auth-token", "auth-token", GoType::kString},
      {"bcrypt-cost", "bcrypt-cost", GoType::kUint},
      {"auth-token-ttl", "auth-token-ttl", GoType::kUint},
      {"experimental-initial-corrupt-check", "experimental-initial-corrupt-check", GoType::kBool},
      {"experimental-corrupt-check-time", "experimental-corrupt-check-time", GoType::kDuration},
      {"experimental-enable-v2v3", "experimental-enable-v2v3", GoType::kString},
      {"experimental-backend-bbolt-freelist-type", "experimental-backend-bbolt-freelist-type", GoType::kString},
      {"experimental-enable-lease-checkpoint", "experimental-enable-lease-checkpoint", GoType::kBool},
      {"experimental-enable-lease-checkpoint-persist", nullptr, GoType::kBool},
      {"experimental-compaction-batch-limit", "experimental-compaction-batch-limit", GoType::kInt},
      {"experimental-watch-progress-notify-interval", "experimental-watch-progress-notify-interval", GoType::kDuration},
      {"experimental-warning-apply-duration", "experimental-warning-apply-duration", GoType::kDuration},
      {"force-new-cluster", "force-new-cluster", GoType::kBool},
      {"enable-pprof", "enable-pprof", GoType::kBool},
      {"metrics", "metrics", GoType::kString},
      {"listen-metrics-urls", "listen-metrics-urls", GoType::kString},
      {"logger", "logger", GoType::kString},
      {"log-level", "log-level", GoType::kString},
      {"log-outputs", "log-outputs", GoType::kStrings},
      {"enable-grpc-gateway", "enable-grpc-gateway", GoType::kBool},
      {"log-output", "log-output", GoType::kStrings},
      {"debug", "debug", GoType::kBool},
      {"log-package-levels", "log-package-levels", GoType::kString},
      {"unsafe-no-fsync", nullptr, GoType::kBool},
      {"next-cluster-version-compatible", nullptr, GoType::kBool},
      // embed's configJSON: the URL lists as comma-separated text, as on the command line.
      {"listen-peer-urls", "listen-peer-urls", GoType::kString},
      {"listen-client-urls", "listen-client-urls", GoType::kString},
      {"listen-client-http-urls", nullptr, GoType::kString},
      {"initial-advertise-peer-urls", "initial-advertise-peer-urls", GoType::kString},
      {"advertise-client-urls", "advertise-client-urls", GoType::kString},
      {"cors", "cors", GoType::kString},
      {"host-whitelist", "host-whitelist", GoType::kString},
      // etcdmain's configProxy.
      {"proxy-failure-wait", "proxy-failure-wait", GoType::kUint, Owner::kConfigProxy},
      {"proxy-refresh-interval", "proxy-refresh-interval", GoType::kUint, Owner::kConfigProxy},
      {"proxy-dial-timeout", "proxy-dial-timeout", GoType::kUint, Owner::kConfigProxy},
      {"proxy-write-timeout", "proxy-write-timeout", GoType::kUint, Owner::kConfigProxy},
      {"proxy-read-timeout", "proxy-read-timeout", GoType::kUint, Owner::kConfigProxy},
      {"proxy", "proxy", GoType::kString, Owner::kConfigProxy},
      {"discovery-fallback", "discovery-fallback", GoType::kString, Owner::kConfigProxy},
  };
  return kKeys;
}

// The keys of client-transport-security and peer-transport-security (embed's securityConfig), and the flag each
// sets on either side. etcd 3.4 reads the first five; `allowed-cn` and `allowed-hostname` are etcd 3.5's (lists; detcd
// takes one item, as etcd 3.4's flags take one value); `crl-file` is detcd's own, since etcd's YAML has no key for
// --client-crl-file / --peer-crl-file and a revocation list silently dropped would let revoked certificates in
// (nullptr: no such flag on that side, the key is ignored).
struct SecurityKey {
  const char* key;
  const char* client_flag;
  const char* peer_flag;
  GoType type;
};

const std::vector<SecurityKey>& SecurityKeys() {
  static const std::vector<SecurityKey> kKeys = {
      {"cert-file", "cert-file", "peer-cert-file", GoType::kString},
      {"key-file", "key-file", "peer-key-file", GoType::kString},
      {"client-cert-auth", "client-cert-auth", "peer-client-cert-auth", GoType::kBool},
      {"trusted-ca-file", "trusted-ca-file", "peer-trusted-ca-file", GoType::kString},
      {"auto-tls", "auto-tls", "peer-auto-tls", GoType::kBool},
      {"allowed-cn", nullptr, "peer-cert-allowed-cn", GoType::kStrings},
      {"allowed-hostname", "client-cert-allowed-hostname", "peer-cert-allowed-hostname", GoType::kStrings},
      {"crl-file", "client-crl-file", "peer-crl-file", GoType::kString},
  };
  return kKeys;
}

const char* GoTypeName(GoType t) {
  switch (t) {
    case GoType::kBool:
      return "bool";
    case GoType::kUint:
      return "uint";
    case GoType::kUint32:
      return "uint32";
    case GoType::kUint64:
      return "uint64";
    case GoType::kInt:
      return "int";
    case GoType::kInt64:
      return "int64";
    case GoType::kDuration:
      return "time.Duration";
    case GoType::kString:
      return "string";
    case GoType::kStrings:
      return "[]string";
  }
  return "?";
}

absl::Status FileError(const std::string& msg) { return absl::FailedPreconditionError(msg); }

absl::Status YamlError(const YAML::Exception& e) {  // sigs.k8s.io/yaml's wrapping of a go-yaml error
  std::string where = e.mark.is_null() ? "" : absl::StrCat("line ", e.mark.line + 1, ": ");
  return FileError(absl::StrCat("error converting YAML to JSON: yaml: ", where, e.msg));
}

// ---------------------------------------------------------------------------------------------------------------
// A YAML value as go-yaml v2 resolves it (resolve.go): plain scalars may be null, booleans (YAML 1.1's y/yes/on...),
// integers (Go's base prefixes, underscores dropped) or floats; quoted and block scalars are strings.
struct YamlValue {
  enum Kind { kNull, kBool, kInt, kFloat, kString, kSequence, kMap } kind = kNull;
  bool boolean = false;
  bool negative = false;   // kInt: the value is -magnitude
  uint64_t magnitude = 0;  // kInt
  double number = 0;       // kFloat
  std::string text;        // the scalar as written
};

// The word encoding/json uses for a JSON value's type in "cannot unmarshal <word> into ...".
std::string JsonWord(const YamlValue& v) {
  switch (v.kind) {
    case YamlValue::kNull:
      return "null";
    case YamlValue::kBool:
      return "bool";
    case YamlValue::kInt:
    case YamlValue::kFloat:
      return "number";
    case YamlValue::kString:
      return "string";
    case YamlValue::kSequence:
      return "array";
    case YamlValue::kMap:
      return "object";
  }
  return "?";
}

std::string IntText(const YamlValue& v) {
  return v.negative && v.magnitude != 0 ? absl::StrCat("-", v.magnitude) : absl::StrCat(v.magnitude);
}

// strconv.ParseInt(s, 0, 64), or ParseUint when it overflows int64 (go-yaml tries both). False: not an integer.
bool ParseGoInteger(const std::string& s, bool* negative, uint64_t* magnitude) {
  size_t i = 0;
  *negative = false;
  if (i < s.size() && (s[i] == '+' || s[i] == '-')) *negative = s[i++] == '-';
  int base = 10;
  if (s.size() - i >= 2 && s[i] == '0') {
    char p = absl::ascii_tolower(s[i + 1]);
    base = p == 'x' ? 16 : p == 'o' ? 8 : p == 'b' ? 2 : 8;
    i += base == 8 && p != 'o' ? 1 : 2;
  }
  if (i >= s.size()) return false;
  uint64_t n = 0;
  for (; i < s.size(); ++i) {
    int d = absl::ascii_isdigit(s[i])   ? s[i] - '0'
            : absl::ascii_isalpha(s[i]) ? absl::ascii_tolower(s[i]) - 'a' + 10
                                        : 99;
    if (d >= base || n > (UINT64_MAX - d) / base) return false;
    n = n * base + d;
  }
  if (*negative && n > (uint64_t{1} << 63)) return false;  // below int64's range, and ParseUint takes no sign
  *magnitude = n;
  return true;
}

YamlValue ResolvePlain(const std::string& in) {
  YamlValue v;
  v.text = in;
  static const std::set<std::string> kTrue = {"y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE"};
  static const std::set<std::string> kFalse = {"n",   "N",   "no",    "No",    "NO",   "off",
                                               "Off", "OFF", "false", "False", "FALSE"};
  static const std::set<std::string> kNull = {"", "~", "null", "Null", "NULL"};
  static const std::set<std::string> kSpecialFloats = {".nan",  ".NaN",  ".NAN",  ".inf",  ".Inf",  ".INF",
                                                       "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF"};
  if (kNull.count(in)) return v;
  if (kTrue.count(in) || kFalse.count(in)) {
    v.kind = YamlValue::kBool;
    v.boolean = kTrue.count(in) > 0;
    return v;
  }
  if (kSpecialFloats.count(in)) {
    v.kind = YamlValue::kFloat;
    v.number = absl::AsciiStrToLower(in).find("nan") != std::string::npos ? NAN : in[0] == '-' ? -INFINITY : INFINITY;
    return v;
  }
  v.kind = YamlValue::kString;
  const char first = in[0];
  if (!absl::ascii_isdigit(first) && first != '+' && first != '-' && first != '.') return v;
  const std::string plain = first == '.' ? in : absl::StrReplaceAll(in, {{"_", ""}});
  if (first != '.' && ParseGoInteger(plain, &v.negative, &v.magnitude)) {
    v.kind = YamlValue::kInt;
    return v;
  }
  static const std::regex kFloat(R"(^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$)");
  if (std::regex_match(plain, kFloat) && absl::SimpleAtod(plain, &v.number)) v.kind = YamlValue::kFloat;
  return v;
}

YamlValue Resolve(const YAML::Node& n) {
  YamlValue v;
  if (n.IsMap()) v.kind = YamlValue::kMap;
  if (n.IsSequence()) v.kind = YamlValue::kSequence;
  if (!n.IsScalar()) return v;
  // yaml-cpp tags a plain scalar "?" and a quoted or block one "!"; an explicit !!str makes a string too.
  if (n.Tag() == "!" || n.Tag() == "tag:yaml.org,2002:str") {
    v.kind = YamlValue::kString;
    v.text = n.Scalar();
    return v;
  }
  return ResolvePlain(n.Scalar());
}

// ---------------------------------------------------------------------------------------------------------------
// A value of the Go type, as its flag's text; nullopt for null (etcd's decoder leaves the default then).
struct Field {
  std::string go_struct;  // "configYAML", "configProxy", "securityConfig"
  std::string path;       // "name", "client-transport-security.cert-file"
  GoType type;
  bool lenient_strings;  // configProxy: numbers and booleans become text
};

absl::Status Unmarshal(const Field& f, const std::string& word, const char* type_name) {
  return FileError(absl::StrCat("error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ", word,
                                " into Go struct field ", f.go_struct, ".", f.path, " of type ", type_name));
}

absl::StatusOr<std::string> IntegerText(const Field& f, const YamlValue& v) {
  bool negative = v.negative;
  uint64_t magnitude = v.magnitude;
  if (v.kind == YamlValue::kFloat) {  // a float with an integral value decodes into an integer field
    const double d = v.number;
    if (!std::isfinite(d) || d != std::floor(d) || d >= 18446744073709551616.0 || d < -9223372036854775808.0) {
      return Unmarshal(f, absl::StrCat("number ", v.text), GoTypeName(f.type));
    }
    negative = d < 0;
    magnitude = static_cast<uint64_t>(negative ? -d : d);  // at most 2^63 when negative: exact
  } else if (v.kind != YamlValue::kInt) {
    return Unmarshal(f, JsonWord(v), GoTypeName(f.type));
  }
  negative = negative && magnitude != 0;
  uint64_t max = f.type == GoType::kUint32 ? 0xffffffffu : UINT64_MAX;
  bool is_signed = f.type == GoType::kInt || f.type == GoType::kInt64 || f.type == GoType::kDuration;
  if (is_signed) max = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if ((negative && !is_signed) || magnitude > max) {
    return Unmarshal(f, absl::StrCat("number ", v.kind == YamlValue::kInt ? IntText(v) : v.text), GoTypeName(f.type));
  }
  DETCD_CHECK(is_signed || !negative);
  std::string text = absl::StrCat(negative ? "-" : "", magnitude);
  return f.type == GoType::kDuration ? absl::StrCat(text, "ns") : text;  // time.Duration counts nanoseconds
}

absl::StatusOr<std::string> StringText(const Field& f, const YamlValue& v, const char* type_name) {
  if (v.kind == YamlValue::kString) return v.text;
  if (f.lenient_strings && v.kind == YamlValue::kBool) return std::string(v.boolean ? "true" : "false");
  if (f.lenient_strings && v.kind == YamlValue::kInt) return IntText(v);
  if (f.lenient_strings && v.kind == YamlValue::kFloat) return v.text;
  return Unmarshal(f, JsonWord(v), type_name);
}

absl::StatusOr<std::optional<std::string>> FlagText(const Field& f, const YAML::Node& node) {
  const YamlValue v = Resolve(node);
  if (v.kind == YamlValue::kNull) return std::nullopt;
  switch (f.type) {
    case GoType::kBool:
      if (v.kind != YamlValue::kBool) return Unmarshal(f, JsonWord(v), "bool");
      return std::string(v.boolean ? "true" : "false");
    case GoType::kString:
      return StringText(f, v, "string");
    case GoType::kStrings: {
      if (v.kind != YamlValue::kSequence) return Unmarshal(f, JsonWord(v), "[]string");
      std::vector<std::string> items;
      for (const YAML::Node& item : node) {
        const YamlValue iv = Resolve(item);
        if (iv.kind == YamlValue::kNull) {  // a JSON null leaves the string empty
          items.emplace_back();
          continue;
        }
        absl::StatusOr<std::string> s = StringText(f, iv, "string");
        if (!s.ok()) return s.status();
        // The flag's text form is comma-separated: an item with a comma would silently become two.
        if (s->find(',') != std::string::npos) {
          return FileError(absl::StrCat(f.path, ": the item ", *s, " has a comma, which detcd cannot take"));
        }
        items.push_back(*s);
      }
      if (items.empty()) return std::nullopt;  // an empty list leaves etcd's default
      return absl::StrJoin(items, ",");
    }
    default: {
      absl::StatusOr<std::string> s = IntegerText(f, v);
      if (!s.ok()) return s.status();
      return *s;
    }
  }
}

// A map key as go-yaml gives it to sigs.k8s.io/yaml: scalars become their text; anything else is refused.
absl::StatusOr<std::string> KeyText(const YAML::Node& key) {
  if (key.IsNull()) return std::string();
  if (!key.IsScalar()) {
    return FileError(
        absl::StrCat("error converting YAML to JSON: yaml: line ", key.Mark().line + 1, ": invalid map key"));
  }
  return key.Scalar();
}

// The entries of a map in document order, a repeated key only at its last place (go-yaml keeps the last value).
absl::StatusOr<std::vector<std::pair<std::string, YAML::Node>>> Entries(const YAML::Node& map) {
  std::vector<std::pair<std::string, YAML::Node>> all;
  for (const auto& kv : map) {
    absl::StatusOr<std::string> key = KeyText(kv.first);
    if (!key.ok()) return key.status();
    all.emplace_back(*key, kv.second);
  }
  std::map<std::string, size_t> last;
  for (size_t i = 0; i < all.size(); ++i) last[all[i].first] = i;
  std::vector<std::pair<std::string, YAML::Node>> out;
  for (size_t i = 0; i < all.size(); ++i) {
    if (last[all[i].first] == i) out.push_back(all[i]);
  }
  DETCD_CHECK(out.size() == last.size());
  return out;
}

void Warn(std::vector<std::string>* warnings, std::string w) {
  if (warnings != nullptr) warnings->push_back(std::move(w));
}

void WarnIgnored(std::vector<std::string>* warnings, const std::string& key) {
  Warn(warnings, absl::StrCat("config file key \"", key, "\" is not an etcd 3.4 setting; ignored (as etcd does)"));
}

// Appends the setting of one key, or refuses a later release's setting detcd lacks.
absl::Status AddSetting(const Field& f, const char* flag, const YAML::Node& node, std::vector<DetcdFileSetting>* out) {
  absl::StatusOr<std::optional<std::string>> text = FlagText(f, node);
  if (!text.ok()) return text.status();
  if (!text->has_value()) return absl::OkStatus();
  if (flag == nullptr) {
    if (**text == "" || **text == "false") return absl::OkStatus();  // left at its zero value: nothing to refuse
    return FileError(absl::StrCat("config file key ", f.path, " provided but not supported by detcd"));
  }
  DETCD_CHECK(!f.path.empty() && *flag != '\0');
  out->push_back(DetcdFileSetting{f.path, flag, **text});
  return absl::OkStatus();
}

absl::Status AddSecuritySettings(const std::string& parent, bool peer, const YAML::Node& node,
                                 std::vector<DetcdFileSetting>* out, std::vector<std::string>* warnings) {
  const YamlValue v = Resolve(node);
  if (v.kind == YamlValue::kNull) return absl::OkStatus();
  if (v.kind != YamlValue::kMap) {
    return Unmarshal(Field{"configYAML", parent, GoType::kString, false}, JsonWord(v), "embed.securityConfig");
  }
  absl::StatusOr<std::vector<std::pair<std::string, YAML::Node>>> entries = Entries(node);
  if (!entries.ok()) return entries.status();
  for (const auto& [key, value] : *entries) {
    const SecurityKey* sk = nullptr;
    for (const SecurityKey& k : SecurityKeys()) {
      if (key == k.key) sk = &k;
    }
    const char* flag = sk == nullptr ? nullptr : peer ? sk->peer_flag : sk->client_flag;
    const std::string path = absl::StrCat(parent, ".", key);
    if (flag == nullptr) {
      WarnIgnored(warnings, path);
      continue;
    }
    if (absl::Status s = AddSetting(Field{"securityConfig", path, sk->type, false}, flag, value, out); !s.ok()) {
      return s;
    }
    if (sk->type == GoType::kStrings && !out->empty() && out->back().key == path &&
        out->back().value.find(',') != std::string::npos) {
      return FileError(absl::StrCat("config file key ", path, ": detcd takes one value (as etcd 3.4's --", flag,
                                    "), not a list of several"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<DetcdFileSetting>> DetcdFileSettingsFromYaml(const std::string& yaml,
                                                                        std::vector<std::string>* warnings) {
  std::vector<DetcdFileSetting> settings;
  try {
    const YAML::Node root = YAML::Load(yaml);  // the first document, as go-yaml's Unmarshal reads
    const YamlValue v = Resolve(root);
    if (v.kind == YamlValue::kNull) return settings;  // an empty file: etcd's defaults
    if (v.kind != YamlValue::kMap) {
      return FileError(absl::StrCat("error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ",
                                    JsonWord(v), " into Go value of type embed.configYAML"));
    }
    absl::StatusOr<std::vector<std::pair<std::string, YAML::Node>>> entries = Entries(root);
    if (!entries.ok()) return entries.status();
    for (const auto& [key, value] : *entries) {
      if (key == "client-transport-security" || key == "peer-transport-security") {
        absl::Status s = AddSecuritySettings(key, key == "peer-transport-security", value, &settings, warnings);
        if (!s.ok()) return s;
        continue;
      }
      const FileKey* fk = nullptr;
      for (const FileKey& k : TopLevelKeys()) {
        if (key == k.key) fk = &k;
      }
      if (fk == nullptr) {
        WarnIgnored(warnings, key);
        continue;
      }
      const bool proxy = fk->owner == Owner::kConfigProxy;
      Field f{proxy ? "configProxy" : "configYAML", key, fk->type, proxy};
      if (absl::Status s = AddSetting(f, fk->flag, value, &settings); !s.ok()) return s;
    }
  } catch (const YAML::Exception& e) {
    return YamlError(e);
  }
  return settings;
}

absl::StatusOr<DetcdConfig> DetcdConfigFromYaml(const std::string& path, const std::string& yaml,
                                                std::vector<std::string>* warnings) {
  absl::StatusOr<std::vector<DetcdFileSetting>> settings = DetcdFileSettingsFromYaml(yaml, warnings);
  if (!settings.ok()) return settings.status();
  return DetcdConfigFromFileSettings(path, *settings, warnings);
}

absl::StatusOr<DetcdConfig> LoadDetcdConfigFile(const std::string& path, std::vector<std::string>* warnings) {
  // Go's os.PathError: "open <path>: <lower-case strerror>" ("read ..." when opening worked, as for a directory).
  auto io_error = [&path](const char* op, int err) {
    std::string why = std::strerror(err);
    if (!why.empty()) why[0] = absl::ascii_tolower(why[0]);
    return FileError(absl::StrCat(op, " ", path, ": ", why));
  };
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("open", errno);
  std::string text;
  char buf[64 * 1024];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close(fd);
      return io_error("read", err);
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return DetcdConfigFromYaml(path, text, warnings);
}

}  // namespace detcd
