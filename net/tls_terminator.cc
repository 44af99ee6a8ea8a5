#include "net/tls_terminator.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "net/socket_address.h"
#include "net/tls.h"

namespace detcd::net {
namespace {

// Bytes each direction may hold between the TLS socket and the socketpair: four TLS records.
constexpr size_t kQueueBytes = 64 * 1024;
// Once the plaintext side has closed, what it wrote gets this long to reach a client that does not read.
constexpr absl::Duration kDrainTimeout = absl::Seconds(30);
// After close_notify, the client's last bytes are read and dropped for this long (or until it closes), so that
// closing does not reset the connection under the response still on its way (what Go's closeWriteAndWait does).
constexpr absl::Duration kLingerTimeout = absl::Seconds(1);
constexpr size_t kLingerBytesMax = 1 << 20;
// How often a handshake in progress looks at the caller's stop flag.
constexpr int kStopCheckMs = 100;

// ALPN: "http/1.1" if the client offers it (curl, browsers: the HTTP/1.1 gateway serves them), else "h2" (gRPC
// clients offer nothing else, and grpc-go and grpc-core refuse a server that does not choose it). etcd's Go server
// chooses "h2" for every client that offers it and serves its gateway over HTTP/2 too; this port's HTTP/2 goes to the
// gRPC server only, so a client that can do both is better served with HTTP/1.1. No common protocol: no ALPN answer,
// and the handshake goes on (as Go's of etcd 3.4).
int SelectAlpn(SSL* /*ssl*/, const unsigned char** out, unsigned char* out_len, const unsigned char* in,
               unsigned int in_len, void* /*arg*/) {
  for (const std::string_view want : {std::string_view("http/1.1"), std::string_view("h2")}) {
    for (unsigned int i = 0; i < in_len;) {
      const unsigned int len = in[i];
      if (i + 1 + len > in_len) break;  // a malformed list: OpenSSL checks it first, but never read past it
      if (std::string_view(reinterpret_cast<const char*>(in + i + 1), len) == want) {
        *out = in + i + 1;
        *out_len = static_cast<unsigned char>(len);
        return SSL_TLSEXT_ERR_OK;
      }
      i += 1 + len;
    }
  }
  return SSL_TLSEXT_ERR_NOACK;
}

std::string PeerAddress(int fd) {
  sockaddr_storage sa{};
  socklen_t len = sizeof(sa);
  if (getpeername(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return "?";
  return SocketAddressString(sa);
}

std::string LocalAddress(int fd) {
  sockaddr_storage sa{};
  socklen_t len = sizeof(sa);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) return "?";
  return SocketAddressString(sa);
}

bool SetNonBlocking(int fd) {
  const int flags = fcntl(fd, F_GETFL);
  return flags >= 0 && fcntl(fd, F_SETFL, flags | O_NONBLOCK) == 0;
}

// A fixed buffer of bytes in flight: in at the tail, out at the head. OpenSSL may be asked again for a write of the
// same bytes after they moved (SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER), so compacting is always allowed.
class ByteQueue {
 public:
  size_t size() const { return end_ - begin_; }
  const char* head() const { return buf_.get() + begin_; }
  void Consumed(size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  size_t room() {
    if (end_ == kQueueBytes && begin_ > 0) {
      std::memmove(buf_.get(), buf_.get() + begin_, size());
      end_ -= begin_;
      begin_ = 0;
    }
    return kQueueBytes - end_;
  }
  char* tail() { return buf_.get() + end_; }
  void Produced(size_t n) { end_ += n; }

 private:
  std::unique_ptr<char[]> buf_ = std::make_unique<char[]>(kQueueBytes);
  size_t begin_ = 0;
  size_t end_ = 0;
};

// One connection after its handshake: moves bytes between the TLS socket and the pump's end of the socketpair until
// the connection is over, then closes both.
class Pump {
 public:
  Pump(TlsSession ssl, int tls_fd, int plain_fd) : ssl_(std::move(ssl)), tls_fd_(tls_fd), plain_fd_(plain_fd) {}
  ~Pump() {
    ssl_.reset();
    close(plain_fd_);
    close(tls_fd_);
  }

  void Run() {
    if (Move()) Finish();
  }

 private:
  // Moves bytes both ways until the plaintext side has closed and what it wrote went out (true), or the connection
  // broke (false).
  bool Move() {
    absl::Time drain_deadline = absl::InfiniteFuture();
    for (;;) {
      // TLS → the queue to the plaintext side. Only a read that OpenSSL answered "want read" or "want write" may wait
      // for the socket: one stopped by a full queue may have left whole records in OpenSSL's read-ahead buffer,
      // which no poll would announce.
      bool read_wants_read = false;
      bool read_wants_write = false;
      while (tls_open_ && from_tls_.room() > 0) {
        const TlsStep s = TlsRead(ssl_.get(), from_tls_.tail(), from_tls_.room());
        if (s.kind == TlsStep::kDone) {
          from_tls_.Produced(s.bytes);
          continue;
        }
        if (s.kind == TlsStep::kFailed) return false;  // a broken connection: the plaintext side sees an end
        if (s.kind == TlsStep::kClosed) tls_open_ = false;
        read_wants_read = s.kind == TlsStep::kWantRead;
        read_wants_write = s.kind == TlsStep::kWantWrite;
        break;
      }
      // The queue → the plaintext side.
      while (from_tls_.size() > 0) {
        const ssize_t n = send(plain_fd_, from_tls_.head(), from_tls_.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n > 0) {
          from_tls_.Consumed(static_cast<size_t>(n));
          continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        return false;  // the plaintext side closed without reading what the client sent
      }
      // The client ended its side: so does the plaintext side's input, once it has everything.
      if (!tls_open_ && from_tls_.size() == 0 && !plain_write_shut_) {
        shutdown(plain_fd_, SHUT_WR);
        plain_write_shut_ = true;
      }
      // The plaintext side → the queue to TLS.
      while (plain_open_ && to_tls_.room() > 0) {
        const ssize_t n = recv(plain_fd_, to_tls_.tail(), to_tls_.room(), MSG_DONTWAIT);
        if (n > 0) {
          to_tls_.Produced(static_cast<size_t>(n));
          continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
        plain_open_ = false;  // its end (or an error): what it wrote still goes out
        drain_deadline = absl::Now() + kDrainTimeout;
        break;
      }
      // The queue → TLS. A write OpenSSL could not finish is repeated with the same length.
      bool write_wants_read = false;
      while (to_tls_.size() > 0) {
        const size_t len = write_len_ > 0 ? write_len_ : to_tls_.size();
        const TlsStep s = TlsWrite(ssl_.get(), to_tls_.head(), len);
        if (s.kind == TlsStep::kDone) {
          to_tls_.Consumed(s.bytes);
          write_len_ = 0;
          continue;
        }
        if (s.kind != TlsStep::kWantWrite && s.kind != TlsStep::kWantRead) return false;  // the client is gone
        write_len_ = len;
        write_wants_read = s.kind == TlsStep::kWantRead;
        break;
      }
      if (!plain_open_ && to_tls_.size() == 0) return true;

      // The queue to the plaintext side has room again after a read stopped for want of it: read on first.
      if (tls_open_ && !read_wants_read && !read_wants_write && from_tls_.room() > 0) continue;
      // Wait for whichever socket can move something next. A socket with nothing to wait for is left out, so that
      // its hang-up (reported whatever the events asked) cannot spin this loop.
      short tls_events = 0;
      if ((tls_open_ && read_wants_read) || write_wants_read) tls_events |= POLLIN;
      if (read_wants_write || (to_tls_.size() > 0 && !write_wants_read)) tls_events |= POLLOUT;
      short plain_events = 0;
      if (plain_open_ && to_tls_.room() > 0) plain_events |= POLLIN;
      if (from_tls_.size() > 0) plain_events |= POLLOUT;
      pollfd fds[2] = {{tls_events != 0 ? tls_fd_ : -1, tls_events, 0},
                       {plain_events != 0 ? plain_fd_ : -1, plain_events, 0}};
      if (tls_events == 0 && plain_events == 0) return false;  // nothing can move any more (not expected)
      int timeout_ms = -1;
      if (drain_deadline != absl::InfiniteFuture()) {
        const absl::Duration left = drain_deadline - absl::Now();
        if (left <= absl::ZeroDuration()) return false;  // the client does not read what it is owed
        timeout_ms = static_cast<int>(absl::ToInt64Milliseconds(left)) + 1;
      }
      if (poll(fds, 2, timeout_ms) < 0 && errno != EINTR) return false;
    }
  }

  // The plaintext side is done and everything went out: close_notify, then the client's last bytes are dropped for a
  // moment (unless it already ended) so that our close does not reset what is still on its way to it.
  void Finish() {
    TlsShutdown(ssl_.get());
    shutdown(tls_fd_, SHUT_WR);
    if (!tls_open_) return;
    const absl::Time deadline = absl::Now() + kLingerTimeout;
    size_t dropped = 0;
    char buf[16 * 1024];
    while (dropped < kLingerBytesMax) {
      const absl::Duration left = deadline - absl::Now();
      if (left <= absl::ZeroDuration()) return;
      pollfd p = {tls_fd_, POLLIN, 0};
      const int ready = poll(&p, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1);
      if (ready < 0 && errno == EINTR) continue;
      if (ready <= 0) return;
      const ssize_t n = recv(tls_fd_, buf, sizeof(buf), MSG_DONTWAIT);
      if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) continue;
      if (n <= 0) return;
      dropped += static_cast<size_t>(n);
    }
  }

  TlsSession ssl_;
  const int tls_fd_;
  const int plain_fd_;
  ByteQueue from_tls_;      // decrypted, for the plaintext side
  ByteQueue to_tls_;        // from the plaintext side, to encrypt
  bool tls_open_ = true;    // the client may send more
  bool plain_open_ = true;  // the plaintext side may send more
  bool plain_write_shut_ = false;
  size_t write_len_ = 0;  // the length of a TLS write to repeat, 0 if none is pending
};

}  // namespace

absl::StatusOr<std::shared_ptr<const TlsTerminator>> TlsTerminator::Create(TlsTerminatorOptions options) {
  if (absl::Status s = CheckKeyPair(options.cert_pem, options.key_pem); !s.ok()) return s;  // Go's wording
  std::shared_ptr<TlsTerminator> t(new TlsTerminator(std::move(options)));
  const TlsTerminatorOptions& o = t->options_;
  t->context_ = NewTlsContext(/*server=*/true);
  SSL_CTX* ctx = t->context_.get();
  if (ctx == nullptr) return absl::InternalError("SSL_CTX_new failed");
  if (absl::Status s = UseTlsCertificate(ctx, o.cert_pem, o.key_pem); !s.ok()) return s;
  if (!o.trusted_ca_pem.empty()) {
    if (absl::Status s = TrustTlsCas(ctx, o.trusted_ca_pem, o.client_cert_auth); !s.ok()) return s;
  } else if (o.client_cert_auth) {
    SSL_CTX_set_default_verify_paths(ctx);  // Go's nil ClientCAs: the system's roots
    ERR_clear_error();
  }
  SSL_CTX_set_verify(ctx, o.client_cert_auth ? SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT : SSL_VERIFY_NONE,
                     nullptr);
  if (absl::Status s = ApplyTlsCipherSuites(ctx, o.cipher_suites, nullptr); !s.ok()) return s;
  if (o.allowed.any()) {
    if (absl::Status s = RequireAllowedIdentity(ctx, o.allowed); !s.ok()) return s;
  }
  SSL_CTX_set_alpn_select_cb(ctx, SelectAlpn, nullptr);
  // No TLS 1.3 session tickets: nothing resumes here (no cache), and with the client's certificate inside each is
  // over half a kilobyte, made and sent on every handshake.
  SSL_CTX_set_num_tickets(ctx, 0);
  return std::shared_ptr<const TlsTerminator>(std::move(t));
}

namespace {

// The common name of the client's certificate, if it sent one and it verified; "" otherwise.
std::string VerifiedCommonName(SSL* ssl) {
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK) return "";
  X509_NAME* subject = X509_get_subject_name(cert);
  const int at = subject == nullptr ? -1 : X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (at < 0) return "";
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
  unsigned char* utf8 = nullptr;
  const int n = ASN1_STRING_to_UTF8(&utf8, data);
  if (n < 0) return "";
  std::string cn(reinterpret_cast<const char*>(utf8), static_cast<size_t>(n));
  OPENSSL_free(utf8);
  return cn;
}

}  // namespace

int TlsTerminator::Terminate(int fd, const std::atomic<bool>* stop, std::string* verified_common_name) const {
  if (verified_common_name != nullptr) verified_common_name->clear();
  const std::string remote = PeerAddress(fd);
  TlsSession ssl = SetNonBlocking(fd) ? NewTlsSession(context_.get(), fd) : nullptr;
  // etcd's words (embed logTLSHandshakeFailure).
  auto reject = [&](const std::string& error, bool handshake_done) {
    if (options_.log) options_.log(TlsRejectedLine(remote, error, ssl.get(), handshake_done));
    ssl.reset();
    close(fd);
    return -1;
  };
  if (ssl == nullptr) return reject("tls: cannot make a TLS session", false);
  SSL_set_accept_state(ssl.get());
  const absl::Time deadline = absl::Now() + options_.handshake_timeout;
  for (;;) {
    const TlsStep s = TlsHandshake(ssl.get());
    if (s.kind == TlsStep::kDone) break;
    if (s.kind != TlsStep::kWantRead && s.kind != TlsStep::kWantWrite) {
      return reject(s.kind == TlsStep::kClosed ? "EOF" : s.error, false);
    }
    if (stop != nullptr && stop->load()) {
      close(fd);
      return -1;
    }
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      // Go's words for a read past its deadline.
      return reject(absl::StrCat("read tcp ", LocalAddress(fd), "->", remote, ": i/o timeout"), false);
    }
    pollfd p = {fd, static_cast<short>(s.kind == TlsStep::kWantRead ? POLLIN : POLLOUT), 0};
    (void)poll(&p, 1, static_cast<int>(std::min<int64_t>(absl::ToInt64Milliseconds(left) + 1, kStopCheckMs)));
  }
  // etcd's checks once the handshake is done: the allowed host name (a session that was not verified ends here),
  // then the CRL (etcd's tlsListener: the connection is closed, never served).
  if (absl::Status st = CheckAllowedIdentity(ssl.get(), options_.allowed); !st.ok()) {
    return reject(std::string(st.message()), true);
  }
  if (options_.crl != nullptr) {
    if (absl::Status st = options_.crl->CheckSession(ssl.get()); !st.ok()) return reject(std::string(st.message()), true);
  }
  if (verified_common_name != nullptr) *verified_common_name = VerifiedCommonName(ssl.get());
  int pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
    return reject(absl::StrCat("socketpair: ", std::strerror(errno)), false);
  }
  if (!SetNonBlocking(pair[0])) {
    close(pair[0]);
    close(pair[1]);
    return reject(absl::StrCat("fcntl: ", std::strerror(errno)), false);
  }
  auto pump = std::make_unique<Pump>(std::move(ssl), fd, pair[0]);  // owns fd and pair[0] from here on
  ++*active_;
  try {
    std::thread([pump = std::move(pump), active = active_]() mutable {
      pump->Run();
      pump.reset();  // closes its sockets
      --*active;
    }).detach();
  } catch (const std::system_error&) {
    // No thread for it (the process is at its limit): the connection goes, as if the client had been refused.
    --*active_;
    close(pair[1]);
    return -1;
  }
  return pair[1];
}

}  // namespace detcd::net
