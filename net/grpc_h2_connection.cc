#include "net/grpc_h2_connection.h"

#include <arpa/inet.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace detcd::net {

namespace {

constexpr size_t kFrameHeader = 5;  // gRPC's message prefix: compressed flag, 4-byte big-endian length
constexpr size_t kReadChunk = 64 * 1024;
// Bytes of nghttp2 output held for a socket that takes no more before nghttp2 is asked for more. A client that leaves
// this much unread (the socket full) is not read from until it has taken all but a quarter of it.
constexpr size_t kOutBytesMax = 1 << 20;
// What one Read takes from the socket at most (the rest waits for the loop's next turn): requests read are requests
// answered, so a client that sends without reading gets only this much ahead of the pause above.
constexpr size_t kReadPassBytes = 256 << 10;
// Answers queued on a connection's streams and not yet taken by the client (flow control) beyond which a new call on
// it is refused at once with etcd's "too many requests" rather than answered into memory.
constexpr size_t kQueuedBytesMax = 32 << 20;
constexpr int32_t kStreamWindow = 1 << 20;
constexpr int32_t kConnectionWindow = 16 << 20;

// gRPC's status codes used here.
constexpr int kResourceExhausted = 8;
constexpr int kUnimplemented = 12;
constexpr int kInternal = 13;

std::atomic<uint64_t> next_serial{0};
thread_local int batch_depth = 0;
thread_local std::vector<std::shared_ptr<GrpcH2Connection>>* batch_dirty = nullptr;

nghttp2_nv Header(const char* name, const std::string& value) {
  return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name)),
                    reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), std::strlen(name), value.size(),
                    NGHTTP2_NV_FLAG_NONE};
}

// grpc-message is percent-encoded: bytes outside printable ASCII, and '%' itself.
std::string PercentEncode(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7e || c == '%') {
      static const char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// grpc-timeout: up to 8 digits and a unit (H, M, S, m, u, n).
std::optional<absl::Duration> ParseTimeout(const std::string& v) {
  if (v.size() < 2 || v.size() > 9) return std::nullopt;
  int64_t n = 0;
  if (!absl::SimpleAtoi(v.substr(0, v.size() - 1), &n) || n < 0) return std::nullopt;
  switch (v.back()) {
    case 'H':
      return absl::Hours(n);
    case 'M':
      return absl::Minutes(n);
    case 'S':
      return absl::Seconds(n);
    case 'm':
      return absl::Milliseconds(n);
    case 'u':
      return absl::Microseconds(n);
    case 'n':
      return absl::Nanoseconds(n);
  }
  return std::nullopt;
}

// The keepalive's clock: monotonic, as an absl::Time (PingPolicy only compares and adds).
absl::Time MonotonicNow() {
  return absl::UnixEpoch() + absl::FromChrono(std::chrono::steady_clock::now().time_since_epoch());
}

bool TransportHeader(const std::string& name) {
  return name.empty() || name[0] == ':' || name == "content-type" || name == "te" || name == "user-agent" ||
         name == "grpc-timeout" || name == "grpc-encoding" || name == "grpc-accept-encoding" ||
         name == "accept-encoding" || name == "grpc-message-type" || name == "host" ||
         (name.size() > 4 && name.compare(name.size() - 4, 4, "-bin") == 0);
}

}  // namespace

GrpcH2Connection::Batch::Batch() { BeginBatch(); }
GrpcH2Connection::Batch::~Batch() { EndBatch(); }

void GrpcH2Connection::BeginBatch() { ++batch_depth; }

void GrpcH2Connection::EndBatch() {
  DETCD_CHECK_MSG(batch_depth > 0, "EndBatch without BeginBatch");
  if (--batch_depth > 0 || batch_dirty == nullptr) return;
  std::vector<std::shared_ptr<GrpcH2Connection>> dirty;
  dirty.swap(*batch_dirty);
  for (const std::shared_ptr<GrpcH2Connection>& c : dirty) c->Flush();
}

