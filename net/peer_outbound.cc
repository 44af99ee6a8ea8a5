// The outbound half of the peer transport: one connection per peer, opened when something waits for it (TCP, then
// TLS for an https peer, then the peer handshake), messages taken from the peer's bounded queue and written as frames
// (a snapshot's file a chunk at a time as the socket drains), a refusal read and logged, and on any failure the
// connection closed, what it held dropped (Raft retransmits; a snapshot is reported failed) and the next attempt
// backed off.
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "net/peer_transport.h"
#include "net/peer_transport_state.h"
#include "net/peer_wire.h"

namespace detcd::net {
namespace {

using namespace peer_limits;  // NOLINT: the transport's own limits
using namespace peer_wire;    // NOLINT: the wire format

}  // namespace

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
    FailOutbound(p, absl::StrCat("cannot connect to member ", PeerHex(p->id), " at https://", address.host, ":",
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
    FailOutbound(p, absl::StrCat("socket: ", ErrnoText(errno)));
    return;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));  // heartbeats must not wait for Nagle
  const std::string remote = absl::StrCat(address.host, ":", address.port);
  TlsSession tls;
  if (address.tls) {
    tls = options_.tls->Connect(fd, address.host);  // the handshake starts once connected
    if (tls == nullptr) {
      ::close(fd);
      FailOutbound(p, absl::StrCat("connect ", remote, ": cannot make a TLS session"));
      return;
    }
  }
  p->conn = std::make_unique<Conn>(Conn{Conn::kOutbound, ByteStream(fd, std::move(tls))});
  Conn* c = p->conn.get();
  c->peer = p;
  c->remote = remote;
  c->connecting = true;
  p->connected_at_ms = -1;
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

  if (::connect(fd, found->ai_addr, found->ai_addrlen) != 0 && errno != EINPROGRESS) {
    FailOutbound(p, absl::StrCat("connect ", c->remote, ": ", ErrnoText(errno)));
  }
}

void PeerTransport::OnOutbound(Conn* c, uint32_t events) {
  Peer* p = c->peer;
  if (c->connecting) {
    if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
    int err = 0;
    socklen_t len = sizeof(err);
    ::getsockopt(c->stream.fd(), SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      FailOutbound(p, absl::StrCat("connect ", c->remote, ": ", ErrnoText(err)));
      return;
    }
    c->connecting = false;
    p->connected_at_ms = NowMs();
  }
  bool read = (events & (EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP)) || (c->read_waits && (events & EPOLLOUT));
  if (c->stream.handshaking()) {
    const StreamStep s = c->stream.Handshake();
    if (s.kind == StreamStep::kWouldBlock) {
      WatchWrites(c, s.want_write);
      return;
    }
    if (s.kind != StreamStep::kDone) {
      std::string why = s.kind == StreamStep::kClosed ? "EOF" : s.error;
      if (why == "tls: first record does not look like a TLS handshake") {
        why += " (is its peer URL http rather than https?)";
      }
      FailOutbound(p, absl::StrCat("TLS handshake with member ", PeerHex(p->id), " at ", c->remote, " failed: ", why));
      if (s.remote_alert) p->failing = false;  // it refused us: always worth logging, as a refusal
      return;
    }
    if (absl::Status st = options_.tls->CheckConnected(c->stream.session()); !st.ok()) {
      FailOutbound(p, absl::StrCat("TLS handshake with member ", PeerHex(p->id), " at ", c->remote,
                                   " failed: ", st.message()));
      return;
    }
    read = true;  // the handshake may have read records past its end
  }
  if (p->connected_at_ms >= 0 && p->failing) {
    Log(absl::StrCat("connected to member ", PeerHex(p->id), " at ", c->remote));
    p->failing = false;
  }
  if (read) {
    // The receiver never sends frames: what arrives is a refusal, a TLS alert (it refused our certificate), the end,
    // or TLS records that are not data at all (TLS 1.3 session tickets), which are not the end.
    std::string said;
    for (;;) {
      char buf[512];
      const StreamStep s = c->stream.Read(buf, sizeof(buf));
      if (s.kind == StreamStep::kDone) {
        if (said.size() < 4096) said.append(buf, s.bytes);
        continue;
      }
      if (s.kind == StreamStep::kWouldBlock) {
        c->read_waits = s.want_write;
        break;
      }
      if (!said.empty() || s.remote_alert) {
        OnRefusal(p, said.empty() ? s.error : said);
      } else {
        FailOutbound(p, absl::StrCat("connection to member ", PeerHex(p->id), " at ", c->remote,
                                     " lost: ", s.kind == StreamStep::kClosed ? "closed by remote" : s.error));
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
  FailOutbound(p, absl::StrCat("member ", PeerHex(p->id), " at ", p->conn ? p->conn->remote : "?", " refused us: ", said));
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
      Log(absl::StrCat("dropping a ", size, "-byte message to member ", PeerHex(p->id), ": over the frame maximum of ",
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
  DETCD_CHECK(c != nullptr && !c->connecting && !c->stream.handshaking());
  for (;;) {
    if (p->out.empty() || p->out.size() < kOutFramesMax / 2) FillOutbound(p);
    if (p->out.empty()) {
      WatchWrites(c, false);
      return true;
    }
    // What is not written yet, from the first frame's offset on (the stream's contract for a TLS write to retry).
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
    const StreamStep s = c->stream.Write(iov, count);
    if (s.kind == StreamStep::kDone) {
      if (!ConsumeOutbound(p, s.bytes)) return false;
      continue;
    }
    if (s.kind == StreamStep::kWouldBlock) {
      // Keep the rest. Writable: epoll says when the socket takes more; readable (always watched) brings a TLS write
      // that must read first back here.
      WatchWrites(c, s.want_write);
      return true;
    }
    FailOutbound(p, absl::StrCat("write to member ", PeerHex(p->id), " at ", c->remote, ": ",
                                 s.kind == StreamStep::kClosed ? "closed by remote" : s.error));
    return false;
  }
}

bool PeerTransport::ConsumeOutbound(Peer* p, size_t bytes) {
  ByteCounters::Add(p->bytes->sent, bytes);
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
        FailOutbound(p, absl::StrCat("snapshot to member ", PeerHex(p->id), ": ", s.message()));
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

}  // namespace detcd::net
