// The inbound half of the peer transport: accepting connections, the TLS handshake on a TLS port, reading, the
// peer handshake and its refusals, frames to messages (deliver), streamed snapshot files to their sinks, and the
// answer to a joining member's cluster query. Bad input from one connection closes that connection, never more.
#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "net/peer_transport.h"
#include "net/peer_transport_state.h"
#include "net/peer_wire.h"
#include "net/socket_address.h"

namespace detcd::net {
namespace {

using namespace peer_limits;  // NOLINT: the transport's own limits
using namespace peer_wire;    // NOLINT: the wire format

}  // namespace

void PeerTransport::OnAccept() {
  for (;;) {
    sockaddr_storage from{};
    socklen_t len = sizeof(from);
    int fd = ::accept4(listen_fd_, reinterpret_cast<sockaddr*>(&from), &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED) return;
      Log(absl::StrCat("accept: ", ErrnoText(errno)));  // e.g. out of descriptors: try again on the next event
      return;
    }
    TlsSession tls;
    if (options_.listen.tls) {
      tls = options_.tls->Accept(fd);
      if (tls == nullptr) {
        Log(absl::StrCat("inbound from ", SocketAddressString(from), ": cannot make a TLS session; closing"));
        ::close(fd);
        continue;
      }
    }
    auto c = std::make_unique<Conn>(Conn{Conn::kInbound, ByteStream(fd, std::move(tls))});
    c->remote = SocketAddressString(from);
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.ptr = c.get();
    DETCD_CHECK(::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0);
    inbound_.push_back(std::move(c));
  }
}

