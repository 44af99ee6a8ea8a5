// etcd 3.4's command line, reproduced. Each error string below is etcd's (or Go's, for what etcd leaves to the
// `flag`, `net/url`, `strconv` and `time` packages); the comment beside it names the etcd source it comes from.
#include "cmd/detcd_flags.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <set>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/go_text.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "base/check.h"
#include "net/auth_password.h"
#include "net/auth_token_config.h"

namespace detcd {
namespace {

// ---------------------------------------------------------------------------------------------------------------
std::string GoQuoteList(const std::vector<std::string>& v) {  // Go's %q of a []string: ["a" "b"]
  std::vector<std::string> q;
  for (const std::string& s : v) q.push_back(GoQuote(s));
  return absl::StrCat("[", absl::StrJoin(q, " "), "]");
}

// ---------------------------------------------------------------------------------------------------------------
// strconv.ParseUint(s, 0, 64) and ParseInt(s, 0, 64), with the flag package's error texts ("parse error",
// "value out of range", Go >= 1.15).
constexpr char kParseError[] = "parse error";
constexpr char kRangeError[] = "value out of range";

// Go's underscoreOK: with base prefix 0, underscores may only separate digits (or follow the base prefix).
bool UnderscoreOk(const std::string& s) {
  char saw = '^';  // '^' start, '0' digit or prefix, '_' underscore, '!' other
  size_t i = 0;
  if (s.size() >= 2 && s[0] == '0') {
    char b = std::tolower(static_cast<unsigned char>(s[1]));
    if (b == 'x' || b == 'o' || b == 'b') {
      i = 2;
      saw = '0';
    }
  }
  bool hex = s.size() >= 2 && s[0] == '0' && std::tolower(static_cast<unsigned char>(s[1])) == 'x';
  for (; i < s.size(); ++i) {
    unsigned char c = s[i];
    if (std::isdigit(c) || (hex && std::isxdigit(c))) {
      saw = '0';
      continue;
    }
    if (c == '_') {
      if (saw != '0') return false;
      saw = '_';
      continue;
    }
    if (saw == '_') return false;
    saw = '!';
  }
  return saw != '_';
}

// Returns "" on success, else the flag package's error text.
std::string GoParseUint(const std::string& s, uint64_t* out) {
  if (s.empty()) return kParseError;
  int base = 10;
  size_t i = 0;
  if (s[0] == '0') {
    if (s.size() >= 3 && (s[1] == 'x' || s[1] == 'X')) {
      base = 16, i = 2;
    } else if (s.size() >= 3 && (s[1] == 'o' || s[1] == 'O')) {
      base = 8, i = 2;
    } else if (s.size() >= 3 && (s[1] == 'b' || s[1] == 'B')) {
      base = 2, i = 2;
    } else {
      base = 8, i = 1;
    }
  }
  bool underscores = false;
  bool range_error = false;
  uint64_t n = 0;
  for (; i < s.size(); ++i) {
    unsigned char c = s[i];
    int d;
    if (c == '_') {
      underscores = true;
      continue;
    } else if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'z') {
      d = c - 'a' + 10;
    } else if (c >= 'A' && c <= 'Z') {
      d = c - 'A' + 10;
    } else {
      return kParseError;
    }
    if (d >= base) return kParseError;
    if (!range_error) {
      if (n > (UINT64_MAX - d) / base) {
        range_error = true;
      } else {
        n = n * base + d;
      }
    }
  }
  if (underscores && !UnderscoreOk(s)) return kParseError;
  if (range_error) return kRangeError;
  *out = n;
  return "";
}

std::string GoParseInt(const std::string& s, int64_t* out) {
  if (s.empty()) return kParseError;
  bool negative = s[0] == '-';
  std::string body = (s[0] == '-' || s[0] == '+') ? s.substr(1) : s;
  uint64_t u = 0;
  std::string err = GoParseUint(body, &u);
  if (!err.empty()) return err;
  uint64_t limit = negative ? uint64_t{1} << 63 : (uint64_t{1} << 63) - 1;
  if (u > limit) return kRangeError;
  *out = negative ? static_cast<int64_t>(0 - u) : static_cast<int64_t>(u);
  return "";
}

// strconv.ParseBool.
bool GoParseBool(const std::string& s, bool* out) {
  static const std::set<std::string> kTrue = {"1", "t", "T", "TRUE", "true", "True"};
  static const std::set<std::string> kFalse = {"0", "f", "F", "FALSE", "false", "False"};
  if (kTrue.count(s)) return *out = true, true;
  if (kFalse.count(s)) return *out = false, true;
  return false;
}

// time.ParseDuration, to nanoseconds (a Go time.Duration); the error's text, or "".
std::string GoParseDurationNs(const std::string& orig, int64_t* out_ns) {
  absl::StatusOr<int64_t> ns = ParseGoDurationNs(orig);
  if (!ns.ok()) return std::string(ns.status().message());
  *out_ns = *ns;
  return "";
}

// The same, truncated to milliseconds.
std::string GoParseDurationMs(const std::string& orig, int64_t* out_ms) {
  int64_t ns = 0;
  if (std::string e = GoParseDurationNs(orig, &ns); !e.empty()) return e;
  *out_ms = ns / 1'000'000;
  return "";
}

// ---------------------------------------------------------------------------------------------------------------
// Go's net/url.Parse, as far as etcd's URL flags can tell: the errors it returns for the strings people type,
// and the scheme / host / path split. Errors are formatted as url.Error: `parse "<url>": <reason>`.
struct GoUrl {
  std::string scheme, host, path;
  bool opaque = false;
};

bool IsHostChar(unsigned char c) {  // characters Go's shouldEscape(c, encodeHost) lets through
  if (std::isalnum(c) || c >= 0x80) return true;
  return std::string("-_.~!$&'()*+,;=:[]<>\"%").find(static_cast<char>(c)) != std::string::npos;
}

bool IsUserinfoChar(unsigned char c) {
  if (std::isalnum(c)) return true;
  return std::string("-._:~!$&'()*+,;=%@").find(static_cast<char>(c)) != std::string::npos;
}

// Checks %XX escapes (Go's unescape); returns "" or Go's error.
std::string CheckEscapes(const std::string& s) {
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') continue;
    if (i + 2 >= s.size() || !std::isxdigit(static_cast<unsigned char>(s[i + 1])) ||
        !std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      return absl::StrCat("invalid URL escape ", GoQuote(s.substr(i, 3)));
    }
    i += 2;
  }
  return "";
}

std::string ParseGoHost(const std::string& host) {  // "" or Go's error
  std::string colon_port;
  if (!host.empty() && host[0] == '[') {
    size_t close = host.rfind(']');
    if (close == std::string::npos) return "missing ']' in host";
    colon_port = host.substr(close + 1);
    if (!colon_port.empty() && colon_port[0] != ':') {
      return absl::StrCat("invalid port ", GoQuote(colon_port), " after host");
    }
  } else {
    size_t colon = host.rfind(':');
    if (colon != std::string::npos) colon_port = host.substr(colon);
  }
  if (!colon_port.empty()) {
    for (size_t i = 1; i < colon_port.size(); ++i) {
      if (!std::isdigit(static_cast<unsigned char>(colon_port[i]))) {
        return absl::StrCat("invalid port ", GoQuote(colon_port), " after host");
      }
    }
  }
  for (unsigned char c : host) {
    if (!IsHostChar(c)) return absl::StrCat("invalid character ", GoQuote(std::string(1, c)), " in host name");
  }
  return CheckEscapes(host);
}

