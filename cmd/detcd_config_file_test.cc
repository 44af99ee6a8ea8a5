#include "cmd/detcd_config_file.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cmd/detcd_flags.h"
#include "gtest/gtest.h"

namespace detcd {
namespace {

using V = std::vector<std::string>;

absl::StatusOr<DetcdConfig> FromYaml(const std::string& yaml, V* warnings = nullptr) {
  return DetcdConfigFromYaml("/etc/etcd/etcd.conf.yml", yaml, warnings);
}

std::string Error(const std::string& yaml) {
  absl::StatusOr<DetcdConfig> c = FromYaml(yaml);
  EXPECT_FALSE(c.ok()) << "loaded: " << yaml;
  if (c.ok()) return "";
  EXPECT_EQ(DetcdFlagsExitCode(c.status()), 1) << c.status();  // etcd exits 1 for every config file error
  return std::string(c.status().message());
}

// The error the same setting gives on the command line.
std::string FlagError(const V& args) {
  absl::StatusOr<DetcdConfig> c = ParseDetcdFlags(args, {}, nullptr);
  EXPECT_FALSE(c.ok()) << absl::StrJoin(args, " ");
  return c.ok() ? "" : std::string(c.status().message());
}

std::vector<std::string> Strings(const std::vector<DetcdUrl>& urls) {
  std::vector<std::string> out;
  for (const DetcdUrl& u : urls) out.push_back(u.String());
  return out;
}

std::string TempFile(const std::string& name, const std::string& text) {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::string path = absl::StrCat(dir != nullptr ? dir : "/tmp", "/", name);
  FILE* f = std::fopen(path.c_str(), "w");
  EXPECT_NE(f, nullptr) << path;
  std::fputs(text.c_str(), f);
  std::fclose(f);
  return path;
}

constexpr char kUnmarshal[] = "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ";

// A member of a three-member cluster, written as etcd's etcd.conf.yml.sample is (its comments and layout; the
// settings detcd lacks left at etcd's defaults).
constexpr char kSample[] = R"(# This is the configuration file for the etcd server.

# Human-readable name for this member.
name: 'infra1'

# Path to the data directory.
data-dir: /var/lib/etcd/infra1

# Path to the dedicated wal directory.
wal-dir:

# Number of committed transactions to trigger a snapshot to disk.
snapshot-count: 10000

# Time (in milliseconds) of a heartbeat interval.
heartbeat-interval: 50

# Time (in milliseconds) for an election to timeout.
election-timeout: 500

quota-backend-bytes: 0

# List of comma separated URLs to listen on for peer traffic.
listen-peer-urls: http://10.0.0.1:2380

# List of comma separated URLs to listen on for client traffic.
listen-client-urls: http://10.0.0.1:2379,http://127.0.0.1:2379

max-snapshots: 3
max-wals: 7
cors:

initial-advertise-peer-urls: http://10.0.0.1:2380
advertise-client-urls: http://10.0.0.1:2379

discovery:
discovery-fallback: 'proxy'
discovery-proxy:
discovery-srv:

initial-cluster: infra1=http://10.0.0.1:2380,infra2=http://10.0.0.2:2380,infra3=http://10.0.0.3:2380
initial-cluster-token: 'etcd-cluster-1'
initial-cluster-state: 'new'

strict-reconfig-check: false
enable-v2: false
enable-pprof: false

# Valid values include 'on', 'readonly', 'off'
proxy: 'off'
proxy-failure-wait: 5000
proxy-refresh-interval: 30000
proxy-dial-timeout: 1000
proxy-write-timeout: 5000
proxy-read-timeout: 0

client-transport-security:
  # Path to the client server TLS cert file.
  cert-file:
  key-file:
  client-cert-auth: false
  trusted-ca-file:
  auto-tls: false

peer-transport-security:
  cert-file:
  key-file:
  client-cert-auth: false
  trusted-ca-file:
  auto-tls: false

debug: false
logger: zap
log-outputs: [stderr]
force-new-cluster: false
auto-compaction-mode: periodic
auto-compaction-retention: "1"
)";

TEST(DetcdConfigFile, SampleKeysMapToSettings) {
  V warnings;
  absl::StatusOr<DetcdConfig> c = FromYaml(kSample, &warnings);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(warnings.empty()) << absl::StrJoin(warnings, "\n");
  EXPECT_EQ(c->action, DetcdFlagsAction::kRun);
  EXPECT_EQ(c->config_file, "/etc/etcd/etcd.conf.yml");
  EXPECT_EQ(c->name, "infra1");
  EXPECT_EQ(c->data_dir, "/var/lib/etcd/infra1");
  EXPECT_EQ(c->wal_dir, "");
  EXPECT_EQ(c->snapshot_count, 10000u);
  EXPECT_EQ(c->heartbeat_interval_ms, 50u);
  EXPECT_EQ(c->election_timeout_ms, 500u);
  EXPECT_EQ(c->max_snapshots, 3u);
  EXPECT_EQ(c->max_wals, 7u);
  EXPECT_EQ(Strings(c->listen_peer_urls), V{"http://10.0.0.1:2380"});
  EXPECT_EQ(Strings(c->listen_client_urls), (V{"http://10.0.0.1:2379", "http://127.0.0.1:2379"}));
  EXPECT_EQ(Strings(c->initial_advertise_peer_urls), V{"http://10.0.0.1:2380"});
  EXPECT_EQ(Strings(c->advertise_client_urls), V{"http://10.0.0.1:2379"});
  EXPECT_EQ(c->initial_cluster, "infra1=http://10.0.0.1:2380,infra2=http://10.0.0.2:2380,infra3=http://10.0.0.3:2380");
  EXPECT_EQ(c->initial_cluster_token, "etcd-cluster-1");
  EXPECT_EQ(c->initial_cluster_state, "new");
  EXPECT_FALSE(c->strict_reconfig_check);
  EXPECT_EQ(c->logger, "zap");
  EXPECT_EQ(c->log_outputs, V{"stderr"});
  EXPECT_FALSE(c->force_new_cluster);
  EXPECT_EQ(c->auto_compaction_mode, "periodic");
  EXPECT_EQ(c->auto_compaction_retention, "1");
  EXPECT_EQ(c->auto_compaction_retention_ms, 3600000);
  EXPECT_FALSE(c->client_auto_tls);
  EXPECT_FALSE(c->peer_auto_tls);
  EXPECT_TRUE(VerifyBootstrap(*c).ok());
}

TEST(DetcdConfigFile, AnEmptyFileIsEtcdsDefaults) {
  absl::StatusOr<DetcdConfig> flags = ParseDetcdFlags({}, {}, nullptr);
  ASSERT_TRUE(flags.ok());
  for (const char* yaml : {"", "# nothing\n", "---\n", "~\n"}) {
    absl::StatusOr<DetcdConfig> c = FromYaml(yaml);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->name, flags->name);
    EXPECT_EQ(c->data_dir, "default.etcd");
    EXPECT_EQ(c->initial_cluster, flags->initial_cluster);
    EXPECT_EQ(Strings(c->listen_client_urls), Strings(flags->listen_client_urls));
    EXPECT_EQ(Strings(c->advertise_client_urls), Strings(flags->advertise_client_urls));
    EXPECT_EQ(c->snapshot_count, flags->snapshot_count);
    EXPECT_EQ(c->log_outputs, flags->log_outputs);
    EXPECT_TRUE(c->strict_reconfig_check);
  }
}