std::shared_ptr<GrpcH2Connection> GrpcH2Connection::Create(int fd, Options options) {
  std::shared_ptr<GrpcH2Connection> c(new GrpcH2Connection(fd, std::move(options)));
  // No HTTP messaging checks: etcd's Go clients send an :authority such as "http://127.0.0.1:2379" (the endpoint as
  // given), which nghttp2 would refuse as malformed; gRPC's own framing is checked here.
  static nghttp2_option* option = [] {
    nghttp2_option* o = nullptr;
    DETCD_CHECK(nghttp2_option_new(&o) == 0);
    nghttp2_option_set_no_http_messaging(o, 1);
    // A server session otherwise keeps every closed stream for its priority tree when the client may open any number
    // of streams (etcd's --max-concurrent-streams default): a million puts left ~300 MB of them behind.
    nghttp2_option_set_no_closed_streams(o, 1);
    return o;
  }();
  DETCD_CHECK(nghttp2_session_server_new2(&c->session_, Callbacks(), c.get(), option) == 0);
  const nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, kStreamWindow},
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, c->options_.max_concurrent_streams}};
  const size_t count = c->options_.max_concurrent_streams == 0xffffffffu ? 1 : 2;  // unlimited: nothing to announce
  DETCD_CHECK(nghttp2_submit_settings(c->session_, NGHTTP2_FLAG_NONE, settings, count) == 0);
  DETCD_CHECK(nghttp2_session_set_local_window_size(c->session_, NGHTTP2_FLAG_NONE, 0, kConnectionWindow) == 0);
  c->Flush();
  return c;
}

GrpcH2Connection::GrpcH2Connection(int fd, Options options)
    : fd_(fd),
      serial_(next_serial.fetch_add(1) + 1),
      options_(std::move(options)),
      ping_policy_(options_.keepalive, MonotonicNow()) {}

GrpcH2Connection::~GrpcH2Connection() {
  if (session_ != nullptr) nghttp2_session_del(session_);
  close(fd_);
}

std::vector<GrpcH2Connection::Event> GrpcH2Connection::Read(bool* closed) {
  std::vector<Event> events;
  std::vector<std::function<void()>> drained;
  {
    std::lock_guard<std::mutex> l(mu_);
    events_ = &events;
    read_at_ = MonotonicNow();
    char buf[kReadChunk];
    size_t taken = 0;
    while (!broken_ && !too_many_pings_ && taken < kReadPassBytes) {
      const ssize_t n = ::read(fd_, buf, sizeof(buf));
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        broken_ = true;
        break;
      }
      taken += static_cast<size_t>(n);
      ping_policy_.OnRead(read_at_);
      if (nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(buf), static_cast<size_t>(n)) < 0) {
        broken_ = true;  // a protocol error: nghttp2 has queued a GOAWAY, sent below if the socket takes it
      }
      if (static_cast<size_t>(n) < sizeof(buf)) break;
    }
    FlushLocked(&drained);
    if (too_many_pings_ && !broken_) {
      // The GOAWAY left with the flush above, unless the client's socket is full; the connection ends now, as
      // grpc-go's does after it.
      broken_ = true;
      ::shutdown(fd_, SHUT_RDWR);
    }
    if (!broken_ && !nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) broken_ = true;
    if (broken_) {
      for (auto& [id, s] : streams_) {
        if (s.dispatched && !s.ended) {
          events.push_back(Event{Event::Kind::kCancel, id, {}, {}, {}, {}});
          CountCancelled(s);
        }
        s.ended = true;
        if (s.on_drained) drained.push_back(std::move(s.on_drained));
      }
      streams_.clear();
      queued_total_ = 0;
    }
    events_ = nullptr;
    *closed = broken_;
  }
  for (auto& fn : drained) fn();
  return events;
}

void GrpcH2Connection::OnWritable() { Flush(); }

void GrpcH2Connection::Shutdown() {
  std::vector<std::function<void()>> drained;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!broken_) {
      nghttp2_session_terminate_session(session_, NGHTTP2_NO_ERROR);
      FlushLocked(&drained);
    }
    ::shutdown(fd_, SHUT_RDWR);  // the loop's next Read finds it closed and cancels what is open
  }
  for (auto& fn : drained) fn();
}