std::string ParseGoUrl(const std::string& raw, GoUrl* u) {  // "" or the full url.Error text
  auto fail = [&](const std::string& why) { return absl::StrCat("parse ", GoQuote(raw), ": ", why); };
  for (unsigned char c : raw) {
    if (c < 0x20 || c == 0x7f) return fail("net/url: invalid control character in URL");
  }
  std::string rest = raw;
  std::string fragment;
  if (size_t h = rest.find('#'); h != std::string::npos) {
    fragment = rest.substr(h + 1);
    rest = rest.substr(0, h);
  }
  // getScheme
  for (size_t i = 0; i < rest.size(); ++i) {
    unsigned char c = rest[i];
    if (std::isalpha(c)) continue;
    if (std::isdigit(c) || c == '+' || c == '-' || c == '.') {
      if (i == 0) break;
      continue;
    }
    if (c == ':') {
      if (i == 0) return fail("missing protocol scheme");
      u->scheme = absl::AsciiStrToLower(rest.substr(0, i));
      rest = rest.substr(i + 1);
    }
    break;
  }
  if (size_t q = rest.find('?'); q != std::string::npos) rest = rest.substr(0, q);
  if (!rest.empty() && rest[0] != '/') {
    if (!u->scheme.empty()) {
      u->opaque = true;
      u->path.clear();
      return fragment.empty() ? "" : (CheckEscapes(fragment).empty() ? "" : fail(CheckEscapes(fragment)));
    }
    std::string segment = rest.substr(0, rest.find('/'));
    if (segment.find(':') != std::string::npos) return fail("first path segment in URL cannot contain colon");
  }
  if ((!u->scheme.empty() || rest.compare(0, 3, "///") != 0) && rest.compare(0, 2, "//") == 0) {
    std::string authority = rest.substr(2);
    size_t slash = authority.find('/');
    rest = slash == std::string::npos ? "" : authority.substr(slash);
    if (slash != std::string::npos) authority = authority.substr(0, slash);
    std::string host = authority;
    if (size_t at = authority.rfind('@'); at != std::string::npos) {
      for (unsigned char c : authority.substr(0, at)) {
        if (!IsUserinfoChar(c)) return fail("net/url: invalid userinfo");
      }
      host = authority.substr(at + 1);
    }
    if (std::string e = ParseGoHost(host); !e.empty()) return fail(e);
    u->host = host;
  }
  if (std::string e = CheckEscapes(rest); !e.empty()) return fail(e);
  if (std::string e = CheckEscapes(fragment); !e.empty()) return fail(e);
  u->path = rest;
  return "";
}

// net.SplitHostPort. Returns false on error.
bool SplitHostPort(const std::string& hostport, std::string* host, std::string* port) {
  size_t colon = hostport.rfind(':');
  if (colon == std::string::npos) return false;
  if (!hostport.empty() && hostport[0] == '[') {
    size_t close = hostport.find(']');
    if (close == std::string::npos || close + 1 != colon) return false;
    *host = hostport.substr(1, close - 1);
    if (host->find('[') != std::string::npos || host->find(']') != std::string::npos) return false;
  } else {
    *host = hostport.substr(0, colon);
    if (host->find(':') != std::string::npos) return false;
    if (host->find('[') != std::string::npos || host->find(']') != std::string::npos) return false;
  }
  *port = hostport.substr(colon + 1);
  if (port->find('[') != std::string::npos || port->find(']') != std::string::npos) return false;
  return true;
}

// types.NewURLs: trims each, checks scheme / host:port / path, then sorts by String().
absl::StatusOr<std::vector<DetcdUrl>> NewUrls(const std::vector<std::string>& in) {
  std::vector<DetcdUrl> out;
  for (std::string s : in) {
    s = std::string(absl::StripAsciiWhitespace(s));
    GoUrl g;
    if (std::string e = ParseGoUrl(s, &g); !e.empty()) return absl::InvalidArgumentError(e);
    if (g.scheme != "http" && g.scheme != "https" && g.scheme != "unix" && g.scheme != "unixs") {
      return absl::InvalidArgumentError(absl::StrCat("URL scheme must be http, https, unix, or unixs: ", s));
    }
    DetcdUrl u;
    u.scheme = g.scheme;
    if (g.opaque || !SplitHostPort(g.host, &u.host, &u.port)) {
      return absl::InvalidArgumentError(absl::StrCat("URL address does not have the form \"host:port\": ", s));
    }
    if (!g.path.empty()) return absl::InvalidArgumentError(absl::StrCat("URL must not contain a path: ", s));
    out.push_back(u);
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const DetcdUrl& a, const DetcdUrl& b) { return a.String() < b.String(); });
  return out;
}

std::vector<std::string> UrlStrings(const std::vector<DetcdUrl>& urls) {
  std::vector<std::string> out;
  for (const DetcdUrl& u : urls) out.push_back(u.String());
  return out;
}

bool IsIpLiteral(const std::string& host) {  // net.ParseIP != nil
  int dots = 0, digits = 0, parts_value = 0;
  bool v4 = !host.empty();
  for (char c : host) {
    if (c == '.') {
      if (digits == 0) v4 = false;
      ++dots, digits = 0, parts_value = 0;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      // At most three digits are added up: a longer run is no IPv4 part (and must not overflow the sum).
      if (++digits > 3) {
        v4 = false;
      } else {
        parts_value = parts_value * 10 + (c - '0');
        if (parts_value > 255) v4 = false;
      }
    } else {
      v4 = false;
    }
  }
  if (v4 && dots == 3 && digits > 0) return true;
  if (host.find(':') == std::string::npos) return false;
  // IPv6: hex groups separated by ':', at most one "::", optionally a trailing dotted quad.
  int groups = 0;
  bool double_colon = false;
  size_t i = 0;
  if (host.compare(0, 2, "::") == 0) double_colon = true, i = 2;
  else if (host[0] == ':') return false;
  while (i < host.size()) {
    size_t end = host.find(':', i);
    std::string g = host.substr(i, end == std::string::npos ? std::string::npos : end - i);
    if (g.find('.') != std::string::npos && end == std::string::npos) {
      if (!IsIpLiteral(g) || g.find(':') != std::string::npos) return false;
      groups += 2;
      break;
    }
    if (g.empty() || g.size() > 4) return false;
    for (char c : g) if (!std::isxdigit(static_cast<unsigned char>(c))) return false;
    ++groups;
    if (end == std::string::npos) break;
    if (end + 1 < host.size() && host[end + 1] == ':') {
      if (double_colon) return false;
      double_colon = true;
      i = end + 2;
    } else {
      if (end + 1 == host.size()) return false;
      i = end + 1;
    }
  }
  return double_colon ? groups < 8 : groups == 8;
}

// ---------------------------------------------------------------------------------------------------------------
// The flag set.
enum class Kind { kString, kBool, kUint, kInt64, kDuration, kUrls, kClusterState, kIgnored, kSetting, kConfigFile };

// Value syntax of an etcd setting (EtcdSettings()).
enum class Syntax { kBool, kUint, kInt, kDuration, kText };

// An etcd 3.4 setting detcd accepts with etcd's syntax but whose feature it lacks, or which tunes a part of etcd it
// does not have. `off`: the values ('|'-separated, as given) that leave the feature off, etcd's default among them;
// nullptr: any value. Another value is refused with `refusal` (the missing feature's name) — or, with no refusal,
// accepted with `warning`, which is also what an explicitly given setting with an `off` value warns (if non-null).
struct Setting {
  const char* name;
  Syntax syntax;
  const char* off;
  const char* refusal;
  const char* warning;
};

constexpr char kNoBbolt[] = "has no effect in detcd, which keeps its state in memory with a WAL (no bbolt backend)";

