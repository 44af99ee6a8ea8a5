// The command line of the `detcd` server: etcd 3.4's flags, ETCD_* environment variables, defaults, validation
// and error strings, parsed into a typed DetcdConfig.
//
// This unit is pure: it never reads the environment, the clock or the disk and never prints. The caller passes
// argv (without argv[0]) and the environment, then prints what it is told and exits with DetcdFlagsExitCode(). When
// --config-file or ETCD_CONFIG_FILE names etcd's YAML config file, the caller loads it (cmd/detcd_config_file.h),
// whose settings come back here (DetcdConfigFromFileSettings) to be parsed and validated as the flags are.
// Reference: etcd v3.4.45 — etcdmain/config.go, etcdmain/etcd.go, embed/config.go, embed/etcd.go,
// etcdserver/config.go, pkg/flags, pkg/types and Go's `flag` package semantics (single or double dash,
// `-f=v` or `-f v`, booleans only as `-f` or `-f=v`, parsing stops at the first non-flag or after `--`).
#ifndef DETCD_CMD_DETCD_FLAGS_H_
#define DETCD_CMD_DETCD_FLAGS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "net/auth_token_config.h"

namespace detcd {

// One URL of a URL-list flag, after etcd's checks (scheme http|https|unix|unixs, "host:port", no path).
struct DetcdUrl {
  std::string scheme;  // lower case, as Go's url.Parse leaves it
  std::string host;    // without brackets for IPv6; may be empty ("http://:2379")
  std::string port;    // digits or empty; kept as text because Go keeps it as text

  // Go's url.URL.String() for these URLs: "scheme://host:port" (IPv6 hosts bracketed). Query, fragment and
  // user info, which etcd accepts and ignores, are dropped.
  std::string String() const;
  bool operator==(const DetcdUrl& o) const { return scheme == o.scheme && host == o.host && port == o.port; }
};

struct DetcdTlsFiles {
  std::string cert_file;
  std::string key_file;
  std::string trusted_ca_file;
  bool client_cert_auth = false;
  std::string crl_file;          // --client-crl-file / --peer-crl-file ("": none)
  std::string allowed_cn;        // --peer-cert-allowed-cn (peer side only)
  std::string allowed_hostname;  // --client-cert-allowed-hostname / --peer-cert-allowed-hostname
};

// What the caller does after a successful parse.
enum class DetcdFlagsAction {
  kRun,           // start the server with this config
  kPrintHelp,     // print DetcdUsageText() to stderr, DetcdHelpText() to stdout, exit 0 (etcd's -h/--help)
  kPrintVersion,  // print DetcdVersionText() to stdout, exit 0
  // --config-file or ETCD_CONFIG_FILE named a file (DetcdConfig::config_file): load it with LoadDetcdConfigFile
  // (cmd/detcd_config_file.h). Every other flag and ETCD_* variable is ignored then, as etcd ignores them.
  kLoadConfigFile,
};

inline constexpr char kDefaultName[] = "default";
inline constexpr char kDefaultListenClientUrls[] = "http://localhost:2379";
inline constexpr char kDefaultListenPeerUrls[] = "http://localhost:2380";
// etcd's backend quota when --quota-backend-bytes is 0 (etcdserver.DefaultQuotaBytes).
inline constexpr int64_t kDefaultQuotaBackendBytes = int64_t{2} * 1024 * 1024 * 1024;
// The etcd release whose command-line behaviour this unit reproduces and whose number --version reports.
inline constexpr char kEtcdCompatibleVersion[] = "3.4.45";

struct DetcdConfig {
  DetcdFlagsAction action = DetcdFlagsAction::kRun;
  // The etcd config file (--config-file) to load (kLoadConfigFile) or that this configuration was loaded from; ""
  // when it comes from the command line and the environment.
  std::string config_file;