void GrpcH2Connection::Keepalive() {
  std::vector<std::function<void()>> drained;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (broken_) return;
    switch (ping_policy_.Check(MonotonicNow())) {
      case PingPolicy::KeepaliveAction::kNothing:
        return;
      case PingPolicy::KeepaliveAction::kSendPing:
        (void)nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr);  // fails only out of memory
        FlushLocked(&drained);
        break;
      case PingPolicy::KeepaliveAction::kClose:
        // As grpc-go: closed without a GOAWAY (the client is not listening). The loop's next Read finds the socket
        // shut and cancels what is open.
        broken_ = true;
        ::shutdown(fd_, SHUT_RDWR);
        break;
    }
  }
  for (auto& fn : drained) fn();
}

size_t GrpcH2Connection::Send(int32_t stream, const std::string& message) {
  std::vector<std::function<void()>> drained;  // deferred, never run here
  size_t queued = 0;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = streams_.find(stream);
    if (broken_ || it == streams_.end() || it->second.ended) return 0;
    if (it->second.counters != nullptr) it->second.counters->Sent();
    OutStream& out = it->second.out;
    std::string frame(kFrameHeader, '\0');
    const uint32_t len = htonl(static_cast<uint32_t>(message.size()));
    std::memcpy(&frame[1], &len, 4);
    frame += message;
    out.queued_bytes += frame.size();
    queued_total_ += frame.size();
    out.frames.push_back(std::move(frame));
    queued = out.queued_bytes;
    if (!out.headers_sent) {
      out.headers_sent = true;
      const std::string status = "200", type = "application/grpc";
      const nghttp2_nv headers[] = {Header(":status", status), Header("content-type", type)};
      nghttp2_data_provider body;
      body.source.ptr = nullptr;
      body.read_callback = ReadBody;
      DETCD_CHECK(nghttp2_submit_response(session_, stream, headers, 2, &body) == 0);
    } else if (out.deferred) {
      out.deferred = false;
      nghttp2_session_resume_data(session_, stream);
    }
    if (batch_depth > 0) {
      MarkDirtyLocked();
    } else {
      FlushLocked(&drained);
      DeferLocked(&drained);
    }
  }
  return queued;
}

size_t GrpcH2Connection::Queued(int32_t stream) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = streams_.find(stream);
  return broken_ || it == streams_.end() ? 0 : it->second.out.queued_bytes;
}

void GrpcH2Connection::Finish(int32_t stream, int code, const std::string& message) {
  std::vector<std::function<void()>> drained;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = streams_.find(stream);
    if (broken_ || it == streams_.end() || it->second.ended) return;
    FinishLocked(stream, it->second, code, message);
    if (batch_depth > 0) {
      MarkDirtyLocked();
    } else {
      FlushLocked(&drained);
      DeferLocked(&drained);
    }
  }
}

void GrpcH2Connection::DeferLocked(std::vector<std::function<void()>>* drained) {
  if (drained->empty()) return;
  // Send and Finish never run a callback themselves (their caller may hold a lock the callback takes): the loop's
  // thread runs them, woken as for a writable socket.
  for (auto& fn : *drained) deferred_drained_.push_back(std::move(fn));
  drained->clear();
  SetInterestLocked(true, reading_paused_);
}

void GrpcH2Connection::SetInterestLocked(bool write, bool pause_reading) {
  if (write == waiting_writable_ && pause_reading == reading_paused_) return;
  waiting_writable_ = write;
  reading_paused_ = pause_reading;
  if (options_.interest) options_.interest(fd_, !pause_reading, write);
}

void GrpcH2Connection::ForgetQueuedLocked(const InStream& s) {
  DETCD_CHECK_MSG(queued_total_ >= s.out.queued_bytes, "a connection's queued bytes are the sum of its streams'");
  queued_total_ -= s.out.queued_bytes;
}

void GrpcH2Connection::CountCancelled(const InStream& s) {
  constexpr int kCancelled = 1;
  if (s.counters != nullptr) s.counters->Handled(kCancelled);
}