const std::vector<Setting>& EtcdSettings() {
  static const std::vector<Setting> kSettings = {
      {"enable-v2", Syntax::kBool, "false", "the v2 API is not supported by detcd", nullptr},
      {"experimental-enable-v2v3", Syntax::kText, "", "the v2 API is not supported by detcd", nullptr},
      {"enable-grpc-gateway", Syntax::kBool, "true", "turning the JSON gateway off is not supported by detcd yet",
       nullptr},
      {"discovery", Syntax::kText, "", "discovery is not supported by detcd (use --initial-cluster)", nullptr},
      {"discovery-srv", Syntax::kText, "", "DNS discovery is not supported by detcd (use --initial-cluster)",
       nullptr},
      {"discovery-srv-name", Syntax::kText, nullptr, nullptr, nullptr},
      {"discovery-proxy", Syntax::kText, nullptr, nullptr, nullptr},
      {"discovery-fallback", Syntax::kText, nullptr, nullptr, nullptr},
      {"proxy", Syntax::kText, "off", "proxy mode is not supported by detcd", nullptr},
      {"proxy-failure-wait", Syntax::kUint, nullptr, nullptr, nullptr},
      {"proxy-refresh-interval", Syntax::kUint, nullptr, nullptr, nullptr},
      {"proxy-dial-timeout", Syntax::kUint, nullptr, nullptr, nullptr},
      {"proxy-write-timeout", Syntax::kUint, nullptr, nullptr, nullptr},
      {"proxy-read-timeout", Syntax::kUint, nullptr, nullptr, nullptr},
      {"experimental-peer-skip-client-san-verification", Syntax::kBool, "false",
       "skipping the peer certificates' SAN check is not supported by detcd", nullptr},
      {"cors", Syntax::kText, "*|", "CORS origin lists other than '*' are not supported by detcd yet", nullptr},
      {"host-whitelist", Syntax::kText, "*|", "host whitelists other than '*' are not supported by detcd yet",
       nullptr},
      {"enable-pprof", Syntax::kBool, "false",
       "Go's pprof endpoints do not exist in detcd, a C++ server (profile it with perf)", nullptr},
      {"metrics", Syntax::kText, "basic", "extensive metrics (histograms) are not supported by detcd yet", nullptr},
      {"log-package-levels", Syntax::kText, "", "per-package log levels are not supported by detcd", nullptr},
      {"experimental-enable-lease-checkpoint", Syntax::kBool, "false",
       "lease checkpoints are not supported by detcd yet", nullptr},
      {"experimental-backend-bbolt-freelist-type", Syntax::kText, "array|map", nullptr, kNoBbolt},
      {"experimental-compaction-batch-limit", Syntax::kInt, nullptr, nullptr, kNoBbolt},
      {"backend-batch-interval", Syntax::kDuration, nullptr, nullptr, kNoBbolt},
      {"backend-batch-limit", Syntax::kInt, nullptr, nullptr, kNoBbolt},
      {"experimental-warning-apply-duration", Syntax::kDuration, nullptr, nullptr,
       "is accepted, but detcd does not warn about slow applies yet"},
      {"initial-election-tick-advance", Syntax::kBool, nullptr, nullptr,
       "is accepted, but detcd does not fast-forward election ticks on boot"},
  };
  return kSettings;
}

const Setting* FindSetting(const std::string& name) {
  for (const Setting& st : EtcdSettings()) {
    if (name == st.name) return &st;
  }
  return nullptr;
}

struct Flag {
  const char* name;
  Kind kind;
};

const std::vector<Flag>& Flags() {
  static const std::vector<Flag> kFlags = [] {
    std::vector<Flag> flags = {
      {"name", Kind::kString}, {"data-dir", Kind::kString}, {"wal-dir", Kind::kString},
      {"listen-peer-urls", Kind::kUrls}, {"listen-client-urls", Kind::kUrls},
      {"listen-metrics-urls", Kind::kUrls}, {"snapshot-count", Kind::kUint},
      {"heartbeat-interval", Kind::kUint}, {"election-timeout", Kind::kUint},
      {"quota-backend-bytes", Kind::kInt64}, {"max-txn-ops", Kind::kUint}, {"max-request-bytes", Kind::kUint},
      {"initial-advertise-peer-urls", Kind::kUrls}, {"advertise-client-urls", Kind::kUrls},
      {"initial-cluster", Kind::kString}, {"initial-cluster-token", Kind::kString},
      {"initial-cluster-state", Kind::kClusterState}, {"strict-reconfig-check", Kind::kBool},
      {"cert-file", Kind::kString}, {"key-file", Kind::kString}, {"client-cert-auth", Kind::kBool},
      {"trusted-ca-file", Kind::kString}, {"auto-tls", Kind::kBool}, {"peer-cert-file", Kind::kString},
      {"peer-key-file", Kind::kString}, {"peer-client-cert-auth", Kind::kBool},
      {"peer-trusted-ca-file", Kind::kString}, {"peer-auto-tls", Kind::kBool}, {"logger", Kind::kString},
      {"log-level", Kind::kString}, {"version", Kind::kBool}, {"auto-compaction-retention", Kind::kString},
      {"auto-compaction-mode", Kind::kString}, {"force-new-cluster", Kind::kBool},
      {"pre-vote", Kind::kBool}, {"max-snapshots", Kind::kUint}, {"max-wals", Kind::kUint},
      {"max-concurrent-streams", Kind::kUint}, {"experimental-watch-progress-notify-interval", Kind::kDuration},
      {"experimental-initial-corrupt-check", Kind::kBool}, {"experimental-corrupt-check-time", Kind::kDuration},
      {"grpc-keepalive-min-time", Kind::kDuration}, {"grpc-keepalive-interval", Kind::kDuration},
      {"grpc-keepalive-timeout", Kind::kDuration},
      {"debug", Kind::kBool}, {"log-outputs", Kind::kString}, {"log-output", Kind::kString},
      {"config-file", Kind::kConfigFile},
      {"client-crl-file", Kind::kString}, {"peer-crl-file", Kind::kString}, {"cipher-suites", Kind::kString},
      {"client-cert-allowed-hostname", Kind::kString}, {"peer-cert-allowed-cn", Kind::kString},
      {"peer-cert-allowed-hostname", Kind::kString},
      {"auth-token", Kind::kString}, {"bcrypt-cost", Kind::kUint}, {"auth-token-ttl", Kind::kUint},
      // etcd's `ignored` list: accepted as booleans, each use logs a warning (pkg/flags/ignored.go).
      {"cluster-active-size", Kind::kIgnored}, {"cluster-remove-delay", Kind::kIgnored},
      {"cluster-sync-interval", Kind::kIgnored}, {"config", Kind::kIgnored}, {"force", Kind::kIgnored},
      {"max-result-buffer", Kind::kIgnored}, {"max-retry-attempts", Kind::kIgnored},
      {"peer-heartbeat-interval", Kind::kIgnored}, {"peer-election-timeout", Kind::kIgnored},
      {"retry-interval", Kind::kIgnored}, {"snapshot", Kind::kIgnored}, {"v", Kind::kIgnored},
      {"vv", Kind::kIgnored}, {"test.coverprofile", Kind::kIgnored}, {"test.outputdir", Kind::kIgnored},
    };
    for (const Setting& setting : EtcdSettings()) flags.push_back({setting.name, Kind::kSetting});
    return flags;
  }();
  return kFlags;
}

// etcd 3.4 flags detcd does not implement. Refused by name (rather than "not defined") so the user learns that
// the flag is real etcd but not available here; silently accepting them would change behaviour unannounced.
const std::set<std::string>& UnsupportedEtcdFlags() {
  // Later releases' flags (3.4 backports and 3.5).
  static const std::set<std::string> kFlags = {
      "listen-client-http-urls", "next-cluster-version-compatible", "tls-min-version",
      "tls-max-version", "experimental-enable-lease-checkpoint-persist", "unsafe-no-fsync"};
  return kFlags;
}

const Flag* FindFlag(const std::string& name) {
  for (const Flag& f : Flags()) {
    if (name == f.name) return &f;
  }
  return nullptr;
}

bool IsBoolFlag(const Flag& f) {
  if (f.kind == Kind::kSetting) return FindSetting(f.name)->syntax == Syntax::kBool;
  return f.kind == Kind::kBool || f.kind == Kind::kIgnored;
}

// Flag values while parsing: what Go keeps in the flag.Value objects.
struct State {
  DetcdConfig cfg;
  bool print_version = false;
  bool debug = false;
  std::string config_file;    // --config-file
  uint64_t bcrypt_cost = net::kBcryptCostDefault;  // --bcrypt-cost as given
  std::set<std::string> set;  // flags set on the command line or from the environment (fs.Visit)
  std::vector<std::string>* warnings;
};

void Warn(State* st, std::string w) {
  if (st->warnings != nullptr) st->warnings->push_back(std::move(w));
}

