// detcd: the etcd-compatible server. Flag parsing (cmd/detcd_flags) and wiring only: the member runs in
// net::MemberRuntime (the node core the simulator runs, on its own thread), the client API in net::EtcdServices.
// Each client URL serves gRPC and the HTTP/1.1 JSON gateway (/v3/..., /health, /version, /metrics) on one port, as
// etcd does; on an https one, net::TlsTerminator takes TLS off each connection first (--cert-file/--key-file, or
// --auto-tls's self-signed pair under <data-dir>/fixtures/client; --client-cert-auth requires client certificates
// that --trusted-ca-file signed, for gRPC and HTTP alike). Each --listen-metrics-urls URL is an HTTP/1.1 port serving
// /metrics and /health only, from the same gateway (with the client TLS on an https one, as etcd). --wal-dir puts the
// WAL in a directory of its own. Members talk over net::PeerTransport on their peer URLs, with TLS on https ones
// (--peer-cert-file/--peer-key-file/--peer-trusted-ca-file/--peer-client-cert-auth, or --peer-auto-tls's self-signed
// pair under <data-dir>/fixtures/peer). A flag this build cannot honour yet (unix sockets) and unreadable TLS files
// are refused with a clear message before anything is written to disk. Logs etcd 3.4's lifecycle lines (capnslog text
// by default, JSON with --logger=zap).
#include <grpcpp/grpcpp.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cmd/detcd_flags.h"
#include "cmd/detcd_identity.h"
#include "net/cluster_ids.h"
#include "net/client_listener.h"
#include "net/grpc_front_end.h"
#include "net/grpc_services.h"
#include "net/http_gateway.h"
#include "net/http_parser.h"
#include "net/http_server.h"
#include "net/lock_election.h"
#include "net/peer_tls.h"
#include "net/peer_transport.h"
#include "net/received_snapshot_sink.h"
#include "net/member_runtime.h"
#include "net/tls.h"
#include "net/tls_terminator.h"
#include "storage/posix_disk.h"
#include "storage/wal.h"

extern char** environ;

namespace {

// etcd's two loggers: capnslog ("2026-11-30 09:20:00.123456 I | embed: ready to serve client requests") and zap
// (one JSON object a line).
class Logger {
 public:
  explicit Logger(bool zap) : zap_(zap) {}
  void Info(const std::string& package, const std::string& msg) { Write('I', "info", package, msg); }
  void Warn(const std::string& package, const std::string& msg) { Write('W', "warn", package, msg); }
  void Error(const std::string& package, const std::string& msg) { Write('E', "error", package, msg); }