void GrpcH2Connection::FinishLocked(int32_t stream, InStream& s, int code, const std::string& message) {
  DETCD_CHECK(!s.ended);
  s.ended = true;
  if (s.counters != nullptr) s.counters->Handled(code);
  OutStream& out = s.out;
  out.finished = true;
  out.code = code;
  out.status_message = PercentEncode(message);
  if (!out.headers_sent) {
    // Trailers only: the status in the response's one HEADERS frame, which ends the stream.
    out.headers_sent = true;
    const std::string status = "200", type = "application/grpc", grpc_status = absl::StrCat(code);
    std::vector<nghttp2_nv> headers = {Header(":status", status), Header("content-type", type),
                                       Header("grpc-status", grpc_status)};
    if (!out.status_message.empty()) headers.push_back(Header("grpc-message", out.status_message));
    DETCD_CHECK(nghttp2_submit_response(session_, stream, headers.data(), headers.size(), nullptr) == 0);
  } else if (out.deferred) {
    out.deferred = false;
    nghttp2_session_resume_data(session_, stream);
  }
}

void GrpcH2Connection::OnDrained(int32_t stream, size_t low_bytes, std::function<void()> fn) {
  bool now = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = streams_.find(stream);
    if (broken_ || it == streams_.end()) {
      now = true;
    } else if (it->second.out.queued_bytes <= low_bytes) {
      now = true;
    } else {
      it->second.drain_low = low_bytes;
      it->second.on_drained = std::move(fn);
    }
  }
  if (now) fn();
}

void GrpcH2Connection::MarkDirtyLocked() {
  if (dirty_) return;
  dirty_ = true;
  if (batch_dirty == nullptr) batch_dirty = new std::vector<std::shared_ptr<GrpcH2Connection>>();  // per thread
  batch_dirty->push_back(shared_from_this());
}

void GrpcH2Connection::Flush() {
  std::vector<std::function<void()>> drained;
  {
    std::lock_guard<std::mutex> l(mu_);
    dirty_ = false;
    FlushLocked(&drained);
  }
  for (auto& fn : drained) fn();
}

void GrpcH2Connection::FlushLocked(std::vector<std::function<void()>>* drained) {
  // Streams that closed, and callbacks a Send or Finish left: they run once the lock is let go.
  for (auto& fn : closed_drained_) drained->push_back(std::move(fn));
  closed_drained_.clear();
  for (auto& fn : deferred_drained_) drained->push_back(std::move(fn));
  deferred_drained_.clear();
  if (broken_ && out_.empty()) return;
  // Pull from nghttp2 up to the cap, write what the socket takes; again while the socket took it all and nghttp2 had
  // more than the cap (nothing else would come back for the rest).
  bool full = false;
  for (bool capped = true; capped && !full && !broken_;) {
    capped = false;
    while (!broken_) {
      if (out_.size() >= kOutBytesMax) {
        capped = true;
        break;
      }
      const uint8_t* data = nullptr;
      const ssize_t n = nghttp2_session_mem_send(session_, &data);
      if (n < 0) {
        broken_ = true;
        break;
      }
      if (n == 0) break;
      out_.append(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
    }
    size_t written = 0;
    while (written < out_.size()) {
      const ssize_t n = ::send(fd_, out_.data() + written, out_.size() - written, MSG_NOSIGNAL);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        full = true;
        break;
      }
      if (n < 0) {
        broken_ = true;  // the client is gone: the loop's next Read cancels what is open
        out_.clear();
        written = 0;
        break;
      }
      written += static_cast<size_t>(n);
    }
    out_.erase(0, written);
  }
  // A client that does not take what it asked for is not read from while a full buffer waits for it: it can then be
  // only as far ahead as the sockets' buffers hold, and what it sent meanwhile waits in the kernel, not here. Once it
  // reads, the loop sees the socket writable and reading goes on.
  bool pause = reading_paused_ ? out_.size() > kOutBytesMax / 4 : full && out_.size() >= kOutBytesMax / 2;
  if (broken_) pause = false;
  SetInterestLocked(!out_.empty() && !broken_, pause);
  // Streams whose queue fell low enough: their callbacks run once the lock is let go.
  for (auto& [id, s] : streams_) {
    if (s.on_drained && s.out.queued_bytes <= s.drain_low) {
      drained->push_back(std::move(s.on_drained));
      s.on_drained = nullptr;
    }
  }
}

