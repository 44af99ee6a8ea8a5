#include "cmd/detcd_tls.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "net/tls.h"

namespace detcd {

namespace {

absl::StatusOr<ClientTlsPem> LoadPem(const std::string& cert_file, const std::string& key_file,
                                     const std::string& trusted_ca_file) {
  ClientTlsPem t;
  absl::StatusOr<std::string> cert = net::ReadFile(cert_file);
  if (!cert.ok()) return cert.status();
  absl::StatusOr<std::string> key = net::ReadFile(key_file);
  if (!key.ok()) return key.status();
  if (absl::Status s = net::CheckKeyPair(*cert, *key); !s.ok()) return s;
  t.cert_pem = std::move(*cert);
  t.key_pem = std::move(*key);
  if (!trusted_ca_file.empty()) {
    absl::StatusOr<std::string> ca = net::ReadFile(trusted_ca_file);
    if (!ca.ok()) return ca.status();
    t.trusted_ca_pem = std::move(*ca);
  }
  return t;
}

// The peer transport's TLS: the --peer-* files, or no certificate at all when none are given (etcd's empty TLSInfo:
// Go's defaults, the system's roots). skip_verify: --peer-auto-tls.
// A CRL file, or why the member cannot start with it (the flag named, then Go's or the parser's words).
absl::StatusOr<std::shared_ptr<net::CrlFile>> LoadCrl(const char* flag, const std::string& path) {
  if (path.empty()) return std::shared_ptr<net::CrlFile>();
  absl::StatusOr<std::shared_ptr<net::CrlFile>> crl = net::CrlFile::Load(path);
  if (!crl.ok()) return absl::FailedPreconditionError(absl::StrCat("--", flag, ": ", crl.status().message()));
  return crl;
}

absl::StatusOr<std::shared_ptr<const net::PeerTls>> LoadPeerTls(const DetcdTlsFiles& files, bool skip_verify,
                                                                const net::TlsCipherSuites& suites) {
  net::PeerTlsPem pem;
  pem.cipher_suites = suites;
  pem.allowed = net::AllowedIdentity{files.allowed_cn, files.allowed_hostname};
  if (absl::Status s = net::ValidateAllowedIdentity(pem.allowed); !s.ok()) {
    return absl::FailedPreconditionError(s.message());  // etcd's words, at start-up as etcd
  }
  absl::StatusOr<std::shared_ptr<net::CrlFile>> crl = LoadCrl("peer-crl-file", files.crl_file);
  if (!crl.ok()) return crl.status();
  pem.crl = std::move(*crl);
  if (!files.cert_file.empty() || !files.key_file.empty()) {
    absl::StatusOr<ClientTlsPem> t = LoadPem(files.cert_file, files.key_file, files.trusted_ca_file);
    if (!t.ok()) return t.status();
    pem.cert_pem = std::move(t->cert_pem);
    pem.key_pem = std::move(t->key_pem);
    pem.trusted_ca_pem = std::move(t->trusted_ca_pem);
    // etcd 3.4 (TLSInfo.ServerConfig): a trusted CA alone also makes client certificates required.
    pem.client_cert_auth = files.client_cert_auth || !files.trusted_ca_file.empty();
  }
  pem.skip_verify = skip_verify;
  absl::StatusOr<std::shared_ptr<const net::PeerTls>> tls = net::PeerTls::Create(pem);
  if (!tls.ok()) {
    return absl::Status(tls.status().code(),
                        absl::StrCat("peer TLS (cert = ", files.cert_file, ", key = ", files.key_file,
                                     ", trusted-ca = ", files.trusted_ca_file, "): ", tls.status().message()));
  }
  return tls;
}

// Whether any peer URL this member starts with (its own, or a member's in --initial-cluster) is https.
bool AnyHttpsPeerUrl(const DetcdConfig& c) {
  bool any = std::any_of(c.listen_peer_urls.begin(), c.listen_peer_urls.end(), Https) ||
             std::any_of(c.initial_advertise_peer_urls.begin(), c.initial_advertise_peer_urls.end(), Https);
  if (auto cluster = ParseInitialCluster(c.initial_cluster); cluster.ok()) {
    for (const auto& [name, urls] : *cluster) any |= std::any_of(urls.begin(), urls.end(), Https);
  }
  return any;
}

}  // namespace

bool Https(const DetcdUrl& u) { return u.scheme == "https"; }

absl::StatusOr<DetcdTls> ResolveTls(const DetcdConfig& cfg) {
  DetcdTls t;
  // etcd checks the names when it starts, whether or not any TLS is in use.
  absl::StatusOr<net::TlsCipherSuites> suites = net::ParseTlsCipherSuites(cfg.cipher_suites);
  if (!suites.ok()) return absl::FailedPreconditionError(suites.status().message());
  t.cipher_suites = std::move(*suites);
  if (absl::Status s = net::CheckTlsCipherSuites(t.cipher_suites, &t.unavailable_cipher_suites); !s.ok()) {
    return absl::FailedPreconditionError(s.message());
  }
  // An https metrics URL is served with the client TLS too (etcd's transport.NewListener with ClientTLSInfo).
  t.client_https = std::any_of(cfg.listen_client_urls.begin(), cfg.listen_client_urls.end(), Https) ||
                   std::any_of(cfg.listen_metrics_urls.begin(), cfg.listen_metrics_urls.end(), Https);
  // Given files win over --auto-tls (the flags already warned "ignoring client auto TLS since certs given").
  t.auto_tls = cfg.client_auto_tls && cfg.client_tls.cert_file.empty() && cfg.client_tls.key_file.empty();
  for (const DetcdUrl& u : cfg.listen_metrics_urls) {
    if (Https(u) && !cfg.client_auto_tls && cfg.client_tls.cert_file.empty() && cfg.client_tls.key_file.empty()) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot listen on TLS for ", u.host, ":", u.port, ": KeyFile and CertFile are not presented"));
    }
  }
  t.client_cert_file = cfg.client_tls.cert_file;
  t.client_key_file = cfg.client_tls.key_file;
  if (t.client_https && !t.auto_tls) {
    absl::StatusOr<ClientTlsPem> pem =
        LoadPem(cfg.client_tls.cert_file, cfg.client_tls.key_file, cfg.client_tls.trusted_ca_file);
    if (!pem.ok()) return pem.status();
    t.client = std::move(*pem);
    absl::StatusOr<std::shared_ptr<net::CrlFile>> crl = LoadCrl("client-crl-file", cfg.client_tls.crl_file);
    if (!crl.ok()) return crl.status();
    t.client_crl = std::move(*crl);
    t.client_allowed.hostname = cfg.client_tls.allowed_hostname;
  }
  // Given files win over --peer-auto-tls (the flags already warned "ignoring peer auto TLS since certs given").
  t.peer_files = !cfg.peer_tls.cert_file.empty() || !cfg.peer_tls.key_file.empty();
  t.peer_auto_tls = cfg.peer_auto_tls && !t.peer_files;
  if (!t.peer_auto_tls && (t.peer_files || AnyHttpsPeerUrl(cfg))) {
    absl::StatusOr<std::shared_ptr<const net::PeerTls>> peer =
        LoadPeerTls(t.peer_files ? cfg.peer_tls : DetcdTlsFiles{}, /*skip_verify=*/false, t.cipher_suites);
    if (!peer.ok()) return peer.status();
    t.peer = std::move(*peer);
  }
  return t;
}