 private:
  void Write(char level, const char* zap_level, const std::string& package, const std::string& msg) {
    const absl::Time now = absl::Now();
    std::string line;
    if (zap_) {
      line = absl::StrCat("{\"level\":\"", zap_level, "\",\"ts\":\"",
                          absl::FormatTime("%Y-%m-%dT%H:%M:%E6S%Ez", now, absl::UTCTimeZone()), "\",\"caller\":\"",
                          package, "\",\"msg\":\"", Escape(msg), "\"}\n");
    } else {
      line = absl::StrCat(absl::FormatTime("%Y-%m-%d %H:%M:%E6S", now, absl::UTCTimeZone()), " ", std::string(1, level),
                          " | ", package, ": ", msg, "\n");
    }
    std::lock_guard<std::mutex> l(mu_);
    std::fputs(line.c_str(), stderr);
    std::fflush(stderr);
  }
  static std::string Escape(const std::string& s) {
    std::string out;
    for (char c : s) {
      if (c == '"' || c == '\\') out.push_back('\\');
      if (static_cast<unsigned char>(c) < 0x20) {
        out += absl::StrFormat("\\u%04x", c);
        continue;
      }
      out.push_back(c);
    }
    return out;
  }
  bool zap_;
  std::mutex mu_;
};

std::vector<std::string> Strings(const std::vector<detcd::DetcdUrl>& urls) {
  std::vector<std::string> out;
  for (const detcd::DetcdUrl& u : urls) out.push_back(u.String());
  return out;
}

// What this build cannot serve yet; "" if the configuration is supported. Client TLS (https client and metrics URLs,
// --cert-file/--key-file/--trusted-ca-file/--client-cert-auth, --auto-tls) and peer TLS (https peer URLs and the
// --peer-* TLS flags) are served.
std::string Unsupported(const detcd::DetcdConfig& c) {
  auto any_scheme = [](const std::vector<detcd::DetcdUrl>& urls, const char* a, const char* b) {
    for (const detcd::DetcdUrl& u : urls) {
      if (u.scheme == a || u.scheme == b) return true;
    }
    return false;
  };
  for (const auto* urls : {&c.listen_client_urls, &c.advertise_client_urls, &c.listen_peer_urls,
                           &c.initial_advertise_peer_urls, &c.listen_metrics_urls}) {
    if (any_scheme(*urls, "unix", "unixs")) return "unix sockets are not supported by this build of detcd yet";
  }
  return "";
}

bool Https(const detcd::DetcdUrl& u) { return u.scheme == "https"; }

// Whether any peer URL this member starts with (its own, or a member's in --initial-cluster) is https.
bool AnyHttpsPeerUrl(const detcd::DetcdConfig& c) {
  bool any = std::any_of(c.listen_peer_urls.begin(), c.listen_peer_urls.end(), Https) ||
             std::any_of(c.initial_advertise_peer_urls.begin(), c.initial_advertise_peer_urls.end(), Https);
  if (auto cluster = detcd::ParseInitialCluster(c.initial_cluster); cluster.ok()) {
    for (const auto& [name, urls] : *cluster) any |= std::any_of(urls.begin(), urls.end(), Https);
  }
  return any;
}

// The client TLS material, as PEM text for the client ports' TLS terminator.
struct ClientTls {
  std::string cert_pem;
  std::string key_pem;
  std::string trusted_ca_pem;  // "" without --trusted-ca-file
};

// Reads and checks --cert-file / --key-file / --trusted-ca-file (or the --auto-tls pair), with the errors etcd prints
// for them: Go's "open <path>: no such file or directory", tls.X509KeyPair's "tls: private key does not match public
// key".
absl::StatusOr<ClientTls> LoadClientTls(const std::string& cert_file, const std::string& key_file,
                                        const std::string& trusted_ca_file) {
  ClientTls t;
  absl::StatusOr<std::string> cert = detcd::net::ReadFile(cert_file);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = detcd::net::ReadFile(key_file);
  if (!key.ok()) return key.status();
  if (absl::Status s = detcd::net::CheckKeyPair(*cert, *key); !s.ok()) return s;
  t.cert_pem = std::move(*cert);
  t.key_pem = std::move(*key);
  if (!trusted_ca_file.empty()) {
    absl::StatusOr<std::string> ca = detcd::net::ReadFile(trusted_ca_file);
    if (!ca.ok()) return ca.status();
    t.trusted_ca_pem = std::move(*ca);
  }
  return t;
}

// The peer transport's TLS: the --peer-* files (read and checked as the client's are), or no certificate at all when
// none are given (etcd's empty TLSInfo: Go's defaults, the system's roots). skip_verify: --peer-auto-tls.
absl::StatusOr<std::shared_ptr<const detcd::net::PeerTls>> LoadPeerTls(const detcd::DetcdTlsFiles& files,
                                                                       bool skip_verify) {
  detcd::net::PeerTlsPem pem;
  if (!files.cert_file.empty() || !files.key_file.empty()) {
    absl::StatusOr<ClientTls> t = LoadClientTls(files.cert_file, files.key_file, files.trusted_ca_file);
    if (!t.ok()) return t.status();
    pem.cert_pem = std::move(t->cert_pem);
    pem.key_pem = std::move(t->key_pem);
    pem.trusted_ca_pem = std::move(t->trusted_ca_pem);
    // etcd 3.4 (TLSInfo.ServerConfig): a trusted CA alone also makes client certificates required.
    pem.client_cert_auth = files.client_cert_auth || !files.trusted_ca_file.empty();
  }
  pem.skip_verify = skip_verify;
  absl::StatusOr<std::shared_ptr<const detcd::net::PeerTls>> tls = detcd::net::PeerTls::Create(pem);
  if (!tls.ok()) {
    return absl::Status(tls.status().code(),
                        absl::StrCat("peer TLS (cert = ", files.cert_file, ", key = ", files.key_file,
                                     ", trusted-ca = ", files.trusted_ca_file, "): ", tls.status().message()));
  }
  return tls;
}

}  // namespace

