// PeerTls: etcd's peer TLS (--peer-cert-file, --peer-key-file, --peer-trusted-ca-file, --peer-client-cert-auth,
// --peer-auto-tls) as two OpenSSL contexts, and the non-blocking TLS steps the peer transport drives from its epoll
// loop. As etcd (pkg/transport TLSInfo): one certificate serves both directions; the server side presents it and,
// with client-cert-auth, requires a client certificate that the trusted CA signed; the client side presents it and
// verifies the server's certificate and its host (the peer URL's host) against the trusted CA, or against the
// system's roots when no CA file is given (Go's nil RootCAs); a self-signed (auto TLS) configuration skips that
// verification (etcd's InsecureSkipVerify for SelfCert). TLS 1.2 at least; OpenSSL's default cipher suites.
//
// Errors are worded as Go's crypto/tls and crypto/x509 word them, so that logs read like etcd's ("tls: client didn't
// provide a certificate", "remote error: tls: bad certificate", "x509: certificate signed by unknown authority").
//
// It must never: block (every step returns "want read" / "want write" instead; only a blocking socket blocks), raise
// SIGPIPE (sockets are written with MSG_NOSIGNAL), log, or own sockets (the caller opens and closes them).
#ifndef DETCD_NET_PEER_TLS_H_
#define DETCD_NET_PEER_TLS_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

struct ssl_st;      // OpenSSL's SSL
struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace detcd::net {

// The TLS material, as PEM text (the caller reads the files, so that their errors name the files).
struct PeerTlsPem {
  std::string cert_pem;  // "": no certificate (a client-only configuration: it cannot serve)
  std::string key_pem;
  std::string trusted_ca_pem;  // "": verify against the system's roots
  bool client_cert_auth = false;
  bool skip_verify = false;  // auto TLS: do not verify the server's certificate
};

struct TlsSessionFree {
  void operator()(ssl_st* ssl) const;
};
// One connection's TLS state, bound to its socket.
using TlsSession = std::unique_ptr<ssl_st, TlsSessionFree>;

class PeerTls {
 public:
  // Errors: a certificate or key that does not parse or does not match, a CA file without certificates.
  static absl::StatusOr<std::shared_ptr<const PeerTls>> Create(const PeerTlsPem& pem);
  ~PeerTls();
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

 private:
  PeerTls() = default;
  ssl_ctx_st* server_ = nullptr;
  ssl_ctx_st* client_ = nullptr;
  bool client_cert_auth_ = false;
  bool skip_verify_ = false;
};

// What one TLS step did. kDone: the handshake finished, or `bytes` (> 0) were read or written. kWantRead /
// kWantWrite: nothing more until the socket is readable / writable (then repeat the same call with the same
// arguments). kClosed: the remote ended the connection (close_notify or end of stream). kFailed: `error` says why;
// `remote_alert` if the remote refused us with a TLS alert (e.g. our certificate).
struct TlsStep {
  enum Kind { kDone, kWantRead, kWantWrite, kClosed, kFailed };
  Kind kind = kFailed;
  size_t bytes = 0;
  std::string error;
  bool remote_alert = false;
};

TlsStep TlsHandshake(ssl_st* ssl);
TlsStep TlsRead(ssl_st* ssl, char* out, size_t len);
// Writes part of `data` (at most one TLS record per call: partial writes are on).
TlsStep TlsWrite(ssl_st* ssl, const char* data, size_t len);
// Decrypted or buffered bytes wait inside the session (the socket may have nothing more to say about them).
bool TlsHasPending(ssl_st* ssl);
// Sends close_notify, best effort (never waits).
void TlsShutdown(ssl_st* ssl);
// The name the client asked for (SNI), "" if none: etcd logs it with a rejected handshake.
std::string TlsServerName(ssl_st* ssl);

}  // namespace detcd::net

#endif  // DETCD_NET_PEER_TLS_H_
