#include "net/peer_transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "net/socket_address.h"

namespace detcd::net {
namespace {

constexpr char kMagic[] = "detcd-peer-1";
constexpr char kInfoMagic[] = "detcd-info-1";  // a joining member asks who is in the cluster
constexpr uint32_t kInfoBytesMax = 1u << 20;
// What a member tells a member it removed (etcd's words).
constexpr char kRemovedMessage[] = "the member has been permanently removed from the cluster";
constexpr size_t kMagicBytes = 12;
constexpr size_t kHandshakeBytes = kMagicBytes + 3 * 8;
constexpr size_t kFrameHeaderBytes = 4;
// A frame whose length has this bit is a MSG_SNAP followed by its snapshot file: the rest of the length is the
// message's, then a u64 file length, then the file.
constexpr uint32_t kSnapshotFrameBit = 1u << 31;
constexpr size_t kSnapshotLengthBytes = 8;
// How much an outbound connection takes from its peer's queue at a time: enough to keep the socket busy, little
// enough that the bounded queue (not this buffer) is where a slow peer's backlog piles up and gets dropped.
constexpr size_t kOutFramesMax = 64;
constexpr size_t kOutBytesMax = 8u << 20;
constexpr size_t kReadChunkBytes = 256u << 10;
constexpr size_t kReadPerEventBytesMax = 4u << 20;  // then back to epoll, so one busy connection cannot starve others
constexpr size_t kTlsReadChunkBytes = 16u << 10;    // a TLS read returns at most one record (16 KiB)
// What an outbound TLS connection hands SSL_write at a time: many small frames make one record rather than one each.
constexpr size_t kTlsBatchBytes = 64u << 10;
constexpr char kRefusedPrefix[] = "detcd-peer-refused: ";
constexpr int kIovMax = 64;
constexpr int kEpollTimeoutMaxMs = 1000;

void PutU64(char* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
uint64_t GetU64(const char* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v |= static_cast<uint64_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  return v;
}
void PutU32(char* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>((v >> (8 * i)) & 0xff);
}
uint32_t GetU32(const char* in) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= static_cast<uint32_t>(static_cast<unsigned char>(in[i])) << (8 * i);
  return v;
}

std::string Hex(uint64_t id) { return absl::StrCat(absl::Hex(id)); }

std::string Errno(int e) { return std::strerror(e); }

}  // namespace

struct PeerTransport::Conn {
  enum Kind { kListener, kWaker, kInbound, kOutbound };
  Kind kind;
  int fd = -1;
  bool watching_writes = false;  // EPOLLOUT is in the epoll interest
  bool write_waits = false;      // a write waits for the socket to take more
  std::string remote;            // for logs

  // TLS (null: a plain connection). A TLS step that cannot go on waits for readable (always watched) or writable.
  TlsSession tls;
  bool handshaking = false;  // the TLS handshake is not done yet
  bool read_waits = false;   // a TLS read waits for the socket to become writable
  bool read_again = false;   // kInbound: stopped reading (per-event maximum) with bytes left inside the session
  bool peeked = false;       // kInbound: its first bytes were looked at (a plain dialer on a TLS port?)

  // kInbound.
  bool handshaken = false;
  uint64_t sender = 0;
  std::string in;  // read, not yet parsed
  bool logged_foreign = false;
  // A snapshot's file arriving after its MSG_SNAP: where its bytes go, the message, and how many bytes are to come.
  std::unique_ptr<SnapshotSink> sink;
  raftpb::Message snapshot;
  uint64_t snapshot_left = 0;

  // kOutbound.
  Peer* peer = nullptr;
  bool connecting = false;
  // TLS: what SSL_write was last given, from the peer's `out` at its out_offset (after a want-write SSL_write must be
  // given the same bytes again, so they are kept here until written).
  std::string tls_batch;
  size_t tls_batch_offset = 0;
};

struct PeerTransport::Peer {
  uint64_t id = 0;

  // A message waiting to be written, and the snapshot file a MSG_SNAP streams after it (if any).
  struct Outgoing {
    raftpb::Message message;
    std::shared_ptr<storage::ReadableFile> file;
  };

  // Guarded by PeerTransport::mu_.
  PeerAddress address;
  bool removed = false;
  std::deque<Outgoing> queue;
  uint64_t dropped = 0;  // since the transport thread last looked
  uint64_t dropped_snapshots = 0;

  // Transport thread only.
  struct Frame {
    std::string bytes;  // header + message (or the handshake); with a file, then each chunk of it in turn
    bool snapshot = false;
    std::shared_ptr<storage::ReadableFile> file;  // a snapshot file streamed after the message
    uint64_t file_offset = 0;                     // the next byte of it to read
    // More of the file follows these bytes: nothing after this frame may be written yet.
    bool more() const { return file != nullptr && file_offset < file->size(); }
  };
  std::unique_ptr<Conn> conn;
  std::deque<Frame> out;
  size_t out_offset = 0;  // into out.front()
  size_t out_bytes = 0;
  int64_t connected_at_ms = -1;  // -1: never established
  int64_t next_attempt_ms = 0;
  int64_t backoff_ms = 0;
  bool failing = false;  // the last attempt failed: log the next failures only if they say something new
};

absl::StatusOr<std::unique_ptr<PeerTransport>> PeerTransport::Start(PeerTransportOptions options) {
  DETCD_CHECK(options.queue_messages_max > 0);
  DETCD_CHECK(options.backoff_min > absl::ZeroDuration() && options.backoff_max >= options.backoff_min);
  if (options.listen.tls && (options.tls == nullptr || !options.tls->can_serve())) {
    return absl::InvalidArgumentError("an https peer listen address needs a TLS certificate");
  }
  std::unique_ptr<PeerTransport> t(new PeerTransport(std::move(options)));
  absl::Status listening = t->Listen();
  if (!listening.ok()) return listening;
  t->thread_ = std::thread([raw = t.get()] {
    pthread_setname_np(pthread_self(), "detcd-peers");  // for top -H and perf
    raw->Loop();
  });
  return t;
}

PeerTransport::PeerTransport(PeerTransportOptions options) : options_(std::move(options)) {
  for (const auto& [id, address] : options_.peers) {
    if (id == options_.member_id) continue;
    auto p = std::make_unique<Peer>();
    p->id = id;
    p->address = address;
    peers_[id] = std::move(p);
  }
}

PeerTransport::~PeerTransport() { Stop(); }

absl::Status PeerTransport::Listen() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return absl::InternalError(absl::StrCat("epoll_create1: ", Errno(errno)));
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return absl::InternalError(absl::StrCat("eventfd: ", Errno(errno)));
  waker_ = std::make_unique<Conn>(Conn{Conn::kWaker});
  waker_->fd = wake_fd_;
  epoll_event wev{};
  wev.events = EPOLLIN;
  wev.data.ptr = waker_.get();
  DETCD_CHECK(::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wev) == 0);

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  addrinfo* found = nullptr;
  const std::string where = absl::StrCat(options_.listen.host, ":", options_.listen.port);
  int rc = ::getaddrinfo(options_.listen.host.empty() ? nullptr : options_.listen.host.c_str(),
                         std::to_string(options_.listen.port).c_str(), &hints, &found);
  if (rc != 0) return absl::InvalidArgumentError(absl::StrCat("listen ", where, ": ", ::gai_strerror(rc)));
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> free_found(found, ::freeaddrinfo);
  int fd = ::socket(found->ai_family, found->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", Errno(errno)));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));  // a restarted member takes its port back at once
  if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
    int e = errno;
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("listen ", where, ": ", Errno(e)));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  DETCD_CHECK(::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) == 0);
  port_ = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                      : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  listener_ = std::make_unique<Conn>(Conn{Conn::kListener});
  listener_->fd = fd;
  epoll_event lev{};
  lev.events = EPOLLIN;
  lev.data.ptr = listener_.get();
  DETCD_CHECK(::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &lev) == 0);
  return absl::OkStatus();
}