int main(int argc, char** argv) {
  // Debian builds Abseil without NDEBUG, which leaves absl::Mutex's deadlock detection on: a cycle-graph update on
  // every lock gRPC takes (several per request). Its checks are for development; a server runs without them.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  // Blocks of 1 MiB and more (a snapshot's pieces, a few MiB each, made on whichever thread runs the core and freed
  // on the snapshot thread) come from mmap and go back to the system when freed. glibc's default threshold rises to
  // the size of the last such block freed, after which those pieces are carved from every thread's arena and stay
  // resident (+60 MB at the end of a 1M-key load).
  mallopt(M_MMAP_THRESHOLD, 1 << 20);
  std::vector<std::string> args(argv + 1, argv + argc);
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string kv = *e;
    const size_t eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  std::vector<std::string> warnings;
  absl::StatusOr<detcd::DetcdConfig> parsed = detcd::ParseDetcdFlags(args, env, &warnings);
  if (!parsed.ok()) {
    std::fprintf(stderr, "%s\n", std::string(parsed.status().message()).c_str());
    if (parsed.status().code() == absl::StatusCode::kInvalidArgument) std::fputs(detcd::DetcdUsageText().c_str(), stderr);
    return detcd::DetcdFlagsExitCode(parsed.status());
  }
  const detcd::DetcdConfig& cfg = *parsed;
  if (cfg.action == detcd::DetcdFlagsAction::kPrintHelp) {
    std::fputs(detcd::DetcdUsageText().c_str(), stderr);
    std::fputs(detcd::DetcdHelpText().c_str(), stdout);
    return 0;
  }
  if (cfg.action == detcd::DetcdFlagsAction::kPrintVersion) {
    std::fputs(detcd::DetcdVersionText().c_str(), stdout);
    return 0;
  }
  Logger log(cfg.logger == "zap");
  for (const std::string& w : warnings) log.Warn("etcdmain", w);
  // Signals are taken synchronously by this thread (sigwait below); every thread started from here on inherits the
  // mask, so none of them is picked for a signal's default action. SIGUSR1: the member was removed from the cluster.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  if (std::string why = Unsupported(cfg); !why.empty()) {
    log.Error("etcdmain", why);
    return 1;
  }
  // An https metrics URL is served with the client TLS too (etcd's transport.NewListener with ClientTLSInfo).
  const bool client_https = std::any_of(cfg.listen_client_urls.begin(), cfg.listen_client_urls.end(), Https) ||
                            std::any_of(cfg.listen_metrics_urls.begin(), cfg.listen_metrics_urls.end(), Https);
  // Given files win over --auto-tls (the flags already warned "ignoring client auto TLS since certs given").
  const bool auto_tls = cfg.client_auto_tls && cfg.client_tls.cert_file.empty() && cfg.client_tls.key_file.empty();
  for (const detcd::DetcdUrl& u : cfg.listen_metrics_urls) {
    if (Https(u) && !cfg.client_auto_tls && cfg.client_tls.cert_file.empty() && cfg.client_tls.key_file.empty()) {
      log.Error("etcdmain", absl::StrCat("cannot listen on TLS for ", u.host, ":", u.port,
                                         ": KeyFile and CertFile are not presented"));
      return 1;
    }
  }
  ClientTls client_tls;
  if (client_https && !auto_tls) {
    absl::StatusOr<ClientTls> t =
        LoadClientTls(cfg.client_tls.cert_file, cfg.client_tls.key_file, cfg.client_tls.trusted_ca_file);
    if (!t.ok()) {
      log.Error("etcdmain", std::string(t.status().message()));
      return 1;
    }
    client_tls = std::move(*t);
  }
  // Peer TLS from files is checked here too; --peer-auto-tls's pair is made below. Given files win over
  // --peer-auto-tls (the flags already warned "ignoring peer auto TLS since certs given").
  const bool peer_files = !cfg.peer_tls.cert_file.empty() || !cfg.peer_tls.key_file.empty();
  const bool peer_auto_tls = cfg.peer_auto_tls && !peer_files;
  std::shared_ptr<const detcd::net::PeerTls> peer_tls;
  if (!peer_auto_tls && (peer_files || AnyHttpsPeerUrl(cfg))) {
    absl::StatusOr<std::shared_ptr<const detcd::net::PeerTls>> t =
        LoadPeerTls(peer_files ? cfg.peer_tls : detcd::DetcdTlsFiles{}, /*skip_verify=*/false);
    if (!t.ok()) {
      log.Error("etcdmain", std::string(t.status().message()));
      return 1;
    }
    peer_tls = std::move(*t);
  }

  // A member with no WAL yet is bootstrapped from the flags, which etcd checks first.
  detcd::storage::PosixDisk disk;
  const std::string wal_dir = cfg.wal_dir.empty() ? cfg.data_dir + "/member/wal" : cfg.wal_dir;
  const bool initialized = detcd::storage::Wal::Exists(&disk, wal_dir);
  if (!initialized) {
    if (absl::Status s = detcd::VerifyBootstrap(cfg); !s.ok()) {
      log.Error("etcdmain", absl::StrCat("error verifying flags, ", s.message(), ". See 'etcd --help'."));
      return detcd::DetcdFlagsExitCode(s);
    }
  }

  // --auto-tls: etcd's ClientSelfCert, a self-signed pair for the listen hosts, generated once and then reused.
  if (auto_tls) {
    std::vector<std::string> hosts;
    for (const detcd::DetcdUrl& u : cfg.listen_client_urls) hosts.push_back(u.host);
    absl::StatusOr<detcd::net::CertKeyFiles> files =
        detcd::net::SelfSignedCert(hosts, cfg.data_dir + "/fixtures/client");
    absl::StatusOr<ClientTls> t = files.ok() ? LoadClientTls(files->cert_file, files->key_file,
                                                             cfg.client_tls.trusted_ca_file)
                                             : absl::StatusOr<ClientTls>(files.status());
    if (!t.ok()) {
      log.Error("etcdmain", absl::StrCat("could not get certs (", t.status().message(), ")"));
      return 1;
    }
    client_tls = std::move(*t);
    log.Info("embed", absl::StrCat("auto TLS: using the self-signed certificate ", files->cert_file));
  }
  // --peer-auto-tls: etcd's PeerSelfCert, for the peer listen hosts, not verified by the other members.
  if (peer_auto_tls) {
    std::vector<std::string> hosts;
    for (const detcd::DetcdUrl& u : cfg.listen_peer_urls) hosts.push_back(u.host);
    absl::StatusOr<detcd::net::CertKeyFiles> files = detcd::net::SelfSignedCert(hosts, cfg.data_dir + "/fixtures/peer");
    absl::StatusOr<std::shared_ptr<const detcd::net::PeerTls>> t =
        files.ok() ? LoadPeerTls(detcd::DetcdTlsFiles{files->cert_file, files->key_file, "", false}, true)
                   : absl::StatusOr<std::shared_ptr<const detcd::net::PeerTls>>(files.status());
    if (!t.ok()) {
      log.Error("etcdmain", absl::StrCat("could not get certs (", t.status().message(), ")"));
      return 1;
    }
    peer_tls = std::move(*t);
  }

  // Who this member is. A member with a WAL is who it was created as (its IDs are kept beside the WAL; its members
  // come from its log). A new member of a new cluster takes etcd's IDs from --initial-cluster and the token and writes
  // the founding members into the head of its log; a member joining a running cluster asks the other members' peer
  // ports for the cluster and finds itself there by its peer URLs (it was added with `etcdctl member add`).
  const std::vector<std::string> peer_urls = Strings(cfg.initial_advertise_peer_urls);
  uint64_t member_id = detcd::net::EtcdMemberId(peer_urls, cfg.initial_cluster_token);
  std::vector<uint64_t> ids;
  std::map<uint64_t, detcd::kvpb::Member> founding;
  std::map<uint64_t, detcd::net::PeerAddress> peer_addresses;
  absl::StatusOr<std::map<std::string, std::vector<detcd::DetcdUrl>>> cluster =
      detcd::ParseInitialCluster(cfg.initial_cluster);
  if (cluster.ok()) {
    for (const auto& [name, urls] : *cluster) {
      const uint64_t id = detcd::net::EtcdMemberId(Strings(urls), cfg.initial_cluster_token);
      if (name == cfg.name) member_id = id;
      ids.push_back(id);
      detcd::kvpb::Member m;
      m.set_id(id);
      m.set_name(name);
      for (const std::string& u : Strings(urls)) m.add_peer_urls(u);
      founding[id] = std::move(m);
      if (std::optional<detcd::net::PeerAddress> a = urls.empty() ? std::nullopt : detcd::PeerAddressOf(urls[0].String())) {
        peer_addresses[id] = *a;
      }
    }
  }
  uint64_t cluster_id = detcd::net::EtcdClusterId(ids);
  bool join_existing = false;
  absl::StatusOr<std::optional<detcd::MemberIds>> saved = detcd::LoadMemberIds(cfg.data_dir);
  if (!saved.ok()) {
    log.Error("etcdmain", std::string(saved.status().message()));
    return 1;
  }
  if (initialized && saved->has_value()) {
    member_id = (*saved)->member_id;
    cluster_id = (*saved)->cluster_id;
    peer_addresses.clear();  // the members come from its log, replayed at start
  } else if (!initialized && cfg.initial_cluster_state == "existing") {
    std::vector<detcd::net::PeerAddress> others;
    for (const auto& [id, address] : peer_addresses) {
      const auto& urls = founding[id].peer_urls();
      if (std::vector<std::string>(urls.begin(), urls.end()) == peer_urls) continue;  // this member itself
      others.push_back(address);
    }
    absl::StatusOr<detcd::kvpb::ClusterInfo> info = detcd::FetchCluster(others, absl::Seconds(2), peer_tls.get());
    if (!info.ok()) {
      log.Error("etcdmain", absl::StrCat("cannot fetch cluster info from peer urls: ", info.status().message()));
      return 1;
    }
    absl::StatusOr<detcd::kvpb::Member> self = detcd::FindSelf(*info, peer_urls);
    if (!self.ok()) {
      log.Error("etcdmain", std::string(self.status().message()));
      return 1;
    }
    member_id = self->id();
    cluster_id = info->cluster_id();
    join_existing = true;
    peer_addresses.clear();
    for (const detcd::kvpb::Member& m : info->members()) {
      if (m.peer_urls_size() == 0) continue;
      if (std::optional<detcd::net::PeerAddress> a = detcd::PeerAddressOf(m.peer_urls(0))) peer_addresses[m.id()] = *a;
    }
  } else if (std::find(ids.begin(), ids.end(), member_id) == ids.end()) {
    log.Error("etcdmain", absl::StrCat("couldn't find local name \"", cfg.name, "\" in the initial cluster configuration"));
    return 1;
  }
  log.Info("etcdmain", absl::StrCat("etcd Version: ", detcd::kEtcdCompatibleVersion, " (detcd)"));
  if (peer_files || peer_auto_tls) {
    const std::string fixtures = cfg.data_dir + "/fixtures/peer/";
    log.Info("embed",
             absl::StrCat("peerTLS: cert = ", peer_auto_tls ? fixtures + "cert.pem" : cfg.peer_tls.cert_file,
                          ", key = ", peer_auto_tls ? fixtures + "key.pem" : cfg.peer_tls.key_file,
                          ", trusted-ca = ", peer_auto_tls ? "" : cfg.peer_tls.trusted_ca_file, ", client-cert-auth = ",
                          !peer_auto_tls && cfg.peer_tls.client_cert_auth ? "true" : "false", ", crl-file = "));
  }
  log.Info("embed", absl::StrCat("name = ", cfg.name));
  log.Info("embed", absl::StrCat("data dir = ", cfg.data_dir));
  log.Info("embed", absl::StrCat("member dir = ", cfg.data_dir, "/member"));
  if (!cfg.wal_dir.empty()) log.Info("embed", absl::StrCat("dedicated WAL dir = ", cfg.wal_dir));
  log.Info("embed", absl::StrCat("heartbeat = ", cfg.heartbeat_interval_ms, "ms"));
  log.Info("embed", absl::StrCat("election = ", cfg.election_timeout_ms, "ms"));
  log.Info("embed", absl::StrCat("snapshot count = ", cfg.snapshot_count));
  log.Info("embed", absl::StrCat("advertise client URLs = ", absl::StrJoin(Strings(cfg.advertise_client_urls), ",")));

  detcd::net::MemberRuntimeOptions ro;
  ro.data_dir = cfg.data_dir;
  ro.reply_batch_begin = &detcd::net::GrpcFrontEnd::BeginReplyBatch;
  ro.reply_batch_end = &detcd::net::GrpcFrontEnd::EndReplyBatch;
  // Test-only (not an etcd setting): a smaller WAL segment than etcd's preallocated 64 MiB, so that test suites that
  // start many members use little disk.
  if (auto it = env.find("DETCD_WAL_SEGMENT_BYTES"); it != env.end()) {
    uint64_t bytes = 0;
    if (absl::SimpleAtoi(it->second, &bytes) && bytes >= 4096) ro.wal_segment_bytes = bytes;
  }
  ro.wal_dir = cfg.wal_dir;
  ro.core.id = member_id;
  ro.core.peers = ids;
  ro.core.founding = founding;
  ro.core.join_existing = join_existing;
  ro.core.strict_reconfig_check = cfg.strict_reconfig_check;
  ro.core.force_new_cluster = cfg.force_new_cluster;
  ro.core.cluster_id = cluster_id;
  ro.core.tick_us = static_cast<int64_t>(cfg.heartbeat_interval_ms) * 1000;
  ro.core.heartbeat_ticks = 1;
  ro.core.election_ticks = static_cast<int>(cfg.election_timeout_ms / cfg.heartbeat_interval_ms);
  ro.core.snapshot_count = cfg.snapshot_count;
  ro.core.max_request_bytes = cfg.max_request_bytes;
  ro.core.max_txn_ops = static_cast<int>(cfg.max_txn_ops);
  ro.core.quota_bytes = cfg.quota_backend_bytes > 0 ? cfg.quota_backend_bytes : detcd::kDefaultQuotaBackendBytes;
  // etcd: 5 s + 2 election timeouts before "request timed out".
  ro.core.request_timeout_ticks =
      static_cast<int64_t>((5000 + 2 * cfg.election_timeout_ms) / cfg.heartbeat_interval_ms);
  ro.log = [&log](const std::string& line) { log.Info("etcdserver", line); };

  // The peer transport first (its messages wait until the member exists), then the member.
  std::atomic<detcd::net::MemberRuntime*> member{nullptr};
  std::atomic<detcd::net::PeerTransport*> transport_ptr{nullptr};
  detcd::net::PeerTransportOptions to;
  to.member_id = member_id;
  to.cluster_id = cluster_id;
  {
    const detcd::DetcdUrl& l = cfg.listen_peer_urls.front();
    int port = 0;
    (void)absl::SimpleAtoi(l.port, &port);
    to.listen = detcd::net::PeerAddress{l.host.empty() ? "0.0.0.0" : l.host, static_cast<uint16_t>(port), Https(l)};
  }
  to.tls = peer_tls;
  for (const auto& [id, address] : peer_addresses) {
    if (id != member_id) to.peers[id] = address;
  }
  to.deliver = [&member](detcd::raftpb::Message m) {
    if (detcd::net::MemberRuntime* r = member.load()) r->Receive(std::move(m));
  };
  // A leader's snapshot streams into a file of the member's, then its message goes to the member.
  to.open_snapshot_sink = [&member](const detcd::raftpb::Message& header, uint64_t bytes)
      -> absl::StatusOr<std::unique_ptr<detcd::net::SnapshotSink>> {
    detcd::net::MemberRuntime* r = member.load();
    if (r == nullptr) return absl::UnavailableError("the member is not started");
    absl::StatusOr<std::unique_ptr<detcd::storage::ReceivedSnapshotFile>> file = r->ReceiveSnapshotFile(header, bytes);
    if (!file.ok()) return file.status();
    return std::unique_ptr<detcd::net::SnapshotSink>(new detcd::net::ReceivedSnapshotSink(std::move(*file)));
  };
  to.deliver_snapshot = [&member](detcd::raftpb::Message m, std::string path) {
    if (detcd::net::MemberRuntime* r = member.load()) r->ReceiveSnapshot(std::move(m), std::move(path));
  };
  to.report_unreachable = [&member](uint64_t peer) {
    if (detcd::net::MemberRuntime* r = member.load()) r->ReportUnreachable(peer);
  };
  to.report_snapshot = [&member](uint64_t peer, bool failed) {
    if (detcd::net::MemberRuntime* r = member.load()) r->ReportSnapshot(peer, failed);
  };
  to.log = [&log](const std::string& line) { log.Info("rafthttp", line); };
  to.removed_from_cluster = [] { ::kill(::getpid(), SIGUSR1); };
  // What a joining member is told, kept current by the member's membership changes.
  std::mutex cluster_info_mu;
  std::string cluster_info;  // guarded by cluster_info_mu
  to.cluster_info = [&cluster_info_mu, &cluster_info] {
    std::lock_guard<std::mutex> l(cluster_info_mu);
    return cluster_info;
  };
  absl::StatusOr<std::unique_ptr<detcd::net::PeerTransport>> transport = detcd::net::PeerTransport::Start(to);
  if (!transport.ok()) {
    log.Error("etcdmain", absl::StrCat("listener failed: ", transport.status().message()));
    return 1;
  }
  transport_ptr = transport->get();
  ro.send = [&transport_ptr](detcd::raftpb::Message m, std::shared_ptr<detcd::storage::ReadableFile> snapshot_file) {
    if (detcd::net::PeerTransport* t = transport_ptr.load()) t->Send(std::move(m), std::move(snapshot_file));
  };
  // The transport follows the members as the log makes them: a member added is dialed at its first peer URL, one
  // removed is forgotten (etcd's rafthttp AddPeer/RemovePeer on applying a configuration change).
  // Peers the transport started with (from the flags, or the joined cluster) that the log does not know go.
  std::map<uint64_t, std::string> initial_peers;
  for (const auto& [id, address] : to.peers) initial_peers[id] = "";
  ro.on_members = [&, known = std::move(initial_peers)](
                      const std::vector<detcd::kvpb::Member>& members, const std::set<uint64_t>& removed) mutable {
    detcd::kvpb::ClusterInfo info;
    info.set_cluster_id(cluster_id);
    for (const detcd::kvpb::Member& m : members) *info.add_members() = m;
    for (uint64_t id : removed) info.add_removed_member_ids(id);
    {
      std::lock_guard<std::mutex> l(cluster_info_mu);
      cluster_info = info.SerializeAsString();
    }
    detcd::net::PeerTransport* t = transport_ptr.load();
    if (t == nullptr) return;
    std::map<uint64_t, std::string> now;
    for (const detcd::kvpb::Member& m : members) {
      if (m.id() == member_id || m.peer_urls_size() == 0) continue;
      now[m.id()] = m.peer_urls(0);
      if (known.count(m.id()) > 0 && known[m.id()] == m.peer_urls(0)) continue;
      if (std::optional<detcd::net::PeerAddress> a = detcd::PeerAddressOf(m.peer_urls(0))) {
        log.Info("rafthttp", absl::StrCat("added peer ", detcd::net::IdHex(m.id()), " at ", m.peer_urls(0)));
        t->AddPeer(m.id(), *a);
      }
    }
    for (const auto& [id, url] : known) {
      if (now.count(id) > 0) continue;
      log.Info("rafthttp", absl::StrCat("removed peer ", detcd::net::IdHex(id)));
      t->RemovePeer(id);
    }
    known = std::move(now);
  };
  ro.on_removed = [] { ::kill(::getpid(), SIGUSR1); };
  absl::StatusOr<std::unique_ptr<detcd::net::MemberRuntime>> runtime = detcd::net::MemberRuntime::Start(ro);
  if (!runtime.ok()) {
    log.Error("etcdmain", absl::StrCat("listener failed: ", runtime.status().message()));
    return 1;
  }
  member = runtime->get();
  // The member's directories are created and locked now: its IDs go beside them (never before the lock, so that a
  // second process pointed at the same data directory cannot overwrite them).
  if (!initialized) {
    if (absl::Status s = detcd::SaveMemberIds(cfg.data_dir, {member_id, cluster_id}); !s.ok()) {
      log.Error("etcdmain", absl::StrCat("cannot save the member's IDs: ", s.message()));
      (*runtime)->Stop();
      return 1;
    }
  }
  log.Info("etcdserver", absl::StrCat("starting member ", detcd::net::IdHex(member_id), " in cluster ",
                                      detcd::net::IdHex(cluster_id)));

  // Clients are served once the member has a leader (etcd serves them after it published itself).
  // A signal that arrives meanwhile is kept for the wait at the end (every start-up wait below checks for one).
  int sig = 0;
  auto signalled = [&signals, &sig] {
    if (sig != 0) return true;
    const timespec none{0, 0};
    const int got = sigtimedwait(&signals, nullptr, &none);
    if (got > 0) sig = got;
    return sig != 0;
  };
  for (int i = 0; i < 1000 && !signalled() && (*runtime)->Status().leader == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  detcd::net::GrpcServicesOptions so;
  so.version = detcd::kEtcdCompatibleVersion;
  so.member_name = cfg.name;
  so.peer_urls = peer_urls;
  so.client_urls = Strings(cfg.advertise_client_urls);
  so.request_timeout = absl::Milliseconds(5000 + 2 * cfg.election_timeout_ms);
  detcd::net::EtcdServices services(runtime->get(), so);
  grpc::ServerBuilder builder;
  builder.SetMaxReceiveMessageSize(static_cast<int>(cfg.max_request_bytes + 512 * 1024));  // etcd's grpc overhead
  services.RegisterOn(builder);
  detcd::net::LockElectionOptions lo;
  lo.request_timeout = so.request_timeout;
  detcd::net::LockElectionServices lock_election(runtime->get(), lo);
  lock_election.RegisterOn(builder);
  // gRPC has no listening port of its own: each client URL's listener hands it the connections that speak HTTP/2,
  // after taking TLS off them on an https URL.
  std::shared_ptr<const detcd::net::TlsTerminator> client_terminator;
  if (client_https) {
    const std::string cert_file = auto_tls ? cfg.data_dir + "/fixtures/client/cert.pem" : cfg.client_tls.cert_file;
    const std::string key_file = auto_tls ? cfg.data_dir + "/fixtures/client/key.pem" : cfg.client_tls.key_file;
    log.Info("embed", absl::StrCat("ClientTLS: cert = ", cert_file, ", key = ", key_file,
                                   ", trusted-ca = ", cfg.client_tls.trusted_ca_file,
                                   ", client-cert-auth = ", cfg.client_tls.client_cert_auth ? "true" : "false",
                                   ", crl-file = "));
    detcd::net::TlsTerminatorOptions tls_options;
    tls_options.cert_pem = client_tls.cert_pem;
    tls_options.key_pem = client_tls.key_pem;
    tls_options.trusted_ca_pem = client_tls.trusted_ca_pem;
    // As etcd 3.4: --trusted-ca-file alone also requires client certificates (its log line still says false).
    tls_options.client_cert_auth = cfg.client_tls.client_cert_auth || !cfg.client_tls.trusted_ca_file.empty();
    tls_options.log = [&log](const std::string& line) { log.Info("embed", line); };  // rejected connections
    absl::StatusOr<std::shared_ptr<const detcd::net::TlsTerminator>> t =
        detcd::net::TlsTerminator::Create(std::move(tls_options));
    if (!t.ok()) {
      log.Error("etcdmain", absl::StrCat("client TLS (cert = ", cert_file, ", key = ", key_file, ", trusted-ca = ",
                                         cfg.client_tls.trusted_ca_file, "): ", t.status().message()));
      (*runtime)->Stop();
      return 1;
    }
    client_terminator = std::move(*t);
  }
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr) {
    log.Error("etcdmain", "cannot start the gRPC server");
    (*runtime)->Stop();
    return 1;
  }
  services.Serve();
  // The client port's HTTP/2 connections: KV and unary Lease served by the front end itself, everything else passed
  // to the gRPC server in-process.
  detcd::net::GrpcFrontEndOptions fo;
  fo.runtime = runtime->get();
  fo.services = services.shared();
  fo.fallback = server->InProcessChannel(grpc::ChannelArguments());
  fo.max_message_bytes = cfg.max_request_bytes + 512 * 1024;  // as the gRPC server's limit
  absl::StatusOr<std::unique_ptr<detcd::net::GrpcFrontEnd>> front_end = detcd::net::GrpcFrontEnd::Start(fo);
  if (!front_end.ok()) {
    log.Error("etcdmain", std::string(front_end.status().message()));
    server->Shutdown();
    (*runtime)->Stop();
    services.Stop();
    return 1;
  }
  detcd::net::GrpcFrontEnd* front = front_end->get();
  detcd::net::HttpGatewayOptions go;
  go.version = detcd::kEtcdCompatibleVersion;
  go.member_name = cfg.name;
  go.peer_urls = peer_urls;
  go.client_urls = Strings(cfg.advertise_client_urls);
  go.grpc_channel = server->InProcessChannel(grpc::ChannelArguments());  // /v3/lock/*, /v3/election/*
  go.request_timeout = so.request_timeout;
  detcd::net::HttpGateway gateway(runtime->get(), go);
  std::atomic<bool> http_stop{false};
  std::vector<std::unique_ptr<detcd::net::ClientListener>> listeners;
  for (const detcd::DetcdUrl& u : cfg.listen_client_urls) {
    int port = 0;
    if (!absl::SimpleAtoi(u.port, &port)) port = -1;
    absl::StatusOr<std::unique_ptr<detcd::net::ClientListener>> l = detcd::net::ClientListener::Start(
        u.host, port, server.get(),
        [&gateway, &http_stop](int fd) { detcd::net::ServeHttpConnection(fd, &gateway, &http_stop); },
        Https(u) ? client_terminator : nullptr, [front](int fd) { front->Adopt(fd); });
    if (!l.ok()) {
      log.Error("etcdmain", absl::StrCat("listener failed: listen tcp ", u.host, ":", u.port, ": ",
                                         l.status().message()));
      server->Shutdown();
      (*runtime)->Stop();
      services.Stop();
      return 1;
    }
    listeners.push_back(std::move(*l));
  }
  // --listen-metrics-urls: HTTP/1.1 only (no gRPC server to hand connections to), /metrics and /health only; TLS with
  // the client's certificate on an https one.
  for (const detcd::DetcdUrl& u : cfg.listen_metrics_urls) {
    int port = 0;
    if (!absl::SimpleAtoi(u.port, &port)) port = -1;
    absl::StatusOr<std::unique_ptr<detcd::net::ClientListener>> l = detcd::net::ClientListener::Start(
        u.host, port, nullptr, [&gateway, &http_stop](int fd) {
          // A metrics URL serves /metrics and /health only, as etcd's.
          detcd::net::ServeHttpConnection(fd, &gateway, &http_stop, absl::Minutes(5), {},
                                          [](const std::string& path) { return path == "/metrics" || path == "/health"; });
        },
        Https(u) ? client_terminator : nullptr);
    if (!l.ok()) {
      log.Error("etcdmain", absl::StrCat("listener failed: listen tcp ", u.host, ":", u.port, ": ",
                                         l.status().message()));
      server->Shutdown();
      (*runtime)->Stop();
      services.Stop();
      return 1;
    }
    log.Info("embed", absl::StrCat("listening for metrics on ", u.String()));
    listeners.push_back(std::move(*l));
  }

  // Publish this member's name and client URLs through Raft, as etcd does before it serves (retrying while the
  // cluster has no leader yet).
  {
    detcd::kvpb::ClientRequest pub;
    pub.mutable_member_attributes()->set_id(member_id);
    pub.mutable_member_attributes()->set_name(cfg.name);
    for (const std::string& u : Strings(cfg.advertise_client_urls)) pub.mutable_member_attributes()->add_client_urls(u);
    for (int attempt = 0; attempt < 100 && !signalled(); ++attempt) {
      const detcd::kv::ClientReply r = (*runtime)->Call(pub, absl::Seconds(5));
      if (r.status.ok()) break;
      log.Warn("etcdserver", absl::StrCat("failed to publish local member to cluster through raft: ", r.status.message()));
      absl::SleepFor(absl::Milliseconds(100));
    }
  }
  log.Info("etcdserver", absl::StrCat("published {Name:", cfg.name, " ClientURLs:[",
                                      absl::StrJoin(Strings(cfg.advertise_client_urls), " "), "]} to cluster ",
                                      detcd::net::IdHex(cluster_id)));
  log.Info("etcdserver", "published local member to cluster through raft");
  log.Info("etcdserver/api", "enabled capabilities for version 3.4");
  for (const detcd::DetcdUrl& u : cfg.listen_client_urls) {
    if (Https(u)) {
      log.Info("embed", absl::StrCat("serving client requests on ", u.host, ":", u.port));
    } else {
      log.Warn("embed", absl::StrCat("serving insecure client requests on ", u.host, ":", u.port,
                                     ", this is strongly discouraged!"));
    }
  }
  log.Info("embed", "ready to serve client requests");

  if (sig == 0) sigwait(&signals, &sig);
  if (sig == SIGUSR1) {
    log.Warn("etcdserver", "the member has been permanently removed from the cluster");
    log.Warn("etcdserver", "the data-dir used by this member must be removed.");
  } else {
    log.Info("osutil", absl::StrCat("received ", sig == SIGINT ? "interrupt" : "terminated", " signal, shutting down..."));
  }
  http_stop = true;
  for (auto& l : listeners) l->Stop();
  services.StopStreams();
  lock_election.StopWaits();
  (*front_end)->Stop();  // its connections close; calls passed to the gRPC server end before the server does
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  // TLS connections end once their plaintext side has closed (the listeners' and gRPC's are now): let them finish
  // their close_notify before the process's exit takes OpenSSL down under them (bounded: a client may not answer).
  for (int i = 0; i < 300 && client_terminator != nullptr && client_terminator->active_connections() > 0; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  member = nullptr;
  (*transport)->Stop();
  (*runtime)->Stop();  // every request still waiting is answered "server stopped", open streams let go
  services.Stop();     // the last completions, while the gRPC server they belong to still exists
  log.Info("etcdserver", "stopped");
  return 0;
}
