// TlsTerminator: TLS on an https client (or metrics) URL, terminated before the port's protocol sniffing, as etcd 3.4
// terminates TLS on its client port and then tells gRPC from HTTP/1.1. Terminate() takes an accepted socket, runs the
// server side of the handshake (the member's client certificate; with client-cert-auth a client certificate that the
// trusted CA signed is required; ALPN answers "http/1.1" to a client that offers it and "h2" to one that offers only
// that, as gRPC clients do) and returns the plaintext end of a socketpair: what the TLS client sends comes out of it
// decrypted, what is written into it goes to the client encrypted. The caller serves that end exactly as it serves a
// plain connection (ClientListener: sniff, then gRPC or HTTP/1.1).
//
// Each connection costs one thread of its own (the pump between the TLS socket and the socketpair) and two 64 KiB
// buffers, one per direction; neither direction waits for the other. A client's end (close_notify or a bare end of
// stream) is passed on as a half-close of the plaintext end, so that the plaintext side answers what it has and
// closes. The pump ends, closing both its sockets, once the plaintext side has closed its end and what it wrote went
// out (then close_notify; a client that stops reading gets 30 s), or as soon as either connection breaks. A failed
// handshake is logged as etcd logs it (`rejected connection from "<addr>" (error "<Go's words>", ServerName "<sni>")`)
// and costs nothing more: the socket is closed.
//
// It must never: hold up its caller longer than the handshake deadline, raise SIGPIPE, keep a connection's bytes
// beyond its two buffers, or touch KV, Raft or gRPC state.
#ifndef DETCD_NET_TLS_TERMINATOR_H_
#define DETCD_NET_TLS_TERMINATOR_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "net/tls_allowed_identity.h"
#include "net/tls_cipher_suites.h"
#include "net/tls_crl.h"
#include "net/tls_session.h"

namespace detcd::net {

struct TlsTerminatorOptions {
  // The member's client TLS material as PEM text (the caller reads and checks the files, so that their errors name
  // them).
  std::string cert_pem;
  std::string key_pem;
  std::string trusted_ca_pem;  // "": the system's roots (Go's nil ClientCAs)
  bool client_cert_auth = false;
  // etcd's hardening: --cipher-suites (TLS 1.2 suites; TLS 1.3 unchanged), --client-cert-allowed-hostname (checked in
  // the handshake), --client-crl-file (null: none; checked once the handshake is done: a client certificate whose
  // serial it revokes is logged and its connection closed, as etcd's tlsListener does).
  TlsCipherSuites cipher_suites;
  AllowedIdentity allowed;
  std::shared_ptr<CrlFile> crl;
  // A client that has not finished its handshake by then is dropped (and the rejection logged).
  absl::Duration handshake_timeout = absl::Seconds(10);
  // Where rejected handshakes are told. Null: nowhere. Called on the terminating thread.
  std::function<void(const std::string& line)> log;
};

class TlsTerminator {
 public:
  // Errors: a certificate or key that does not parse or does not match, a CA without certificates.
  static absl::StatusOr<std::shared_ptr<const TlsTerminator>> Create(TlsTerminatorOptions options);

  // Takes the accepted socket `fd` (it is this unit's from now on). Blocks for the handshake, at most
  // handshake_timeout, and less if *stop (may be null) turns true. On success: the plaintext end of the connection
  // (the caller's to close), with a pump thread started behind it. On failure: -1, the socket closed, the rejection
  // logged (not when stopped).
  // *verified_common_name (may be null) gets the client certificate's common name if the client sent one that was
  // verified against the trusted CA (etcd's AuthInfoFromTLS: its user when auth is on and no token is sent), else "".
  int Terminate(int fd, const std::atomic<bool>* stop, std::string* verified_common_name = nullptr) const;

  // Connections whose pump is still running (for tests and shutdown checks).
  int active_connections() const { return active_->load(); }

 private:
  explicit TlsTerminator(TlsTerminatorOptions options) : options_(std::move(options)) {}

  TlsTerminatorOptions options_;
  TlsContext context_;
  // Shared with the pumps, which may outlive this object.
  std::shared_ptr<std::atomic<int>> active_ = std::make_shared<std::atomic<int>>(0);
};

}  // namespace detcd::net

#endif  // DETCD_NET_TLS_TERMINATOR_H_
