// ByteStream: one connected socket as a stream of bytes, plain or inside TLS, so that code above it (the peer
// transport) writes each step once: a handshake (nothing to do for a plain socket), a read, a gathered write, and —
// when a step cannot go on — whether it waits for the socket to become readable or writable. It owns the socket and
// its TLS session and closes both. A TLS write that could not go on must be retried with the same bytes; the stream
// keeps the batch it gave OpenSSL, so the caller only ever passes "what is not written yet", plain or TLS.
//
// It must never: block on a non-blocking socket, raise SIGPIPE, log, or read or write past what the caller asked.
#ifndef DETCD_NET_BYTE_STREAM_H_
#define DETCD_NET_BYTE_STREAM_H_

#include <sys/uio.h>

#include <cstddef>
#include <string>

#include "net/tls_session.h"

namespace detcd::net {

// What one step did. kDone: the handshake finished, or `bytes` (> 0) were read or written. kWouldBlock: nothing more
// until the socket is writable (want_write) or readable (!want_write); then repeat. kClosed: the remote ended the
// stream. kFailed: `error` says why; `remote_alert` if the remote refused us with a TLS alert.
struct StreamStep {
  enum Kind { kDone, kWouldBlock, kClosed, kFailed };
  Kind kind = kFailed;
  size_t bytes = 0;
  bool want_write = false;
  std::string error;
  bool remote_alert = false;
};

class ByteStream {
 public:
  ByteStream() = default;
  // Takes the socket (and `tls`, a session bound to it; null: plain). A TLS stream needs Handshake() to say kDone
  // before Read and Write.
  ByteStream(int fd, TlsSession tls);
  ~ByteStream() { Close(); }
  ByteStream(ByteStream&& other) noexcept;
  ByteStream& operator=(ByteStream&& other) noexcept;
  ByteStream(const ByteStream&) = delete;
  ByteStream& operator=(const ByteStream&) = delete;

  int fd() const { return fd_; }
  bool open() const { return fd_ >= 0; }
  bool tls() const { return tls_ != nullptr; }
  bool handshaking() const { return handshaking_; }
  // TLS: the session (for the checks etcd runs once a handshake is done); null if plain.
  ssl_st* session() const { return tls_.get(); }

  StreamStep Handshake();
  StreamStep Read(char* out, size_t len);
  // Writes a prefix of the bytes of iov[0..count) (TLS: at most one batch of kTlsBatchBytes as records).
  StreamStep Write(const iovec* iov, int count);
  StreamStep Write(const char* data, size_t len) {
    iovec one{const_cast<char*>(data), len};
    return Write(&one, 1);
  }
  // TLS: bytes already read from the socket wait inside the session (the socket will not say so again).
  bool HasPending() const;
  // TLS: close_notify, best effort (never waits). Plain: nothing.
  void Shutdown();
  // TLS: the server name the client asked for (SNI); "" if none or plain.
  std::string ServerName() const;
  // Frees the session and closes the socket. Idempotent.
  void Close();

  // What a TLS stream hands SSL_write at a time: many small frames make one record rather than one each.
  static constexpr size_t kTlsBatchBytes = 64u << 10;

 private:
  int fd_ = -1;
  TlsSession tls_;
  bool handshaking_ = false;
  // TLS: what SSL_write was last given (after a want-write it must be given the same bytes again).
  std::string batch_;
  size_t batch_offset_ = 0;
};

}  // namespace detcd::net

#endif  // DETCD_NET_BYTE_STREAM_H_
