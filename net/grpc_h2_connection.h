// GrpcH2Connection: one client connection that speaks gRPC over HTTP/2 (nghttp2 for the framing, flow control,
// HPACK, pings and settings), serving calls without gRPC's own server: it turns what a client sends into call events
// (a call's headers, each length-prefixed message, its half-close, its cancellation) for the front end to dispatch,
// and takes the answers — messages and a final status — from any thread. Answers given inside a reply batch (Batch)
// on one thread leave together, one write per connection per batch, instead of one write per reply.
// The socket is non-blocking; what the kernel does not take at once waits here and goes when the front end's loop
// sees the socket writable. What waits for one client is bounded: while the socket takes nothing and a full buffer
// waits, the client is not read from (it is held back by TCP); while its streams hold more answers than the bound
// (flow control: the client grants no window), its new calls are refused with etcd's "too many requests". It never
// blocks, never calls back into a handler while holding its lock, and owns the socket (closed with the connection).
// It keeps etcd's gRPC keepalive (PingPolicy): a client that pings too often gets GOAWAY ENHANCE_YOUR_CALM
// "too_many_pings" and the connection ends; one silent for the interval is pinged, and ended if it stays silent past
// the timeout (the front end's loop calls Keepalive). A client whose answers wait unread is not read from, so it
// counts as silent too.
#ifndef DETCD_NET_GRPC_H2_CONNECTION_H_
#define DETCD_NET_GRPC_H2_CONNECTION_H_

#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "net/grpc_server_metrics.h"
#include "net/ping_policy.h"

namespace detcd::net {

class GrpcH2Connection : public std::enable_shared_from_this<GrpcH2Connection> {
 public:
  // What a client did on one stream (a call), in the order it came.
  struct Event {
    enum class Kind { kCall, kMessage, kHalfClose, kCancel };
    Kind kind;
    int32_t stream = 0;
    // kCall: the method's path ("/etcdserverpb.KV/Put"), the client's own metadata (lower-case keys, no pseudo or
    // transport headers) and its deadline if it sent grpc-timeout.
    std::string path;
    std::vector<std::pair<std::string, std::string>> metadata;
    std::optional<absl::Duration> timeout;
    std::string message;  // kMessage: one message's bytes
    const GrpcMethod* method = nullptr;  // kCall: the etcd method `path` names (FindGrpcMethod), or null
  };

  struct Options {
    size_t max_message_bytes = 4 << 20;  // a larger message ends its call with RESOURCE_EXHAUSTED
    // Streams a client may have open at once (SETTINGS_MAX_CONCURRENT_STREAMS; etcd's --max-concurrent-streams);
    // nghttp2 refuses those past it. Its maximum: no limit announced.
    uint32_t max_concurrent_streams = 0xffffffffu;
    // etcd's --grpc-keepalive-min-time, -interval and -timeout, as grpc-go takes them (EtcdKeepaliveOptions).
    KeepaliveOptions keepalive;
    // Asked (from any thread, under the connection's lock) to watch the socket for what the client sends (read) and
    // for room to write (write). Reading stops while the client leaves a full buffer of answers unread.
    std::function<void(int fd, bool read, bool write)> interest;
    // Where its calls are counted (grpc_server_*): each known method's start, messages in and out, and end with its
    // code (a call the client cancelled, or lost with the connection, ends Canceled, as grpc-go's handlers do). Null:
    // not counted.
    std::shared_ptr<GrpcServerMetrics> metrics;
    // The common name of the connection's verified TLS client certificate ("" if none).
    std::string peer_common_name;
  };

  // Takes the socket (non-blocking, the client's preface still unread).
  static std::shared_ptr<GrpcH2Connection> Create(int fd, Options options);
  ~GrpcH2Connection();
  GrpcH2Connection(const GrpcH2Connection&) = delete;
  GrpcH2Connection& operator=(const GrpcH2Connection&) = delete;

  int fd() const { return fd_; }
  // Unique among the connections of this process (a socket's number and an address are reused; this is not).
  uint64_t serial() const { return serial_; }
  const std::string& peer_common_name() const { return options_.peer_common_name; }

  // ---- the front end's loop ----
  // Reads what the socket has (at most kReadPassBytes), returns the calls' events; *closed once the client is gone or broke the protocol
  // (every open call then has a kCancel among the events, and the connection answers nothing more).
  std::vector<Event> Read(bool* closed);
  // The socket has room: writes what waits.
  void OnWritable();
  // Ends the connection (server stopping): a GOAWAY, then the socket is shut down. Open calls get kCancel from
  // the next Read.
  void Shutdown();
  // The server's keepalive, called by the loop every so often (a ping or a close is as late as the calls are far
  // apart): pings a client silent for the interval; shuts the socket of one still silent the timeout after that ping
  // (the next Read then cancels what is open, as for a client gone).
  void Keepalive();