void PeerTransport::Send(raftpb::Message m, std::shared_ptr<storage::ReadableFile> snapshot_file) {
  DETCD_CHECK_MSG(snapshot_file == nullptr || (m.type() == raftpb::MSG_SNAP && m.snapshot().data().empty()),
                  "a snapshot file goes with a MSG_SNAP without data");
  std::lock_guard<std::mutex> l(mu_);
  if (stopping_) return;
  auto found = peers_.find(m.to());
  if (found == peers_.end() || found->second->removed) return;  // not a peer (yet, or any more)
  Peer* p = found->second.get();
  if (p->queue.size() >= options_.queue_messages_max) {
    // Never block the core thread on a slow or dead peer: drop, and let the transport thread tell Raft.
    ++p->dropped;
    if (m.type() == raftpb::MSG_SNAP) ++p->dropped_snapshots;
    ++dropped_total_;
  } else {
    p->queue.push_back(Peer::Outgoing{std::move(m), std::move(snapshot_file)});
  }
  Wake();  // under mu_, so Stop cannot close the eventfd under our feet
}

void PeerTransport::AddPeer(uint64_t id, PeerAddress address) {
  std::lock_guard<std::mutex> l(mu_);
  if (stopping_ || id == options_.member_id) return;
  std::unique_ptr<Peer>& p = peers_[id];
  if (!p) {
    p = std::make_unique<Peer>();
    p->id = id;
  }
  p->address = std::move(address);
  p->removed = false;
  refused_ids_.erase(id);
}

void PeerTransport::RemovePeer(uint64_t id) {
  std::lock_guard<std::mutex> l(mu_);
  if (stopping_) return;
  refused_ids_.insert(id);
  auto found = peers_.find(id);
  if (found == peers_.end()) return;
  found->second->removed = true;
  found->second->queue.clear();
  Wake();
}

void PeerTransport::Wake() {
  if (wake_pending_.exchange(true)) return;  // already signalled, not yet seen
  uint64_t one = 1;
  ssize_t n = ::write(wake_fd_, &one, sizeof(one));
  (void)n;  // EAGAIN means the counter is already non-zero: the loop wakes anyway
}

void PeerTransport::Stop() {
  std::call_once(stop_once_, [this] {
    {
      std::lock_guard<std::mutex> l(mu_);
      stopping_ = true;
    }
    if (wake_fd_ >= 0) {
      wake_pending_ = false;
      Wake();
    }
    if (thread_.joinable()) {
      DETCD_CHECK(thread_.get_id() != std::this_thread::get_id());
      thread_.join();
    }
    // The thread is gone: close everything here, so peers see the connections end and the port is free again.
    for (auto& [id, p] : peers_) {
      if (p->conn && p->conn->fd >= 0) ::close(p->conn->fd);
      p->conn.reset();
    }
    for (auto& c : inbound_) {
      if (c->fd >= 0) ::close(c->fd);
    }
    inbound_.clear();
    closed_.clear();
    if (listener_ && listener_->fd >= 0) ::close(listener_->fd);
    listener_.reset();
    if (wake_fd_ >= 0) ::close(wake_fd_);
    if (epoll_fd_ >= 0) ::close(epoll_fd_);
    wake_fd_ = epoll_fd_ = -1;
  });
}

int64_t PeerTransport::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void PeerTransport::Log(const std::string& line) {
  if (options_.log) options_.log(absl::StrCat("peer transport ", Hex(options_.member_id), ": ", line));
}

void PeerTransport::Loop() {
  constexpr int kEventsMax = 64;
  epoll_event events[kEventsMax];
  for (;;) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stopping_) return;
    }
    int timeout_ms = ServicePeers();
    if (read_again_) timeout_ms = 0;
    int n = ::epoll_wait(epoll_fd_, events, kEventsMax, timeout_ms);
    if (n < 0) {
      DETCD_CHECK_MSG(errno == EINTR, "epoll_wait failed");
      continue;
    }
    for (int i = 0; i < n; ++i) {
      auto* c = static_cast<Conn*>(events[i].data.ptr);
      if (c->fd < 0) continue;  // closed earlier in this batch
      switch (c->kind) {
        case Conn::kWaker: {
          uint64_t count;
          ssize_t r = ::read(wake_fd_, &count, sizeof(count));
          (void)r;
          wake_pending_ = false;  // before ServicePeers looks at the queues: a later Send signals again
          break;
        }
        case Conn::kListener:
          OnAccept();
          break;
        case Conn::kInbound:
          OnInbound(c);
          break;
        case Conn::kOutbound:
          OnOutbound(c, events[i].events);
          break;
      }
    }
    if (read_again_) {
      // Bytes inside a TLS session that stopped at the per-event maximum: the socket will not say so again.
      read_again_ = false;
      std::vector<Conn*> again;
      for (const auto& c : inbound_) {
        if (c->read_again) again.push_back(c.get());
      }
      for (Conn* c : again) {
        c->read_again = false;
        if (c->fd >= 0) OnInbound(c);
      }
    }
    closed_.clear();
  }
}