std::vector<DetcdUrl>* UrlField(DetcdConfig* c, const std::string& name) {
  if (name == "listen-peer-urls") return &c->listen_peer_urls;
  if (name == "listen-client-urls") return &c->listen_client_urls;
  if (name == "listen-metrics-urls") return &c->listen_metrics_urls;
  if (name == "initial-advertise-peer-urls") return &c->initial_advertise_peer_urls;
  return &c->advertise_client_urls;
}

std::string* StringField(DetcdConfig* c, const std::string& name) {
  static const std::map<std::string, std::string DetcdConfig::*> kStrings = {
      {"name", &DetcdConfig::name}, {"data-dir", &DetcdConfig::data_dir}, {"wal-dir", &DetcdConfig::wal_dir},
      {"initial-cluster", &DetcdConfig::initial_cluster},
      {"initial-cluster-token", &DetcdConfig::initial_cluster_token}, {"logger", &DetcdConfig::logger},
      {"log-level", &DetcdConfig::log_level}, {"auto-compaction-retention", &DetcdConfig::auto_compaction_retention},
      {"auto-compaction-mode", &DetcdConfig::auto_compaction_mode}, {"auth-token", &DetcdConfig::auth_token}};
  if (auto it = kStrings.find(name); it != kStrings.end()) return &(c->*(it->second));
  if (name == "cert-file") return &c->client_tls.cert_file;
  if (name == "key-file") return &c->client_tls.key_file;
  if (name == "trusted-ca-file") return &c->client_tls.trusted_ca_file;
  if (name == "peer-cert-file") return &c->peer_tls.cert_file;
  if (name == "peer-key-file") return &c->peer_tls.key_file;
  if (name == "client-crl-file") return &c->client_tls.crl_file;
  if (name == "client-cert-allowed-hostname") return &c->client_tls.allowed_hostname;
  if (name == "peer-crl-file") return &c->peer_tls.crl_file;
  if (name == "peer-cert-allowed-cn") return &c->peer_tls.allowed_cn;
  if (name == "peer-cert-allowed-hostname") return &c->peer_tls.allowed_hostname;
  DETCD_CHECK_MSG(name == "peer-trusted-ca-file", name.c_str());
  return &c->peer_tls.trusted_ca_file;
}

bool* BoolField(State* st, const std::string& name) {
  DetcdConfig* c = &st->cfg;
  if (name == "strict-reconfig-check") return &c->strict_reconfig_check;
  if (name == "client-cert-auth") return &c->client_tls.client_cert_auth;
  if (name == "auto-tls") return &c->client_auto_tls;
  if (name == "peer-client-cert-auth") return &c->peer_tls.client_cert_auth;
  if (name == "peer-auto-tls") return &c->peer_auto_tls;
  if (name == "force-new-cluster") return &c->force_new_cluster;
  if (name == "pre-vote") return &c->pre_vote;
  if (name == "experimental-initial-corrupt-check") return &c->initial_corrupt_check;
  if (name == "debug") return &st->debug;
  return &st->print_version;  // "version"
}

// flag.Value.Set: returns "" or the value's own error text (Go's flag package wraps it).
std::string SetFlag(State* st, const Flag& f, const std::string& value) {
  const std::string name = f.name;
  switch (f.kind) {
    case Kind::kString:
      if (name == "log-outputs" || name == "log-output") {
        st->cfg.log_outputs = absl::StrSplit(value, ',');
        if (name == "log-output") Warn(st, "--log-output is deprecated in etcd 3.4; use --log-outputs");
        return "";
      }
      if (name == "cipher-suites") {  // etcd's StringsValue: comma-separated, names checked at start-up
        st->cfg.cipher_suites.clear();
        if (!value.empty()) st->cfg.cipher_suites = absl::StrSplit(value, ',');
        return "";
      }
      *StringField(&st->cfg, name) = value;
      return "";
    case Kind::kBool: {
      bool b;
      if (!GoParseBool(value, &b)) return kParseError;
      *BoolField(st, name) = b;
      return "";
    }
    case Kind::kIgnored:
      Warn(st, absl::StrCat("flag \"-", name, "\" is no longer supported - ignoring."));
      return "";
    case Kind::kConfigFile:
      st->config_file = value;
      return "";
    case Kind::kUint: {
      uint64_t v = 0;
      if (std::string e = GoParseUint(value, &v); !e.empty()) return e;
      if (name == "snapshot-count") st->cfg.snapshot_count = v;
      if (name == "heartbeat-interval") st->cfg.heartbeat_interval_ms = v;
      if (name == "election-timeout") st->cfg.election_timeout_ms = v;
      if (name == "max-txn-ops") st->cfg.max_txn_ops = v;
      if (name == "max-request-bytes") st->cfg.max_request_bytes = v;
      if (name == "max-snapshots") st->cfg.max_snapshots = v;
      if (name == "max-wals") st->cfg.max_wals = v;
      if (name == "auth-token-ttl") st->cfg.auth_token_ttl_s = v;
      if (name == "bcrypt-cost") st->bcrypt_cost = v;  // checked, and kept in cfg, by CheckAuth
      if (name == "max-concurrent-streams") {
        // etcd keeps it as a uint32 (HTTP/2's SETTINGS_MAX_CONCURRENT_STREAMS field is 32 bits).
        if (v > 0xffffffffu) return "value out of range";
        st->cfg.max_concurrent_streams = static_cast<uint32_t>(v);
      }
      return "";
    }
    case Kind::kDuration: {
      int64_t ns = 0;
      if (std::string e = GoParseDurationNs(value, &ns); !e.empty()) return e;
      if (name == "grpc-keepalive-min-time") {
        st->cfg.grpc_keepalive_min_time_ns = ns;
      } else if (name == "grpc-keepalive-interval") {
        st->cfg.grpc_keepalive_interval_ns = ns;
      } else if (name == "grpc-keepalive-timeout") {
        st->cfg.grpc_keepalive_timeout_ns = ns;
      } else if (name == "experimental-corrupt-check-time") {
        st->cfg.corrupt_check_time_ms = ns / 1'000'000;
      } else {
        st->cfg.watch_progress_notify_interval_ms = ns / 1'000'000;  // "experimental-watch-progress-notify-interval"
      }
      return "";
    }
    case Kind::kSetting: {
      const Setting* setting = FindSetting(name);
      switch (setting->syntax) {
        case Syntax::kBool: {
          bool b;
          if (!GoParseBool(value, &b)) return kParseError;
          st->cfg.etcd_settings[name] = b ? "true" : "false";
          return "";
        }
        case Syntax::kUint: {
          uint64_t v = 0;
          if (std::string e = GoParseUint(value, &v); !e.empty()) return e;
          break;
        }
        case Syntax::kInt: {
          int64_t v = 0;
          if (std::string e = GoParseInt(value, &v); !e.empty()) return e;
          break;
        }
        case Syntax::kDuration: {
          int64_t ms = 0;
          if (std::string e = GoParseDurationMs(value, &ms); !e.empty()) return e;
          break;
        }
        case Syntax::kText:
          break;
      }
      st->cfg.etcd_settings[name] = value;
      return "";
    }
    case Kind::kInt64: {
      int64_t v = 0;
      if (std::string e = GoParseInt(value, &v); !e.empty()) return e;
      st->cfg.quota_backend_bytes = v;
      return "";
    }
    case Kind::kClusterState:  // flags.SelectiveStringValue
      if (value != "new" && value != "existing") return "invalid value";
      st->cfg.initial_cluster_state = value;
      return "";
    case Kind::kUrls: {
      // flags.UniqueURLs with the exception "": an empty value is accepted and leaves the URLs unchanged.
      if (value.empty()) return "";
      absl::StatusOr<std::vector<DetcdUrl>> urls = NewUrls(absl::StrSplit(value, ','));
      if (!urls.ok()) return std::string(urls.status().message());
      std::vector<DetcdUrl> unique;
      for (const DetcdUrl& u : *urls) {
        if (std::find(unique.begin(), unique.end(), u) == unique.end()) unique.push_back(u);
      }
      *UrlField(&st->cfg, name) = unique;
      return "";
    }
  }
  return "";
}

absl::Status FlagError(const std::string& msg) { return absl::InvalidArgumentError(msg); }