  // member
  std::string name = kDefaultName;
  std::string data_dir;  // "${name}.etcd" when not given (etcd substitutes after validation; so do we)
  std::string wal_dir;
  std::vector<DetcdUrl> listen_peer_urls;           // sorted and de-duplicated, as etcd's flags do
  std::vector<DetcdUrl> listen_client_urls;
  std::vector<DetcdUrl> listen_metrics_urls;        // empty by default
  uint64_t snapshot_count = 100000;
  uint64_t heartbeat_interval_ms = 100;
  uint64_t election_timeout_ms = 1000;
  int64_t quota_backend_bytes = 0;                  // 0 means kDefaultQuotaBackendBytes
  uint64_t max_request_bytes = 1572864;
  uint64_t max_txn_ops = 128;

  // clustering
  std::vector<DetcdUrl> initial_advertise_peer_urls;
  std::vector<DetcdUrl> advertise_client_urls;
  // Text of --initial-cluster, rebuilt from name and advertised peer URLs when the name is not "default" and
  // the flag was left at its default (etcd's UpdateDefaultClusterFromName). Parsed by ParseInitialCluster().
  std::string initial_cluster;
  std::string initial_cluster_state = "new";        // "new" | "existing"
  std::string initial_cluster_token = "etcd-cluster";
  bool strict_reconfig_check = true;
  std::string auto_compaction_mode = "periodic";    // "periodic" | "revision"
  std::string auto_compaction_retention = "0";      // the text, as etcd keeps it
  // Parsed retention: for "periodic" a duration (bare integers are hours), for "revision" a revision count.
  int64_t auto_compaction_retention_ms = 0;
  int64_t auto_compaction_retention_revisions = 0;

  // security
  DetcdTlsFiles client_tls;
  bool client_auto_tls = false;
  DetcdTlsFiles peer_tls;
  bool peer_auto_tls = false;
  // --cipher-suites: Go's names as given, checked (etcd's "unexpected TLS cipher suite") when the member starts, as
  // etcd checks them; applied to client and peer TLS. Empty: Go's (here OpenSSL's) defaults. An explicit empty value
  // is taken as empty (etcd 3.4.23 refuses it as the suite "").
  std::vector<std::string> cipher_suites;

  // auth
  // --auth-token as given, checked as etcd checks it when the member starts (net::ParseAuthTokenConfig); parsed
  // into auth_token_config. The JWT key files it names are read when the token provider is made, not here.
  std::string auth_token = "simple";
  net::AuthTokenConfig auth_token_config;
  uint64_t auth_token_ttl_s = 300;  // --auth-token-ttl: the lifetime of a simple token
  // --bcrypt-cost, in [4,31]; etcd warns about another value and uses its default, 10 (auth.NewAuthStore).
  int bcrypt_cost = 10;

  // logging
  std::string logger = "capnslog";                  // "capnslog" | "zap"
  std::string log_level = "info";

  // unsafe
  bool force_new_cluster = false;

  // etcd settings detcd honours beyond the above.
  bool pre_vote = false;                                 // etcd 3.4's default: no pre-vote phase
  uint64_t max_snapshots = 5;                            // snapshot files kept (0: unlimited)
  uint64_t max_wals = 5;                                 // WAL files kept once a snapshot covers them (0: unlimited)
  uint32_t max_concurrent_streams = 0xffffffffu;         // per client connection (HTTP/2 SETTINGS)
  int64_t watch_progress_notify_interval_ms = 600'000;   // --experimental-watch-progress-notify-interval
  bool initial_corrupt_check = false;                    // --experimental-initial-corrupt-check
  int64_t corrupt_check_time_ms = 0;                     // --experimental-corrupt-check-time (0: no periodic check)
  // --grpc-keepalive-min-time, -interval and -timeout as given (zero or less: grpc-go's defaults, as etcd leaves
  // them; see net::EtcdKeepaliveOptions).
  int64_t grpc_keepalive_min_time_ns = 5'000'000'000;      // least time between a client's pings, a call open
  int64_t grpc_keepalive_interval_ns = 7'200'000'000'000;  // a client's silence after which the server pings it
  int64_t grpc_keepalive_timeout_ns = 20'000'000'000;      // then waits this long to hear from it, or closes
  std::vector<std::string> log_outputs = {"default"};    // "default", "stderr", "stdout", or (zap) file paths