int PeerTransport::ServicePeers() {
  const int64_t now = NowMs();
  int timeout_ms = kEpollTimeoutMaxMs;
  struct Look {
    Peer* p;
    bool queued, removed;
    uint64_t dropped, dropped_snapshots;
  };
  std::vector<Look> looks;
  {
    std::lock_guard<std::mutex> l(mu_);
    looks.reserve(peers_.size());
    for (auto& [id, p] : peers_) {
      looks.push_back({p.get(), !p->queue.empty(), p->removed, std::exchange(p->dropped, 0),
                       std::exchange(p->dropped_snapshots, 0)});
    }
  }
  for (const auto& [p, queued, removed, dropped, dropped_snapshots] : looks) {
    if (removed) {
      Disconnect(p);
      std::lock_guard<std::mutex> l(mu_);
      if (p->removed) peers_.erase(p->id);  // not re-added meanwhile
      continue;
    }
    if (dropped > 0) {
      if (options_.report_unreachable) options_.report_unreachable(p->id);
      for (uint64_t i = 0; i < dropped_snapshots && options_.report_snapshot; ++i)
        options_.report_snapshot(p->id, true);
    }
    if (!queued) continue;
    if (!p->conn) {
      if (now >= p->next_attempt_ms) {
        Connect(p);
      } else {
        timeout_ms = std::min<int64_t>(timeout_ms, p->next_attempt_ms - now);
      }
    } else if (!p->conn->connecting && !p->conn->handshaking && !p->conn->write_waits) {
      WriteOutbound(p);  // takes what it can from the queue
    }
  }
  return timeout_ms;
}

void PeerTransport::OnAccept() {
  for (;;) {
    sockaddr_storage from{};
    socklen_t len = sizeof(from);
    int fd = ::accept4(listener_->fd, reinterpret_cast<sockaddr*>(&from), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED) return;
      Log(absl::StrCat("accept: ", Errno(errno)));  // e.g. out of descriptors: try again on the next event
      return;
    }
    auto c = std::make_unique<Conn>(Conn{Conn::kInbound});
    c->fd = fd;
    c->remote = SocketAddressString(from);
    if (options_.listen.tls) {
      c->tls = options_.tls->Accept(fd);
      if (c->tls == nullptr) {
        Log(absl::StrCat("inbound from ", c->remote, ": cannot make a TLS session; closing"));
        ::close(fd);
        continue;
      }
      c->handshaking = true;
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = c.get();
    DETCD_CHECK(::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0);
    inbound_.push_back(std::move(c));
  }
}