std::string DefaultInitialCluster() { return absl::StrCat(kDefaultName, "=", kDefaultListenPeerUrls); }
absl::Status ConfigError(const std::string& msg) { return absl::FailedPreconditionError(msg); }

std::string FlagToEnv(const std::string& name) {
  std::string key = absl::StrCat("ETCD_", name);
  for (char& c : key) c = c == '-' ? '_' : absl::ascii_toupper(c);
  return key;
}

// Go's FlagSet.Parse with ContinueOnError. Returns the arguments left after the flags.
absl::StatusOr<std::vector<std::string>> ParseCommandLine(const std::vector<std::string>& args, State* st,
                                                          bool* help) {
  size_t i = 0;
  while (i < args.size()) {
    const std::string& s = args[i];
    if (s.size() < 2 || s[0] != '-') break;
    size_t minuses = 1;
    if (s[1] == '-') {
      minuses = 2;
      if (s.size() == 2) {  // "--" ends the flags
        ++i;
        break;
      }
    }
    std::string name = s.substr(minuses);
    if (name.empty() || name[0] == '-' || name[0] == '=') return FlagError(absl::StrCat("bad flag syntax: ", s));
    ++i;
    bool has_value = false;
    std::string value;
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name = name.substr(0, eq);
      has_value = true;
    }
    const Flag* f = FindFlag(name);
    if (f == nullptr) {
      if (name == "help" || name == "h") {
        *help = true;
        return std::vector<std::string>{};
      }
      if (UnsupportedEtcdFlags().count(name)) {
        return FlagError(absl::StrCat("flag provided but not supported by detcd: -", name));
      }
      return FlagError(absl::StrCat("flag provided but not defined: -", name));
    }
    if (IsBoolFlag(*f)) {
      if (has_value) {
        if (!SetFlag(st, *f, value).empty()) {
          return FlagError(absl::StrCat("invalid boolean value ", GoQuote(value), " for -", name, ": parse error"));
        }
      } else {
        SetFlag(st, *f, "true");
      }
    } else {
      if (!has_value && i < args.size()) {
        value = args[i++];
        has_value = true;
      }
      if (!has_value) return FlagError(absl::StrCat("flag needs an argument: -", name));
      if (std::string e = SetFlag(st, *f, value); !e.empty()) {
        return FlagError(absl::StrCat("invalid value ", GoQuote(value), " for flag -", name, ": ", e));
      }
    }
    st->set.insert(name);
  }
  return std::vector<std::string>(args.begin() + i, args.end());
}

// flags.SetFlagsFromEnv("ETCD", fs): fill flags not set on the command line from ETCD_*; then verifyEnv.
absl::Status ApplyEnvironment(const std::map<std::string, std::string>& env, State* st) {
  std::set<std::string> already_set, used;
  for (const std::string& name : st->set) already_set.insert(FlagToEnv(name));
  absl::Status err;
  std::vector<const Flag*> sorted;  // VisitAll visits in lexicographical order
  for (const Flag& f : Flags()) sorted.push_back(&f);
  std::sort(sorted.begin(), sorted.end(), [](const Flag* a, const Flag* b) {
    return std::string(a->name) < std::string(b->name);
  });
  for (const Flag* f : sorted) {
    std::string key = FlagToEnv(f->name);
    if (already_set.count(key)) continue;
    auto it = env.find(key);
    if (it == env.end() || it->second.empty()) continue;
    used.insert(key);
    if (std::string e = SetFlag(st, *f, it->second); !e.empty()) {
      // pkg/flags/flag.go setFlagFromEnv; the last failing variable wins, as in etcd.
      err = ConfigError(absl::StrCat("invalid value ", GoQuote(it->second), " for ", key, ": ", e));
    } else {
      st->set.insert(f->name);  // fs.Set marks the flag as set, so IsSet sees environment values too
    }
  }
  for (const auto& [key, value] : env) {  // pkg/flags/flag.go verifyEnv
    if (used.count(key)) continue;
    if (already_set.count(key)) {
      // etcd: plog.Fatalf, i.e. exit 1, even when the variable and the flag agree.
      return ConfigError(absl::StrCat("conflicting environment variable ", GoQuote(key),
                                      " is shadowed by corresponding command-line flag (either unset "
                                      "environment variable or disable flag)"));
    }
    if (absl::StartsWith(key, "ETCD_")) Warn(st, absl::StrCat("unrecognized environment variable ", key, "=", value));
  }
  return err;
}

// The etcd settings detcd lacks the feature of: a value that leaves it off is accepted, another refused naming
// the feature; one that tunes a part detcd does not have is accepted with a warning when given.
absl::Status CheckEtcdSettings(State* st) {
  for (const auto& [name, value] : st->cfg.etcd_settings) {
    const Setting* setting = FindSetting(name);
    DETCD_CHECK_MSG(setting != nullptr, "a setting not in the table");
    bool off = setting->off == nullptr;
    if (!off && setting->syntax == Syntax::kDuration) {
      int64_t ms = -1;
      off = GoParseDurationMs(value, &ms).empty() && ms == 0;  // the only "off" duration is zero
    } else if (!off) {
      for (absl::string_view v : absl::StrSplit(setting->off, '|')) off |= value == v;
    }
    if (!off && setting->refusal != nullptr) {
      return ConfigError(absl::StrCat("--", name, "=", value, ": ", setting->refusal));
    }
    if (setting->warning != nullptr) Warn(st, absl::StrCat("--", name, " ", setting->warning));
  }
  return absl::OkStatus();
}

// What etcd checks of the auth flags when it makes the server (etcdserver.NewServer: auth.NewTokenProvider, then
// auth.NewAuthStore). A bad --auth-token stops etcd with the token provider's error; a bcrypt cost outside
// [bcrypt.MinCost, bcrypt.MaxCost] is replaced by bcrypt.DefaultCost with a warning.
absl::Status CheckAuth(State* st) {
  DetcdConfig& c = st->cfg;
  std::vector<std::string> notes;
  absl::StatusOr<net::AuthTokenConfig> token = net::ParseAuthTokenConfig(c.auth_token, &notes);
  if (!token.ok()) {
    std::string why = notes.empty() ? "" : absl::StrCat(" (", absl::StrJoin(notes, "; "), ")");
    return ConfigError(absl::StrCat("--auth-token=", c.auth_token, ": ", token.status().message(), why));
  }
  for (const std::string& note : notes) Warn(st, absl::StrCat("--auth-token: ", note));
  c.auth_token_config = *token;
  if (st->bcrypt_cost < net::kBcryptCostMin || st->bcrypt_cost > net::kBcryptCostMax) {
    Warn(st, absl::StrCat("Use default bcrypt-cost ", net::kBcryptCostDefault, " instead of the invalid value ",
                          st->bcrypt_cost));
    c.bcrypt_cost = net::kBcryptCostDefault;
  } else {
    c.bcrypt_cost = static_cast<int>(st->bcrypt_cost);
  }
  return absl::OkStatus();
}

