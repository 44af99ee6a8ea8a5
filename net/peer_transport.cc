#include "net/peer_transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "net/peer_transport_state.h"

// The transport's lifecycle and its loop: start, listen, queue (Send), wake, stop; each turn of the loop services the
// peers' queues and dispatches epoll's events to the inbound (net/peer_inbound.cc) and outbound
// (net/peer_outbound.cc) halves.

namespace detcd::net {
namespace {

using namespace peer_limits;  // NOLINT: the transport's own limits

// What epoll's data names besides connections.
char kListenerTag;
char kWakerTag;

}  // namespace

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
    p->bytes = CountersOf(id);
    p->address = address;
    peers_[id] = std::move(p);
  }
}

PeerTransport::ByteCounters* PeerTransport::CountersOf(uint64_t peer) {
  std::lock_guard<std::mutex> l(bytes_mu_);
  std::unique_ptr<ByteCounters>& c = bytes_[peer];
  if (c == nullptr) c = std::make_unique<ByteCounters>();
  return c.get();
}

std::vector<PeerTransport::PeerBytes> PeerTransport::peer_bytes() const {
  std::vector<PeerBytes> out;
  std::lock_guard<std::mutex> l(bytes_mu_);
  for (const auto& [peer, c] : bytes_) {
    out.push_back(
        PeerBytes{peer, c->sent.load(std::memory_order_relaxed), c->received.load(std::memory_order_relaxed)});
  }
  return out;
}

void PeerTransport::AppendPrometheus(std::string* out) const {
  const std::vector<PeerBytes> bytes = peer_bytes();
  // As the Go client: a peer's series once something went to it (or came from it), a family only with a series.
  std::string received, sent;
  for (const PeerBytes& b : bytes) {
    if (b.received > 0) {
      absl::StrAppend(&received, "etcd_network_peer_received_bytes_total{From=\"", PeerHex(b.peer), "\"} ", b.received,
                      "\n");
    }
    if (b.sent > 0)
      absl::StrAppend(&sent, "etcd_network_peer_sent_bytes_total{To=\"", PeerHex(b.peer), "\"} ", b.sent, "\n");
  }
  if (!received.empty()) {
    absl::StrAppend(out,
                    "# HELP etcd_network_peer_received_bytes_total The total number of bytes received from peers.\n",
                    "# TYPE etcd_network_peer_received_bytes_total counter\n", received);
  }
  if (!sent.empty()) {
    absl::StrAppend(out, "# HELP etcd_network_peer_sent_bytes_total The total number of bytes sent to peers.\n",
                    "# TYPE etcd_network_peer_sent_bytes_total counter\n", sent);
  }
}

PeerTransport::~PeerTransport() { Stop(); }

absl::Status PeerTransport::Listen() {
  epoll_fd_ = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return absl::InternalError(absl::StrCat("epoll_create1: ", ErrnoText(errno)));
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wake_fd_ < 0) return absl::InternalError(absl::StrCat("eventfd: ", ErrnoText(errno)));
  epoll_event wev{};
  wev.events = EPOLLIN;
  wev.data.ptr = &kWakerTag;
  DETCD_CHECK(::epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wev) == 0);
  {
    std::lock_guard<std::mutex> l(answers_->mu);
    answers_->wake_fd = wake_fd_;
  }

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
  if (fd < 0) return absl::InternalError(absl::StrCat("socket: ", ErrnoText(errno)));
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));  // a restarted member takes its port back at once
  if (::bind(fd, found->ai_addr, found->ai_addrlen) != 0 || ::listen(fd, SOMAXCONN) != 0) {
    int e = errno;
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("listen ", where, ": ", ErrnoText(e)));
  }
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  DETCD_CHECK(::getsockname(fd, reinterpret_cast<sockaddr*>(&bound), &len) == 0);
  port_ = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                      : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  listen_fd_ = fd;
  epoll_event lev{};
  lev.events = EPOLLIN;
  lev.data.ptr = &kListenerTag;
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
    p->bytes = CountersOf(id);
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

namespace {
// The transport whose loop runs on this thread (none elsewhere).
thread_local const PeerTransport* loop_of_this_thread = nullptr;
}  // namespace

void PeerTransport::Wake() {
  // The loop's own thread (the core run by an inbound message) needs no signal: the loop looks at the queues before
  // it waits again. Signalling would cost a write, a read and an extra turn of epoll per batch.
  if (loop_of_this_thread == this) return;
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
    {
      std::lock_guard<std::mutex> l(answers_->mu);
      answers_->open = false;  // a hash computed after this has nowhere to go
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
    for (auto& [id, p] : peers_) p->conn.reset();  // closes its socket
    inbound_.clear();
    closed_.clear();
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
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
  if (options_.log) options_.log(absl::StrCat("peer transport ", PeerHex(options_.member_id), ": ", line));
}

void PeerTransport::Loop() {
  loop_of_this_thread = this;
  constexpr int kEventsMax = 64;
  epoll_event events[kEventsMax];
  for (;;) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (stopping_) return;
    }
    AnswerQueries();
    int timeout_ms = ServicePeers();
    if (read_again_) timeout_ms = 0;
    int n = ::epoll_wait(epoll_fd_, events, kEventsMax, timeout_ms);
    if (n < 0) {
      DETCD_CHECK_MSG(errno == EINTR, "epoll_wait failed");
      continue;
    }
    for (int i = 0; i < n; ++i) {
      void* const tag = events[i].data.ptr;
      if (tag == &kWakerTag) {
        uint64_t count;
        ssize_t r = ::read(wake_fd_, &count, sizeof(count));
        (void)r;
        wake_pending_ = false;  // before ServicePeers looks at the queues: a later Send signals again
        continue;
      }
      if (tag == &kListenerTag) {
        OnAccept();
        continue;
      }
      auto* c = static_cast<Conn*>(tag);
      if (!c->stream.open()) continue;  // closed earlier in this batch
      if (c->kind == Conn::kInbound) {
        OnInbound(c);
      } else {
        OnOutbound(c, events[i].events);
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
        if (c->stream.open()) OnInbound(c);
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
    } else if (!p->conn->connecting && !p->conn->stream.handshaking() && !p->conn->write_waits) {
      WriteOutbound(p);  // takes what it can from the queue
    }
  }
  return timeout_ms;
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
  DETCD_CHECK(::epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, c->stream.fd(), &ev) == 0);
  c->watching_writes = want;
}

void PeerTransport::Close(Conn* c) {
  if (!c->stream.open()) return;
  ::epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, c->stream.fd(), nullptr);
  c->stream.Close();  // events later in this batch skip it
  if (c->kind == Conn::kInbound) {
    auto it = std::find_if(inbound_.begin(), inbound_.end(), [c](const auto& o) { return o.get() == c; });
    DETCD_CHECK(it != inbound_.end());
    closed_.push_back(std::move(*it));
    inbound_.erase(it);
  }
}

}  // namespace detcd::net