void PeerTransport::OnInbound(Conn* c) {
  if (c->tls) {
    OnInboundTls(c);
    return;
  }
  size_t read_bytes = 0;
  while (read_bytes < kReadPerEventBytesMax) {
    if (read_chunk_ == nullptr) read_chunk_ = std::make_unique<char[]>(kReadChunkBytes);
    ssize_t n = ::read(c->fd, read_chunk_.get(), kReadChunkBytes);
    if (n > 0) c->in.append(read_chunk_.get(), static_cast<size_t>(n));
    if (n > 0) {
      read_bytes += n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    // End of stream or error: parse what came, then close.
    EndInbound(c, n == 0 ? "closed by remote" : Errno(errno));
    return;
  }
  ParseInbound(c);
}

void PeerTransport::EndInbound(Conn* c, const std::string& why) {
  if (!ParseInbound(c)) return;
  if (c->sink != nullptr) {
    Log(absl::StrCat("inbound from ", c->remote, ": the snapshot at index ", c->snapshot.snapshot().metadata().index(),
                     " was cut short (", c->snapshot_left, " bytes missing) when the connection ended: ", why));
    c->sink.reset();  // what came is dropped
  }
  if (!c->in.empty()) {
    Log(absl::StrCat("inbound from ", c->remote, ": truncated ", c->handshaken ? "frame" : "handshake", " (",
                     c->in.size(), " bytes left over) when the connection ended: ", why));
  }
  Close(c);
}

void PeerTransport::OnInboundTls(Conn* c) {
  TlsSession::pointer ssl = c->tls.get();
  if (c->handshaking) {
    if (!c->peeked && !RefusePlainOnTlsPort(c)) return;
    const TlsStep s = TlsHandshake(ssl);
    if (s.kind == TlsStep::kWantRead || s.kind == TlsStep::kWantWrite) {
      WatchWrites(c, s.kind == TlsStep::kWantWrite);
      return;
    }
    if (s.kind != TlsStep::kDone) {
      // etcd's words (embed logTLSHandshakeFailure).
      Log(absl::StrCat("rejected connection from \"", c->remote, "\" (error \"",
                       s.kind == TlsStep::kClosed ? "EOF" : s.error, "\", ServerName \"", TlsServerName(ssl), "\")"));
      Close(c);
      return;
    }
    c->handshaking = false;
    WatchWrites(c, false);
  }
  size_t read_bytes = 0;
  for (;;) {
    if (read_bytes >= kReadPerEventBytesMax) {
      if (TlsHasPending(ssl)) {
        c->read_again = true;
        read_again_ = true;
      }
      break;
    }
    if (read_chunk_ == nullptr) read_chunk_ = std::make_unique<char[]>(kReadChunkBytes);
    static_assert(kTlsReadChunkBytes <= kReadChunkBytes);
    const TlsStep s = TlsRead(ssl, read_chunk_.get(), kTlsReadChunkBytes);
    if (s.kind == TlsStep::kDone) c->in.append(read_chunk_.get(), s.bytes);
    if (s.kind == TlsStep::kDone) {
      read_bytes += s.bytes;
      continue;
    }
    if (s.kind == TlsStep::kWantRead || s.kind == TlsStep::kWantWrite) {
      c->read_waits = s.kind == TlsStep::kWantWrite;
      WatchInterest(c);
      break;
    }
    if (s.kind == TlsStep::kFailed) Log(absl::StrCat("inbound from ", c->remote, ": ", s.error));
    EndInbound(c, s.kind == TlsStep::kClosed ? "closed by remote" : s.error);
    return;
  }
  ParseInbound(c);
}

bool PeerTransport::RefusePlainOnTlsPort(Conn* c) {
  char first[kMagicBytes];
  const ssize_t n = ::recv(c->fd, first, sizeof(first), MSG_PEEK | MSG_DONTWAIT);
  if (n <= 0) return true;  // nothing yet, or the end: the handshake finds out
  c->peeked = true;
  if (first[0] == 0x16) return true;  // a TLS handshake record
  // Not TLS: most likely a member whose peer URL for this one is http. Tell it in plain text, so that its log says why
  // (as Go's TLS server answers plain HTTP with "client sent an HTTP request to an HTTPS server").
  Log(absl::StrCat("rejected connection from \"", c->remote,
                   "\" (error \"tls: first record does not look like a TLS handshake\", ServerName \"\")"));
  char discard[4096];
  ssize_t r = ::recv(c->fd, discard, sizeof(discard), MSG_DONTWAIT);  // so that closing sends FIN rather than RST
  (void)r;
  const std::string reason = absl::StrCat(kRefusedPrefix, "a plain (http) connection to a TLS (https) peer port\n");
  r = ::send(c->fd, reason.data(), reason.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  (void)r;
  Close(c);
  return false;
}

bool PeerTransport::Refused(uint64_t id) {
  std::lock_guard<std::mutex> l(mu_);
  return refused_ids_.count(id) > 0;
}

bool PeerTransport::ParseInbound(Conn* c) {
  if (c->handshaken && Refused(c->sender)) {
    // Removed while connected: tell it, so that it stops (etcd answers a removed member's messages with 410 Gone).
    Log(absl::StrCat("refused messages from removed member ", Hex(c->sender), " at ", c->remote));
    SayAndClose(c, absl::StrCat(kRefusedPrefix, kRemovedMessage, "\n"), "");
    return false;
  }
  const char* data = c->in.data();
  const size_t have = c->in.size();
  size_t pos = 0;
  if (!c->handshaken) {
    std::string refusal;
    if (have >= kMagicBytes && std::memcmp(data, kInfoMagic, kMagicBytes) == 0) {
      // A member joining the cluster asks for its members: answer (one small frame) and close.
      std::string info = options_.cluster_info ? options_.cluster_info() : std::string();
      std::string reply(kFrameHeaderBytes, '\0');
      PutU32(reply.data(), static_cast<uint32_t>(info.size()));
      reply += info;
      SayAndClose(c, reply, absl::StrCat("answering the cluster query from ", c->remote));
      return false;
    }
    if (std::memcmp(data, kMagic, std::min(have, kMagicBytes)) != 0 &&
        std::memcmp(data, kInfoMagic, std::min(have, kMagicBytes)) != 0) {
      refusal = static_cast<unsigned char>(data[0]) == 0x16
                    ? "not a detcd peer connection (bad handshake magic: a TLS handshake on a plain (http) peer port)"
                    : "not a detcd peer connection (bad handshake magic)";
    } else if (have < kHandshakeBytes || std::memcmp(data, kMagic, kMagicBytes) != 0) {
      return true;
    } else {
      const uint64_t cluster = GetU64(data + kMagicBytes);
      const uint64_t sender = GetU64(data + kMagicBytes + 8);
      const uint64_t receiver = GetU64(data + kMagicBytes + 16);
      if (cluster != options_.cluster_id) {
        refusal = absl::StrCat("request cluster ID mismatch (local=", Hex(options_.cluster_id),
                               ", remote=", Hex(cluster), ", remote member=", Hex(sender), ")");
      } else if (receiver != options_.member_id) {
        refusal = absl::StrCat("request meant for member ", Hex(receiver), ", this is ", Hex(options_.member_id),
                               " (remote member=", Hex(sender), ")");
      } else if (sender == options_.member_id) {
        refusal = absl::StrCat("remote claims this member's own id ", Hex(sender));
      } else if (Refused(sender)) {
        refusal = kRemovedMessage;
      } else {
        c->handshaken = true;
        c->sender = sender;
        pos = kHandshakeBytes;
      }
    }
    if (!refusal.empty()) {
      Log(absl::StrCat("refused inbound connection from ", c->remote, ": ", refusal));
      // Best effort: tell the dialer why, so its log says it too.
      SayAndClose(c, absl::StrCat(kRefusedPrefix, refusal, "\n"), "");
      return false;
    }
  }
  for (;;) {
    if (c->sink != nullptr) {
      // A snapshot's file: what came goes to its sink, and the message once it is all there.
      const size_t take = static_cast<size_t>(std::min<uint64_t>(have - pos, c->snapshot_left));
      if (take > 0) {
        if (absl::Status s = c->sink->Append(absl::string_view(data + pos, take)); !s.ok()) {
          Log(absl::StrCat("inbound from member ", Hex(c->sender), " at ", c->remote, ": refused the snapshot at index ",
                           c->snapshot.snapshot().metadata().index(), ": ", s.message(), "; closing"));
          c->sink.reset();
          Close(c);
          return false;
        }
        pos += take;
        c->snapshot_left -= take;
      }
      if (c->snapshot_left > 0) break;
      std::unique_ptr<SnapshotSink> sink = std::move(c->sink);
      absl::StatusOr<std::string> where = sink->Finish();
      sink.reset();
      if (!where.ok()) {
        Log(absl::StrCat("inbound from member ", Hex(c->sender), " at ", c->remote, ": refused the snapshot at index ",
                         c->snapshot.snapshot().metadata().index(), ": ", where.status().message(), "; closing"));
        Close(c);
        return false;
      }
      if (options_.deliver_snapshot) options_.deliver_snapshot(std::move(c->snapshot), std::move(*where));
      c->snapshot.Clear();
      continue;
    }
    if (have - pos < kFrameHeaderBytes) break;
    const uint32_t len = GetU32(data + pos);
    if (len & kSnapshotFrameBit) {
      const uint32_t header_bytes = len & ~kSnapshotFrameBit;
      if (header_bytes > options_.frame_bytes_max) {
        Log(absl::StrCat("inbound from member ", Hex(c->sender), " at ", c->remote, ": snapshot header of ",
                         header_bytes, " bytes exceeds the maximum of ", options_.frame_bytes_max, "; closing"));
        Close(c);
        return false;
      }
      if (have - pos - kFrameHeaderBytes < header_bytes + kSnapshotLengthBytes) break;
      const char* header = data + pos + kFrameHeaderBytes;
      if (!StartInboundSnapshot(c, header, header_bytes, GetU64(header + header_bytes))) return false;
      pos += kFrameHeaderBytes + header_bytes + kSnapshotLengthBytes;
      continue;
    }
    if (len > options_.frame_bytes_max) {
      Log(absl::StrCat("inbound from member ", Hex(c->sender), " at ", c->remote, ": frame of ", len,
                       " bytes exceeds the maximum of ", options_.frame_bytes_max, "; closing"));
      Close(c);
      return false;
    }
    if (have - pos - kFrameHeaderBytes < len) {
      c->in.reserve(pos + kFrameHeaderBytes + len);  // one allocation for a big frame (a snapshot)
      data = c->in.data();
      break;
    }
    raftpb::Message m;
    if (!m.ParseFromArray(data + pos + kFrameHeaderBytes, static_cast<int>(len))) {
      Log(absl::StrCat("inbound from member ", Hex(c->sender), " at ", c->remote, ": a frame of ", len,
                       " bytes is not a raft message; closing"));
      Close(c);
      return false;
    }
    pos += kFrameHeaderBytes + len;
    if (m.from() != c->sender || m.to() != options_.member_id) {
      if (!c->logged_foreign) {
        c->logged_foreign = true;
        Log(absl::StrCat("inbound from member ", Hex(c->sender), ": ignoring a message from ", Hex(m.from()), " to ",
                         Hex(m.to())));
      }
      continue;
    }
    if (options_.deliver) options_.deliver(std::move(m));
  }
  c->in.erase(0, pos);
  return true;
}

bool PeerTransport::StartInboundSnapshot(Conn* c, const char* header, uint32_t header_bytes, uint64_t file_bytes) {
  const std::string from = absl::StrCat("inbound from member ", Hex(c->sender), " at ", c->remote, ": ");
  raftpb::Message m;
  std::string why;
  if (!m.ParseFromArray(header, static_cast<int>(header_bytes))) {
    why = absl::StrCat("a snapshot header of ", header_bytes, " bytes is not a raft message");
  } else if (m.type() != raftpb::MSG_SNAP || !m.snapshot().data().empty() || m.snapshot().metadata().index() == 0) {
    why = "a snapshot frame whose header is not a MSG_SNAP without data";
  } else if (m.from() != c->sender || m.to() != options_.member_id) {
    why = absl::StrCat("a snapshot from ", Hex(m.from()), " to ", Hex(m.to()));
  } else if (file_bytes > options_.snapshot_bytes_max) {
    why = absl::StrCat("a snapshot of ", file_bytes, " bytes exceeds the maximum of ", options_.snapshot_bytes_max);
  } else if (!options_.open_snapshot_sink) {
    why = "this member takes no snapshots";
  } else {
    absl::StatusOr<std::unique_ptr<SnapshotSink>> sink = options_.open_snapshot_sink(m, file_bytes);
    if (sink.ok() && *sink != nullptr) {
      Log(absl::StrCat(from, "receiving the snapshot at index ", m.snapshot().metadata().index(), " (", file_bytes,
                       " bytes)"));
      c->sink = std::move(*sink);
      c->snapshot = std::move(m);
      c->snapshot_left = file_bytes;
      return true;
    }
    why = sink.ok() ? "no sink for it" : std::string(sink.status().message());
  }
  // The bytes that follow cannot be told from frames: the connection ends, and the sender hears the send failed.
  Log(absl::StrCat(from, "refused a snapshot: ", why, "; closing"));
  Close(c);
  return false;
}

void PeerTransport::SayAndClose(Conn* c, const std::string& bytes, const std::string& what) {
  // Best effort, never waiting: what the socket does not take at once is lost.
  std::string failure;
  if (c->tls) {
    size_t done = 0;
    while (done < bytes.size()) {
      const TlsStep s = TlsWrite(c->tls.get(), bytes.data() + done, bytes.size() - done);
      if (s.kind != TlsStep::kDone) {
        failure = s.kind == TlsStep::kFailed ? s.error : "short";
        break;
      }
      done += s.bytes;
    }
    if (failure.empty()) TlsShutdown(c->tls.get());
  } else {
    ssize_t n = ::send(c->fd, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n != static_cast<ssize_t>(bytes.size())) failure = n < 0 ? Errno(errno) : "short";
  }
  if (!failure.empty() && !what.empty()) Log(absl::StrCat(what, " failed: ", failure));
  Close(c);
}

void PeerTransport::Connect(Peer* p) {
  DETCD_CHECK(!p->conn);
  DETCD_CHECK(p->out.empty());
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  PeerAddress address;
  {
    std::lock_guard<std::mutex> l(mu_);
    address = p->address;
  }
  if (address.tls && options_.tls == nullptr) {
    FailOutbound(p, absl::StrCat("cannot connect to member ", Hex(p->id), " at https://", address.host, ":",
                                 address.port, ": this member has no peer TLS configuration"));
    return;
  }
  addrinfo* found = nullptr;
  int rc = ::getaddrinfo(address.host.c_str(), std::to_string(address.port).c_str(), &hints, &found);
  if (rc != 0) {
    FailOutbound(p, absl::StrCat("resolve ", address.host, ": ", ::gai_strerror(rc)));
    return;
  }
  std::unique_ptr<addrinfo, void (*)(addrinfo*)> free_found(found, ::freeaddrinfo);
  int fd = ::socket(found->ai_family, found->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    FailOutbound(p, absl::StrCat("socket: ", Errno(errno)));
    return;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));  // heartbeats must not wait for Nagle
  p->conn = std::make_unique<Conn>(Conn{Conn::kOutbound});
  Conn* c = p->conn.get();
  c->fd = fd;
  c->peer = p;
  c->remote = absl::StrCat(address.host, ":", address.port);
  c->connecting = true;
  p->connected_at_ms = -1;
  if (address.tls) {
    c->tls = options_.tls->Connect(fd, address.host);  // the handshake starts once connected
    c->handshaking = true;
  }
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP;
  ev.data.ptr = c;
  DETCD_CHECK(::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0);
  c->watching_writes = true;
  c->write_waits = true;

  Peer::Frame hello;
  hello.bytes.resize(kHandshakeBytes);
  std::memcpy(hello.bytes.data(), kMagic, kMagicBytes);
  PutU64(hello.bytes.data() + kMagicBytes, options_.cluster_id);
  PutU64(hello.bytes.data() + kMagicBytes + 8, options_.member_id);
  PutU64(hello.bytes.data() + kMagicBytes + 16, p->id);
  p->out_bytes = hello.bytes.size();
  p->out.push_back(std::move(hello));
  p->out_offset = 0;

  if (c->handshaking && c->tls == nullptr) {
    FailOutbound(p, absl::StrCat("connect ", c->remote, ": cannot make a TLS session"));
    return;
  }
  if (::connect(fd, found->ai_addr, found->ai_addrlen) != 0 && errno != EINPROGRESS) {
    FailOutbound(p, absl::StrCat("connect ", c->remote, ": ", Errno(errno)));
  }
}

void PeerTransport::OnOutbound(Conn* c, uint32_t events) {
  Peer* p = c->peer;
  if (c->connecting) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      FailOutbound(p, absl::StrCat("connect ", c->remote, ": ", Errno(err)));
      return;
    }
    c->connecting = false;
    p->connected_at_ms = NowMs();
    if (!c->tls) {  // else once the TLS handshake is done
      if (p->failing) Log(absl::StrCat("connected to member ", Hex(p->id), " at ", c->remote));
      p->failing = false;
    }
  }
  if (c->tls) {
    OnOutboundTls(c, events);
    return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) {
    // The receiver never talks, except to say why it refuses us; anything readable means the end.
    char buf[512];
    ssize_t n = ::recv(c->fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);
    if (n > 0) {
      OnRefusal(p, std::string(buf, n));
      return;
    }
    if (n == 0 || !(errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
      int err = 0;
      socklen_t len = sizeof(err);
      ::getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len);
      FailOutbound(p, absl::StrCat("connection to member ", Hex(p->id), " at ", c->remote,
                                   " lost: ", n == 0 ? "closed by remote" : Errno(err != 0 ? err : errno)));
      return;
    }
  }
  if (events & EPOLLOUT) WriteOutbound(p);
}