TEST(DetcdConfigFile, EtcdsRulesForAFileNotTheCommandLines) {
  // The name rebuilds the default initial cluster, as on the command line.
  absl::StatusOr<DetcdConfig> c = FromYaml("name: n1\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->initial_cluster, "n1=http://localhost:2380");
  EXPECT_EQ(c->data_dir, "n1.etcd");
  // Listening on chosen client URLs keeps the advertised default: etcd's configFromFile does not clear it (the
  // command line does, and then requires --advertise-client-urls).
  c = FromYaml("listen-client-urls: http://127.0.0.1:2379\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(Strings(c->advertise_client_urls), V{"http://localhost:2379"});
  EXPECT_EQ(FlagError({"--listen-client-urls=http://127.0.0.1:2379"}),
            "--advertise-client-urls is required when --listen-client-urls is set explicitly");
  // Empty URL lists and cluster state leave etcd's defaults.
  c = FromYaml("listen-peer-urls: ''\ninitial-cluster-state: ''\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(Strings(c->listen_peer_urls), V{"http://localhost:2380"});
  EXPECT_EQ(c->initial_cluster_state, "new");
  // A repeated key: its last value, as go-yaml keeps.
  c = FromYaml("name: a\nname: b\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->name, "b");
}

TEST(DetcdConfigFile, NestedTlsMaps) {
  absl::StatusOr<DetcdConfig> c = FromYaml(R"(
listen-client-urls: https://127.0.0.1:2379
advertise-client-urls: https://127.0.0.1:2379
listen-peer-urls: https://127.0.0.1:2380
initial-advertise-peer-urls: https://127.0.0.1:2380
client-transport-security:
  cert-file: /c/server.crt
  key-file: /c/server.key
  client-cert-auth: true
  trusted-ca-file: /c/ca.crt
peer-transport-security: {cert-file: /p/peer.crt, key-file: /p/peer.key, client-cert-auth: yes,
                          trusted-ca-file: /p/ca.crt, auto-tls: false}
)");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->client_tls.cert_file, "/c/server.crt");
  EXPECT_EQ(c->client_tls.key_file, "/c/server.key");
  EXPECT_EQ(c->client_tls.trusted_ca_file, "/c/ca.crt");
  EXPECT_TRUE(c->client_tls.client_cert_auth);
  EXPECT_FALSE(c->client_auto_tls);
  EXPECT_EQ(c->peer_tls.cert_file, "/p/peer.crt");
  EXPECT_EQ(c->peer_tls.key_file, "/p/peer.key");
  EXPECT_EQ(c->peer_tls.trusted_ca_file, "/p/ca.crt");
  EXPECT_TRUE(c->peer_tls.client_cert_auth);
  EXPECT_FALSE(c->peer_auto_tls);

  c = FromYaml(
      "listen-client-urls: https://127.0.0.1:2379\nadvertise-client-urls: https://127.0.0.1:2379\n"
      "listen-peer-urls: https://127.0.0.1:2380\ninitial-advertise-peer-urls: https://127.0.0.1:2380\n"
      "client-transport-security:\n  auto-tls: true\npeer-transport-security:\n  auto-tls: on\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->client_auto_tls);
  EXPECT_TRUE(c->peer_auto_tls);
  EXPECT_TRUE(c->client_tls.cert_file.empty());

  // The same checks as the flags: https without certificates.
  EXPECT_EQ(
      Error("listen-client-urls: https://127.0.0.1:2379\nadvertise-client-urls: https://127.0.0.1:2379\n"),
      FlagError({"--listen-client-urls=https://127.0.0.1:2379", "--advertise-client-urls=https://127.0.0.1:2379"}));
  // Wrong YAML types, worded as etcd's decoder words them.
  EXPECT_EQ(Error("client-transport-security: foo\n"),
            absl::StrCat(kUnmarshal,
                         "string into Go struct field configYAML.client-transport-security of type "
                         "embed.securityConfig"));
  EXPECT_EQ(Error("peer-transport-security: [a]\n"),
            absl::StrCat(kUnmarshal,
                         "array into Go struct field configYAML.peer-transport-security of type "
                         "embed.securityConfig"));
  EXPECT_EQ(Error("client-transport-security: {client-cert-auth: \"x\"}\n"),
            absl::StrCat(kUnmarshal,
                         "string into Go struct field securityConfig.client-transport-security.client-cert-auth "
                         "of type bool"));
  // etcd 3.5's certificate restrictions (3.4 ignores them) set etcd 3.4's flags, one value each; `crl-file` (no etcd
  // YAML key has it) sets the CRL flags rather than being dropped.
  V warnings;
  absl::StatusOr<DetcdConfig> restricted =
      FromYaml("peer-transport-security:\n  allowed-cn: [etcd-peer]\n  crl-file: /p.crl\n"
               "client-transport-security:\n  allowed-hostname: [a.example]\n  crl-file: /c.crl\n"
               "cipher-suites: [TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256]\n",
               &warnings);
  ASSERT_TRUE(restricted.ok()) << restricted.status();
  EXPECT_EQ(restricted->peer_tls.allowed_cn, "etcd-peer");
  EXPECT_EQ(restricted->peer_tls.crl_file, "/p.crl");
  EXPECT_EQ(restricted->client_tls.allowed_hostname, "a.example");
  EXPECT_EQ(restricted->client_tls.crl_file, "/c.crl");
  EXPECT_EQ(restricted->cipher_suites, std::vector<std::string>{"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"});
  EXPECT_EQ(Error("peer-transport-security:\n  allowed-cn: [a, b]\n"),
            "config file key peer-transport-security.allowed-cn: detcd takes one value (as etcd 3.4's "
            "--peer-cert-allowed-cn), not a list of several");
  V bogus;
  ASSERT_TRUE(FromYaml("peer-transport-security:\n  allowed-cn: []\n  bogus: x\n", &bogus).ok());
  const std::string ignored =
      "config file key \"peer-transport-security.bogus\" is not an etcd 3.4 setting; ignored (as etcd does)";
  EXPECT_NE(std::find(bogus.begin(), bogus.end(), ignored), bogus.end()) << absl::StrJoin(bogus, "\n");
}

TEST(DetcdConfigFile, CommandLineAndEnvironmentAreIgnoredWithAConfigFile) {
  // --config-file (either dash form, or ETCD_CONFIG_FILE) asks for the file; nothing else is taken.
  for (const V& args :
       {V{"--config-file=/f.yml", "--name=cli", "--snapshot-count=5"}, V{"--name=cli", "-config-file", "/f.yml"}}) {
    absl::StatusOr<DetcdConfig> c = ParseDetcdFlags(args, {{"ETCD_NAME", "env"}, {"ETCD_BOGUS", "1"}}, nullptr);
    ASSERT_TRUE(c.ok()) << c.status();
    EXPECT_EQ(c->action, DetcdFlagsAction::kLoadConfigFile);
    EXPECT_EQ(c->config_file, "/f.yml");
  }
  absl::StatusOr<DetcdConfig> c =
      ParseDetcdFlags({"--name=cli"}, {{"ETCD_CONFIG_FILE", "/env.yml"}, {"ETCD_NAME", "env"}}, nullptr);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->action, DetcdFlagsAction::kLoadConfigFile);
  EXPECT_EQ(c->config_file, "/env.yml");
  // The flag wins over the variable.
  EXPECT_EQ(ParseDetcdFlags({"--config-file=/flag.yml"}, {{"ETCD_CONFIG_FILE", "/env.yml"}}, nullptr)->config_file,
            "/flag.yml");
  // An environment conflict that would be fatal without a file is never looked at with one.
  EXPECT_TRUE(ParseDetcdFlags({"--name=cli", "--config-file=/f.yml"}, {{"ETCD_NAME", "env"}}, nullptr).ok());
  // Flag syntax is still checked first (exit 2), and --version / --help still win.
  EXPECT_EQ(DetcdFlagsExitCode(ParseDetcdFlags({"--config-file=/f.yml", "--bogus"}, {}, nullptr).status()), 2);
  EXPECT_EQ(DetcdFlagsExitCode(ParseDetcdFlags({"--config-file"}, {}, nullptr).status()), 2);
  EXPECT_EQ(ParseDetcdFlags({"--config-file=/f.yml", "--version"}, {}, nullptr)->action,
            DetcdFlagsAction::kPrintVersion);
  // An empty --config-file is no file.
  EXPECT_EQ(ParseDetcdFlags({"--config-file="}, {}, nullptr)->action, DetcdFlagsAction::kRun);

  // Loaded from disk: the file's values, none of the command line's or the environment's.
  const std::string path = TempFile("member.yml", "name: from-file\nsnapshot-count: 42\n");
  absl::StatusOr<DetcdConfig> parsed =
      ParseDetcdFlags({"--config-file", path, "--name=cli", "--snapshot-count=5", "--data-dir=/cli"},
                      {{"ETCD_WAL_DIR", "/env-wal"}, {"ETCD_HEARTBEAT_INTERVAL", "7"}}, nullptr);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->action, DetcdFlagsAction::kLoadConfigFile);
  V warnings;
  absl::StatusOr<DetcdConfig> loaded = LoadDetcdConfigFile(parsed->config_file, &warnings);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->config_file, path);
  EXPECT_EQ(loaded->name, "from-file");
  EXPECT_EQ(loaded->snapshot_count, 42u);
  EXPECT_EQ(loaded->data_dir, "from-file.etcd");
  EXPECT_EQ(loaded->wal_dir, "");
  EXPECT_EQ(loaded->heartbeat_interval_ms, 100u);
  EXPECT_EQ(warnings, V{"no data-dir provided, using default data-dir ./from-file.etcd"});
}

TEST(DetcdConfigFile, UnreadableFiles) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string missing = absl::StrCat(dir != nullptr ? dir : "/tmp", "/no-such-dir/etcd.conf.yml");
  absl::StatusOr<DetcdConfig> c = LoadDetcdConfigFile(missing, nullptr);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), absl::StrCat("open ", missing, ": no such file or directory"));
  EXPECT_EQ(DetcdFlagsExitCode(c.status()), 1);
  const std::string a_dir = dir != nullptr ? dir : "/tmp";
  c = LoadDetcdConfigFile(a_dir, nullptr);
  ASSERT_FALSE(c.ok());
  EXPECT_EQ(c.status().message(), absl::StrCat("read ", a_dir, ": is a directory"));
  // A file that reads but does not parse.
  c = LoadDetcdConfigFile(TempFile("bad.yml", "name: [a\n"), nullptr);
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(absl::StartsWith(c.status().message(), "error converting YAML to JSON: yaml: line ")) << c.status();
}

