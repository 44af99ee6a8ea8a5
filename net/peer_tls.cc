#include "net/peer_tls.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>

#include <utility>

#include "base/check.h"
#include "net/tls.h"

namespace detcd::net {
namespace {

bool IsIp(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

}  // namespace

absl::StatusOr<std::shared_ptr<const PeerTls>> PeerTls::Create(const PeerTlsPem& pem) {
  std::shared_ptr<PeerTls> t(new PeerTls());
  t->client_cert_auth_ = pem.client_cert_auth;
  t->skip_verify_ = pem.skip_verify;
  t->client_ = NewTlsContext(/*server=*/false);
  if (t->client_ == nullptr) return absl::InternalError("SSL_CTX_new failed");
  if (!pem.cert_pem.empty() || !pem.key_pem.empty()) {
    if (absl::Status s = CheckKeyPair(pem.cert_pem, pem.key_pem); !s.ok()) return s;  // Go's wording
    t->server_ = NewTlsContext(/*server=*/true);
    if (t->server_ == nullptr) return absl::InternalError("SSL_CTX_new failed");
    for (SSL_CTX* ctx : {t->server_.get(), t->client_.get()}) {
      if (absl::Status s = UseTlsCertificate(ctx, pem.cert_pem, pem.key_pem); !s.ok()) return s;
    }
  }
  if (!pem.trusted_ca_pem.empty()) {
    if (absl::Status s = TrustTlsCas(t->client_.get(), pem.trusted_ca_pem, false); !s.ok()) return s;
    if (t->server_ != nullptr) {
      if (absl::Status s = TrustTlsCas(t->server_.get(), pem.trusted_ca_pem, pem.client_cert_auth); !s.ok()) return s;
    }
  } else {
    // Go's nil RootCAs / ClientCAs: the system's roots.
    if (!pem.skip_verify) SSL_CTX_set_default_verify_paths(t->client_.get());
    if (t->server_ != nullptr && pem.client_cert_auth) SSL_CTX_set_default_verify_paths(t->server_.get());
    ERR_clear_error();
  }
  SSL_CTX_set_verify(t->client_.get(), pem.skip_verify ? SSL_VERIFY_NONE : SSL_VERIFY_PEER, nullptr);
  if (t->server_ != nullptr) {
    SSL_CTX_set_verify(t->server_.get(),
                       pem.client_cert_auth ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_NONE,
                       nullptr);
  }
  if (absl::Status s = ValidateAllowedIdentity(pem.allowed); !s.ok()) return s;
  for (SSL_CTX* ctx : {t->server_.get(), t->client_.get()}) {
    if (ctx == nullptr) continue;
    if (absl::Status s = ApplyTlsCipherSuites(ctx, pem.cipher_suites, nullptr); !s.ok()) return s;
    if (pem.allowed.any()) {
      if (absl::Status s = RequireAllowedIdentity(ctx, pem.allowed); !s.ok()) return s;
    }
  }
  t->allowed_ = pem.allowed;
  t->crl_ = pem.crl;
  return std::shared_ptr<const PeerTls>(std::move(t));
}

TlsSession PeerTls::Accept(int fd) const {
  if (server_ == nullptr) return nullptr;
  TlsSession ssl = NewTlsSession(server_.get(), fd);
  if (ssl == nullptr) return nullptr;
  SSL_set_accept_state(ssl.get());
  return ssl;
}

TlsSession PeerTls::Connect(int fd, const std::string& host) const {
  TlsSession ssl = NewTlsSession(client_.get(), fd);
  if (ssl == nullptr) return nullptr;
  const bool ip = IsIp(host);
  if (!ip && !host.empty()) SSL_set_tlsext_host_name(ssl.get(), host.c_str());  // Go sends no SNI for an IP
  if (!skip_verify_ && !host.empty()) {
    const bool set = ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), host.c_str()) == 1
                        : SSL_set1_host(ssl.get(), host.c_str()) == 1;
    if (!set) return nullptr;
  }
  SSL_set_connect_state(ssl.get());
  return ssl;
}

absl::Status PeerTls::CheckAccepted(ssl_st* ssl) const {
  DETCD_CHECK(ssl != nullptr);
  if (absl::Status s = CheckAllowedIdentity(ssl, allowed_); !s.ok()) return s;
  if (crl_ != nullptr) return crl_->CheckSession(ssl);
  return absl::OkStatus();
}

absl::Status PeerTls::CheckConnected(ssl_st* ssl) const {
  DETCD_CHECK(ssl != nullptr);
  return CheckAllowedIdentity(ssl, allowed_);
}

}  // namespace detcd::net