// embed.Config.Validate, in etcd's order, plus the checks StartEtcd makes before touching the data dir.
absl::Status Validate(State* st) {
  DetcdConfig& c = st->cfg;
  // setupLogging
  if (c.logger != "capnslog" && c.logger != "zap") {
    return ConfigError(absl::StrCat("unknown logger option ", GoQuote(c.logger)));
  }
  if (st->debug) c.log_level = "debug";  // --debug, deprecated in 3.5 for --log-level=debug
  if (c.log_outputs.size() > 1 &&
      (c.logger == "capnslog" || std::count(c.log_outputs.begin(), c.log_outputs.end(), "default") > 0)) {
    return ConfigError(absl::StrCat("multi logoutput for ", GoQuote(c.logger == "capnslog" ? c.logger : "default"),
                                    " is not supported yet"));
  }
  for (const std::string& out : c.log_outputs) {
    if (out == "default" || out == "stderr" || out == "stdout") continue;
    if (c.logger == "capnslog" || out.empty()) {
      return ConfigError(absl::StrCat("unknown log-output ", GoQuote(out),
                                      " (only supports \"default\", \"stderr\", \"stdout\")"));
    }
  }
  if (absl::Status s = CheckEtcdSettings(st); !s.ok()) return s;
  static const std::set<std::string> kLevels = {"debug", "info", "warn", "error", "dpanic", "panic", "fatal"};
  if (!kLevels.count(c.log_level)) {
    // etcd 3.4 panics here (logutil.ConvertTo*LogLevel, exit 2 with a stack trace); detcd reports it cleanly.
    return ConfigError(absl::StrCat("unknown level ", GoQuote(c.log_level)));
  }
  for (const std::vector<DetcdUrl>* urls : {&c.listen_peer_urls, &c.listen_client_urls, &c.listen_metrics_urls}) {
    for (const DetcdUrl& u : *urls) {  // checkBindURLs
      if (u.scheme == "unix" || u.scheme == "unixs" || u.host == "localhost") continue;
      if (!IsIpLiteral(u.host)) {
        return ConfigError(absl::StrCat("expected IP in URL for binding (", u.String(), ")"));
      }
    }
  }
  for (const auto& [flag, urls] : {std::make_pair("--initial-advertise-peer-urls", &c.initial_advertise_peer_urls),
                                   std::make_pair("--advertise-client-urls", &c.advertise_client_urls)}) {
    for (const DetcdUrl& u : *urls) {  // checkHostURLs
      if (u.host.empty()) {
        return ConfigError(absl::StrCat(flag, " ", GoQuote(absl::StrJoin(UrlStrings(*urls), ",")),
                                        " must be \"host:port\" (unexpected empty host (", u.String(), "))"));
      }
    }
  }
  if (c.heartbeat_interval_ms == 0) {
    return ConfigError(absl::StrCat("--heartbeat-interval must be >0 (set to ", c.heartbeat_interval_ms, "ms)"));
  }
  if (c.election_timeout_ms == 0) {
    return ConfigError(absl::StrCat("--election-timeout must be >0 (set to ", c.election_timeout_ms, "ms)"));
  }
  // Go computes 5*TickMs in uint arithmetic, which wraps; so does this.
  if (5 * c.heartbeat_interval_ms > c.election_timeout_ms) {
    return ConfigError(absl::StrCat("--election-timeout[", c.election_timeout_ms,
                                    "ms] should be at least as 5 times as --heartbeat-interval[",
                                    c.heartbeat_interval_ms, "ms]"));
  }
  if (c.election_timeout_ms > 50000) {
    return ConfigError(absl::StrCat("--election-timeout[", c.election_timeout_ms,
                                    "ms] is too long, and should be set less than 50000ms"));
  }
  if (!c.listen_client_urls.empty() && c.advertise_client_urls.empty()) {
    return ConfigError("--advertise-client-urls is required when --listen-client-urls is set explicitly");
  }
  if (c.auto_compaction_mode != "" && c.auto_compaction_mode != "periodic" && c.auto_compaction_mode != "revision") {
    return ConfigError(absl::StrCat("unknown auto-compaction-mode ", GoQuote(c.auto_compaction_mode)));
  }
  return CheckAuth(st);
}

// embed/etcd.go configurePeerListeners / configureClientListeners and parseCompactionRetention: errors etcd
// reports before the server (and its data dir) is created, and the warnings it logs on the way.
absl::Status CheckListeners(State* st) {
  DetcdConfig& c = st->cfg;
  auto tls_empty = [](const DetcdTlsFiles& t) { return t.cert_file.empty() && t.key_file.empty(); };
  bool peer_files = !tls_empty(c.peer_tls) || c.peer_auto_tls;  // auto TLS fills the files in at start-up
  if (c.peer_auto_tls && !tls_empty(c.peer_tls)) Warn(st, "ignoring peer auto TLS since certs given");
  for (const DetcdUrl& u : c.listen_peer_urls) {
    if (u.scheme == "http") {
      if (!tls_empty(c.peer_tls)) {
        Warn(st, absl::StrCat("The scheme of peer url ", u.String(),
                              " is HTTP while peer key/cert files are presented. Ignored peer key/cert files."));
      }
      if (c.peer_tls.client_cert_auth) {
        Warn(st, absl::StrCat("The scheme of peer url ", u.String(),
                              " is HTTP while client cert auth (--peer-client-cert-auth) is enabled. Ignored "
                              "client cert auth for this url."));
      }
    } else if (u.scheme == "https" || u.scheme == "unixs") {
      if (!peer_files) {  // pkg/transport/listener_tls.go newTLSListener
        return ConfigError(absl::StrCat("cannot listen on TLS for ", u.host.find(':') != std::string::npos
                                            ? absl::StrCat("[", u.host, "]:", u.port) : absl::StrCat(u.host, ":", u.port),
                                        ": KeyFile and CertFile are not presented"));
      }
      if (!c.peer_auto_tls && (c.peer_tls.cert_file.empty() || c.peer_tls.key_file.empty())) {
        return ConfigError(absl::StrCat("KeyFile and CertFile must both be present[key: ", c.peer_tls.key_file,
                                        ", cert: ", c.peer_tls.cert_file, "]"));
      }
    }
  }
  if (c.client_auto_tls && !tls_empty(c.client_tls)) Warn(st, "ignoring client auto TLS since certs given");
  bool client_files = !tls_empty(c.client_tls) || c.client_auto_tls;
  for (const DetcdUrl& u : c.listen_client_urls) {
    if (u.scheme == "http" || u.scheme == "unix") {
      if (!tls_empty(c.client_tls)) {
        Warn(st, absl::StrCat("The scheme of client url ", u.String(),
                              " is HTTP while peer key/cert files are presented. Ignored key/cert files."));
      }
      if (c.client_tls.client_cert_auth) {
        Warn(st, absl::StrCat("The scheme of client url ", u.String(),
                              " is HTTP while client cert auth (--client-cert-auth) is enabled. Ignored client "
                              "cert auth for this url."));
      }
    }
    if ((u.scheme == "https" || u.scheme == "unixs") && !client_files) {
      return ConfigError(absl::StrCat("TLS key/cert (--cert-file, --key-file) must be provided for client url ",
                                      u.String(), " with HTTPS scheme"));
    }
  }
  bool client_https = false;
  for (const DetcdUrl& u : c.listen_client_urls) client_https |= u.scheme == "https" || u.scheme == "unixs";
  if (client_https && !c.client_auto_tls && (c.client_tls.cert_file.empty() || c.client_tls.key_file.empty())) {
    return ConfigError(absl::StrCat("KeyFile and CertFile must both be present[key: ", c.client_tls.key_file,
                                    ", cert: ", c.client_tls.cert_file, "]"));
  }
  // parseCompactionRetention: a non-negative integer is hours (periodic) or revisions; else a Go duration.
  uint64_t h = 0;
  const std::string& r = c.auto_compaction_retention;
  bool is_int = !r.empty() && std::all_of(r.begin(), r.end(), [](char ch) { return std::isdigit(ch); }) &&
                GoParseUint(r, &h).empty() && r.size() <= 18;
  if (is_int) {
    if (c.auto_compaction_mode == "revision") c.auto_compaction_retention_revisions = static_cast<int64_t>(h);
    if (c.auto_compaction_mode == "periodic") c.auto_compaction_retention_ms = static_cast<int64_t>(h) * 3600000;
  } else {
    int64_t ms = 0;
    if (std::string e = GoParseDurationMs(r, &ms); !e.empty()) {
      return ConfigError(absl::StrCat("error parsing CompactionRetention: ", e));
    }
    c.auto_compaction_retention_ms = ms;
  }
  return absl::OkStatus();
}

// embed.NewConfig's defaults (those DetcdConfig's initializers cannot give: the URL lists, the initial cluster).
State DefaultState(std::vector<std::string>* warnings) {
  State st;
  st.warnings = warnings;
  st.cfg.listen_peer_urls = *NewUrls({kDefaultListenPeerUrls});
  st.cfg.initial_advertise_peer_urls = st.cfg.listen_peer_urls;
  st.cfg.listen_client_urls = *NewUrls({kDefaultListenClientUrls});
  st.cfg.advertise_client_urls = st.cfg.listen_client_urls;
  st.cfg.initial_cluster = DefaultInitialCluster();
  return st;
}