void PeerTransport::OnOutboundTls(Conn* c, uint32_t events) {
  Peer* p = c->peer;
  TlsSession::pointer ssl = c->tls.get();
  bool read = (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) || (c->read_waits && (events & EPOLLOUT));
  if (c->handshaking) {
    const TlsStep s = TlsHandshake(ssl);
    if (s.kind == TlsStep::kWantRead || s.kind == TlsStep::kWantWrite) {
      WatchWrites(c, s.kind == TlsStep::kWantWrite);
      return;
    }
    if (s.kind != TlsStep::kDone) {
      std::string why = s.kind == TlsStep::kClosed ? "EOF" : s.error;
      if (why == "tls: first record does not look like a TLS handshake") {
        why += " (is its peer URL http rather than https?)";
      }
      FailOutbound(p, absl::StrCat("TLS handshake with member ", Hex(p->id), " at ", c->remote, " failed: ", why));
      if (s.remote_alert) p->failing = false;  // it refused us: always worth logging, as a refusal
      return;
    }
    c->handshaking = false;
    if (p->failing) Log(absl::StrCat("connected to member ", Hex(p->id), " at ", c->remote));
    p->failing = false;
    read = true;  // the handshake may have read records past its end
  }
  if (read) {
    // The receiver never sends frames: what arrives is a refusal, a TLS alert (it refused our certificate), the end,
    // or TLS records that are not data at all (TLS 1.3 session tickets), which are not the end.
    std::string said;
    for (;;) {
      char buf[512];
      const TlsStep s = TlsRead(ssl, buf, sizeof(buf));
      if (s.kind == TlsStep::kDone) {
        if (said.size() < 4096) said.append(buf, s.bytes);
        continue;
      }
      if (s.kind == TlsStep::kWantRead || s.kind == TlsStep::kWantWrite) {
        c->read_waits = s.kind == TlsStep::kWantWrite;
        break;
      }
      if (!said.empty() || s.remote_alert) {
        OnRefusal(p, said.empty() ? s.error : said);
      } else {
        FailOutbound(p, absl::StrCat("connection to member ", Hex(p->id), " at ", c->remote,
                                     " lost: ", s.kind == TlsStep::kClosed ? "closed by remote" : s.error));
      }
      return;
    }
    if (!said.empty()) {
      OnRefusal(p, said);
      return;
    }
    WatchInterest(c);
  }
  if (!c->write_waits || (events & EPOLLOUT)) WriteOutbound(p);
}

