#include "net/byte_stream.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "base/check.h"

namespace detcd::net {

namespace {

StreamStep FromTls(const TlsStep& s) {
  StreamStep out;
  switch (s.kind) {
    case TlsStep::kDone:
      out.kind = StreamStep::kDone;
      out.bytes = s.bytes;
      break;
    case TlsStep::kWantRead:
    case TlsStep::kWantWrite:
      out.kind = StreamStep::kWouldBlock;
      out.want_write = s.kind == TlsStep::kWantWrite;
      break;
    case TlsStep::kClosed:
      out.kind = StreamStep::kClosed;
      break;
    case TlsStep::kFailed:
      out.kind = StreamStep::kFailed;
      break;
  }
  out.error = s.error;
  out.remote_alert = s.remote_alert;
  return out;
}

StreamStep FromErrno(int e, bool writing) {
  StreamStep out;
  if (e == EAGAIN || e == EWOULDBLOCK) {
    out.kind = StreamStep::kWouldBlock;
    out.want_write = writing;
  } else {
    out.kind = StreamStep::kFailed;
    out.error = std::strerror(e);
  }
  return out;
}

}  // namespace

ByteStream::ByteStream(int fd, TlsSession tls) : fd_(fd), tls_(std::move(tls)), handshaking_(tls_ != nullptr) {
  DETCD_CHECK(fd >= 0);
}

ByteStream::ByteStream(ByteStream&& other) noexcept { *this = std::move(other); }

ByteStream& ByteStream::operator=(ByteStream&& other) noexcept {
  if (this != &other) {
    Close();
    fd_ = std::exchange(other.fd_, -1);
    tls_ = std::move(other.tls_);
    handshaking_ = std::exchange(other.handshaking_, false);
    batch_ = std::move(other.batch_);
    batch_offset_ = std::exchange(other.batch_offset_, 0);
  }
  return *this;
}

StreamStep ByteStream::Handshake() {
  if (!handshaking_) return StreamStep{StreamStep::kDone};
  const StreamStep s = FromTls(TlsHandshake(tls_.get()));
  if (s.kind == StreamStep::kDone) handshaking_ = false;
  return s;
}

StreamStep ByteStream::Read(char* out, size_t len) {
  DETCD_CHECK_MSG(open() && !handshaking_, "a read before the stream is open and handshaken");
  if (tls_ != nullptr) return FromTls(TlsRead(tls_.get(), out, len));
  for (;;) {
    const ssize_t n = ::read(fd_, out, len);
    if (n > 0) return StreamStep{StreamStep::kDone, static_cast<size_t>(n)};
    if (n == 0) return StreamStep{StreamStep::kClosed};
    if (errno != EINTR) return FromErrno(errno, false);
  }
}

StreamStep ByteStream::Write(const iovec* iov, int count) {
  DETCD_CHECK_MSG(open() && !handshaking_, "a write before the stream is open and handshaken");
  if (tls_ == nullptr) {
    msghdr msg{};
    msg.msg_iov = const_cast<iovec*>(iov);
    msg.msg_iovlen = static_cast<size_t>(count);
    for (;;) {
      const ssize_t n = ::sendmsg(fd_, &msg, MSG_NOSIGNAL);
      if (n >= 0) return StreamStep{StreamStep::kDone, static_cast<size_t>(n)};
      if (errno != EINTR) return FromErrno(errno, true);
    }
  }
  if (batch_offset_ == batch_.size()) {
    // A new batch: the next bytes the caller has. (A batch not yet written whole is what the caller's bytes start
    // with, since it only ever passes what is not written yet: it is given to OpenSSL again as it was.)
    batch_.clear();
    batch_offset_ = 0;
    for (int i = 0; i < count && batch_.size() < kTlsBatchBytes; ++i) {
      batch_.append(static_cast<const char*>(iov[i].iov_base),
                    std::min(iov[i].iov_len, kTlsBatchBytes - batch_.size()));
    }
    if (batch_.empty()) return StreamStep{StreamStep::kDone, 0};
  } else {
    // The contract, checked on the first bytes (cheap: this runs once per record of a batch).
    DETCD_CHECK_MSG(count > 0 && iov[0].iov_len > 0 &&
                        std::memcmp(iov[0].iov_base, batch_.data() + batch_offset_,
                                    std::min({iov[0].iov_len, batch_.size() - batch_offset_, size_t{16}})) == 0,
                    "a TLS write retried with other bytes than the batch it left unwritten");
  }
  const StreamStep s = FromTls(TlsWrite(tls_.get(), batch_.data() + batch_offset_, batch_.size() - batch_offset_));
  if (s.kind == StreamStep::kDone) batch_offset_ += s.bytes;
  return s;
}

bool ByteStream::HasPending() const { return tls_ != nullptr && TlsHasPending(tls_.get()); }

void ByteStream::Shutdown() {
  if (tls_ != nullptr && !handshaking_) TlsShutdown(tls_.get());
}

std::string ByteStream::ServerName() const { return tls_ != nullptr ? TlsServerName(tls_.get()) : std::string(); }

void ByteStream::Close() {
  tls_.reset();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
  handshaking_ = false;
  batch_.clear();
  batch_offset_ = 0;
}

}  // namespace detcd::net
