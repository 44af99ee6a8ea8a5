// PeerTls: etcd's peer TLS (--peer-cert-file, --peer-key-file, --peer-trusted-ca-file, --peer-client-cert-auth,
// --peer-auto-tls) as two OpenSSL contexts, whose sessions the peer transport drives from its epoll loop with the
// non-blocking steps of net/tls_session.h. As etcd (pkg/transport TLSInfo): one certificate serves both directions;
// the server side presents it and, with client-cert-auth, requires a client certificate that the trusted CA signed;
// the client side presents it and verifies the server's certificate and its host (the peer URL's host) against the
// trusted CA, or against the system's roots when no CA file is given (Go's nil RootCAs); a self-signed (auto TLS)
// configuration skips that verification (etcd's InsecureSkipVerify for SelfCert). TLS 1.2 at least; OpenSSL's
// default cipher suites unless --cipher-suites restricts TLS 1.2's. With --peer-cert-allowed-cn / -hostname every
// handshake checks the remote's certificate; with --peer-crl-file an accepted member's certificate is checked against
// the CRL once its handshake is done.
//
// It must never block, log, or own sockets (the caller opens and closes them).
#ifndef DETCD_NET_PEER_TLS_H_
#define DETCD_NET_PEER_TLS_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "net/tls_allowed_identity.h"
#include "net/tls_cipher_suites.h"
#include "net/tls_crl.h"
#include "net/tls_session.h"

namespace detcd::net {

// The TLS material, as PEM text (the caller reads the files, so that their errors name the files).
struct PeerTlsPem {
  std::string cert_pem;  // "": no certificate (a client-only configuration: it cannot serve)
  std::string key_pem;
  std::string trusted_ca_pem;  // "": verify against the system's roots
  bool client_cert_auth = false;
  bool skip_verify = false;  // auto TLS: do not verify the server's certificate
  // etcd's hardening, as its PeerTLSInfo applies it: --cipher-suites and --peer-cert-allowed-cn / -hostname on both
  // contexts (a member checks the CN of the members it dials too), --peer-crl-file on accepted connections only.
  TlsCipherSuites cipher_suites;
  AllowedIdentity allowed;
  std::shared_ptr<CrlFile> crl;  // null: none
};

class PeerTls {
 public:
  // Errors: a certificate or key that does not parse or does not match, a CA file without certificates.
  static absl::StatusOr<std::shared_ptr<const PeerTls>> Create(const PeerTlsPem& pem);
  PeerTls(const PeerTls&) = delete;
  PeerTls& operator=(const PeerTls&) = delete;

  // Whether it has a certificate, which serving (an https peer URL to listen on) needs.
  bool can_serve() const { return server_ != nullptr; }
  bool client_cert_auth() const { return client_cert_auth_; }

  // A server-side session on an accepted socket (requires can_serve()), or a client-side one on a connected socket
  // that verifies the server as `host` (an IP address or a DNS name) unless verification is skipped. Null if OpenSSL
  // cannot allocate one.
  TlsSession Accept(int fd) const;
  TlsSession Connect(int fd, const std::string& host) const;

  // Once a session's handshake is done: OK, or why the connection must be closed (the allowed CN / host name, and for
  // an accepted session the CRL), in etcd's words.
  absl::Status CheckAccepted(ssl_st* ssl) const;
  absl::Status CheckConnected(ssl_st* ssl) const;

 private:
  PeerTls() = default;
  TlsContext server_;  // null without a certificate
  TlsContext client_;
  bool client_cert_auth_ = false;
  bool skip_verify_ = false;
  AllowedIdentity allowed_;
  std::shared_ptr<CrlFile> crl_;
};

}  // namespace detcd::net

#endif  // DETCD_NET_PEER_TLS_H_