  // Every other etcd 3.4 setting that was given (flag name -> value as given). Each was checked for etcd's syntax;
  // the values that leave a missing feature off (etcd's defaults) are accepted, any other is refused by
  // ParseDetcdFlags with the feature's name; those that tune a part detcd does not have are accepted with a warning.
  std::map<std::string, std::string> etcd_settings;
};

// Parses argv[1:] and the environment the way etcd 3.4 does. Messages etcd logs at warning level (unrecognized
// ETCD_* variables, ignored legacy flags, TLS files ignored on http URLs, defaulted data dir) are appended to
// *warnings (may be null) without a log prefix.
//
// Errors, by status code (see DetcdFlagsExitCode):
//   kInvalidArgument    Go `flag` package errors (unknown flag, bad value, missing argument). etcd prints the
//                       message and the usage text to stderr and exits 2.
//   kFailedPrecondition configuration errors (etcd exits 1). etcd 3.4 with its default logger prints most as
//                       "error verifying flags, <message>. See 'etcd --help'."
//
// Checks etcd runs only for a member whose data dir holds no WAL yet are in VerifyBootstrap(), not here.
absl::StatusOr<DetcdConfig> ParseDetcdFlags(const std::vector<std::string>& args,
                                            const std::map<std::string, std::string>& env,
                                            std::vector<std::string>* warnings);

// One setting of an etcd config file, as the command-line flag it stands for.
struct DetcdFileSetting {
  std::string key;    // the file's key as written ("client-transport-security.cert-file"), for messages
  std::string flag;   // the flag it sets ("cert-file")
  std::string value;  // the value in the flag's text form
};

// etcd 3.4's configuration from a config file (embed.ConfigFromFile and what etcdmain does after it): etcd's
// defaults, then each setting in order, set and checked exactly as its flag is on the command line, then the same
// validation, default cluster, default data dir and listener checks as ParseDetcdFlags. What the command line alone
// does is not done: no ETCD_* variable is read, and listening on chosen client URLs leaves the advertised client
// URLs at their default (etcd's configFromFile keeps them). `path` is kept in DetcdConfig::config_file. Errors are
// kFailedPrecondition (etcd exits 1), with etcd's text where it has one ("unexpected error setting up
// listen-peer-urls: ..."); a `flag` that is not one of detcd's is kInternal (a bug in the caller's key table).
absl::StatusOr<DetcdConfig> DetcdConfigFromFileSettings(const std::string& path,
                                                        const std::vector<DetcdFileSetting>& settings,
                                                        std::vector<std::string>* warnings);

// etcd's checks of --initial-cluster against --name and --initial-advertise-peer-urls, which it runs only when
// starting a member that is not initialized yet (no WAL): for state "new" VerifyBootstrap, for "existing"
// VerifyJoinExisting. Call it before creating anything in the data dir. URLs are compared as text: etcd would
// also resolve DNS names before reporting a mismatch, a pure function cannot.
absl::Status VerifyBootstrap(const DetcdConfig& config);

// The member name → peer URLs map of --initial-cluster ("a=http://1.2.3.4:2380,b=...").
absl::StatusOr<std::map<std::string, std::vector<DetcdUrl>>> ParseInitialCluster(const std::string& text);

// etcd's exit status for a ParseDetcdFlags / VerifyBootstrap error: 2 for flag syntax errors, else 1.
int DetcdFlagsExitCode(const absl::Status& status);

// Texts the caller prints. Usage goes to stderr (after a flag syntax error, and before the help text).
const std::string& DetcdUsageText();
const std::string& DetcdHelpText();
std::string DetcdVersionText();

}  // namespace detcd

#endif  // DETCD_CMD_DETCD_FLAGS_H_