// What etcd does with a parsed configuration, from the command line or a file alike: embed.Config.Validate, then
// (etcdmain/etcd.go) UpdateDefaultClusterFromName and the default data dir, then the listeners' checks.
absl::StatusOr<DetcdConfig> Finish(State* st) {
  if (absl::Status s = Validate(st); !s.ok()) return s;
  DetcdConfig& c = st->cfg;
  if (c.name != kDefaultName && c.initial_cluster == DefaultInitialCluster()) {
    std::vector<std::string> members;
    for (const DetcdUrl& u : c.initial_advertise_peer_urls) {
      members.push_back(absl::StrCat(c.name.empty() ? kDefaultName : c.name, "=", u.String()));
    }
    c.initial_cluster = absl::StrJoin(members, ",");
  }
  if (c.data_dir.empty()) {
    c.data_dir = absl::StrCat(c.name, ".etcd");
    Warn(st, absl::StrCat("no data-dir provided, using default data-dir ./", c.data_dir));
  }
  if (absl::Status s = CheckListeners(st); !s.ok()) return s;
  return std::move(st->cfg);
}

}  // namespace

std::string DetcdUrl::String() const {
  std::string h = host.find(':') != std::string::npos ? absl::StrCat("[", host, "]") : host;
  return absl::StrCat(scheme, "://", h, ":", port);
}

absl::StatusOr<DetcdConfig> ParseDetcdFlags(const std::vector<std::string>& args,
                                            const std::map<std::string, std::string>& env,
                                            std::vector<std::string>* warnings) {
  State st = DefaultState(warnings);
  bool help = false;
  absl::StatusOr<std::vector<std::string>> rest = ParseCommandLine(args, &st, &help);
  if (!rest.ok()) return rest.status();
  if (help) {
    DetcdConfig c;
    c.action = DetcdFlagsAction::kPrintHelp;
    return c;
  }
  // etcdmain/config.go parse: leftover arguments, then --version, then the config file or the environment.
  if (!rest->empty()) return ConfigError(absl::StrCat("'", rest->front(), "' is not a valid flag"));
  if (st.print_version) {
    DetcdConfig c;
    c.action = DetcdFlagsAction::kPrintVersion;
    return c;
  }
  std::string config_file = st.config_file;
  if (config_file.empty()) {
    if (auto it = env.find(FlagToEnv("config-file")); it != env.end()) config_file = it->second;
  }
  if (!config_file.empty()) {  // every other flag was checked for syntax only, and is ignored, as etcd does
    DetcdConfig c;
    c.action = DetcdFlagsAction::kLoadConfigFile;
    c.config_file = config_file;
    return c;
  }
  if (absl::Status s = ApplyEnvironment(env, &st); !s.ok()) return s;
  // configFromCmdLine: listening on chosen client URLs disables the default advertised ones.
  if (st.set.count("listen-client-urls") && !st.set.count("advertise-client-urls")) {
    st.cfg.advertise_client_urls.clear();
  }
  return Finish(&st);
}

absl::StatusOr<DetcdConfig> DetcdConfigFromFileSettings(const std::string& path,
                                                        const std::vector<DetcdFileSetting>& settings,
                                                        std::vector<std::string>* warnings) {
  State st = DefaultState(warnings);
  st.cfg.config_file = path;
  for (const DetcdFileSetting& setting : settings) {
    const Flag* f = FindFlag(setting.flag);
    if (f == nullptr || f->kind == Kind::kIgnored || f->kind == Kind::kConfigFile || setting.flag == "version") {
      return absl::InternalError(absl::StrCat("config file key ", setting.key, " maps to no setting"));
    }
    // embed/config.go configFromFile: an empty URL list or cluster state leaves etcd's default.
    if ((f->kind == Kind::kUrls || f->kind == Kind::kClusterState) && setting.value.empty()) continue;
    std::string e = SetFlag(&st, *f, setting.value);
    if (e.empty()) {
      st.set.insert(setting.flag);
    } else if (f->kind == Kind::kUrls) {  // etcd's text, naming the key (etcd misnames advertise-client-urls)
      return ConfigError(absl::StrCat("unexpected error setting up ", setting.key, ": ", e));
    } else if (f->kind == Kind::kClusterState) {
      return ConfigError(absl::StrCat("unexpected clusterState ", GoQuote(setting.value)));
    } else {
      return ConfigError(absl::StrCat("invalid value ", GoQuote(setting.value), " for ", setting.key,
                                      " in config file ", GoQuote(path), ": ", e));
    }
  }
  absl::StatusOr<DetcdConfig> c = Finish(&st);
  if (c.ok()) DETCD_CHECK(c->config_file == path && c->action == DetcdFlagsAction::kRun);
  return c;
}

absl::StatusOr<std::map<std::string, std::vector<DetcdUrl>>> ParseInitialCluster(const std::string& text) {
  std::map<std::string, std::vector<std::string>> raw;  // pkg/types/urlsmap.go parse
  for (absl::string_view item : absl::StrSplit(text, ',')) {
    if (item.empty()) continue;
    std::string key(item), value;
    if (size_t eq = key.find('='); eq != std::string::npos) {
      value = key.substr(eq + 1);
      key = key.substr(0, eq);
    }
    raw[key].push_back(value);
  }
  std::map<std::string, std::vector<DetcdUrl>> out;
  for (const auto& [name, urls] : raw) {
    absl::StatusOr<std::vector<DetcdUrl>> parsed = NewUrls(urls);
    if (!parsed.ok()) return parsed.status();
    out[name] = *parsed;
  }
  return out;
}

absl::Status VerifyBootstrap(const DetcdConfig& c) {
  absl::StatusOr<std::map<std::string, std::vector<DetcdUrl>>> cluster = ParseInitialCluster(c.initial_cluster);
  if (!cluster.ok()) {  // embed/etcd.go StartEtcd
    return ConfigError(absl::StrCat("error setting up initial cluster: ", cluster.status().message()));
  }
  auto map_string = [](const std::map<std::string, std::vector<DetcdUrl>>& m) {  // URLsMap.String
    std::vector<std::string> pairs;
    for (const auto& [name, urls] : m) {
      for (const DetcdUrl& u : urls) pairs.push_back(absl::StrCat(name, "=", u.String()));
    }
    std::sort(pairs.begin(), pairs.end());
    return absl::StrJoin(pairs, ",");
  };
  // etcdserver/config.go hasLocalMember
  auto self = cluster->find(c.name);
  if (self == cluster->end()) {
    return ConfigError(
        absl::StrCat("couldn't find local name ", GoQuote(c.name), " in the initial cluster configuration"));
  }
  if (c.initial_cluster_state == "new") {  // advertiseMatchesCluster
    std::vector<std::string> ap = UrlStrings(c.initial_advertise_peer_urls), ic = UrlStrings(self->second);
    std::sort(ap.begin(), ap.end());
    std::sort(ic.begin(), ic.end());
    if (ap != ic) {
      std::string why;  // netutil.URLStringsEqual's error, without DNS resolution
      if (ap.size() != ic.size()) {
        why = absl::StrCat("len(", GoQuoteList(ap), ") != len(", GoQuoteList(ic), ")");
      } else {
        for (size_t i = 0; i < ap.size(); ++i) {
          if (ap[i] != ic[i]) {
            why = absl::StrCat("resolved urls: ", GoQuote(ap[i]), " != ", GoQuote(ic[i]));
            break;
          }
        }
      }
      std::vector<std::string> missing;
      for (const std::string& u : ic) {
        if (!std::count(ap.begin(), ap.end(), u)) missing.push_back(absl::StrCat(c.name, "=", u));
      }
      if (!missing.empty()) {
        return ConfigError(absl::StrCat("--initial-cluster has ", absl::StrJoin(missing, ","),
                                        " but missing from --initial-advertise-peer-urls=", absl::StrJoin(ap, ","),
                                        " (", why, ")"));
      }
      for (const std::string& u : ap) {
        if (!std::count(ic.begin(), ic.end(), u)) missing.push_back(u);
      }
      std::map<std::string, std::vector<DetcdUrl>> own = {{c.name, c.initial_advertise_peer_urls}};
      return ConfigError(absl::StrCat("--initial-advertise-peer-urls has ", absl::StrJoin(missing, ","),
                                      " but missing from --initial-cluster=", map_string(own)));
    }
  }
  std::set<std::string> seen;  // checkDuplicateURL
  for (const auto& [name, urls] : *cluster) {
    for (const DetcdUrl& u : urls) {
      if (!seen.insert(u.String()).second) {
        return ConfigError(absl::StrCat("initial cluster ", map_string(*cluster), " has duplicate url"));
      }
    }
  }
  return absl::OkStatus();
}