void PeerTransport::OnRefusal(Peer* p, std::string said) {
  while (!said.empty() && said.back() == '\n') said.pop_back();
  if (said.rfind(kRefusedPrefix, 0) == 0) said.erase(0, sizeof(kRefusedPrefix) - 1);
  const bool removed = said == kRemovedMessage;
  FailOutbound(p, absl::StrCat("member ", Hex(p->id), " at ", p->conn ? p->conn->remote : "?", " refused us: ", said));
  p->failing = false;  // a refusal is always worth logging
  if (removed && options_.removed_from_cluster) options_.removed_from_cluster();
}

void PeerTransport::FillOutbound(Peer* p) {
  std::vector<Peer::Outgoing> taken;
  {
    std::lock_guard<std::mutex> l(mu_);
    size_t room = kOutFramesMax > p->out.size() ? kOutFramesMax - p->out.size() : 0;
    while (room > 0 && !p->queue.empty() && p->out_bytes < kOutBytesMax) {
      taken.push_back(std::move(p->queue.front()));
      p->queue.pop_front();
      --room;
      if (taken.back().message.type() == raftpb::MSG_SNAP) break;  // bounds the bytes taken in one go
    }
  }
  // Serialized here rather than in Send: a snapshot's bytes are copied on this thread, not the core's.
  for (Peer::Outgoing& o : taken) {
    const raftpb::Message& m = o.message;
    const size_t size = m.ByteSizeLong();
    const bool snapshot = m.type() == raftpb::MSG_SNAP;
    if (size > options_.frame_bytes_max) {
      Log(absl::StrCat("dropping a ", size, "-byte message to member ", Hex(p->id), ": over the frame maximum of ",
                       options_.frame_bytes_max));
      if (snapshot && options_.report_snapshot) options_.report_snapshot(p->id, true);
      continue;
    }
    Peer::Frame f;
    f.snapshot = snapshot;
    uint32_t length = static_cast<uint32_t>(size);
    if (o.file != nullptr) {
      // The message, then the file's length; the file's bytes are read a chunk at a time as these go out.
      length |= kSnapshotFrameBit;
      f.file = std::move(o.file);
    }
    f.bytes.resize(kFrameHeaderBytes + size + (f.file ? kSnapshotLengthBytes : 0));
    PutU32(f.bytes.data(), length);
    m.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(f.bytes.data() + kFrameHeaderBytes));
    if (f.file) PutU64(f.bytes.data() + kFrameHeaderBytes + size, f.file->size());
    p->out_bytes += f.bytes.size();
    p->out.push_back(std::move(f));
  }
}