void GrpcH2Connection::ParseMessagesLocked(int32_t stream, InStream& s) {
  while (!s.ended && s.buffer.size() >= kFrameHeader) {
    uint32_t len = 0;
    std::memcpy(&len, &s.buffer[1], 4);
    len = ntohl(len);
    if (s.buffer[0] != 0) {
      FinishLocked(stream, s, kUnimplemented, "grpc: compressed messages are not supported by this server");
      break;
    }
    if (len > options_.max_message_bytes) {
      FinishLocked(
          stream, s, kResourceExhausted,
          absl::StrCat("grpc: received message larger than max (", len, " vs. ", options_.max_message_bytes, ")"));
      break;
    }
    if (s.buffer.size() < kFrameHeader + len) break;
    if (s.counters != nullptr) s.counters->Received();
    events_->push_back(Event{Event::Kind::kMessage, stream, {}, {}, {}, s.buffer.substr(kFrameHeader, len)});
    s.buffer.erase(0, kFrameHeader + len);
  }
}

// ---- nghttp2's callbacks: under mu_, during Read (events_ set) or a send ----

void GrpcH2Connection::OnClientPingLocked() {
  if (too_many_pings_) return;
  // Every stream nghttp2 still has open counts as active, one the server finished but the client has not closed
  // too (grpc-go drops it once its trailers are written): never stricter than grpc-go.
  if (ping_policy_.OnClientPing(read_at_, streams_.size()) != PingPolicy::PingVerdict::kTooManyPings) return;
  too_many_pings_ = true;
  static constexpr char kTooManyPings[] = "too_many_pings";  // grpc-go's debug data
  (void)nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_),
                              NGHTTP2_ENHANCE_YOUR_CALM, reinterpret_cast<const uint8_t*>(kTooManyPings),
                              sizeof(kTooManyPings) - 1);
}

int GrpcH2Connection::OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto* c = static_cast<GrpcH2Connection*>(user);
  if (c->too_many_pings_) return 0;  // the connection is ending: no new call starts
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    c->streams_[frame->hd.stream_id] = InStream{};
  }
  return 0;
}

int GrpcH2Connection::OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                               const uint8_t* value, size_t valuelen, uint8_t, void* user) {
  auto* c = static_cast<GrpcH2Connection*>(user);
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST) return 0;
  auto it = c->streams_.find(frame->hd.stream_id);
  if (it == c->streams_.end()) return 0;
  const std::string n(reinterpret_cast<const char*>(name), namelen);
  std::string v(reinterpret_cast<const char*>(value), valuelen);
  if (n == ":path") {
    it->second.method = FindGrpcMethod(v);  // once per call, here: the front end dispatches on it
    it->second.path = std::move(v);
  } else if (n == "grpc-timeout") {
    it->second.timeout = ParseTimeout(v);
  } else if (!TransportHeader(n)) {
    it->second.metadata.emplace_back(n, std::move(v));
  }
  return 0;
}

int GrpcH2Connection::OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto* c = static_cast<GrpcH2Connection*>(user);
  if (frame->hd.type == NGHTTP2_PING) {
    // nghttp2 answers it (auto ACK); only the policy is kept here. An ACK (of the server's ping) is only a read.
    if (!(frame->hd.flags & NGHTTP2_FLAG_ACK) && c->events_ != nullptr) c->OnClientPingLocked();
    return 0;
  }
  auto it = c->streams_.find(frame->hd.stream_id);
  if (it == c->streams_.end() || c->events_ == nullptr) return 0;
  InStream& s = it->second;
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    if (s.method != nullptr && c->options_.metrics != nullptr) {
      s.counters = &c->options_.metrics->For(*s.method);
      s.counters->Started();
    }
    if (c->queued_total_ > kQueuedBytesMax) {
      // The client takes its answers slower than it asks: refused before it costs anything (etcd's overload error).
      c->FinishLocked(frame->hd.stream_id, s, kResourceExhausted, "etcdserver: too many requests");
      return 0;
    }
    s.dispatched = true;
    c->events_->push_back(
        Event{Event::Kind::kCall, frame->hd.stream_id, s.path, std::move(s.metadata), s.timeout, {}, s.method});
  }
  if ((frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) &&
      (frame->hd.flags & NGHTTP2_FLAG_END_STREAM) && s.dispatched && !s.ended) {
    if (!s.buffer.empty()) {
      c->FinishLocked(frame->hd.stream_id, s, kInternal, "grpc: the request ended inside a message");
    } else {
      c->events_->push_back(Event{Event::Kind::kHalfClose, frame->hd.stream_id, {}, {}, {}, {}});
    }
  }
  return 0;
}