int DetcdFlagsExitCode(const absl::Status& status) {
  if (status.ok()) return 0;
  return status.code() == absl::StatusCode::kInvalidArgument ? 2 : 1;
}

const std::string& DetcdUsageText() {
  // etcdmain/help.go usageline, less the subcommands (gateway, grpc-proxy) detcd does not have.
  static const std::string kText =
      "Usage:\n\n"
      "  etcd [flags]\n    Start an etcd server.\n\n"
      "  etcd --version\n    Show the version of etcd.\n\n"
      "  etcd -h | --help\n    Show the help information about etcd.\n\n"
      "  etcd --config-file\n    Path to the server configuration file. Note that if a configuration file is "
      "provided, other command line flags and environment variables will be ignored.\n";
  return kText;
}

const std::string& DetcdHelpText() {
  // etcdmain/help.go flagsline, for the flags detcd implements.
  static const std::string kText =
      "\nMember:\n"
      "  --name 'default'\n    Human-readable name for this member.\n"
      "  --data-dir '${name}.etcd'\n    Path to the data directory.\n"
      "  --wal-dir ''\n    Path to the dedicated wal directory.\n"
      "  --snapshot-count '100000'\n    Number of committed transactions to trigger a snapshot to disk.\n"
      "  --heartbeat-interval '100'\n    Time (in milliseconds) of a heartbeat interval.\n"
      "  --election-timeout '1000'\n    Time (in milliseconds) for an election to timeout. See tuning "
      "documentation for details.\n"
      "  --listen-peer-urls 'http://localhost:2380'\n    List of URLs to listen on for peer traffic.\n"
      "  --listen-client-urls 'http://localhost:2379'\n    List of URLs to listen on for client traffic.\n"
      "  --quota-backend-bytes '0'\n    Sets the maximum size (in bytes) that the etcd backend database may "
      "consume. Exceeding this triggers an alarm and puts etcd in read-only mode. Set to 0 to use the default "
      "2GiB limit.\n"
      "  --max-txn-ops '128'\n    Maximum number of operations permitted in a transaction.\n"
      "  --max-request-bytes '1572864'\n    Maximum client request size in bytes the server will accept.\n"
      "\nClustering:\n"
      "  --initial-advertise-peer-urls 'http://localhost:2380'\n    List of this member's peer URLs to "
      "advertise to the rest of the cluster.\n"
      "  --initial-cluster 'default=http://localhost:2380'\n    Initial cluster configuration for "
      "bootstrapping.\n"
      "  --initial-cluster-state 'new'\n    Initial cluster state ('new' when bootstrapping a new cluster or "
      "'existing' when adding new members to an existing cluster).\n    After successful initialization "
      "(bootstrapping or adding), flag is ignored on restarts.\n"
      "  --initial-cluster-token 'etcd-cluster'\n    Initial cluster token for the etcd cluster during "
      "bootstrap.\n    Specifying this can protect you from unintended cross-cluster interaction when running "
      "multiple clusters.\n"
      "  --advertise-client-urls 'http://localhost:2379'\n    List of this member's client URLs to advertise "
      "to the public.\n    The client URLs advertised should be accessible to machines that talk to etcd "
      "cluster. etcd client libraries parse these URLs to connect to the cluster.\n"
      "  --strict-reconfig-check 'true'\n    Reject reconfiguration requests that would cause quorum loss.\n"
      "  --auto-compaction-retention '0'\n    Auto compaction retention length. 0 means disable auto "
      "compaction.\n"
      "  --auto-compaction-mode 'periodic'\n    Interpret 'auto-compaction-retention' one of: periodic|revision. "
      "'periodic' for duration based retention, defaulting to hours if no time unit is provided (e.g. '5m'). "
      "'revision' for revision number based retention.\n"
      "\nSecurity:\n"
      "  --cert-file ''\n    Path to the client server TLS cert file.\n"
      "  --key-file ''\n    Path to the client server TLS key file.\n"
      "  --client-cert-auth 'false'\n    Enable client cert authentication.\n"
      "  --client-crl-file ''\n    Path to the client certificate revocation list file (PEM or DER; re-read when it "
      "changes). A client certificate whose serial it revokes is refused.\n"
      "  --client-cert-allowed-hostname ''\n    Allowed TLS hostname for client cert authentication.\n"
      "  --trusted-ca-file ''\n    Path to the client server TLS trusted CA cert file.\n"
      "  --auto-tls 'false'\n    Client TLS using generated certificates.\n"
      "  --peer-cert-file ''\n    Path to the peer server TLS cert file.\n"
      "  --peer-key-file ''\n    Path to the peer server TLS key file.\n"
      "  --peer-client-cert-auth 'false'\n    Enable peer client cert authentication.\n"
      "  --peer-trusted-ca-file ''\n    Path to the peer server TLS trusted CA file.\n"
      "  --peer-cert-allowed-cn ''\n    Required CN for client certs connecting to the peer endpoint.\n"
      "  --peer-cert-allowed-hostname ''\n    Allowed TLS hostname for inter peer authentication.\n"
      "  --peer-auto-tls 'false'\n    Peer TLS using self-generated certificates if --peer-key-file and "
      "--peer-cert-file are not provided.\n"
      "  --peer-crl-file ''\n    Path to the peer certificate revocation list file (PEM or DER; re-read when it "
      "changes).\n"
      "  --cipher-suites ''\n    Comma-separated list of supported TLS cipher suites between client/server and peers "
      "(Go's names, e.g. TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256; they restrict TLS 1.2, TLS 1.3 keeps its suites; "
      "empty will be auto-populated by OpenSSL).\n"
      "\nAuth:\n"
      "  --auth-token 'simple'\n    Specify a v3 authentication token type and its options ('simple' or 'jwt', e.g. "
      "'jwt,pub-key=<path>,priv-key=<path>,sign-method=<RS256|PS256|ES256|HS256|...>,ttl=5m').\n"
      "  --bcrypt-cost 10\n    Specify the cost / strength of the bcrypt algorithm for hashing auth passwords. Valid "
      "values are between 4 and 31.\n"
      "  --auth-token-ttl 300\n    Time (in seconds) of the auth-token-ttl.\n"
      "\nProfiling and Monitoring:\n"
      "  --listen-metrics-urls ''\n    List of URLs to listen on for the metrics and health endpoints.\n"
      "\nLogging:\n"
      "  --logger 'capnslog'\n    Specify 'zap' for structured logging or 'capnslog'.\n"
      "  --log-level 'info'\n    Configures log level. Only supports debug, info, warn, error, panic, or "
      "fatal.\n"
      "\nUnsafe feature:\n"
      "  --force-new-cluster 'false'\n    Force to create a new one member cluster.\n";
  return kText;
}

std::string DetcdVersionText() {
  // etcd's four lines (etcdmain/config.go). The first carries the etcd release whose behaviour detcd
  // implements, because scripts grep "etcd Version: 3.4" to decide what a server supports; clients do not parse
  // this text (etcdctl reads the version over the API). The other lines are honest about what detcd is: there is
  // no stamped git SHA (builds run with --nostamp) and no Go toolchain.
#if defined(__x86_64__)
  const char* arch = "amd64";
#elif defined(__aarch64__)
  const char* arch = "arm64";
#else
  const char* arch = "unknown";
#endif
  return absl::StrCat("etcd Version: ", kEtcdCompatibleVersion, "\n",
                      "Git SHA: Not provided (detcd, a C++ implementation of etcd)\n",
                      "Go Version: none (detcd is C++)\n", "Go OS/Arch: linux/", arch, "\n");
}

}  // namespace detcd