bool PeerTransport::WriteOutbound(Peer* p) {
  Conn* c = p->conn.get();
  DETCD_CHECK(c != nullptr && !c->connecting && !c->handshaking);
  if (c->tls) return WriteOutboundTls(p);
  for (;;) {
    if (p->out.empty() || p->out.size() < kOutFramesMax / 2) FillOutbound(p);
    if (p->out.empty()) {
      WatchWrites(c, false);
      return true;
    }
    iovec iov[kIovMax];
    int count = 0;
    size_t offset = p->out_offset;
    for (auto it = p->out.begin(); it != p->out.end() && count < kIovMax; ++it) {
      iov[count].iov_base = it->bytes.data() + offset;
      iov[count].iov_len = it->bytes.size() - offset;
      ++count;
      offset = 0;
      if (it->more()) break;  // the rest of its file comes before anything after it
    }
    msghdr msg{};
    msg.msg_iov = iov;
    msg.msg_iovlen = count;
    ssize_t n = ::sendmsg(c->fd, &msg, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        WatchWrites(c, true);  // keep the rest; epoll says when the socket takes more
        return true;
      }
      FailOutbound(p, absl::StrCat("write to member ", Hex(p->id), " at ", c->remote, ": ", Errno(errno)));
      return false;
    }
    if (!ConsumeOutbound(p, static_cast<size_t>(n))) return false;
  }
}

bool PeerTransport::WriteOutboundTls(Peer* p) {
  Conn* c = p->conn.get();
  for (;;) {
    if (c->tls_batch_offset == c->tls_batch.size()) {
      if (p->out.empty() || p->out.size() < kOutFramesMax / 2) FillOutbound(p);
      if (p->out.empty()) {
        WatchWrites(c, false);
        return true;
      }
      c->tls_batch.clear();
      c->tls_batch_offset = 0;
      size_t offset = p->out_offset;
      for (auto it = p->out.begin(); it != p->out.end() && c->tls_batch.size() < kTlsBatchBytes; ++it) {
        c->tls_batch.append(it->bytes, offset,
                            std::min(it->bytes.size() - offset, kTlsBatchBytes - c->tls_batch.size()));
        offset = 0;
        if (it->more()) break;  // the rest of its file comes before anything after it
      }
    }
    const TlsStep s =
        TlsWrite(c->tls.get(), c->tls_batch.data() + c->tls_batch_offset, c->tls_batch.size() - c->tls_batch_offset);
    switch (s.kind) {
      case TlsStep::kDone:
        c->tls_batch_offset += s.bytes;
        if (!ConsumeOutbound(p, s.bytes)) return false;
        continue;
      case TlsStep::kWantWrite:
        WatchWrites(c, true);  // keep the rest; epoll says when the socket takes more
        return true;
      case TlsStep::kWantRead:
        WatchWrites(c, false);  // readable (always watched) brings it back here
        return true;
      case TlsStep::kClosed:
      case TlsStep::kFailed:
        FailOutbound(p, absl::StrCat("write to member ", Hex(p->id), " at ", c->remote, ": ",
                                     s.kind == TlsStep::kClosed ? "closed by remote" : s.error));
        return false;
    }
  }
}

bool PeerTransport::ConsumeOutbound(Peer* p, size_t bytes) {
  size_t left = bytes;
  while (left > 0) {
    Peer::Frame& f = p->out.front();
    const size_t rest = f.bytes.size() - p->out_offset;
    if (left < rest) {
      p->out_offset += left;
      break;
    }
    left -= rest;
    p->out_bytes -= f.bytes.size();
    p->out_offset = 0;
    if (f.more()) {
      // What was written of this snapshot is gone from memory; its file's next chunk takes its place.
      DETCD_CHECK_MSG(left == 0, "bytes written past a snapshot chunk");
      const size_t n = static_cast<size_t>(std::min<uint64_t>(kSnapshotChunkBytes, f.file->size() - f.file_offset));
      f.bytes.clear();
      if (absl::Status s = f.file->ReadAt(f.file_offset, n, &f.bytes); !s.ok()) {
        // The frame is cut: the receiver drops it when the connection ends, and Raft hears the send failed.
        FailOutbound(p, absl::StrCat("snapshot to member ", Hex(p->id), ": ", s.message()));
        return false;
      }
      f.file_offset += n;
      p->out_bytes += f.bytes.size();
      continue;
    }
    const bool snapshot = f.snapshot;
    p->out.pop_front();
    if (snapshot && options_.report_snapshot) options_.report_snapshot(p->id, false);
  }
  return true;
}

void PeerTransport::WatchWrites(Conn* c, bool want) {
  c->write_waits = want;
  WatchInterest(c);
}

void PeerTransport::WatchInterest(Conn* c) {
  const bool want = c->write_waits || c->read_waits;
  if (c->watching_writes == want) return;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLRDHUP | (want ? EPOLLOUT : 0u);
  ev.data.ptr = c;
  DETCD_CHECK(::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->fd, &ev) == 0);
  c->watching_writes = want;
}

void PeerTransport::Disconnect(Peer* p) {
  if (p->conn) {
    Close(p->conn.get());
    closed_.push_back(std::move(p->conn));
  }
  p->out.clear();
  p->out_offset = 0;
  p->out_bytes = 0;
}