TEST(DetcdConfigFile, MalformedYaml) {
  for (const char* yaml :
       {"name: [a\n", "a: b: c\n", "\tname: x\n", "x: *nope\n", "\"a\\q\": 1\n", "? [a]\n: x\n", "name: {a: 1\n"}) {
    std::string e = Error(yaml);
    EXPECT_TRUE(absl::StartsWith(e, "error converting YAML to JSON: yaml: line ")) << yaml << " -> " << e;
  }
  // One known difference: yaml-cpp ends a quoted scalar left open at the end of the file there; go-yaml refuses it.
  EXPECT_TRUE(FromYaml("name: \"unterminated\n").ok());
  // YAML that is not a map of settings.
  EXPECT_EQ(Error("[1, 2]\n"), absl::StrCat(kUnmarshal, "array into Go value of type embed.configYAML"));
  EXPECT_EQ(Error("just a string\n"), absl::StrCat(kUnmarshal, "string into Go value of type embed.configYAML"));
}

TEST(DetcdConfigFile, YamlTypesAsEtcdDecodesThem) {
  // Booleans: YAML 1.1's words (etcd's go-yaml v2), never numbers or quoted strings.
  for (const char* yes : {"true", "True", "yes", "Y", "on", "ON"}) {
    absl::StatusOr<DetcdConfig> c = FromYaml(absl::StrCat("force-new-cluster: ", yes, "\n"));
    ASSERT_TRUE(c.ok()) << yes << ": " << c.status();
    EXPECT_TRUE(c->force_new_cluster) << yes;
  }
  for (const char* no : {"false", "no", "N", "off", "OFF"}) {
    absl::StatusOr<DetcdConfig> c = FromYaml(absl::StrCat("strict-reconfig-check: ", no, "\n"));
    ASSERT_TRUE(c.ok()) << no << ": " << c.status();
    EXPECT_FALSE(c->strict_reconfig_check) << no;
  }
  EXPECT_EQ(Error("strict-reconfig-check: 1\n"),
            absl::StrCat(kUnmarshal, "number into Go struct field configYAML.strict-reconfig-check of type bool"));
  EXPECT_EQ(Error("strict-reconfig-check: \"true\"\n"),
            absl::StrCat(kUnmarshal, "string into Go struct field configYAML.strict-reconfig-check of type bool"));
  // Integers: YAML's forms, an integral float too; never strings, negative or out of range.
  absl::StatusOr<DetcdConfig> c = FromYaml(
      "snapshot-count: 0x10\nmax-txn-ops: 1_000\nmax-request-bytes: 1e3\nquota-backend-bytes: 8589934592\n"
      "max-snapshots: 010\nmax-concurrent-streams: 4294967295\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->snapshot_count, 16u);
  EXPECT_EQ(c->max_txn_ops, 1000u);
  EXPECT_EQ(c->max_request_bytes, 1000u);
  EXPECT_EQ(c->quota_backend_bytes, int64_t{8589934592});
  EXPECT_EQ(c->max_snapshots, 8u);
  EXPECT_EQ(c->max_concurrent_streams, 4294967295u);
  EXPECT_EQ(Error("snapshot-count: \"10\"\n"),
            absl::StrCat(kUnmarshal, "string into Go struct field configYAML.snapshot-count of type uint64"));
  EXPECT_EQ(Error("snapshot-count: -1\n"),
            absl::StrCat(kUnmarshal, "number -1 into Go struct field configYAML.snapshot-count of type uint64"));
  EXPECT_EQ(Error("snapshot-count: 1.5\n"),
            absl::StrCat(kUnmarshal, "number 1.5 into Go struct field configYAML.snapshot-count of type uint64"));
  EXPECT_EQ(Error("snapshot-count: true\n"),
            absl::StrCat(kUnmarshal, "bool into Go struct field configYAML.snapshot-count of type uint64"));
  EXPECT_EQ(Error("max-concurrent-streams: 5000000000\n"),
            absl::StrCat(kUnmarshal,
                         "number 5000000000 into Go struct field configYAML.max-concurrent-streams of type uint32"));
  EXPECT_EQ(Error("proxy-failure-wait: '5'\n"),
            absl::StrCat(kUnmarshal, "string into Go struct field configProxy.proxy-failure-wait of type uint"));
  // Durations: integer nanoseconds (a Go time.Duration decoded from JSON), not "10s".
  c = FromYaml("experimental-watch-progress-notify-interval: 1500000000\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->watch_progress_notify_interval_ms, 1500);
  EXPECT_EQ(Error("experimental-watch-progress-notify-interval: 10s\n"),
            absl::StrCat(kUnmarshal,
                         "string into Go struct field configYAML.experimental-watch-progress-notify-interval of "
                         "type time.Duration"));
  // Strings: YAML strings only (etcd refuses `auto-compaction-retention: 1`; its sample quotes "1").
  EXPECT_EQ(
      Error("auto-compaction-retention: 1\n"),
      absl::StrCat(kUnmarshal, "number into Go struct field configYAML.auto-compaction-retention of type string"));
  EXPECT_EQ(Error("name: true\n"),
            absl::StrCat(kUnmarshal, "bool into Go struct field configYAML.name of type string"));
  EXPECT_EQ(Error("name: {a: b}\n"),
            absl::StrCat(kUnmarshal, "object into Go struct field configYAML.name of type string"));
  c = FromYaml("name: '123'\ninitial-cluster-token: !!str 456\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->name, "123");
  EXPECT_EQ(c->initial_cluster_token, "456");
  // Lists of strings.
  c = FromYaml("logger: zap\nlog-outputs:\n  - stdout\n  - /var/log/etcd.log\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->log_outputs, (V{"stdout", "/var/log/etcd.log"}));
  EXPECT_EQ(Error("log-outputs: stderr\n"),
            absl::StrCat(kUnmarshal, "string into Go struct field configYAML.log-outputs of type []string"));
  EXPECT_EQ(Error("log-outputs: [1]\n"),
            absl::StrCat(kUnmarshal, "number into Go struct field configYAML.log-outputs of type string"));
  EXPECT_EQ(Error("log-outputs: [[a]]\n"),
            absl::StrCat(kUnmarshal, "array into Go struct field configYAML.log-outputs of type string"));
  // null keeps the default, whatever the type.
  c = FromYaml("snapshot-count: ~\nlog-outputs:\nname: null\nclient-transport-security:\nstrict-reconfig-check:\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->snapshot_count, 100000u);
  EXPECT_EQ(c->log_outputs, V{"default"});
  EXPECT_EQ(c->name, "default");
  EXPECT_TRUE(c->strict_reconfig_check);
}

TEST(DetcdConfigFile, ValuesAreCheckedAsOnTheCommandLine) {
  // The same validator, so the same errors as the flag.
  EXPECT_EQ(Error("heartbeat-interval: 0\n"), FlagError({"--heartbeat-interval=0"}));
  EXPECT_EQ(Error("heartbeat-interval: 0\n"), "--heartbeat-interval must be >0 (set to 0ms)");
  EXPECT_EQ(Error("heartbeat-interval: 300\n"), FlagError({"--heartbeat-interval=300"}));
  EXPECT_EQ(Error("logger: syslog\n"), FlagError({"--logger=syslog"}));
  EXPECT_EQ(Error("log-level: loud\n"), FlagError({"--log-level=loud"}));
  EXPECT_EQ(Error("log-outputs: [stdout, stderr]\n"), FlagError({"--log-outputs=stdout,stderr"}));
  EXPECT_EQ(Error("auto-compaction-mode: hourly\n"), FlagError({"--auto-compaction-mode=hourly"}));
  EXPECT_EQ(Error("auto-compaction-retention: 1 fortnight\n"), FlagError({"--auto-compaction-retention=1 fortnight"}));
  EXPECT_EQ(Error("listen-peer-urls: http://example.com:2380\n"),
            FlagError({"--listen-peer-urls=http://example.com:2380"}));
  // URL lists: etcd's own wording for the file.
  EXPECT_EQ(Error("listen-peer-urls: foo://x\n"),
            "unexpected error setting up listen-peer-urls: URL scheme must be http, https, unix, or unixs: foo://x");
  EXPECT_EQ(Error("advertise-client-urls: http://a/b\n"),
            "unexpected error setting up advertise-client-urls: URL address does not have the form \"host:port\": "
            "http://a/b");
  EXPECT_EQ(Error("initial-cluster-state: bogus\n"), "unexpected clusterState \"bogus\"");
  // Other flag-syntax errors name the key and the file (the YAML types let few through: numbers arrive as
  // decimal text, booleans as true/false).
  absl::StatusOr<DetcdConfig> c =
      DetcdConfigFromFileSettings("/f.yml", {{"proxy-dial-timeout", "proxy-dial-timeout", "0x"}}, nullptr);
  EXPECT_EQ(c.status().message(), "invalid value \"0x\" for proxy-dial-timeout in config file \"/f.yml\": parse error");
}

TEST(DetcdConfigFile, DurationsAreNanosecondsAsInEtcdsStruct) {
  absl::StatusOr<DetcdConfig> c = FromYaml(
      "experimental-corrupt-check-time: 5000000000\nexperimental-initial-corrupt-check: true\n"
      "grpc-keepalive-min-time: 7000000000\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->corrupt_check_time_ms, 5000);
  EXPECT_TRUE(c->initial_corrupt_check);
  EXPECT_EQ(c->grpc_keepalive_min_time_ns, 7'000'000'000);
}

TEST(DetcdConfigFile, AuthSettings) {
  absl::StatusOr<DetcdConfig> c = FromYaml(
      "auth-token: jwt,pub-key=/k/a.pub,sign-method=RS256,ttl=10m\nbcrypt-cost: 5\nauth-token-ttl: 600\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->auth_token_config.kind, net::AuthTokenConfig::kJwt);
  EXPECT_EQ(c->auth_token_config.pub_key_path, "/k/a.pub");
  EXPECT_TRUE(c->auth_token_config.priv_key_path.empty());
  EXPECT_EQ(c->auth_token_config.ttl_us, 600'000'000);
  EXPECT_EQ(c->bcrypt_cost, 5);
  EXPECT_EQ(c->auth_token_ttl_s, 600u);
  // Refused as on the command line.
  EXPECT_EQ(Error("auth-token: jwt,pub-key=a.pub,priv-key=a.key\n"),
            FlagError({"--auth-token=jwt,pub-key=a.pub,priv-key=a.key"}));
  EXPECT_EQ(Error("auth-token: bogus\n"), FlagError({"--auth-token=bogus"}));
}

TEST(DetcdConfigFile, FeaturesDetcdLacksAreRefusedAsOnTheCommandLine) {
  EXPECT_EQ(Error("enable-v2: true\n"), FlagError({"--enable-v2=true"}));
  EXPECT_EQ(Error("enable-pprof: true\n"), FlagError({"--enable-pprof"}));
  EXPECT_EQ(Error("discovery: https://discovery.etcd.io/x\n"), FlagError({"--discovery=https://discovery.etcd.io/x"}));
  EXPECT_EQ(Error("cors: 'http://a.example'\n"), FlagError({"--cors=http://a.example"}));
  // etcd's sample says `proxy: 'off'`; YAML's bare off is a boolean, which etcd turns into "false" and refuses.
  EXPECT_EQ(Error("proxy: off\n"), FlagError({"--proxy=false"}));
  // Later releases' settings: refused when set, accepted at their zero value.
  EXPECT_EQ(Error("unsafe-no-fsync: true\n"), "config file key unsafe-no-fsync provided but not supported by detcd");
  EXPECT_EQ(Error("listen-client-http-urls: http://127.0.0.1:2390\n"),
            "config file key listen-client-http-urls provided but not supported by detcd");
  EXPECT_TRUE(FromYaml("unsafe-no-fsync: false\ntls-min-version: ''\n").ok());
  // Those that tune what detcd lacks warn, as their flags do.
  V warnings;
  ASSERT_TRUE(FromYaml("backend-batch-limit: 100\n", &warnings).ok());
  EXPECT_EQ(warnings.size(), 2u);
  EXPECT_TRUE(absl::StrContains(absl::StrJoin(warnings, "\n"), "--backend-batch-limit has no effect in detcd"));
}

TEST(DetcdConfigFile, UnknownKeysAreIgnoredAsEtcdIgnoresThem) {
  V warnings;
  absl::StatusOr<DetcdConfig> c = FromYaml("name: n1\nnmae: typo\n1: x\nclient-crl-file: /crl\n", &warnings);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->name, "n1");
  EXPECT_EQ(warnings, (V{"config file key \"nmae\" is not an etcd 3.4 setting; ignored (as etcd does)",
                         "config file key \"1\" is not an etcd 3.4 setting; ignored (as etcd does)",
                         "config file key \"client-crl-file\" is not an etcd 3.4 setting; ignored (as etcd does)",
                         "no data-dir provided, using default data-dir ./n1.etcd"}));
}

// Every key etcd 3.4 reads, at etcd's default (embed.NewConfig, etcdmain's proxy defaults): each is taken (no key
// ignored) and the result is a working default member.
TEST(DetcdConfigFile, EveryEtcdKeyAtItsDefaultIsAccepted) {
  constexpr char kAll[] = R"(
name: default
data-dir: ''
wal-dir: ''
snapshot-count: 100000
max-snapshots: 5
max-wals: 5
heartbeat-interval: 100
election-timeout: 1000
initial-election-tick-advance: true
backend-batch-interval: 0
backend-batch-limit: 0
quota-backend-bytes: 0
max-txn-ops: 128
max-request-bytes: 1572864
max-concurrent-streams: 4294967295
cipher-suites: []
tls-min-version: ''
tls-max-version: ''
initial-cluster-state: new
discovery-srv: ''
discovery-srv-name: ''
discovery-proxy: ''
discovery: ''
initial-cluster: default=http://localhost:2380
initial-cluster-token: etcd-cluster
strict-reconfig-check: true
enable-v2: false
auto-compaction-mode: periodic
auto-compaction-retention: '0'
grpc-keepalive-min-time: 5000000000
grpc-keepalive-interval: 7200000000000
grpc-keepalive-timeout: 20000000000
pre-vote: false
auth-token: simple
bcrypt-cost: 10
auth-token-ttl: 300
experimental-initial-corrupt-check: false
experimental-corrupt-check-time: 0
experimental-enable-v2v3: ''
experimental-backend-bbolt-freelist-type: array
experimental-enable-lease-checkpoint: false
experimental-enable-lease-checkpoint-persist: false
experimental-compaction-batch-limit: 1000
experimental-watch-progress-notify-interval: 600000000000
experimental-warning-apply-duration: 100000000
force-new-cluster: false
enable-pprof: false
metrics: basic
listen-metrics-urls: ''
logger: capnslog
log-level: info
log-outputs: [default]
enable-grpc-gateway: true
log-output: [default]
debug: false
log-package-levels: ''
unsafe-no-fsync: false
next-cluster-version-compatible: false
listen-peer-urls: http://localhost:2380
listen-client-urls: http://localhost:2379
listen-client-http-urls: ''
initial-advertise-peer-urls: http://localhost:2380
advertise-client-urls: http://localhost:2379
cors: '*'
host-whitelist: '*'
client-transport-security: {cert-file: '', key-file: '', client-cert-auth: false, trusted-ca-file: '', auto-tls: false}
peer-transport-security: {cert-file: '', key-file: '', client-cert-auth: false, trusted-ca-file: '', auto-tls: false}
proxy-failure-wait: 5000
proxy-refresh-interval: 30000
proxy-dial-timeout: 1000
proxy-write-timeout: 5000
proxy-read-timeout: 0
proxy: 'off'
discovery-fallback: proxy
)";
  V warnings;
  absl::StatusOr<DetcdConfig> c = FromYaml(kAll, &warnings);
  ASSERT_TRUE(c.ok()) << c.status();
  for (const std::string& w : warnings) EXPECT_FALSE(absl::StrContains(w, "ignored")) << w;
  EXPECT_EQ(c->watch_progress_notify_interval_ms, 600000);
  EXPECT_EQ(c->initial_cluster, "default=http://localhost:2380");
  EXPECT_TRUE(VerifyBootstrap(*c).ok());
}

TEST(DetcdConfigFile, SettingsMustNameRealFlags) {
  absl::StatusOr<DetcdConfig> c = DetcdConfigFromFileSettings("/f", {{"bogus", "bogus", "1"}}, nullptr);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInternal);
  c = DetcdConfigFromFileSettings("/f", {{"config-file", "config-file", "/g"}}, nullptr);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInternal);
}

TEST(DetcdConfigFile, GarbageNeverCrashes) {
  std::mt19937 rng(7);
  const std::string pieces[] = {"name",        ":",
                                " ",           "\n",
                                "  ",          "- ",
                                "[",           "]",
                                "{",           "}",
                                ",",           "'",
                                "\"",          "&a ",
                                "*a",          "!!str ",
                                "? ",          "#",
                                "\t",          "~",
                                "0x",          "1e9",
                                "yes",         "client-transport-security",
                                "log-outputs", "snapshot-count",
                                "cert-file",   "|",
                                ">",           "---",
                                "\\",          "\xff"};
  for (int i = 0; i < 3000; ++i) {
    std::string yaml;
    int n = rng() % 40;
    for (int j = 0; j < n; ++j) yaml += pieces[rng() % (sizeof(pieces) / sizeof(pieces[0]))];
    (void)FromYaml(yaml);  // any result but a crash
  }
  // Deep nesting is refused by the parser's depth limit, not the stack.
  std::string deep = "name: " + std::string(100000, '[') + std::string(100000, ']') + "\n";
  EXPECT_FALSE(FromYaml(deep).ok());
  std::string deep_map = "a: ";
  for (int i = 0; i < 5000; ++i) deep_map += "{a: ";
  EXPECT_FALSE(FromYaml(deep_map).ok());
}

}  // namespace
}  // namespace detcd
