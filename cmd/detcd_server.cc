#include "cmd/detcd_server.h"

#include <grpcpp/health_check_service_interface.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "cmd/detcd_etcd_import.h"
#include "cmd/detcd_identity.h"
#include "cmd/detcd_notify.h"
#include "net/cluster_ids.h"
#include "net/http_server.h"
#include "net/peer_query.h"
#include "net/ping_policy.h"
#include "net/received_snapshot_sink.h"
#include "storage/posix_disk.h"
#include "storage/wal.h"

namespace detcd {

namespace {

std::vector<std::string> Strings(const std::vector<DetcdUrl>& urls) {
  std::vector<std::string> out;
  for (const DetcdUrl& u : urls) out.push_back(u.String());
  return out;
}

// What this build cannot serve yet; "" if the configuration is supported.
std::string Unsupported(const DetcdConfig& c) {
  for (const auto* urls : {&c.listen_client_urls, &c.advertise_client_urls, &c.listen_peer_urls,
                           &c.initial_advertise_peer_urls, &c.listen_metrics_urls}) {
    for (const DetcdUrl& u : *urls) {
      if (u.scheme == "unix" || u.scheme == "unixs") return "unix sockets are not supported by this build of detcd yet";
    }
  }
  return "";
}

// A start-up failure that is not the flags' fault: exit code 1 whatever went wrong underneath.
absl::Status Failed(const std::string& message) { return absl::FailedPreconditionError(message); }

int Port(const DetcdUrl& u) {
  int port = 0;
  return absl::SimpleAtoi(u.port, &port) ? port : -1;
}

// etcd: 5 s + 2 election timeouts before "etcdserver: request timed out".
absl::Duration RequestTimeout(const DetcdConfig& cfg) {
  return absl::Milliseconds(5000 + 2 * static_cast<int64_t>(cfg.election_timeout_ms));
}

}  // namespace

DetcdServer::DetcdServer(DetcdServerOptions options)
    : options_(std::move(options)), cfg_(options_.config), log_(*options_.log) {}

DetcdServer::~DetcdServer() { Stop(); }

absl::StatusOr<std::unique_ptr<DetcdServer>> DetcdServer::Start(DetcdServerOptions options) {
  std::unique_ptr<DetcdServer> s(new DetcdServer(std::move(options)));
  for (absl::Status (DetcdServer::*step)() :
       {&DetcdServer::Prepare, &DetcdServer::StartMember, &DetcdServer::CheckInitialCorruption,
        &DetcdServer::StartServing, &DetcdServer::Listen, &DetcdServer::StartCorruptionChecks}) {
    if (absl::Status st = (s.get()->*step)(); !st.ok()) {
      s->Stop();
      return st;
    }
  }
  s->Publish();
  return s;
}

// Everything checked before anything is written to disk: the flags this build cannot serve, TLS, the bootstrap flags
// of a member without a WAL; then who the member is.
absl::Status DetcdServer::Prepare() {
  if (std::string why = Unsupported(cfg_); !why.empty()) return Failed(why);
  absl::StatusOr<DetcdTls> tls = ResolveTls(cfg_);
  if (!tls.ok()) return Failed(std::string(tls.status().message()));
  tls_ = std::move(*tls);
  for (const std::string& name : tls_.unavailable_cipher_suites) {
    log_.Warn("embed", absl::StrCat("cipher suite ", name, " (--cipher-suites) is not available in this OpenSSL; the "
                                    "others are served"));
  }
  // An etcd data directory (etcdctl snapshot restore's output, or a stopped etcd's) becomes a detcd member first.
  absl::StatusOr<bool> imported = ImportEtcdDataDir(cfg_.data_dir, cfg_.wal_dir,
                                                    [this](const std::string& line) { log_.Info("etcdserver", line); });
  if (!imported.ok()) {
    return Failed(
        absl::StrCat("cannot start on the etcd data directory ", cfg_.data_dir, ": ", imported.status().message()));
  }
  storage::PosixDisk disk;
  initialized_ = storage::Wal::Exists(&disk, cfg_.wal_dir.empty() ? cfg_.data_dir + "/member/wal" : cfg_.wal_dir);
  if (!initialized_) {
    if (absl::Status s = VerifyBootstrap(cfg_); !s.ok()) {
      return absl::Status(s.code(), absl::StrCat("error verifying flags, ", s.message(), ". See 'etcd --help'."));
    }
  }
  if (absl::Status s = MakeAutoTls(cfg_, &tls_); !s.ok()) return Failed(std::string(s.message()));
  if (tls_.auto_tls)
    log_.Info("embed", absl::StrCat("auto TLS: using the self-signed certificate ", tls_.client_cert_file));

  // A member with a WAL is who it was created as (its IDs are kept beside the WAL; its members come from its log). A
  // new member of a new cluster takes etcd's IDs from --initial-cluster and the token and writes the founding members
  // into the head of its log; a member joining a running cluster asks the other members' peer ports for the cluster
  // and finds itself there by its peer URLs (it was added with `etcdctl member add`).
  const std::vector<std::string> peer_urls = Strings(cfg_.initial_advertise_peer_urls);
  member_id_ = net::EtcdMemberId(peer_urls, cfg_.initial_cluster_token);
  if (auto cluster = ParseInitialCluster(cfg_.initial_cluster); cluster.ok()) {
    for (const auto& [name, urls] : *cluster) {
      const uint64_t id = net::EtcdMemberId(Strings(urls), cfg_.initial_cluster_token);
      if (name == cfg_.name) member_id_ = id;
      ids_.push_back(id);
      kvpb::Member m;
      m.set_id(id);
      m.set_name(name);
      for (const std::string& u : Strings(urls)) m.add_peer_urls(u);
      founding_[id] = std::move(m);
      if (std::optional<net::PeerAddress> a = urls.empty() ? std::nullopt : PeerAddressOf(urls[0].String())) {
        peers_[id] = *a;
      }
    }
  }
  cluster_id_ = net::EtcdClusterId(ids_);
  absl::StatusOr<std::optional<MemberIds>> saved = LoadMemberIds(cfg_.data_dir);
  if (!saved.ok()) return Failed(std::string(saved.status().message()));
  if (initialized_ && saved->has_value()) {
    member_id_ = (*saved)->member_id;
    cluster_id_ = (*saved)->cluster_id;
    peers_.clear();  // the members come from its log, replayed at start
  } else if (!initialized_ && cfg_.initial_cluster_state == "existing") {
    std::vector<net::PeerAddress> others;
    for (const auto& [id, address] : peers_) {
      const auto& urls = founding_[id].peer_urls();
      if (std::vector<std::string>(urls.begin(), urls.end()) == peer_urls) continue;  // this member itself
      others.push_back(address);
    }
    absl::StatusOr<kvpb::ClusterInfo> info = FetchCluster(others, absl::Seconds(2), tls_.peer.get());
    if (!info.ok()) return Failed(absl::StrCat("cannot fetch cluster info from peer urls: ", info.status().message()));
    absl::StatusOr<kvpb::Member> self = FindSelf(*info, peer_urls);
    if (!self.ok()) return Failed(std::string(self.status().message()));
    member_id_ = self->id();
    cluster_id_ = info->cluster_id();
    join_existing_ = true;
    peers_.clear();
    for (const kvpb::Member& m : info->members()) {
      if (m.peer_urls_size() == 0) continue;
      if (std::optional<net::PeerAddress> a = PeerAddressOf(m.peer_urls(0))) peers_[m.id()] = *a;
    }
  } else if (std::find(ids_.begin(), ids_.end(), member_id_) == ids_.end()) {
    return Failed(absl::StrCat("couldn't find local name \"", cfg_.name, "\" in the initial cluster configuration"));
  }
  log_.Info("etcdmain", absl::StrCat("etcd Version: ", kEtcdCompatibleVersion, " (detcd)"));
  if (tls_.peer_files || tls_.peer_auto_tls) {
    const std::string fixtures = cfg_.data_dir + "/fixtures/peer/";
    log_.Info("embed",
              absl::StrCat("peerTLS: cert = ", tls_.peer_auto_tls ? fixtures + "cert.pem" : cfg_.peer_tls.cert_file,
                           ", key = ", tls_.peer_auto_tls ? fixtures + "key.pem" : cfg_.peer_tls.key_file,
                           ", trusted-ca = ", tls_.peer_auto_tls ? "" : cfg_.peer_tls.trusted_ca_file,
                           ", client-cert-auth = ",
                           !tls_.peer_auto_tls && cfg_.peer_tls.client_cert_auth ? "true" : "false", ", crl-file = ",
                           tls_.peer_auto_tls ? "" : cfg_.peer_tls.crl_file));
  }
  log_.Info("embed", absl::StrCat("name = ", cfg_.name));
  log_.Info("embed", absl::StrCat("data dir = ", cfg_.data_dir));
  log_.Info("embed", absl::StrCat("member dir = ", cfg_.data_dir, "/member"));
  if (!cfg_.wal_dir.empty()) log_.Info("embed", absl::StrCat("dedicated WAL dir = ", cfg_.wal_dir));
  log_.Info("embed", absl::StrCat("heartbeat = ", cfg_.heartbeat_interval_ms, "ms"));
  log_.Info("embed", absl::StrCat("election = ", cfg_.election_timeout_ms, "ms"));
  log_.Info("embed", absl::StrCat("snapshot count = ", cfg_.snapshot_count));
  log_.Info("embed", absl::StrCat("advertise client URLs = ", absl::StrJoin(Strings(cfg_.advertise_client_urls), ",")));
  return absl::OkStatus();
}

// The peer transport first (its messages wait until the member exists), then the member.
absl::Status DetcdServer::StartMember() {
  net::MemberRuntimeOptions ro;
  ro.data_dir = cfg_.data_dir;
  ro.wal_dir = cfg_.wal_dir;
  if (options_.wal_segment_bytes >= 4096) ro.wal_segment_bytes = options_.wal_segment_bytes;
  ro.core.kv_testing.corrupt_puts_to = options_.testing_corrupt_key;
  ro.reply_batch_begin = &net::GrpcFrontEnd::BeginReplyBatch;
  ro.reply_batch_end = &net::GrpcFrontEnd::EndReplyBatch;
  ro.core.id = member_id_;
  ro.core.peers = ids_;
  ro.core.founding = founding_;
  ro.core.join_existing = join_existing_;
  ro.core.strict_reconfig_check = cfg_.strict_reconfig_check;
  ro.core.force_new_cluster = cfg_.force_new_cluster;
  ro.core.cluster_id = cluster_id_;
  ro.core.tick_us = static_cast<int64_t>(cfg_.heartbeat_interval_ms) * 1000;
  ro.core.heartbeat_ticks = 1;
  ro.core.election_ticks = static_cast<int>(cfg_.election_timeout_ms / cfg_.heartbeat_interval_ms);
  ro.core.snapshot_count = cfg_.snapshot_count;
  ro.core.max_request_bytes = cfg_.max_request_bytes;
  ro.core.max_txn_ops = static_cast<int>(cfg_.max_txn_ops);
  ro.core.quota_bytes = cfg_.quota_backend_bytes > 0 ? cfg_.quota_backend_bytes : kDefaultQuotaBackendBytes;
  ro.core.request_timeout_ticks = absl::ToInt64Microseconds(RequestTimeout(cfg_)) / ro.core.tick_us;
  ro.core.pre_vote = cfg_.pre_vote;
  ro.core.simple_token_ttl_us = static_cast<int64_t>(cfg_.auth_token_ttl_s) * 1'000'000;
  // etcd starts a compactor only for a non-zero retention.
  if (cfg_.auto_compaction_mode == "revision" && cfg_.auto_compaction_retention_revisions > 0) {
    ro.core.auto_compaction.mode = kv::AutoCompactionConfig::Mode::kRevision;
    ro.core.auto_compaction.retention_revisions = cfg_.auto_compaction_retention_revisions;
  } else if (cfg_.auto_compaction_mode != "revision" && cfg_.auto_compaction_retention_ms > 0) {
    ro.core.auto_compaction.mode = kv::AutoCompactionConfig::Mode::kPeriodic;
    ro.core.auto_compaction.retention_ms = cfg_.auto_compaction_retention_ms;
  }
  ro.max_snapshots = cfg_.max_snapshots;
  ro.max_wals = cfg_.max_wals;
  // Watchers that asked for progress notifications get one each interval (0: never), counted in ticks.
  ro.core.progress_notify_ticks =
      static_cast<int64_t>(cfg_.watch_progress_notify_interval_ms / static_cast<int64_t>(cfg_.heartbeat_interval_ms));
  if (cfg_.watch_progress_notify_interval_ms > 0 && ro.core.progress_notify_ticks == 0)
    ro.core.progress_notify_ticks = 1;
  ro.log = [this](const std::string& line) { log_.Info("etcdserver", line); };

  net::PeerTransportOptions to;
  to.member_id = member_id_;
  to.cluster_id = cluster_id_;
  const DetcdUrl& l = cfg_.listen_peer_urls.front();
  to.listen =
      net::PeerAddress{l.host.empty() ? "0.0.0.0" : l.host, static_cast<uint16_t>(std::max(Port(l), 0)), Https(l)};
  to.tls = tls_.peer;
  for (const auto& [id, address] : peers_) {
    if (id != member_id_) to.peers[id] = address;
  }
  to.deliver = [this](raftpb::Message m) {
    if (net::MemberRuntime* r = member_.load()) r->Receive(std::move(m));
  };
  // A leader's snapshot streams into a file of the member's, then its message goes to the member.
  to.open_snapshot_sink = [this](const raftpb::Message& header,
                                 uint64_t bytes) -> absl::StatusOr<std::unique_ptr<net::SnapshotSink>> {
    net::MemberRuntime* r = member_.load();
    if (r == nullptr) return absl::UnavailableError("the member is not started");
    absl::StatusOr<std::unique_ptr<storage::ReceivedSnapshotFile>> file = r->ReceiveSnapshotFile(header, bytes);
    if (!file.ok()) return file.status();
    return std::unique_ptr<net::SnapshotSink>(new net::ReceivedSnapshotSink(std::move(*file)));
  };
  to.deliver_snapshot = [this](raftpb::Message m, std::string path) {
    if (net::MemberRuntime* r = member_.load()) r->ReceiveSnapshot(std::move(m), std::move(path));
  };
  to.report_unreachable = [this](uint64_t peer) {
    if (net::MemberRuntime* r = member_.load()) r->ReportUnreachable(peer);
  };
  to.report_snapshot = [this](uint64_t peer, bool failed) {
    if (net::MemberRuntime* r = member_.load()) r->ReportSnapshot(peer, failed);
  };
  to.log = [this](const std::string& line) { log_.Info("rafthttp", line); };
  to.removed_from_cluster = [] { ::kill(::getpid(), SIGUSR1); };
  to.cluster_info = [this] {
    std::lock_guard<std::mutex> lock(cluster_info_mu_);
    return cluster_info_;
  };
  // A peer's corruption check: this member's HashKV, computed on its core thread, answered as etcd's
  // /members/hashkv handler does (the response, or the error's text).
  to.hash_kv = [this](int64_t revision, std::function<void(std::string)> answer) {
    net::MemberRuntime* r = member_.load();
    if (r == nullptr) return answer(net::EncodeHashKVAnswer(absl::UnavailableError("etcdserver: not started")));
    r->HashKVAsync(revision, [answer](absl::StatusOr<kv::HashKVResult> h) {
      if (!h.ok()) return answer(net::EncodeHashKVAnswer(h.status()));
      etcdserverpb::HashKVResponse resp;
      *resp.mutable_header() = h->header;
      resp.set_hash(h->hash);
      resp.set_compact_revision(h->compact_revision);
      answer(net::EncodeHashKVAnswer(resp));
    });
  };
  absl::StatusOr<std::unique_ptr<net::PeerTransport>> transport = net::PeerTransport::Start(to);
  if (!transport.ok()) return Failed(absl::StrCat("listener failed: ", transport.status().message()));
  transport_ = std::move(*transport);
  transport_ptr_ = transport_.get();
  ro.send = [this](raftpb::Message m, std::shared_ptr<storage::ReadableFile> snapshot_file) {
    if (net::PeerTransport* t = transport_ptr_.load()) t->Send(std::move(m), std::move(snapshot_file));
  };
  // Peers the transport started with (from the flags, or the joined cluster) that the log does not know go.
  for (const auto& [id, address] : to.peers) known_peers_[id] = "";
  ro.on_members = [this](const std::vector<kvpb::Member>& members, const std::set<uint64_t>& removed) {
    OnMembers(members, removed);
  };
  ro.on_removed = [] { ::kill(::getpid(), SIGUSR1); };
  absl::StatusOr<std::unique_ptr<net::MemberRuntime>> runtime = net::MemberRuntime::Start(ro);
  if (!runtime.ok()) return Failed(absl::StrCat("listener failed: ", runtime.status().message()));
  runtime_ = std::move(*runtime);
  member_ = runtime_.get();
  // The member's directories are created and locked now: its IDs go beside them (never before the lock, so that a
  // second process pointed at the same data directory cannot overwrite them).
  if (!initialized_) {
    if (absl::Status s = SaveMemberIds(cfg_.data_dir, {member_id_, cluster_id_}); !s.ok()) {
      return Failed(absl::StrCat("cannot save the member's IDs: ", s.message()));
    }
  }
  log_.Info("etcdserver",
            absl::StrCat("starting member ", net::IdHex(member_id_), " in cluster ", net::IdHex(cluster_id_)));
  return absl::OkStatus();
}

// The transport follows the members as the log makes them: a member added is dialed at its first peer URL, one
// removed is forgotten (etcd's rafthttp AddPeer/RemovePeer on applying a configuration change). Also keeps what a
// joining member is told current.
void DetcdServer::OnMembers(const std::vector<kvpb::Member>& members, const std::set<uint64_t>& removed) {
  kvpb::ClusterInfo info;
  info.set_cluster_id(cluster_id_);
  for (const kvpb::Member& m : members) *info.add_members() = m;
  for (uint64_t id : removed) info.add_removed_member_ids(id);
  {
    std::lock_guard<std::mutex> lock(cluster_info_mu_);
    cluster_info_ = info.SerializeAsString();
  }
  net::PeerTransport* t = transport_ptr_.load();
  if (t == nullptr) return;
  std::map<uint64_t, std::string> now;
  for (const kvpb::Member& m : members) {
    if (m.id() == member_id_ || m.peer_urls_size() == 0) continue;
    now[m.id()] = m.peer_urls(0);
    if (known_peers_.count(m.id()) > 0 && known_peers_[m.id()] == m.peer_urls(0)) continue;
    if (std::optional<net::PeerAddress> a = PeerAddressOf(m.peer_urls(0))) {
      log_.Info("rafthttp", absl::StrCat("added peer ", net::IdHex(m.id()), " at ", m.peer_urls(0)));
      t->AddPeer(m.id(), *a);
    }
  }
  for (const auto& [id, url] : known_peers_) {
    if (now.count(id) > 0) continue;
    log_.Info("rafthttp", absl::StrCat("removed peer ", net::IdHex(id)));
    t->RemovePeer(id);
  }
  known_peers_ = std::move(now);
}

std::map<uint64_t, net::PeerAddress> DetcdServer::PeerAddressesNow() {
  std::map<uint64_t, net::PeerAddress> peers;
  for (const etcdserverpb::Member& m : runtime_->Status().members) {
    if (m.id() == member_id_ || m.peerurls_size() == 0) continue;
    if (std::optional<net::PeerAddress> a = PeerAddressOf(m.peerurls(0))) peers[m.id()] = *a;
  }
  return peers;
}

CorruptionCheckOptions DetcdServer::CorruptionOptions() {
  CorruptionCheckOptions o;
  o.runtime = runtime_.get();
  o.self = member_id_;
  o.peers = [this] { return PeerAddressesNow(); };
  o.tls = tls_.peer;
  o.timeout = RequestTimeout(cfg_);
  o.info = [this](const std::string& line) { log_.Info("etcdserver", line); };
  o.warn = [this](const std::string& line) { log_.Warn("etcdserver", line); };
  return o;
}

// etcd checks a member that has data (not a new one) before it serves, if asked to: a mismatch refuses the start.
absl::Status DetcdServer::CheckInitialCorruption() {
  if (!cfg_.initial_corrupt_check || !initialized_) return absl::OkStatus();
  if (absl::Status s = CheckInitialHashKV(CorruptionOptions()); !s.ok()) return Failed(std::string(s.message()));
  return absl::OkStatus();
}

absl::Status DetcdServer::StartCorruptionChecks() {
  if (cfg_.corrupt_check_time_ms > 0) {
    corruption_check_ =
        PeriodicCorruptionCheck::Start(CorruptionOptions(), absl::Milliseconds(cfg_.corrupt_check_time_ms));
  }
  return absl::OkStatus();
}

// Clients are served once the member has a leader (etcd serves them after it published itself): the gRPC services
// on a server with no port of its own, the front end that each client URL's HTTP/2 connections go to, the gateway.
absl::Status DetcdServer::StartServing() {
  for (int i = 0; i < 1000 && !options_.interrupted() && runtime_->Status().leader == 0; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  net::GrpcServicesOptions so;
  so.version = kEtcdCompatibleVersion;
  so.member_name = cfg_.name;
  so.peer_urls = Strings(cfg_.initial_advertise_peer_urls);
  so.client_urls = Strings(cfg_.advertise_client_urls);
  so.request_timeout = RequestTimeout(cfg_);
  // --auth-token and --bcrypt-cost: JWT keys are read here; a member that cannot read or match them does not start
  // (etcd fails the same way).
  net::AuthCredentialsOptions auth;
  auth.token = cfg_.auth_token_config;
  auth.bcrypt_cost = cfg_.bcrypt_cost;
  absl::StatusOr<std::unique_ptr<net::AuthCredentials>> credentials = net::AuthCredentials::Create(auth);
  if (!credentials.ok()) return credentials.status();
  so.auth = std::move(*credentials);
  services_ = std::make_unique<net::EtcdServices>(runtime_.get(), so);
  // etcd serves grpc.health.v1.Health ("" is SERVING) beside its own services; load balancers and Kubernetes'
  // gRPC probes ask it. gRPC's own implementation, on the in-process server the front end passes it to.
  grpc::EnableDefaultHealthCheckService(true);
  grpc::ServerBuilder builder;
  builder.SetMaxReceiveMessageSize(static_cast<int>(cfg_.max_request_bytes + 512 * 1024));  // etcd's grpc overhead
  services_->RegisterOn(builder);
  net::LockElectionOptions lo;
  lo.request_timeout = so.request_timeout;
  lo.auth = so.auth;
  lock_election_ = std::make_unique<net::LockElectionServices>(runtime_.get(), lo);
  lock_election_->RegisterOn(builder);
  if (tls_.client_https) {
    log_.Info("embed", absl::StrCat("ClientTLS: cert = ", tls_.client_cert_file, ", key = ", tls_.client_key_file,
                                    ", trusted-ca = ", cfg_.client_tls.trusted_ca_file, ", client-cert-auth = ",
                                    cfg_.client_tls.client_cert_auth ? "true" : "false", ", crl-file = ",
                                    tls_.client_crl != nullptr ? tls_.client_crl->path() : ""));
    net::TlsTerminatorOptions tls_options;
    tls_options.cert_pem = tls_.client.cert_pem;
    tls_options.key_pem = tls_.client.key_pem;
    tls_options.trusted_ca_pem = tls_.client.trusted_ca_pem;
    // As etcd 3.4: --trusted-ca-file alone also requires client certificates (its log line still says false).
    tls_options.client_cert_auth = cfg_.client_tls.client_cert_auth || !cfg_.client_tls.trusted_ca_file.empty();
    tls_options.cipher_suites = tls_.cipher_suites;
    tls_options.allowed = tls_.client_allowed;
    tls_options.crl = tls_.client_crl;
    tls_options.log = [this](const std::string& line) { log_.Info("embed", line); };  // rejected connections
    absl::StatusOr<std::shared_ptr<const net::TlsTerminator>> t = net::TlsTerminator::Create(std::move(tls_options));
    if (!t.ok()) {
      return Failed(absl::StrCat("client TLS (cert = ", tls_.client_cert_file, ", key = ", tls_.client_key_file,
                                 ", trusted-ca = ", cfg_.client_tls.trusted_ca_file, "): ", t.status().message()));
    }
    client_terminator_ = std::move(*t);
  }
  grpc_server_ = builder.BuildAndStart();
  if (grpc_server_ == nullptr) return Failed("cannot start the gRPC server");
  services_->Serve();
  net::GrpcFrontEndOptions fo;
  fo.runtime = runtime_.get();
  fo.services = services_->shared();
  fo.fallback = grpc_server_->InProcessChannel(grpc::ChannelArguments());
  fo.max_message_bytes = cfg_.max_request_bytes + 512 * 1024;  // as the gRPC server's limit
  fo.max_concurrent_streams = cfg_.max_concurrent_streams;
  fo.client_cert_auth = cfg_.client_tls.client_cert_auth;
  // etcd's grpc.KeepaliveEnforcementPolicy and grpc.KeepaliveParams for its client server (embed/etcd.go).
  fo.keepalive = net::EtcdKeepaliveOptions(absl::Nanoseconds(cfg_.grpc_keepalive_min_time_ns),
                                           absl::Nanoseconds(cfg_.grpc_keepalive_interval_ns),
                                           absl::Nanoseconds(cfg_.grpc_keepalive_timeout_ns));
  absl::StatusOr<std::unique_ptr<net::GrpcFrontEnd>> front_end = net::GrpcFrontEnd::Start(fo);
  if (!front_end.ok()) return Failed(std::string(front_end.status().message()));
  front_end_ = std::move(*front_end);
  net::HttpGatewayOptions go;
  go.version = kEtcdCompatibleVersion;
  go.grpc_channel = grpc_server_->InProcessChannel(grpc::ChannelArguments());  // every /v3 method, transcoded
  go.request_timeout = so.request_timeout;
  // etcd's prober: the round trip to each peer, every 4 s.
  net::PeerProberOptions po;
  po.peers = [this] { return PeerAddressesNow(); };
  po.tls = tls_.peer;
  po.warn = [this](const std::string& line) { log_.Warn("rafthttp", line); };
  prober_ = net::PeerProber::Start(std::move(po));
  // /metrics also shows the gRPC calls on the client port, the bytes to and from peers and the round trips to them
  // (all outlive the gateway).
  go.grpc_metrics = front_end_->shared_metrics();
  go.more_metrics = [front = front_end_.get(), transport = transport_.get(), prober = prober_.get()](std::string* out) {
    front->metrics().AppendPrometheus(out);
    if (transport != nullptr) transport->AppendPrometheus(out);
    prober->AppendPrometheus(out);
  };
  gateway_ = std::make_unique<net::HttpGateway>(runtime_.get(), go);
  return absl::OkStatus();
}

// Each client URL: HTTP/2 to the front end, HTTP/1.1 to the gateway. Each --listen-metrics-urls URL: HTTP/1.1 only,
// /metrics and /health only, as etcd's. TLS with the client's certificate on an https one of either.
absl::Status DetcdServer::Listen() {
  net::GrpcFrontEnd* front = front_end_.get();
  net::HttpGateway* gateway = gateway_.get();
  std::atomic<bool>* stop = &http_stop_;
  for (const DetcdUrl& u : cfg_.listen_client_urls) {
    absl::StatusOr<std::unique_ptr<net::ClientListener>> l = net::ClientListener::Start(
        u.host, Port(u), grpc_server_.get(), [gateway, stop](int fd) { net::ServeHttpConnection(fd, gateway, stop); },
        Https(u) ? client_terminator_ : nullptr, [front](int fd, const std::string& cn) { front->Adopt(fd, cn); });
    if (!l.ok())
      return Failed(absl::StrCat("listener failed: listen tcp ", u.host, ":", u.port, ": ", l.status().message()));
    listeners_.push_back(std::move(*l));
  }
  for (const DetcdUrl& u : cfg_.listen_metrics_urls) {
    absl::StatusOr<std::unique_ptr<net::ClientListener>> l = net::ClientListener::Start(
        u.host, Port(u), nullptr,
        [gateway, stop](int fd) {
          net::ServeHttpConnection(fd, gateway, stop, absl::Minutes(5), {},
                                   [](const std::string& path) { return path == "/metrics" || path == "/health"; });
        },
        Https(u) ? client_terminator_ : nullptr);
    if (!l.ok())
      return Failed(absl::StrCat("listener failed: listen tcp ", u.host, ":", u.port, ": ", l.status().message()));
    log_.Info("embed", absl::StrCat("listening for metrics on ", u.String()));
    listeners_.push_back(std::move(*l));
  }
  return absl::OkStatus();
}

// The member's name and client URLs through Raft, as etcd publishes them before it serves (retrying while the
// cluster has no leader yet).
void DetcdServer::Publish() {
  kvpb::ClientRequest pub;
  pub.mutable_member_attributes()->set_id(member_id_);
  pub.mutable_member_attributes()->set_name(cfg_.name);
  for (const std::string& u : Strings(cfg_.advertise_client_urls)) pub.mutable_member_attributes()->add_client_urls(u);
  for (int attempt = 0; attempt < 100 && !options_.interrupted(); ++attempt) {
    const kv::ClientReply r = runtime_->Call(pub, absl::Seconds(5));
    if (r.status.ok()) break;
    log_.Warn("etcdserver",
              absl::StrCat("failed to publish local member to cluster through raft: ", r.status.message()));
    absl::SleepFor(absl::Milliseconds(100));
  }
  log_.Info("etcdserver", absl::StrCat("published {Name:", cfg_.name, " ClientURLs:[",
                                       absl::StrJoin(Strings(cfg_.advertise_client_urls), " "), "]} to cluster ",
                                       net::IdHex(cluster_id_)));
  log_.Info("etcdserver", "published local member to cluster through raft");
  log_.Info("etcdserver/api", "enabled capabilities for version 3.4");
  for (const DetcdUrl& u : cfg_.listen_client_urls) {
    if (Https(u)) {
      log_.Info("embed", absl::StrCat("serving client requests on ", u.host, ":", u.port));
    } else {
      log_.Warn("embed", absl::StrCat("serving insecure client requests on ", u.host, ":", u.port,
                                      ", this is strongly discouraged!"));
    }
  }
  log_.Info("embed", "ready to serve client requests");
  if (std::string e = NotifyReady(); !e.empty()) log_.Warn("embed", absl::StrCat("cannot notify systemd: ", e));
}

void DetcdServer::Stop() {
  if (stopped_) return;
  stopped_ = true;
  (void)NotifyStopping();
  if (corruption_check_ != nullptr) corruption_check_->Stop();
  if (prober_ != nullptr) prober_->Stop();
  // As etcd: a leader hands over before it stops, while it still serves, so the cluster waits for no election.
  if (runtime_ != nullptr) {
    absl::StatusOr<bool> handed = runtime_->HandOverLeadership(RequestTimeout(cfg_));
    if (!handed.ok()) {
      log_.Warn("etcdserver", absl::StrCat(net::IdHex(member_id_), " failed to transfer leadership (",
                                           handed.status().message(), ")"));
    } else if (*handed) {
      // Serve on for a few heartbeats: the proposals held during the hand-over go to the new leader (the next tick
      // releases them, the transport carries them) and the requests in flight here are answered, rather than lost
      // with the connections.
      absl::SleepFor(absl::Milliseconds(3 * static_cast<int64_t>(cfg_.heartbeat_interval_ms)));
    }
  }
  http_stop_ = true;
  for (auto& l : listeners_) l->Stop();
  if (services_ != nullptr) services_->StopStreams();
  if (lock_election_ != nullptr) lock_election_->StopWaits();
  if (front_end_ != nullptr) front_end_->Stop();  // its connections close; calls passed to the gRPC server end first
  if (grpc_server_ != nullptr) grpc_server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  // TLS connections end once their plaintext side has closed (the listeners' and gRPC's are now): let them finish
  // their close_notify before the process's exit takes OpenSSL down under them (bounded: a client may not answer).
  for (int i = 0; i < 300 && client_terminator_ != nullptr && client_terminator_->active_connections() > 0; ++i) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  member_ = nullptr;
  if (transport_ != nullptr) transport_->Stop();
  if (runtime_ != nullptr) runtime_->Stop();    // every request still waiting is answered "server stopped"
  if (services_ != nullptr) services_->Stop();  // the last completions, while their gRPC server still exists
}

}  // namespace detcd