absl::Status MakeAutoTls(const DetcdConfig& cfg, DetcdTls* tls) {
  DetcdTls& t = *tls;
  // --auto-tls: etcd's ClientSelfCert, a self-signed pair for the listen hosts, generated once and then reused.
  if (t.auto_tls) {
    std::vector<std::string> hosts;
    for (const DetcdUrl& u : cfg.listen_client_urls) hosts.push_back(u.host);
    absl::StatusOr<net::CertKeyFiles> files = net::SelfSignedCert(hosts, cfg.data_dir + "/fixtures/client");
    absl::StatusOr<ClientTlsPem> pem = files.ok() ? LoadPem(files->cert_file, files->key_file,
                                                            cfg.client_tls.trusted_ca_file)
                                                  : absl::StatusOr<ClientTlsPem>(files.status());
    if (!pem.ok()) return absl::FailedPreconditionError(absl::StrCat("could not get certs (", pem.status().message(), ")"));
    t.client = std::move(*pem);
    t.client_cert_file = files->cert_file;
    t.client_key_file = files->key_file;
  }
  // --peer-auto-tls: etcd's PeerSelfCert, for the peer listen hosts, not verified by the other members.
  if (t.peer_auto_tls) {
    std::vector<std::string> hosts;
    for (const DetcdUrl& u : cfg.listen_peer_urls) hosts.push_back(u.host);
    absl::StatusOr<net::CertKeyFiles> files = net::SelfSignedCert(hosts, cfg.data_dir + "/fixtures/peer");
    absl::StatusOr<std::shared_ptr<const net::PeerTls>> peer =
        files.ok() ? LoadPeerTls(DetcdTlsFiles{files->cert_file, files->key_file, "", false}, true, t.cipher_suites)
                   : absl::StatusOr<std::shared_ptr<const net::PeerTls>>(files.status());
    if (!peer.ok()) {
      return absl::FailedPreconditionError(absl::StrCat("could not get certs (", peer.status().message(), ")"));
    }
    t.peer = std::move(*peer);
  }
  return absl::OkStatus();
}

}  // namespace detcd