  // ---- any thread ----
  // One response message on `stream` (its headers go with the first). Returns the bytes now queued on the stream
  // and not yet taken by the client, or 0 if the stream is gone (the message is dropped).
  size_t Send(int32_t stream, const std::string& message);
  // Bytes queued on `stream` and not yet taken by the client (0 if the stream is gone).
  size_t Queued(int32_t stream);
  // The call's end: grpc-status `code` and grpc-message; nothing is sent after it.
  void Finish(int32_t stream, int code, const std::string& message);
  // Called once when the bytes queued on `stream` fall to `low_bytes` or below (or the stream goes): at once if they
  // are, else by the thread that writes them out (the loop, a batch's end) — never inside Send or Finish, whose
  // callers may hold locks. Replaces an earlier one.
  void OnDrained(int32_t stream, size_t low_bytes, std::function<void()> fn);

  // Answers given on this thread between Begin and End are written once per connection, at End. Nests.
  class Batch {
   public:
    Batch();
    ~Batch();
    Batch(const Batch&) = delete;
    Batch& operator=(const Batch&) = delete;
  };
  static void BeginBatch();
  static void EndBatch();

 private:
  struct OutStream {
    std::deque<std::string> frames;  // length-prefixed messages not yet taken by nghttp2
    size_t front_offset = 0;         // of frames.front(), already taken
    size_t queued_bytes = 0;         // in frames, less front_offset
    bool headers_sent = false;
    bool finished = false;  // Finish called
    int code = 0;
    std::string status_message;
    bool deferred = false;  // nghttp2 was told there is nothing to send for now
  };
  struct InStream {
    std::string path;
    std::vector<std::pair<std::string, std::string>> metadata;
    std::optional<absl::Duration> timeout;
    const GrpcMethod* method = nullptr;      // what `path` names
    GrpcMethodCounters* counters = nullptr;  // its counters, once dispatched (null: not counted)
    std::string buffer;       // message bytes not yet a whole message
    bool dispatched = false;  // kCall given out
    bool ended = false;       // the server finished it, or it was cancelled: nothing more goes out
    OutStream out;
    size_t drain_low = 0;
    std::function<void()> on_drained;
  };

  GrpcH2Connection(int fd, Options options);
  // Under mu_.
  void FlushLocked(std::vector<std::function<void()>>* drained);
  void MarkDirtyLocked();
  void DeferLocked(std::vector<std::function<void()>>* drained);
  void SetInterestLocked(bool write, bool pause_reading);
  void ForgetQueuedLocked(const InStream& s);
  // A dispatched call ends without the server's answer (the client cancelled, the connection went): counted Canceled.
  static void CountCancelled(const InStream& s);
  void FinishLocked(int32_t stream, InStream& s, int code, const std::string& message);
  void ParseMessagesLocked(int32_t stream, InStream& s);
  void OnClientPingLocked();
  void Flush();

  // nghttp2's callbacks (under mu_), made once for every session.
  static nghttp2_session_callbacks* Callbacks();
  static int OnBeginHeaders(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int OnHeader(nghttp2_session*, const nghttp2_frame* frame, const uint8_t* name, size_t namelen,
                      const uint8_t* value, size_t valuelen, uint8_t flags, void* user);
  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int OnFrameSend(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int OnDataChunk(nghttp2_session*, uint8_t flags, int32_t stream, const uint8_t* data, size_t len, void* user);
  static int OnStreamClose(nghttp2_session*, int32_t stream, uint32_t error_code, void* user);
  static ssize_t ReadBody(nghttp2_session*, int32_t stream, uint8_t* buf, size_t length, uint32_t* data_flags,
                          nghttp2_data_source* source, void* user);

  const int fd_;
  const uint64_t serial_;
  const Options options_;
  std::mutex mu_;
  nghttp2_session* session_ = nullptr;    // guarded by mu_
  std::map<int32_t, InStream> streams_;   // guarded by mu_
  std::vector<Event>* events_ = nullptr;  // guarded by mu_: where callbacks put events during Read
  std::string out_;                       // guarded by mu_: bytes the socket has not taken yet
  bool waiting_writable_ = false;         // guarded by mu_
  bool reading_paused_ = false;           // guarded by mu_: the client leaves answers unread; it is not read from
  size_t queued_total_ = 0;               // guarded by mu_: the streams' queued_bytes, summed
  bool broken_ = false;                   // guarded by mu_: closed or failed; nothing more is read or written
  bool dirty_ = false;                    // guarded by mu_: in some thread's batch, waiting for its End
  std::vector<std::function<void()>> closed_drained_;    // guarded by mu_: OnDrained callbacks of closed streams
  std::vector<std::function<void()>> deferred_drained_;  // guarded by mu_: for the loop's thread to run
  PingPolicy ping_policy_;                                // guarded by mu_
  absl::Time read_at_;                                    // guarded by mu_: when the Read in progress began
  bool too_many_pings_ = false;  // guarded by mu_: GOAWAY ENHANCE_YOUR_CALM queued; the connection ends after it
};

}  // namespace detcd::net

#endif  // DETCD_NET_GRPC_H2_CONNECTION_H_