void PeerTransport::OnInbound(Conn* c) {
  if (c->stream.handshaking()) {
    if (!c->peeked && !RefusePlainOnTlsPort(c)) return;
    const StreamStep s = c->stream.Handshake();
    if (s.kind == StreamStep::kWouldBlock) {
      WatchWrites(c, s.want_write);
      return;
    }
    if (s.kind != StreamStep::kDone) {
      // etcd's words (embed logTLSHandshakeFailure).
      Log(TlsRejectedLine(c->remote, s.kind == StreamStep::kClosed ? "EOF" : s.error, c->stream.session(), false));
      Close(c);
      return;
    }
    // etcd's checks once the handshake is done (allowed CN / host name, CRL): refused, the connection closed.
    if (absl::Status st = options_.tls->CheckAccepted(c->stream.session()); !st.ok()) {
      Log(TlsRejectedLine(c->remote, std::string(st.message()), c->stream.session(), true));
      Close(c);
      return;
    }
    WatchWrites(c, false);
  }
  // A TLS read returns at most one record: a bigger buffer would only be zero-filled for nothing.
  const size_t chunk = c->stream.tls() ? kTlsReadChunkBytes : kReadChunkBytes;
  static_assert(kTlsReadChunkBytes <= kReadChunkBytes);
  size_t read_bytes = 0;
  for (;;) {
    if (read_bytes >= kReadPerEventBytesMax) {
      if (c->stream.HasPending()) {  // the socket will not say so again
        c->read_again = true;
        read_again_ = true;
      }
      break;
    }
    if (read_chunk_ == nullptr) read_chunk_ = std::make_unique<char[]>(kReadChunkBytes);
    const StreamStep s = c->stream.Read(read_chunk_.get(), chunk);
    if (s.kind == StreamStep::kDone) {
      c->in.append(read_chunk_.get(), s.bytes);
      read_bytes += s.bytes;
      // A plain socket that gave less than asked had nothing more then: epoll (level-triggered) reports what comes
      // next, so the read that would only say EAGAIN is spared. TLS may hold decrypted bytes back: read on.
      if (!c->stream.tls() && s.bytes < chunk) break;
      continue;
    }
    if (s.kind == StreamStep::kWouldBlock) {
      c->read_waits = s.want_write;
      WatchInterest(c);
      break;
    }
    // The end or an error: parse what came, then close.
    if (s.kind == StreamStep::kFailed) Log(absl::StrCat("inbound from ", c->remote, ": ", s.error));
    EndInbound(c, s.kind == StreamStep::kClosed ? "closed by remote" : s.error);
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

bool PeerTransport::RefusePlainOnTlsPort(Conn* c) {
  char first[kMagicBytes];
  const ssize_t n = ::recv(c->stream.fd(), first, sizeof(first), MSG_PEEK | MSG_DONTWAIT);
  if (n <= 0) return true;  // nothing yet, or the end: the handshake finds out
  c->peeked = true;
  if (first[0] == 0x16) return true;  // a TLS handshake record
  // Not TLS: most likely a member whose peer URL for this one is http. Tell it in plain text, so that its log says why
  // (as Go's TLS server answers plain HTTP with "client sent an HTTP request to an HTTPS server").
  Log(absl::StrCat("rejected connection from \"", c->remote,
                   "\" (error \"tls: first record does not look like a TLS handshake\", ServerName \"\")"));
  char discard[4096];
  ssize_t r = ::recv(c->stream.fd(), discard, sizeof(discard), MSG_DONTWAIT);  // so closing sends FIN, not RST
  (void)r;
  const std::string reason = absl::StrCat(kRefusedPrefix, "a plain (http) connection to a TLS (https) peer port\n");
  r = ::send(c->stream.fd(), reason.data(), reason.size(), MSG_NOSIGNAL | MSG_DONTWAIT);  // not inside TLS
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
    Log(absl::StrCat("refused messages from removed member ", PeerHex(c->sender), " at ", c->remote));
    SayAndClose(c, absl::StrCat(kRefusedPrefix, kRemovedMessage, "\n"), "");
    return false;
  }
  if (c->query != 0) {
    c->in.clear();  // asked already, waiting for the answer: anything more it sends is not read
    return true;
  }
  const char* data = c->in.data();
  const size_t have = c->in.size();
  size_t pos = 0;
  if (!c->handshaken) {
    std::string refusal;
    if (have >= kMagicBytes && std::memcmp(data, kHashMagic, kMagicBytes) == 0) {
      // A peer's corruption check: the revision follows; the core computes the hash, the answer comes back later.
      if (have < kHashQuestionBytes) return true;
      const auto revision = static_cast<int64_t>(GetU64(data + kMagicBytes));
      c->in.clear();
      if (!options_.hash_kv) {
        SayAndClose(c, absl::StrCat(kRefusedPrefix, "no hash service\n"), "");
        return false;
      }
      c->query = ++next_query_;
      options_.hash_kv(revision, [box = answers_, query = c->query](std::string answer) {
        std::lock_guard<std::mutex> l(box->mu);
        if (!box->open) return;
        box->queued.emplace_back(query, std::move(answer));
        const uint64_t one = 1;
        (void)!::write(box->wake_fd, &one, sizeof(one));
      });
      return true;  // open until the answer goes (AnswerQueries), or the asker leaves
    }
    if (have >= kMagicBytes && std::memcmp(data, kPingMagic, kMagicBytes) == 0) {
      // A peer's prober: an empty answer at once, then close.
      SayAndClose(c, std::string(kFrameHeaderBytes, '\0'), "");
      return false;
    }
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
        std::memcmp(data, kInfoMagic, std::min(have, kMagicBytes)) != 0 &&
        std::memcmp(data, kHashMagic, std::min(have, kMagicBytes)) != 0 &&
        std::memcmp(data, kPingMagic, std::min(have, kMagicBytes)) != 0) {
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
        refusal = absl::StrCat("request cluster ID mismatch (local=", PeerHex(options_.cluster_id),
                               ", remote=", PeerHex(cluster), ", remote member=", PeerHex(sender), ")");
      } else if (receiver != options_.member_id) {
        refusal = absl::StrCat("request meant for member ", PeerHex(receiver), ", this is ",
                               PeerHex(options_.member_id), " (remote member=", PeerHex(sender), ")");
      } else if (sender == options_.member_id) {
        refusal = absl::StrCat("remote claims this member's own id ", PeerHex(sender));
      } else if (Refused(sender)) {
        refusal = kRemovedMessage;
      } else {
        c->handshaken = true;
        c->sender = sender;
        c->received = CountersOf(sender);
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
          Log(absl::StrCat("inbound from member ", PeerHex(c->sender), " at ", c->remote,
                           ": refused the snapshot at index ", c->snapshot.snapshot().metadata().index(), ": ",
                           s.message(), "; closing"));
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
        Log(absl::StrCat("inbound from member ", PeerHex(c->sender), " at ", c->remote,
                         ": refused the snapshot at index ", c->snapshot.snapshot().metadata().index(), ": ",
                         where.status().message(), "; closing"));
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
        Log(absl::StrCat("inbound from member ", PeerHex(c->sender), " at ", c->remote, ": snapshot header of ",
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
      Log(absl::StrCat("inbound from member ", PeerHex(c->sender), " at ", c->remote, ": frame of ", len,
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
      Log(absl::StrCat("inbound from member ", PeerHex(c->sender), " at ", c->remote, ": a frame of ", len,
                       " bytes is not a raft message; closing"));
      Close(c);
      return false;
    }
    pos += kFrameHeaderBytes + len;
    if (m.from() != c->sender || m.to() != options_.member_id) {
      if (!c->logged_foreign) {
        c->logged_foreign = true;
        Log(absl::StrCat("inbound from member ", PeerHex(c->sender), ": ignoring a message from ", PeerHex(m.from()),
                         " to ", PeerHex(m.to())));
      }
      continue;
    }
    if (options_.deliver) options_.deliver(std::move(m));
  }
  if (c->received != nullptr) ByteCounters::Add(c->received->received, pos);  // the handshake's bytes included
  c->in.erase(0, pos);
  return true;
}

bool PeerTransport::StartInboundSnapshot(Conn* c, const char* header, uint32_t header_bytes, uint64_t file_bytes) {
  const std::string from = absl::StrCat("inbound from member ", PeerHex(c->sender), " at ", c->remote, ": ");
  raftpb::Message m;
  std::string why;
  if (!m.ParseFromArray(header, static_cast<int>(header_bytes))) {
    why = absl::StrCat("a snapshot header of ", header_bytes, " bytes is not a raft message");
  } else if (m.type() != raftpb::MSG_SNAP || !m.snapshot().data().empty() || m.snapshot().metadata().index() == 0) {
    why = "a snapshot frame whose header is not a MSG_SNAP without data";
  } else if (m.from() != c->sender || m.to() != options_.member_id) {
    why = absl::StrCat("a snapshot from ", PeerHex(m.from()), " to ", PeerHex(m.to()));
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

void PeerTransport::AnswerQueries() {
  std::vector<std::pair<uint64_t, std::string>> answers;
  {
    std::lock_guard<std::mutex> l(answers_->mu);
    answers.swap(answers_->queued);
  }
  for (auto& [query, answer] : answers) {
    for (const auto& c : inbound_) {
      if (c->query != query || !c->stream.open()) continue;  // gone: the asker gave up
      std::string frame(kFrameHeaderBytes, '\0');
      PutU32(frame.data(), static_cast<uint32_t>(answer.size()));
      frame += answer;
      SayAndClose(c.get(), frame, absl::StrCat("answering the hash query from ", c->remote));
      break;
    }
  }
}

void PeerTransport::SayAndClose(Conn* c, const std::string& bytes, const std::string& what) {
  // Best effort, never waiting: what the socket does not take at once is lost.
  std::string failure;
  for (size_t done = 0; done < bytes.size();) {
    const StreamStep s = c->stream.Write(bytes.data() + done, bytes.size() - done);
    if (s.kind != StreamStep::kDone) {
      failure = s.kind == StreamStep::kFailed ? s.error : "short";
      break;
    }
    done += s.bytes;
  }
  if (failure.empty()) c->stream.Shutdown();
  if (!failure.empty() && !what.empty()) Log(absl::StrCat(what, " failed: ", failure));
  Close(c);
}

}  // namespace detcd::net