void PeerTransport::FailOutbound(Peer* p, const std::string& why) {
  const int64_t now = NowMs();
  if (!p->failing) Log(why);
  p->failing = true;
  const bool lived =
      p->connected_at_ms >= 0 && now - p->connected_at_ms > absl::ToInt64Milliseconds(options_.backoff_max);
  if (p->conn) {
    Close(p->conn.get());
    closed_.push_back(std::move(p->conn));
  }
  // Whatever was taken from the queue is lost with the connection (Raft retransmits); snapshots are failures.
  uint64_t lost_snapshots = 0;
  for (const Peer::Frame& f : p->out) lost_snapshots += f.snapshot ? 1 : 0;
  {
    // A snapshot still queued is failed too, rather than held (megabytes) until the peer is back: Raft keeps the
    // peer in snapshot state until told, and sends a fresh one once it probes the peer again.
    std::lock_guard<std::mutex> l(mu_);
    const size_t before = p->queue.size();
    p->queue.erase(std::remove_if(p->queue.begin(), p->queue.end(),
                                  [](const Peer::Outgoing& o) { return o.message.type() == raftpb::MSG_SNAP; }),
                   p->queue.end());
    lost_snapshots += before - p->queue.size();
  }
  p->out.clear();
  p->out_offset = 0;
  p->out_bytes = 0;
  p->connected_at_ms = -1;
  const int64_t min_ms = absl::ToInt64Milliseconds(options_.backoff_min);
  const int64_t max_ms = absl::ToInt64Milliseconds(options_.backoff_max);
  p->backoff_ms = (lived || p->backoff_ms == 0) ? min_ms : std::min(p->backoff_ms * 2, max_ms);
  p->next_attempt_ms = now + p->backoff_ms;
  // Unreachable first: whoever learns of a failed snapshot can rely on having heard the peer is unreachable.
  if (options_.report_unreachable) options_.report_unreachable(p->id);
  for (uint64_t i = 0; i < lost_snapshots && options_.report_snapshot; ++i) options_.report_snapshot(p->id, true);
}

void PeerTransport::Close(Conn* c) {
  if (c->fd < 0) return;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->fd, nullptr);
  ::close(c->fd);
  c->fd = -1;  // events later in this batch skip it
  if (c->kind == Conn::kInbound) {
    auto it = std::find_if(inbound_.begin(), inbound_.end(), [c](const auto& o) { return o.get() == c; });
    DETCD_CHECK(it != inbound_.end());
    closed_.push_back(std::move(*it));
    inbound_.erase(it);
  }
}

}  // namespace detcd::net

namespace detcd::net {

absl::StatusOr<std::string> FetchClusterInfo(const PeerAddress& address, absl::Duration timeout, const PeerTls* tls) {
  const std::string where = absl::StrCat(address.host, ":", address.port);
  if (address.tls && tls == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("https://", where, " needs peer TLS (--peer-cert-file/--peer-key-file or --peer-auto-tls)"));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(address.host.c_str(), std::to_string(address.port).c_str(), &hints, &found); rc != 0) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", address.host, ": ", gai_strerror(rc)));
  }
  const int fd = ::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ::freeaddrinfo(found);
    return absl::UnavailableError(Errno(errno));
  }
  timeval tv{};
  const int64_t us = absl::ToInt64Microseconds(timeout);
  tv.tv_sec = us / 1'000'000;
  tv.tv_usec = us % 1'000'000;
  (void)::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  (void)::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  const int rc = ::connect(fd, found->ai_addr, found->ai_addrlen);
  ::freeaddrinfo(found);
  if (rc != 0) {
    const std::string why = Errno(errno);
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("dial tcp ", where, ": ", why));
  }
  // Over TLS on this blocking socket: a step that "wants" to read or write has timed out.
  TlsSession session;
  if (address.tls) {
    session = tls->Connect(fd, address.host);
    const TlsStep s = session != nullptr ? TlsHandshake(session.get()) : TlsStep{};
    if (s.kind != TlsStep::kDone) {
      ::close(fd);
      const std::string why = s.kind == TlsStep::kClosed   ? "EOF"
                              : s.kind == TlsStep::kFailed ? (s.error.empty() ? "no TLS session" : s.error)
                                                           : "i/o timeout";
      return absl::UnavailableError(absl::StrCat("TLS handshake with ", where, ": ", why));
    }
  }
  std::string in;
  std::string read_error;
  bool sent = false;
  if (session != nullptr) {
    const TlsStep s = TlsWrite(session.get(), kInfoMagic, kMagicBytes);  // one record: written whole or not at all
    sent = s.kind == TlsStep::kDone && s.bytes == kMagicBytes;
  } else {
    sent = ::send(fd, kInfoMagic, kMagicBytes, MSG_NOSIGNAL) == static_cast<ssize_t>(kMagicBytes);
  }
  if (sent) {
    char buf[16384];
    for (;;) {
      if (session != nullptr) {
        const TlsStep s = TlsRead(session.get(), buf, sizeof(buf));
        if (s.kind != TlsStep::kDone) {
          read_error = s.error;
          break;
        }
        in.append(buf, s.bytes);
      } else {
        ssize_t n = ::read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        in.append(buf, static_cast<size_t>(n));
      }
      if (in.size() > kInfoBytesMax + kFrameHeaderBytes) break;
    }
  }
  session.reset();
  ::close(fd);
  if (in.rfind(kRefusedPrefix, 0) == 0) {  // e.g. a plain question to a TLS port
    std::string said = in.substr(sizeof(kRefusedPrefix) - 1);
    while (!said.empty() && said.back() == '\n') said.pop_back();
    return absl::UnavailableError(absl::StrCat(where, " refused: ", said));
  }
  if (in.size() < kFrameHeaderBytes) {
    return absl::UnavailableError(absl::StrCat("no cluster information from ", where,
                                               read_error.empty() ? "" : absl::StrCat(" (", read_error, ")")));
  }
  const uint32_t len = GetU32(in.data());
  if (len > kInfoBytesMax || in.size() != kFrameHeaderBytes + len) {
    return absl::UnavailableError(absl::StrCat("malformed cluster information from ", where));
  }
  return in.substr(kFrameHeaderBytes);
}

}  // namespace detcd::net
