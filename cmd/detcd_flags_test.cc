#include "cmd/detcd_flags.h"

#include <cstdint>
#include <random>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"

namespace detcd {
namespace {

using Env = std::map<std::string, std::string>;

absl::StatusOr<DetcdConfig> Parse(std::vector<std::string> args, Env env = {},
                                  std::vector<std::string>* warnings = nullptr) {
  return ParseDetcdFlags(args, env, warnings);
}

std::string Error(std::vector<std::string> args, Env env = {}) {
  absl::StatusOr<DetcdConfig> c = Parse(args, env);
  EXPECT_FALSE(c.ok()) << "parsed: " << testing::PrintToString(args);
  return c.ok() ? "" : std::string(c.status().message());
}

int ExitCode(std::vector<std::string> args, Env env = {}) { return DetcdFlagsExitCode(Parse(args, env).status()); }

std::vector<std::string> Strings(const std::vector<DetcdUrl>& urls) {
  std::vector<std::string> out;
  for (const DetcdUrl& u : urls) out.push_back(u.String());
  return out;
}

using V = std::vector<std::string>;

TEST(DetcdFlags, Defaults) {
  std::vector<std::string> warnings;
  absl::StatusOr<DetcdConfig> c = Parse({}, {}, &warnings);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->action, DetcdFlagsAction::kRun);
  EXPECT_EQ(c->name, "default");
  EXPECT_EQ(c->data_dir, "default.etcd");
  EXPECT_EQ(warnings, V{"no data-dir provided, using default data-dir ./default.etcd"});
  EXPECT_EQ(c->wal_dir, "");
  EXPECT_EQ(Strings(c->listen_client_urls), V{"http://localhost:2379"});
  EXPECT_EQ(Strings(c->advertise_client_urls), V{"http://localhost:2379"});
  EXPECT_EQ(Strings(c->listen_peer_urls), V{"http://localhost:2380"});
  EXPECT_EQ(Strings(c->initial_advertise_peer_urls), V{"http://localhost:2380"});
  EXPECT_TRUE(c->listen_metrics_urls.empty());
  EXPECT_EQ(c->listen_client_urls[0].scheme, "http");
  EXPECT_EQ(c->listen_client_urls[0].host, "localhost");
  EXPECT_EQ(c->listen_client_urls[0].port, "2379");
  EXPECT_EQ(c->initial_cluster, "default=http://localhost:2380");
  EXPECT_EQ(c->initial_cluster_state, "new");
  EXPECT_EQ(c->initial_cluster_token, "etcd-cluster");
  EXPECT_EQ(c->snapshot_count, 100000u);
  EXPECT_EQ(c->heartbeat_interval_ms, 100u);
  EXPECT_EQ(c->election_timeout_ms, 1000u);
  EXPECT_EQ(c->quota_backend_bytes, 0);
  EXPECT_EQ(c->max_request_bytes, 1572864u);
  EXPECT_EQ(c->max_txn_ops, 128u);
  EXPECT_EQ(c->auto_compaction_mode, "periodic");
  EXPECT_EQ(c->auto_compaction_retention, "0");
  EXPECT_EQ(c->auto_compaction_retention_ms, 0);
  EXPECT_TRUE(c->strict_reconfig_check);
  EXPECT_FALSE(c->force_new_cluster);
  EXPECT_FALSE(c->client_auto_tls);
  EXPECT_FALSE(c->peer_auto_tls);
  EXPECT_EQ(c->logger, "capnslog");
  EXPECT_EQ(c->log_level, "info");
  EXPECT_TRUE(VerifyBootstrap(*c).ok());
}

TEST(DetcdFlags, EveryFlagForm) {
  for (const V& args : {V{"--name=n1"}, V{"--name", "n1"}, V{"-name=n1"}, V{"-name", "n1"}}) {
    absl::StatusOr<DetcdConfig> c = Parse(args);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->name, "n1");
    EXPECT_EQ(c->data_dir, "n1.etcd");
    // Name given, initial cluster left at its default: etcd rebuilds it from the name.
    EXPECT_EQ(c->initial_cluster, "n1=http://localhost:2380");
  }
  for (const V& args : {V{"--force-new-cluster"}, V{"-force-new-cluster"}, V{"--force-new-cluster=true"},
                        V{"--force-new-cluster=1"}, V{"--force-new-cluster=T"}}) {
    EXPECT_TRUE(Parse(args)->force_new_cluster) << args[0];
  }
  EXPECT_FALSE(Parse({"--strict-reconfig-check=false"})->strict_reconfig_check);
  EXPECT_FALSE(Parse({"--strict-reconfig-check=0"})->strict_reconfig_check);
  // A boolean never takes the next argument: "false" is left over, and etcd refuses left-overs.
  EXPECT_EQ(Error({"--strict-reconfig-check", "false"}), "'false' is not a valid flag");
  EXPECT_EQ(ExitCode({"--strict-reconfig-check", "false"}), 1);
  // Everything else, both forms.
  absl::StatusOr<DetcdConfig> c = Parse(
      {"--data-dir", "/d", "--wal-dir=/w", "--snapshot-count", "5", "--heartbeat-interval=50",
       "--election-timeout", "500", "--quota-backend-bytes=8589934592", "--max-request-bytes", "0x100",
       "--max-txn-ops=1_000", "--initial-cluster-state", "existing", "--initial-cluster-token=tok",
       "--auto-compaction-mode=revision", "--auto-compaction-retention", "1000", "--cert-file=c", "--key-file",
       "k", "--trusted-ca-file=ca", "--client-cert-auth", "--auto-tls", "--peer-cert-file=pc", "--peer-key-file",
       "pk", "--peer-trusted-ca-file=pca", "--peer-client-cert-auth=true", "--peer-auto-tls=false",
       "--listen-metrics-urls=http://127.0.0.1:2381", "--logger", "zap", "--log-level=debug"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->data_dir, "/d");
  EXPECT_EQ(c->wal_dir, "/w");
  EXPECT_EQ(c->snapshot_count, 5u);
  EXPECT_EQ(c->heartbeat_interval_ms, 50u);
  EXPECT_EQ(c->election_timeout_ms, 500u);
  EXPECT_EQ(c->quota_backend_bytes, int64_t{8589934592});
  EXPECT_EQ(c->max_request_bytes, 256u);
  EXPECT_EQ(c->max_txn_ops, 1000u);
  EXPECT_EQ(c->initial_cluster_state, "existing");
  EXPECT_EQ(c->initial_cluster_token, "tok");
  EXPECT_EQ(c->auto_compaction_mode, "revision");
  EXPECT_EQ(c->auto_compaction_retention_revisions, 1000);
  EXPECT_EQ(c->client_tls.cert_file, "c");
  EXPECT_EQ(c->client_tls.key_file, "k");
  EXPECT_EQ(c->client_tls.trusted_ca_file, "ca");
  EXPECT_TRUE(c->client_tls.client_cert_auth);
  EXPECT_TRUE(c->client_auto_tls);
  EXPECT_EQ(c->peer_tls.cert_file, "pc");
  EXPECT_EQ(c->peer_tls.key_file, "pk");
  EXPECT_EQ(c->peer_tls.trusted_ca_file, "pca");
  EXPECT_TRUE(c->peer_tls.client_cert_auth);
  EXPECT_FALSE(c->peer_auto_tls);
  EXPECT_EQ(Strings(c->listen_metrics_urls), V{"http://127.0.0.1:2381"});
  EXPECT_EQ(c->logger, "zap");
  EXPECT_EQ(c->log_level, "debug");
  // Periodic retention: a bare integer is hours, else a Go duration.
  EXPECT_EQ(Parse({"--auto-compaction-retention=2"})->auto_compaction_retention_ms, 2 * 3600000);
  EXPECT_EQ(Parse({"--auto-compaction-retention=1h30m"})->auto_compaction_retention_ms, 5400000);
  EXPECT_EQ(Parse({"--auto-compaction-retention=500ms"})->auto_compaction_retention_ms, 500);
  // The last occurrence of a flag wins; "--" ends the flags.
  EXPECT_EQ(Parse({"--name=a", "--name=b"})->name, "b");
  EXPECT_TRUE(Parse({"--"}).ok());
  EXPECT_EQ(Error({"--", "--name=x"}), "'--name=x' is not a valid flag");
}

TEST(DetcdFlags, UrlListsAreSortedDeduplicatedAndAdvertisedTogether) {
  absl::StatusOr<DetcdConfig> c =
      Parse({"--listen-client-urls", "http://10.0.0.2:2379, http://10.0.0.1:2379,http://10.0.0.2:2379",
             "--advertise-client-urls=https://[::1]:2379", "--cert-file=c", "--key-file=k"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(Strings(c->listen_client_urls), (V{"http://10.0.0.1:2379", "http://10.0.0.2:2379"}));
  EXPECT_EQ(c->advertise_client_urls[0].host, "::1");
  EXPECT_EQ(Strings(c->advertise_client_urls), V{"https://[::1]:2379"});
  // etcd accepts unix sockets for listening.
  EXPECT_TRUE(Parse({"--listen-client-urls=unix://localhost:1234", "--advertise-client-urls=unix://localhost:1234"})
                  .ok());
  // An empty URL list is etcd's allowed exception: the flag counts as set but keeps its value.
  c = Parse({"--listen-peer-urls="});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(Strings(c->listen_peer_urls), V{"http://localhost:2380"});
  // Listening on explicit client URLs drops the default advertised ones (etcdmain/config.go).
  EXPECT_EQ(Error({"--listen-client-urls=http://0.0.0.0:2379"}),
            "--advertise-client-urls is required when --listen-client-urls is set explicitly");
  EXPECT_EQ(ExitCode({"--listen-client-urls=http://0.0.0.0:2379"}), 1);
}

// A listen URL must name an IP (etcd's checkBindURLs). A host with a long run of digits between its dots is no
// IPv4 address, and reading it must not overflow (the config file fuzzer found that).
TEST(DetcdFlags, ListenHostsWithLongDigitRunsAreNotIpAddresses) {
  const std::string host = "10.0." + std::string(60, '2') + ".1";
  EXPECT_EQ(Error({"--listen-client-urls=http://" + host + ":2379", "--advertise-client-urls=http://10.0.0.1:2379"}),
            "expected IP in URL for binding (http://" + host + ":2379)");
  EXPECT_EQ(Error({"--listen-client-urls=http://10.0.0.2222:2379", "--advertise-client-urls=http://10.0.0.1:2379"}),
            "expected IP in URL for binding (http://10.0.0.2222:2379)");
  EXPECT_TRUE(Parse({"--listen-client-urls=http://10.0.0.255:2379", "--advertise-client-urls=http://10.0.0.1:2379"})
                  .ok());
}

TEST(DetcdFlags, EnvironmentVariables) {
  std::vector<std::string> warnings;
  absl::StatusOr<DetcdConfig> c = Parse(
      {}, {{"ETCD_NAME", "e1"}, {"ETCD_DATA_DIR", "/var/e1"}, {"ETCD_ELECTION_TIMEOUT", "2000"},
           {"ETCD_LISTEN_CLIENT_URLS", "http://127.0.0.1:2379"}, {"ETCD_ADVERTISE_CLIENT_URLS", "http://e1:2379"},
           {"ETCD_AUTO_TLS", "true"}, {"ETCD_INITIAL_CLUSTER_STATE", "existing"}, {"ETCD_EMPTY_IS_IGNORED", ""},
           {"ETCD_NAME_TYPO", "x"}, {"HOME", "/root"}, {"ETCD_HEARTBEAT_INTERVAL", ""}},
      &warnings);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->name, "e1");
  EXPECT_EQ(c->data_dir, "/var/e1");
  EXPECT_EQ(c->election_timeout_ms, 2000u);
  EXPECT_EQ(c->heartbeat_interval_ms, 100u);  // an empty variable is not used
  EXPECT_TRUE(c->client_auto_tls);
  EXPECT_EQ(c->initial_cluster_state, "existing");
  EXPECT_EQ(Strings(c->advertise_client_urls), V{"http://e1:2379"});
  EXPECT_EQ(warnings, (V{"unrecognized environment variable ETCD_EMPTY_IS_IGNORED=",
                         "unrecognized environment variable ETCD_HEARTBEAT_INTERVAL=",
                         "unrecognized environment variable ETCD_NAME_TYPO=x"}));
  // A listen URL from the environment counts as set: the advertised default is dropped, as in etcd.
  EXPECT_EQ(Error({}, {{"ETCD_LISTEN_CLIENT_URLS", "http://127.0.0.1:2379"}}),
            "--advertise-client-urls is required when --listen-client-urls is set explicitly");
  // Bad values name the variable.
  EXPECT_EQ(Error({}, {{"ETCD_ELECTION_TIMEOUT", "x"}}), "invalid value \"x\" for ETCD_ELECTION_TIMEOUT: parse error");
  EXPECT_EQ(ExitCode({}, {{"ETCD_ELECTION_TIMEOUT", "x"}}), 1);
  EXPECT_EQ(Error({}, {{"ETCD_AUTO_TLS", "yes"}}), "invalid value \"yes\" for ETCD_AUTO_TLS: parse error");
  EXPECT_EQ(Error({}, {{"ETCD_INITIAL_CLUSTER_STATE", "old"}}),
            "invalid value \"old\" for ETCD_INITIAL_CLUSTER_STATE: invalid value");
  EXPECT_EQ(Error({}, {{"ETCD_LISTEN_PEER_URLS", "ftp://1.2.3.4:1"}}),
            "invalid value \"ftp://1.2.3.4:1\" for ETCD_LISTEN_PEER_URLS: URL scheme must be http, https, unix, or "
            "unixs: ftp://1.2.3.4:1");
  // Ignored legacy flags are recognized in the environment too.
  warnings.clear();
  ASSERT_TRUE(Parse({}, {{"ETCD_PEER_ELECTION_TIMEOUT", "1"}}, &warnings).ok());
  EXPECT_EQ(warnings[0], "flag \"-peer-election-timeout\" is no longer supported - ignoring.");
}

TEST(DetcdFlags, CommandLineAndEnvironmentBothSetIsFatalAsInEtcd) {
  // pkg/flags/flag.go verifyEnv: plog.Fatalf, exit 1 — even when both say the same thing.
  const std::string want =
      "conflicting environment variable \"ETCD_NAME\" is shadowed by corresponding command-line flag (either "
      "unset environment variable or disable flag)";
  EXPECT_EQ(Error({"--name=a"}, {{"ETCD_NAME", "b"}}), want);
  EXPECT_EQ(Error({"--name=a"}, {{"ETCD_NAME", "a"}}), want);
  EXPECT_EQ(Error({"-name", "a"}, {{"ETCD_NAME", ""}}), want);
  EXPECT_EQ(ExitCode({"--name=a"}, {{"ETCD_NAME", "b"}}), 1);
}

TEST(DetcdFlags, FlagSyntaxErrorsAreGoFlagPackageErrorsWithExitTwo) {
  EXPECT_EQ(Error({"--foo"}), "flag provided but not defined: -foo");
  EXPECT_EQ(Error({"-foo=1"}), "flag provided but not defined: -foo");
  EXPECT_EQ(ExitCode({"--foo"}), 2);
  EXPECT_EQ(Error({"--election-timeout=x"}), "invalid value \"x\" for flag -election-timeout: parse error");
  EXPECT_EQ(Error({"--election-timeout", "-1"}), "invalid value \"-1\" for flag -election-timeout: parse error");
  EXPECT_EQ(Error({"--snapshot-count=99999999999999999999"}),
            "invalid value \"99999999999999999999\" for flag -snapshot-count: value out of range");
  EXPECT_EQ(Error({"--max-txn-ops=1__0"}), "invalid value \"1__0\" for flag -max-txn-ops: parse error");
  EXPECT_EQ(ExitCode({"--election-timeout=x"}), 2);
  EXPECT_EQ(Error({"--auto-tls=yes"}), "invalid boolean value \"yes\" for -auto-tls: parse error");
  EXPECT_EQ(Error({"--name"}), "flag needs an argument: -name");
  EXPECT_EQ(Error({"---name=x"}), "bad flag syntax: ---name=x");
  EXPECT_EQ(Error({"-=x"}), "bad flag syntax: -=x");
  EXPECT_EQ(Error({"--initial-cluster-state=old"}),
            "invalid value \"old\" for flag -initial-cluster-state: invalid value");
  EXPECT_EQ(Error({"--unsafe-no-fsync"}), "flag provided but not supported by detcd: -unsafe-no-fsync");
  EXPECT_EQ(ExitCode({"--unsafe-no-fsync"}), 2);
  EXPECT_EQ(Error({"--grpc-keepalive-min-time=5"}),
            "invalid value \"5\" for flag -grpc-keepalive-min-time: time: missing unit in duration \"5\"");
  EXPECT_EQ(Error({"--enable-v2=maybe"}), "invalid boolean value \"maybe\" for -enable-v2: parse error");
  EXPECT_EQ(Error({"--max-wals=-1"}), "invalid value \"-1\" for flag -max-wals: parse error");
  // Left-over arguments: etcdmain/config.go, exit 1.
  EXPECT_EQ(Error({"foo"}), "'foo' is not a valid flag");
  EXPECT_EQ(Error({"--name", "a", "foo", "--name=b"}), "'foo' is not a valid flag");
  EXPECT_EQ(ExitCode({"foo"}), 1);
  // Ignored legacy flags are booleans that only warn.
  std::vector<std::string> warnings;
  ASSERT_TRUE(Parse({"-v"}, {}, &warnings).ok());
  EXPECT_EQ(warnings[0], "flag \"-v\" is no longer supported - ignoring.");
}

// Every flag of etcd 3.4.23's --help (Debian's etcd), as etcd's own tooling passes it, at etcd's default value: all
// accepted, on the command line and as ETCD_* variables.
constexpr const char* kEtcdDefaults[][2] = {
    {"name", "default"}, {"data-dir", "d"}, {"wal-dir", ""}, {"snapshot-count", "100000"},
    {"heartbeat-interval", "100"}, {"election-timeout", "1000"}, {"initial-election-tick-advance", "true"},
    {"listen-peer-urls", "http://localhost:2380"}, {"listen-client-urls", "http://localhost:2379"},
    {"max-snapshots", "5"}, {"max-wals", "5"}, {"quota-backend-bytes", "0"}, {"backend-batch-interval", "0"},
    {"backend-batch-limit", "0"}, {"max-txn-ops", "128"}, {"max-request-bytes", "1572864"},
    {"max-concurrent-streams", "4294967295"}, {"grpc-keepalive-min-time", "5s"}, {"grpc-keepalive-interval", "2h"},
    {"grpc-keepalive-timeout", "20s"}, {"initial-advertise-peer-urls", "http://localhost:2380"},
    {"initial-cluster", "default=http://localhost:2380"}, {"initial-cluster-state", "new"},
    {"initial-cluster-token", "etcd-cluster"}, {"advertise-client-urls", "http://localhost:2379"},
    {"discovery", ""}, {"discovery-fallback", "proxy"}, {"discovery-proxy", ""}, {"discovery-srv", ""},
    {"discovery-srv-name", ""}, {"strict-reconfig-check", "true"}, {"pre-vote", "false"},
    {"auto-compaction-retention", "0"}, {"auto-compaction-mode", "periodic"}, {"enable-v2", "false"},
    {"ca-file", ""}, {"cert-file", ""}, {"key-file", ""}, {"client-cert-auth", "false"}, {"client-crl-file", ""},
    {"client-cert-allowed-hostname", ""}, {"trusted-ca-file", ""}, {"auto-tls", "false"}, {"peer-ca-file", ""},
    {"peer-cert-file", ""}, {"peer-key-file", ""}, {"peer-client-cert-auth", "false"},
    {"peer-trusted-ca-file", ""}, {"peer-cert-allowed-cn", ""}, {"peer-cert-allowed-hostname", ""},
    {"peer-auto-tls", "false"}, {"peer-crl-file", ""}, {"cipher-suites", ""}, {"cors", "*"},
    {"host-whitelist", "*"}, {"auth-token", "simple"}, {"bcrypt-cost", "10"}, {"auth-token-ttl", "300"},
    {"enable-pprof", "false"}, {"metrics", "basic"}, {"listen-metrics-urls", ""}, {"logger", "capnslog"},
    {"log-outputs", "default"}, {"log-level", "info"}, {"proxy", "off"}, {"proxy-failure-wait", "5000"},
    {"proxy-refresh-interval", "30000"}, {"proxy-dial-timeout", "1000"}, {"proxy-write-timeout", "5000"},
    {"proxy-read-timeout", "0"}, {"experimental-initial-corrupt-check", "false"},
    {"experimental-corrupt-check-time", "0s"}, {"experimental-enable-v2v3", ""},
    {"experimental-backend-bbolt-freelist-type", "array"}, {"experimental-enable-lease-checkpoint", "false"},
    {"experimental-compaction-batch-limit", "1000"}, {"experimental-peer-skip-client-san-verification", "false"},
    {"experimental-watch-progress-notify-interval", "10m"}, {"experimental-warning-apply-duration", "100ms"},
    {"force-new-cluster", "false"}, {"debug", "false"}, {"log-package-levels", ""}};

TEST(DetcdFlags, EveryEtcdFlagAtItsDefaultIsAccepted) {
  std::vector<std::string> args;
  Env env;
  for (const auto& [name, value] : kEtcdDefaults) {
    const std::string n = name;
    if (n == "ca-file" || n == "peer-ca-file") continue;  // deprecated in etcd 3.4 and gone from its flag set
    args.push_back(absl::StrCat("--", n, "=", value));
    std::string key = absl::StrCat("ETCD_", n);
    for (char& c : key) c = c == '-' ? '_' : absl::ascii_toupper(c);
    if (!std::string(value).empty()) env[key] = value;
  }
  std::vector<std::string> warnings;
  absl::StatusOr<DetcdConfig> from_flags = Parse(args, {}, &warnings);
  ASSERT_TRUE(from_flags.ok()) << from_flags.status();
  absl::StatusOr<DetcdConfig> from_env = Parse({}, env);
  ASSERT_TRUE(from_env.ok()) << from_env.status();
  for (const DetcdConfig* c : {&*from_flags, &*from_env}) {
    EXPECT_FALSE(c->pre_vote);
    EXPECT_EQ(c->max_snapshots, 5u);
    EXPECT_EQ(c->max_wals, 5u);
    EXPECT_EQ(c->max_concurrent_streams, 0xffffffffu);
    EXPECT_EQ(c->watch_progress_notify_interval_ms, 600'000);
    EXPECT_EQ(c->grpc_keepalive_min_time_ns, 5'000'000'000);
    EXPECT_EQ(c->grpc_keepalive_interval_ns, 7'200'000'000'000);
    EXPECT_EQ(c->grpc_keepalive_timeout_ns, 20'000'000'000);
    EXPECT_EQ(c->log_outputs, std::vector<std::string>{"default"});
    EXPECT_EQ(c->auth_token, "simple");
    EXPECT_EQ(c->auth_token_config.kind, net::AuthTokenConfig::kSimple);
    EXPECT_EQ(c->bcrypt_cost, 10);
    EXPECT_EQ(c->auth_token_ttl_s, 300u);
  }
  // A setting that tunes what detcd lacks says so; none is silently dropped.
  bool bbolt_warned = false;
  for (const std::string& w : warnings) bbolt_warned |= absl::StrContains(w, "--backend-batch-limit has no effect");
  EXPECT_TRUE(bbolt_warned) << absl::StrJoin(warnings, "\n");
}

TEST(DetcdFlags, GrpcKeepaliveFlagsAreHonouredWithoutAWarning) {
  // Left out, etcd's defaults.
  absl::StatusOr<DetcdConfig> d = Parse({});
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->grpc_keepalive_min_time_ns, 5'000'000'000);
  EXPECT_EQ(d->grpc_keepalive_interval_ns, 7'200'000'000'000);
  EXPECT_EQ(d->grpc_keepalive_timeout_ns, 20'000'000'000);
  // Given, they reach the config in full (Go durations, to the nanosecond), and nothing says they are ignored.
  std::vector<std::string> warnings;
  absl::StatusOr<DetcdConfig> c = Parse(
      {"--grpc-keepalive-min-time=10s", "--grpc-keepalive-interval=1m30s", "--grpc-keepalive-timeout=250us"}, {},
      &warnings);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->grpc_keepalive_min_time_ns, 10'000'000'000);
  EXPECT_EQ(c->grpc_keepalive_interval_ns, 90'000'000'000);
  EXPECT_EQ(c->grpc_keepalive_timeout_ns, 250'000);
  for (const std::string& w : warnings) EXPECT_FALSE(absl::StrContains(w, "keepalive")) << w;
  // From the environment too; zero and negative values are Go's (etcd then leaves grpc-go's defaults).
  warnings.clear();
  absl::StatusOr<DetcdConfig> e = Parse({}, {{"ETCD_GRPC_KEEPALIVE_MIN_TIME", "0"},
                                             {"ETCD_GRPC_KEEPALIVE_INTERVAL", "-1s"},
                                             {"ETCD_GRPC_KEEPALIVE_TIMEOUT", "1.5h"}},
                                        &warnings);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->grpc_keepalive_min_time_ns, 0);
  EXPECT_EQ(e->grpc_keepalive_interval_ns, -1'000'000'000);
  EXPECT_EQ(e->grpc_keepalive_timeout_ns, 5'400'000'000'000);
  for (const std::string& w : warnings) EXPECT_FALSE(absl::StrContains(w, "keepalive")) << w;
  EXPECT_EQ(Error({"--grpc-keepalive-timeout=1x"}),
            "invalid value \"1x\" for flag -grpc-keepalive-timeout: time: unknown unit \"x\" in duration \"1x\"");
}

TEST(DetcdFlags, TlsHardeningFlagsFromTheCommandLineAndTheEnvironment) {
  absl::StatusOr<DetcdConfig> c =
      Parse({"--client-crl-file=c.crl", "--peer-crl-file=p.crl", "--client-cert-allowed-hostname=a.example",
             "--peer-cert-allowed-cn=etcd-peer", "--cipher-suites=TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,FOO"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->client_tls.crl_file, "c.crl");
  EXPECT_EQ(c->peer_tls.crl_file, "p.crl");
  EXPECT_EQ(c->client_tls.allowed_hostname, "a.example");
  EXPECT_EQ(c->peer_tls.allowed_cn, "etcd-peer");
  // The names are checked when the member starts (cmd/detcd_tls.cc), as etcd checks them.
  EXPECT_EQ(c->cipher_suites, (std::vector<std::string>{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "FOO"}));
  c = Parse({}, {{"ETCD_PEER_CERT_ALLOWED_HOSTNAME", "peer.example"}, {"ETCD_CLIENT_CRL_FILE", "/x.crl"},
                 {"ETCD_CIPHER_SUITES", "TLS_AES_128_GCM_SHA256"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->peer_tls.allowed_hostname, "peer.example");
  EXPECT_EQ(c->client_tls.crl_file, "/x.crl");
  EXPECT_EQ(c->cipher_suites, std::vector<std::string>{"TLS_AES_128_GCM_SHA256"});
  c = Parse({"--cipher-suites="});  // etcd's --help default, taken as no restriction
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->cipher_suites.empty());
}

TEST(DetcdFlags, AuthTokenIsParsedAndCheckedAsEtcdDoesAtStart) {
  absl::StatusOr<DetcdConfig> c =
      Parse({"--auth-token=jwt,pub-key=/k/a.pub,priv-key=/k/a.key,sign-method=ES384,ttl=90s", "--auth-token-ttl=60",
             "--bcrypt-cost=12"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->auth_token, "jwt,pub-key=/k/a.pub,priv-key=/k/a.key,sign-method=ES384,ttl=90s");
  EXPECT_EQ(c->auth_token_config.kind, net::AuthTokenConfig::kJwt);
  EXPECT_EQ(c->auth_token_config.pub_key_path, "/k/a.pub");
  EXPECT_EQ(c->auth_token_config.priv_key_path, "/k/a.key");
  EXPECT_EQ(c->auth_token_config.sign_method, "ES384");
  EXPECT_EQ(c->auth_token_config.ttl_us, 90'000'000);
  EXPECT_EQ(c->auth_token_ttl_s, 60u);
  EXPECT_EQ(c->bcrypt_cost, 12);
  EXPECT_TRUE(c->etcd_settings.empty());
  // The environment sets them too.
  c = Parse({}, {{"ETCD_AUTH_TOKEN", "jwt,priv-key=/k/s,sign-method=HS256"}, {"ETCD_BCRYPT_COST", "4"},
                 {"ETCD_AUTH_TOKEN_TTL", "1"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->auth_token_config.sign_method, "HS256");
  EXPECT_EQ(c->bcrypt_cost, 4);
  EXPECT_EQ(c->auth_token_ttl_s, 1u);
  // "" is etcd's nop provider: no tokens at all.
  c = Parse({"--auth-token="});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->auth_token_config.kind, net::AuthTokenConfig::kNop);

  // A value etcd would not start with is a configuration error (exit 1) that names the flag, etcd's error and why.
  EXPECT_EQ(Error({"--auth-token=bogus"}), "--auth-token=bogus: auth: invalid auth options (unknown token type \"bogus\")");
  EXPECT_EQ(ExitCode({"--auth-token=bogus"}), 1);
  EXPECT_EQ(Error({"--auth-token=jwt,pub-key=a,priv-key=b"}),
            "--auth-token=jwt,pub-key=a,priv-key=b: auth: invalid auth options (auth: invalid auth signature method: "
            "\"\")");
  EXPECT_EQ(Error({"--auth-token=jwt,sign-method=RS256"}),
            "--auth-token=jwt,sign-method=RS256: auth: missing key data (neither pub-key nor priv-key is given)");
  EXPECT_EQ(Error({"--auth-token=jwt,pub-key=a,sign-method=RS256,ttl=1d"}),
            "--auth-token=jwt,pub-key=a,sign-method=RS256,ttl=1d: auth: invalid auth options (ttl: time: unknown "
            "unit \"d\" in duration \"1d\")");
  EXPECT_EQ(Error({}, {{"ETCD_AUTH_TOKEN", "jwt,sign-method=none,pub-key=a"}}),
            "--auth-token=jwt,sign-method=none,pub-key=a: unsupported signing method: *jwt.signingMethodNone");
  // Unknown JWT options are etcd's warning, not an error.
  std::vector<std::string> warnings;
  c = Parse({"--auth-token=jwt,pub-key=a,sign-method=RS256,colour=blue"}, {}, &warnings);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_NE(std::find(warnings.begin(), warnings.end(), "--auth-token: unknown JWT options: [colour]"),
            warnings.end())
      << absl::StrJoin(warnings, "\n");
  // Flag syntax: the numbers are Go uints.
  EXPECT_EQ(ExitCode({"--bcrypt-cost=-1"}), 2);
  EXPECT_EQ(ExitCode({"--auth-token-ttl=5m"}), 2);
}

TEST(DetcdFlags, BcryptCostOutsideFourToThirtyOneFallsBackToTheDefault) {
  for (const char* cost : {"0", "3", "32", "18446744073709551615"}) {
    std::vector<std::string> warnings;
    absl::StatusOr<DetcdConfig> c = Parse({absl::StrCat("--bcrypt-cost=", cost)}, {}, &warnings);
    ASSERT_TRUE(c.ok()) << cost << ": " << c.status();
    EXPECT_EQ(c->bcrypt_cost, 10) << cost;  // auth.NewAuthStore: a warning and bcrypt.DefaultCost
    EXPECT_NE(std::find(warnings.begin(), warnings.end(),
                        absl::StrCat("Use default bcrypt-cost 10 instead of the invalid value ", cost)),
              warnings.end())
        << absl::StrJoin(warnings, "\n");
  }
  EXPECT_EQ(Parse({"--bcrypt-cost=31"})->bcrypt_cost, 31);
  EXPECT_EQ(Parse({"--bcrypt-cost=4"})->bcrypt_cost, 4);
}

TEST(DetcdFlags, SettingsWhoseFeatureIsMissingAreRefusedWhenTurnedOn) {
  const std::vector<std::pair<std::string, std::string>> on = {
      {"--enable-v2", "the v2 API is not supported by detcd"},
      {"--discovery=https://discovery.etcd.io/x", "discovery is not supported by detcd"},
      {"--proxy=on", "proxy mode is not supported by detcd"},
      {"--cors=https://example.com", "CORS origin lists"},
      {"--enable-pprof", "pprof"},
      {"--metrics=extensive", "extensive metrics"},
      {"--experimental-enable-lease-checkpoint", "lease checkpoints"},
      {"--log-package-levels=etcdserver=DEBUG", "per-package log levels"},
  };
  for (const auto& [flag, feature] : on) {
    absl::StatusOr<DetcdConfig> c = Parse({flag});
    ASSERT_FALSE(c.ok()) << flag;
    EXPECT_TRUE(absl::StrContains(c.status().message(), feature)) << flag << ": " << c.status();
    EXPECT_EQ(DetcdFlagsExitCode(c.status()), 1) << flag;
  }
  // The same from the environment: a configuration never silently means something else.
  absl::StatusOr<DetcdConfig> c = Parse({}, {{"ETCD_ENABLE_V2", "true"}});
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StrContains(c.status().message(), "v2 API")) << c.status();
  // Off values other than the default are accepted too.
  EXPECT_TRUE(Parse({"--cors="}).ok());
  EXPECT_TRUE(Parse({"--experimental-backend-bbolt-freelist-type=map"}).ok());
}

TEST(DetcdFlags, CorruptionCheckSettings) {
  absl::StatusOr<DetcdConfig> c =
      Parse({"--experimental-initial-corrupt-check=true", "--experimental-corrupt-check-time=90s"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->initial_corrupt_check);
  EXPECT_EQ(c->corrupt_check_time_ms, 90'000);
  c = Parse({}, {{"ETCD_EXPERIMENTAL_CORRUPT_CHECK_TIME", "2m"}, {"ETCD_EXPERIMENTAL_INITIAL_CORRUPT_CHECK", "1"}});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->initial_corrupt_check);
  EXPECT_EQ(c->corrupt_check_time_ms, 120'000);
  c = Parse({});
  ASSERT_TRUE(c.ok());
  EXPECT_FALSE(c->initial_corrupt_check) << "etcd's default: off";
  EXPECT_EQ(c->corrupt_check_time_ms, 0) << "etcd's default: no periodic check";
  EXPECT_FALSE(Parse({"--experimental-corrupt-check-time=5"}).ok()) << "a duration needs its unit";
}

TEST(DetcdFlags, HonouredSettings) {
  absl::StatusOr<DetcdConfig> c =
      Parse({"--pre-vote", "--max-snapshots=0", "--max-wals=2", "--max-concurrent-streams=100",
             "--experimental-watch-progress-notify-interval=90s", "--debug", "--logger=zap",
             "--log-outputs=stdout,/tmp/detcd.log"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->pre_vote);
  EXPECT_EQ(c->max_snapshots, 0u);
  EXPECT_EQ(c->max_wals, 2u);
  EXPECT_EQ(c->max_concurrent_streams, 100u);
  EXPECT_EQ(c->watch_progress_notify_interval_ms, 90'000);
  EXPECT_EQ(c->log_level, "debug");
  EXPECT_EQ(c->log_outputs, (std::vector<std::string>{"stdout", "/tmp/detcd.log"}));
  EXPECT_EQ(Error({"--max-concurrent-streams=4294967296"}),
            "invalid value \"4294967296\" for flag -max-concurrent-streams: value out of range");
  // capnslog writes to one of the standard streams only, as in etcd 3.4.
  EXPECT_EQ(Error({"--log-outputs=stderr,stdout"}), "multi logoutput for \"capnslog\" is not supported yet");
  EXPECT_EQ(Error({"--log-outputs=/tmp/x.log"}),
            "unknown log-output \"/tmp/x.log\" (only supports \"default\", \"stderr\", \"stdout\")");
  std::vector<std::string> warnings;
  c = Parse({"--log-output=stdout"}, {}, &warnings);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->log_outputs, std::vector<std::string>{"stdout"});
  ASSERT_FALSE(warnings.empty());
}

TEST(DetcdFlags, UrlErrors) {
  auto url_error = [](const std::string& flag, const std::string& value) {
    return Error({"--" + flag + "=" + value, "--advertise-client-urls=http://a:1"});
  };
  EXPECT_EQ(url_error("listen-peer-urls", "http://127.0.0.1:2380/path"),
            "invalid value \"http://127.0.0.1:2380/path\" for flag -listen-peer-urls: URL must not contain a path: "
            "http://127.0.0.1:2380/path");
  EXPECT_EQ(url_error("listen-peer-urls", "http://127.0.0.1:2380/"),
            "invalid value \"http://127.0.0.1:2380/\" for flag -listen-peer-urls: URL must not contain a path: "
            "http://127.0.0.1:2380/");
  EXPECT_EQ(url_error("listen-client-urls", "tcp://127.0.0.1:2379"),
            "invalid value \"tcp://127.0.0.1:2379\" for flag -listen-client-urls: URL scheme must be http, https, "
            "unix, or unixs: tcp://127.0.0.1:2379");
  EXPECT_EQ(url_error("listen-client-urls", "localhost:2379"),
            "invalid value \"localhost:2379\" for flag -listen-client-urls: URL scheme must be http, https, unix, "
            "or unixs: localhost:2379");
  EXPECT_EQ(url_error("listen-client-urls", "127.0.0.1:2379"),
            "invalid value \"127.0.0.1:2379\" for flag -listen-client-urls: parse \"127.0.0.1:2379\": first path "
            "segment in URL cannot contain colon");
  EXPECT_EQ(url_error("listen-client-urls", ":2379"),
            "invalid value \":2379\" for flag -listen-client-urls: parse \":2379\": missing protocol scheme");
  EXPECT_EQ(url_error("listen-client-urls", "http://127.0.0.1"),
            "invalid value \"http://127.0.0.1\" for flag -listen-client-urls: URL address does not have the form "
            "\"host:port\": http://127.0.0.1");
  EXPECT_EQ(url_error("listen-client-urls", "http://127.0.0.1:ab"),
            "invalid value \"http://127.0.0.1:ab\" for flag -listen-client-urls: parse \"http://127.0.0.1:ab\": "
            "invalid port \":ab\" after host");
  EXPECT_EQ(url_error("listen-client-urls", "http://[::1:2379"),
            "invalid value \"http://[::1:2379\" for flag -listen-client-urls: parse \"http://[::1:2379\": missing "
            "']' in host");
  // An empty list keeps the default (etcd's allowed exception "") but counts as set.
  absl::StatusOr<DetcdConfig> empty = Parse({"--listen-client-urls=", "--advertise-client-urls=http://a:1"});
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(Strings(empty->listen_client_urls), V{"http://localhost:2379"});
  EXPECT_EQ(Error({"--listen-client-urls="}),
            "--advertise-client-urls is required when --listen-client-urls is set explicitly");
  EXPECT_EQ(ExitCode({"--listen-peer-urls=http://127.0.0.1:2380/path"}), 2);
  // Binding needs an IP (or localhost): embed/config.go checkBindURLs.
  EXPECT_EQ(Error({"--listen-peer-urls=http://example.com:2380"}),
            "expected IP in URL for binding (http://example.com:2380)");
  EXPECT_EQ(ExitCode({"--listen-peer-urls=http://example.com:2380"}), 1);
  EXPECT_EQ(Error({"--listen-metrics-urls=http://metrics:2381"}), "expected IP in URL for binding (http://metrics:2381)");
  EXPECT_TRUE(Parse({"--listen-peer-urls=http://[fe80::1]:2380"}).ok());
  // Advertised URLs need a host: checkHostURLs.
  EXPECT_EQ(Error({"--initial-advertise-peer-urls=http://:2380"}),
            "--initial-advertise-peer-urls \"http://:2380\" must be \"host:port\" (unexpected empty host "
            "(http://:2380))");
  EXPECT_EQ(Error({"--advertise-client-urls=http://:2379"}),
            "--advertise-client-urls \"http://:2379\" must be \"host:port\" (unexpected empty host (http://:2379))");
}

TEST(DetcdFlags, TimeoutAndModeRules) {
  EXPECT_EQ(Error({"--heartbeat-interval=0"}), "--heartbeat-interval must be >0 (set to 0ms)");
  EXPECT_EQ(Error({"--election-timeout=0"}), "--election-timeout must be >0 (set to 0ms)");
  EXPECT_EQ(Error({"--heartbeat-interval=300"}),
            "--election-timeout[1000ms] should be at least as 5 times as --heartbeat-interval[300ms]");
  EXPECT_EQ(ExitCode({"--heartbeat-interval=300"}), 1);
  EXPECT_TRUE(Parse({"--heartbeat-interval=200"}).ok());  // exactly 5 times is fine
  EXPECT_EQ(Error({"--election-timeout=50001"}),
            "--election-timeout[50001ms] is too long, and should be set less than 50000ms");
  EXPECT_EQ(Error({"--auto-compaction-mode=hourly"}), "unknown auto-compaction-mode \"hourly\"");
  EXPECT_EQ(Error({"--auto-compaction-retention=1d"}),
            "error parsing CompactionRetention: time: unknown unit \"d\" in duration \"1d\"");
  EXPECT_EQ(Error({"--auto-compaction-retention=x"}), "error parsing CompactionRetention: time: invalid duration \"x\"");
  EXPECT_EQ(Error({"--logger=glog"}), "unknown logger option \"glog\"");
  EXPECT_EQ(Error({"--log-level=verbose"}), "unknown level \"verbose\"");
}

TEST(DetcdFlags, HttpsNeedsCertificatesOrAutoTls) {
  const V client = {"--listen-client-urls=https://127.0.0.1:2379", "--advertise-client-urls=https://127.0.0.1:2379"};
  EXPECT_EQ(Error(client),
            "TLS key/cert (--cert-file, --key-file) must be provided for client url https://127.0.0.1:2379 with "
            "HTTPS scheme");
  EXPECT_EQ(ExitCode(client), 1);
  V with_cert = client;
  with_cert.push_back("--cert-file=c");
  EXPECT_EQ(Error(with_cert), "KeyFile and CertFile must both be present[key: , cert: c]");
  with_cert.push_back("--key-file=k");
  EXPECT_TRUE(Parse(with_cert).ok());
  V auto_tls = client;
  auto_tls.push_back("--auto-tls");
  EXPECT_TRUE(Parse(auto_tls).ok());

  EXPECT_EQ(Error({"--listen-peer-urls=https://127.0.0.1:2380"}),
            "cannot listen on TLS for 127.0.0.1:2380: KeyFile and CertFile are not presented");
  EXPECT_EQ(Error({"--listen-peer-urls=https://127.0.0.1:2380", "--peer-key-file=k"}),
            "KeyFile and CertFile must both be present[key: k, cert: ]");
  EXPECT_TRUE(Parse({"--listen-peer-urls=https://127.0.0.1:2380", "--peer-auto-tls"}).ok());
  // Files given with http URLs are ignored with a warning, as etcd does.
  std::vector<std::string> warnings;
  ASSERT_TRUE(Parse({"--data-dir=d", "--peer-cert-file=c", "--peer-key-file=k"}, {}, &warnings).ok());
  EXPECT_EQ(warnings, V{"The scheme of peer url http://localhost:2380 is HTTP while peer key/cert files are "
                        "presented. Ignored peer key/cert files."});
}

TEST(DetcdFlags, InitialClusterChecks) {
  // Name given, advertise URLs changed, cluster left at its default: etcd builds it from both.
  absl::StatusOr<DetcdConfig> c = Parse({"--name=infra1", "--initial-advertise-peer-urls=http://10.0.0.1:2380"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->initial_cluster, "infra1=http://10.0.0.1:2380");
  EXPECT_TRUE(VerifyBootstrap(*c).ok());
  // The name not in the cluster.
  c = Parse({"--name=infra9", "--initial-cluster=infra1=http://10.0.0.1:2380"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(VerifyBootstrap(*c).message(), "couldn't find local name \"infra9\" in the initial cluster configuration");
  EXPECT_EQ(DetcdFlagsExitCode(VerifyBootstrap(*c)), 1);
  // The default name keeps the default cluster, which then disagrees with changed advertise URLs (as in etcd).
  c = Parse({"--initial-advertise-peer-urls=http://10.0.0.1:2380"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(VerifyBootstrap(*c).message(),
            "--initial-cluster has default=http://localhost:2380 but missing from "
            "--initial-advertise-peer-urls=http://10.0.0.1:2380 (resolved urls: \"http://10.0.0.1:2380\" != "
            "\"http://localhost:2380\")");
  c = Parse({"--name=a", "--initial-advertise-peer-urls=http://10.0.0.1:2380,http://10.0.0.2:2380",
             "--initial-cluster=a=http://10.0.0.1:2380"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(VerifyBootstrap(*c).message(),
            "--initial-advertise-peer-urls has http://10.0.0.2:2380 but missing from "
            "--initial-cluster=a=http://10.0.0.1:2380,a=http://10.0.0.2:2380");
  // Joining an existing cluster only needs the name.
  c = Parse({"--name=a", "--initial-cluster-state=existing", "--initial-advertise-peer-urls=http://10.0.0.9:2380",
             "--initial-cluster=a=http://10.0.0.1:2380,b=http://10.0.0.2:2380"});
  ASSERT_TRUE(c.ok());
  EXPECT_TRUE(VerifyBootstrap(*c).ok());
  c = Parse({"--name=a", "--initial-cluster=a=http://10.0.0.1:2380,b=http://10.0.0.1:2380",
             "--initial-advertise-peer-urls=http://10.0.0.1:2380"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(VerifyBootstrap(*c).message(),
            "initial cluster a=http://10.0.0.1:2380,b=http://10.0.0.1:2380 has duplicate url");
  c = Parse({"--name=a", "--initial-cluster=a=10.0.0.1:2380"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(VerifyBootstrap(*c).message(),
            "error setting up initial cluster: parse \"10.0.0.1:2380\": first path segment in URL cannot contain "
            "colon");
  auto m = ParseInitialCluster("a=http://1.1.1.1:2380,b=http://2.2.2.2:2380,a=http://1.1.1.2:2380");
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->size(), 2u);
  EXPECT_EQ(Strings(m->at("a")), (V{"http://1.1.1.1:2380", "http://1.1.1.2:2380"}));
}

TEST(DetcdFlags, VersionAndHelp) {
  for (const V& args : {V{"--version"}, V{"-version"}, V{"--version=true"}}) {
    absl::StatusOr<DetcdConfig> c = Parse(args, {{"ETCD_NAME", "x"}});
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->action, DetcdFlagsAction::kPrintVersion);
  }
  // --version is handled before the environment and validation, after left-over arguments.
  EXPECT_EQ(Parse({"--version", "--heartbeat-interval=999"})->action, DetcdFlagsAction::kPrintVersion);
  EXPECT_EQ(Error({"--version", "extra"}), "'extra' is not a valid flag");
  EXPECT_EQ(Parse({"--version=false"})->action, DetcdFlagsAction::kRun);
  const std::string version = DetcdVersionText();
  EXPECT_EQ(version.rfind("etcd Version: 3.4.", 0), 0u) << version;
  EXPECT_NE(version.find("\nGit SHA: "), std::string::npos);
  EXPECT_NE(version.find("\nGo Version: "), std::string::npos);
  EXPECT_NE(version.find("\nGo OS/Arch: "), std::string::npos);
  for (const V& args : {V{"--help"}, V{"-h"}, V{"-help"}, V{"--h"}, V{"--name=x", "--help", "--bogus"}}) {
    absl::StatusOr<DetcdConfig> c = Parse(args);
    ASSERT_TRUE(c.ok()) << args[0];
    EXPECT_EQ(c->action, DetcdFlagsAction::kPrintHelp);
  }
  EXPECT_EQ(Error({"--bogus", "--help"}), "flag provided but not defined: -bogus");
  EXPECT_NE(DetcdHelpText().find("--election-timeout '1000'"), std::string::npos);
  EXPECT_NE(DetcdUsageText().find("etcd -h | --help"), std::string::npos);
  EXPECT_NE(DetcdUsageText().find("etcd --config-file\n    Path to the server configuration file."), std::string::npos);
}

// --config-file is etcd 3.4's (no longer refused): the caller loads the file (cmd/detcd_config_file_test.cc).
TEST(DetcdFlags, ConfigFileAsksForTheFile) {
  absl::StatusOr<DetcdConfig> c = Parse({"--config-file=/etc/etcd.yml", "--name=ignored"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->action, DetcdFlagsAction::kLoadConfigFile);
  EXPECT_EQ(c->config_file, "/etc/etcd.yml");
  EXPECT_EQ(Parse({}, {{"ETCD_CONFIG_FILE", "/e.yml"}})->action, DetcdFlagsAction::kLoadConfigFile);
  EXPECT_EQ(Parse({})->config_file, "");
}

TEST(DetcdFlags, GarbageNeverCrashes) {
  std::mt19937_64 rng(20240601);  // fixed seed: a failure replays
  const std::vector<std::string> pieces = {
      "-", "--", "=", "name", "listen-client-urls", "initial-cluster", "http://", "https://", "unix://", "[", "]",
      ":", "::1", "%", "%zz", "/", "?", "#", "@", ",", "0x", "_", "1", "99999999999999999999", "true", "\x01",
      "\xff", " ", "localhost", "2379", "heartbeat-interval", "election-timeout", "version", "help", "auto-tls",
      "a=", "=b", "auto-compaction-retention", "1.5h", "-1h", ".", "µs"};
  for (int round = 0; round < 3000; ++round) {
    std::vector<std::string> args;
    Env env;
    int n = rng() % 6;
    for (int i = 0; i < n; ++i) {
      std::string s;
      int parts = rng() % 6;
      for (int j = 0; j < parts; ++j) {
        if (rng() % 4 == 0) {
          s += static_cast<char>(rng() % 256);
        } else {
          s += pieces[rng() % pieces.size()];
        }
      }
      if (rng() % 3 == 0) {
        env["ETCD_" + s] = s;
      } else {
        args.push_back(s);
      }
    }
    std::vector<std::string> warnings;
    absl::StatusOr<DetcdConfig> c = ParseDetcdFlags(args, env, &warnings);
    if (c.ok()) {
      (void)VerifyBootstrap(*c);
    } else {
      EXPECT_FALSE(c.status().message().empty());
      int code = DetcdFlagsExitCode(c.status());
      EXPECT_TRUE(code == 1 || code == 2);
    }
  }
}

}  // namespace
}  // namespace detcd
