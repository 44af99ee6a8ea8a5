// TlsSession: non-blocking OpenSSL sessions over a socket, shared by the peer transport (net::PeerTls) and the client
// ports' TLS terminator (net::TlsTerminator): OpenSSL contexts built from PEM text (TLS 1.2 at least, no session
// cache), sessions bound to a socket through a BIO that writes with MSG_NOSIGNAL, and one-step handshake / read /
// write calls whose errors are worded as Go's crypto/tls and crypto/x509 word them, so that logs read like etcd's
// ("tls: client didn't provide a certificate", "remote error: tls: bad certificate", "x509: certificate signed by
// unknown authority", "tls: first record does not look like a TLS handshake").
//
// It must never: block (every step returns "want read" / "want write" instead; only a blocking socket blocks), raise
// SIGPIPE (sockets are written with MSG_NOSIGNAL), log, or own sockets (the caller opens and closes them).
#ifndef DETCD_NET_TLS_SESSION_H_
#define DETCD_NET_TLS_SESSION_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/status.h"

struct ssl_st;      // OpenSSL's SSL
struct ssl_ctx_st;  // OpenSSL's SSL_CTX
struct x509_st;     // OpenSSL's X509

namespace detcd::net {

struct TlsSessionFree {
  void operator()(ssl_st* ssl) const;
};
// One connection's TLS state, bound to its socket. It holds a reference to its context.
using TlsSession = std::unique_ptr<ssl_st, TlsSessionFree>;

struct TlsContextFree {
  void operator()(ssl_ctx_st* ctx) const;
};
using TlsContext = std::unique_ptr<ssl_ctx_st, TlsContextFree>;

// A server or client context: TLS 1.2 at least, partial writes, an end of stream without close_notify taken as an end
// (the protocol above tells a truncation), no server-side session cache. Verification is the caller's to set. Null
// if OpenSSL cannot allocate one.
TlsContext NewTlsContext(bool server);
// The certificate (a leaf, then any intermediates) and its key.
absl::Status UseTlsCertificate(ssl_ctx_st* ctx, const std::string& cert_pem, const std::string& key_pem);
// Trusts the CA certificates in ca_pem; with `name_them`, also lists them in the server's certificate request (Go
// sends ClientCAs' subjects). Error if ca_pem holds no certificate.
absl::Status TrustTlsCas(ssl_ctx_st* ctx, const std::string& ca_pem, bool name_them);

// A session of `ctx` on the socket `fd` (neither accept nor connect state set yet). Null if OpenSSL cannot allocate.
TlsSession NewTlsSession(ssl_ctx_st* ctx, int fd);

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
// etcd's log line for a refused connection (embed logTLSHandshakeFailure): `rejected connection from "<remote>" (error
// "<error>", ServerName "<sni>")`, with `, IPAddresses [...], DNSNames [...]` (the remote certificate's SANs, Go's %q)
// when Go would have kept the remote's certificate: once the handshake is done (a CRL refusal), or when an allowed
// CN / host name check refused it. `ssl` may be null.
// Keeps `cert` (a reference is taken) with the session as the certificate a check inside the handshake refused
// (OpenSSL drops the remote's certificate when its verification fails; Go keeps it, and etcd's log line names its SANs).
void TlsKeepRejectedCertificate(ssl_st* ssl, x509_st* cert);
std::string TlsRejectedLine(const std::string& remote, const std::string& error, ssl_st* ssl, bool handshake_done);
// The application protocol the handshake chose by ALPN ("h2", "http/1.1"), "" if none.
std::string TlsAlpnProtocol(ssl_st* ssl);

}  // namespace detcd::net

#endif  // DETCD_NET_TLS_SESSION_H_