int GrpcH2Connection::OnFrameSend(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  // A response's headers, its trailers or its data (grpc-go resets ping strikes on each of those written).
  if (frame->hd.type == NGHTTP2_HEADERS || frame->hd.type == NGHTTP2_DATA) {
    static_cast<GrpcH2Connection*>(user)->ping_policy_.OnHeadersOrDataSent();
  }
  return 0;
}

int GrpcH2Connection::OnDataChunk(nghttp2_session*, uint8_t, int32_t stream, const uint8_t* data, size_t len,
                                  void* user) {
  auto* c = static_cast<GrpcH2Connection*>(user);
  auto it = c->streams_.find(stream);
  if (it == c->streams_.end() || it->second.ended || c->events_ == nullptr) return 0;
  it->second.buffer.append(reinterpret_cast<const char*>(data), len);
  c->ParseMessagesLocked(stream, it->second);
  return 0;
}

int GrpcH2Connection::OnStreamClose(nghttp2_session*, int32_t stream, uint32_t, void* user) {
  auto* c = static_cast<GrpcH2Connection*>(user);
  auto it = c->streams_.find(stream);
  if (it == c->streams_.end()) return 0;
  // Closed before the server finished it: the client cancelled (RST_STREAM), or the connection is going.
  if (it->second.dispatched && !it->second.ended) {
    CountCancelled(it->second);
    if (c->events_ != nullptr) c->events_->push_back(Event{Event::Kind::kCancel, stream, {}, {}, {}, {}});
  }
  // Whoever waits for the stream to drain hears it is gone (run once the lock is let go).
  if (it->second.on_drained) c->closed_drained_.push_back(std::move(it->second.on_drained));
  c->ForgetQueuedLocked(it->second);
  c->streams_.erase(it);
  return 0;
}

ssize_t GrpcH2Connection::ReadBody(nghttp2_session* session, int32_t stream, uint8_t* buf, size_t length,
                                   uint32_t* data_flags, nghttp2_data_source*, void* user) {
  auto* c = static_cast<GrpcH2Connection*>(user);
  auto it = c->streams_.find(stream);
  if (it == c->streams_.end()) return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  OutStream& out = it->second.out;
  size_t copied = 0;
  while (copied < length && !out.frames.empty()) {
    const std::string& f = out.frames.front();
    const size_t n = std::min(length - copied, f.size() - out.front_offset);
    std::memcpy(buf + copied, f.data() + out.front_offset, n);
    copied += n;
    out.front_offset += n;
    if (out.front_offset == f.size()) {
      out.frames.pop_front();
      out.front_offset = 0;
    }
  }
  out.queued_bytes -= copied;
  DETCD_CHECK(c->queued_total_ >= copied);
  c->queued_total_ -= copied;
  if (out.frames.empty()) {
    if (out.finished) {
      *data_flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
      const std::string grpc_status = absl::StrCat(out.code);
      std::vector<nghttp2_nv> trailers = {Header("grpc-status", grpc_status)};
      if (!out.status_message.empty()) trailers.push_back(Header("grpc-message", out.status_message));
      if (nghttp2_submit_trailer(session, stream, trailers.data(), trailers.size()) != 0) {
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
      }
    } else if (copied == 0) {
      out.deferred = true;
      return NGHTTP2_ERR_DEFERRED;
    }
  }
  return static_cast<ssize_t>(copied);
}

nghttp2_session_callbacks* GrpcH2Connection::Callbacks() {
  static nghttp2_session_callbacks* callbacks = [] {
    nghttp2_session_callbacks* cbs = nullptr;
    DETCD_CHECK(nghttp2_session_callbacks_new(&cbs) == 0);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, OnBeginHeaders);
    nghttp2_session_callbacks_set_on_header_callback(cbs, OnHeader);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, OnFrameRecv);
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs, OnFrameSend);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, OnDataChunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, OnStreamClose);
    return cbs;
  }();
  return callbacks;
}

}  // namespace detcd::net
