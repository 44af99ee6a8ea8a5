// PeerTransport: carries Raft messages between the members of one cluster over TCP, on an epoll event loop of its
// own (one thread, non-blocking sockets). Outbound: one connection per peer, opened lazily when there is something to
// send, re-opened with exponential backoff after an error; each message waits in a bounded per-peer queue and is
// dropped (Raft retransmits) rather than ever blocking the sender. Inbound: any number of connections; each message
// is handed to `deliver`.
//
// Wire format, per connection (sender -> receiver only; the receiver never answers except to explain a refusal):
//   handshake: "detcd-peer-1" (12 bytes), cluster id, sender member id, receiver member id (u64 little-endian each)
//   then frames: u32 little-endian length + a serialized raftpb::Message, pipelined;
//   or, for a MSG_SNAP sent with its snapshot file (Send's second argument): u32 (header length | 1 << 31) + the
//   message without data + u64 little-endian file length + the file's bytes, read from the file and written in
//   chunks of kSnapshotChunkBytes as the socket drains (the sender never holds more than a chunk of it). The receiver
//   streams those bytes into a sink (open_snapshot_sink: a file) as they come and delivers the message once every
//   byte came and the sink accepted them (deliver_snapshot). Other messages to that peer wait behind it.
// Or, from a member about to join: "detcd-info-1" (12 bytes); the receiver answers with one frame (u32 length + a
// serialized kvpb::ClusterInfo) and closes.
// The receiver refuses (logs why, closes) a handshake with another magic, another cluster id ("request cluster ID
// mismatch", as etcd says) or a receiver id that is not its own; it closes any connection that sends a frame longer
// than the maximum or one that does not parse, a snapshot longer than snapshot_bytes_max, one its sink refuses, or
// one cut short by the connection's end (the sink drops what came). It delivers only messages whose `from` is the
// handshake's sender.
//
// With TLS (etcd's https peer URLs; see net/peer_tls.h): an https listen address makes every inbound connection
// start with a TLS handshake (SSL_accept), an https peer address every outbound one (SSL_connect); then the same bytes
// as above flow inside TLS, refusals and the cluster-information answer included. Both are driven by the epoll loop
// like the rest: each TLS step that cannot go on waits for the socket to become readable or writable (either, in
// either direction: a read may need to write and a write to read). A failed handshake is logged (etcd's "rejected
// connection from ...") and closes that connection only. A plain connection to a TLS port is told why in plain text
// before it is closed; a TLS handshake on a plain port is refused as a bad magic.
//
// The code: net/peer_transport.cc (lifecycle and loop), net/peer_inbound.cc, net/peer_outbound.cc, over
// net/byte_stream.h (plain or TLS, written once); the wire's constants in net/peer_wire.h; a joining member's cluster
// query in net/peer_query.h.
//
// It must never: block the caller of Send, crash or stop serving others on bad input from one connection, hold Raft
// or KV state (it only moves bytes), or call back into the caller from a thread other than its own.
#ifndef DETCD_NET_PEER_TRANSPORT_H_
#define DETCD_NET_PEER_TRANSPORT_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "api/raft.pb.h"
#include "net/peer_tls.h"
#include "storage/disk.h"

namespace detcd::net {

struct PeerAddress {
  std::string host;  // an IP address or a host name (resolved, blocking, when connecting)
  uint16_t port = 0;
  bool tls = false;  // an https peer URL: TLS (PeerTransportOptions::tls) on connections to (or, to listen, at) it
};

// Where the bytes of a snapshot arriving with a MSG_SNAP go, as they come (the receiving member's file). Used by the
// transport thread only. Destroyed without Finish (a refusal, the connection's end): what came is dropped.
class SnapshotSink {
 public:
  virtual ~SnapshotSink() = default;
  // The next bytes; an error refuses the snapshot.
  virtual absl::Status Append(absl::string_view bytes) = 0;
  // Every byte came: where they are now (handed to deliver_snapshot with the message), or why they are refused.
  virtual absl::StatusOr<std::string> Finish() = 0;
};

struct PeerTransportOptions {
  uint64_t member_id = 0;
  uint64_t cluster_id = 0;
  PeerAddress listen{"127.0.0.1", 0};     // port 0: an ephemeral port; PeerTransport::port() tells which
  std::map<uint64_t, PeerAddress> peers;  // member id -> where it listens (the local member, if present, is ignored)
  // The TLS contexts for https addresses: required (with a certificate) if listen.tls; an https peer without it is
  // never connected to (each attempt fails and is logged).
  std::shared_ptr<const PeerTls> tls;

  // All callbacks run on the transport thread; they must be cheap and must not call Stop() (queue the work).
  // An inbound message from a peer.
  std::function<void(raftpb::Message)> deliver;
  // A message to `peer` was dropped (queue full) or its connection failed: Raft should probe it (MsgUnreachable).
  std::function<void(uint64_t peer)> report_unreachable;
  // A MSG_SNAP to `peer`: written to the socket in full, its file's bytes included (failed = false), or lost with
  // the connection, dropped, or its file unreadable (failed = true). Called once per MSG_SNAP passed to Send, unless
  // Stop() or RemovePeer comes first.
  std::function<void(uint64_t peer, bool failed)> report_snapshot;
  // An inbound MSG_SNAP streamed with its file (its header, and the file's length): where its bytes go. Null, or an
  // error: the snapshot is refused (logged; the connection closes, so the sender learns it failed).
  std::function<absl::StatusOr<std::unique_ptr<SnapshotSink>>(const raftpb::Message& header, uint64_t bytes)>
      open_snapshot_sink;
  // Such a MSG_SNAP whose bytes all came and were accepted (SnapshotSink::Finish): the message (without data) and
  // where its bytes are.
  std::function<void(raftpb::Message, std::string where)> deliver_snapshot;
  std::function<void(const std::string&)> log;
  // What a member joining the cluster is told (a serialized kvpb::ClusterInfo) when it asks over the peer port
  // (FetchClusterInfo). Null: an empty answer.
  std::function<std::string()> cluster_info;
  // A peer's corruption check asks for this member's HashKV at `revision` (FetchPeerHashKV): `answer` takes what
  // goes back (net/peer_wire.h's hash answer frame's content), once, from any thread, at once or later — the hash is
  // the core's to compute, never the transport thread's. Null: the question is refused.
  std::function<void(int64_t revision, std::function<void(std::string)> answer)> hash_kv;
  // A peer refused this member because it was removed from the cluster: the member must stop. Transport thread.
  std::function<void()> removed_from_cluster;

  size_t queue_messages_max = 4096;       // per peer, waiting to be written
  uint32_t frame_bytes_max = 512u << 20;  // a message (a MSG_SNAP sent without a file carries its data in one)
  uint64_t snapshot_bytes_max = (uint64_t{8} << 30) + (64u << 20);  // a snapshot file streamed after its MSG_SNAP
  absl::Duration backoff_min = absl::Milliseconds(100);
  absl::Duration backoff_max = absl::Seconds(2);
};

class PeerTransport {
 public:
  // Binds and listens, then starts the transport thread. Errors: the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<PeerTransport>> Start(PeerTransportOptions options);
  ~PeerTransport();  // Stop()

  PeerTransport(const PeerTransport&) = delete;
  PeerTransport& operator=(const PeerTransport&) = delete;

  // The port it listens on (the ephemeral one when options.listen.port was 0).
  uint16_t port() const { return port_; }

  // Any thread; never blocks. Queues `m` for the peer `m.to()`; drops it if that queue is full (then reports the
  // peer unreachable, and a MSG_SNAP as failed) or if the peer is unknown or the transport stopped. A MSG_SNAP may
  // come with its snapshot file (its data then empty): the file's bytes follow the message on the wire, read from
  // `snapshot_file` a chunk at a time while it is written (the transport holds it until then).
  void Send(raftpb::Message m, std::shared_ptr<storage::ReadableFile> snapshot_file = nullptr);

  // How much of a snapshot file is read and written at a time.
  static constexpr size_t kSnapshotChunkBytes = 1u << 20;

  // Any thread. Adds a peer (a member joined) or changes its address (used from its next connection on).
  void AddPeer(uint64_t id, PeerAddress address);
  // Any thread. Forgets a peer (a member left): what waits for it is dropped, its connection closed; its inbound
  // connections are refused from now on (until AddPeer) with "the member has been permanently removed from the
  // cluster", which makes it stop.
  void RemovePeer(uint64_t id);

  // Closes every connection and joins the transport thread. Idempotent. Not from a callback.
  void Stop();

  // Tests and metrics: messages dropped so far because a peer's queue was full.
  uint64_t dropped_messages() const { return dropped_total_.load(); }

  // etcd_network_peer_sent_bytes_total / _received_bytes_total: the bytes written to each peer's connections and
  // read from its connections (handshakes, frames and streamed snapshot files), by peer id, for every peer that
  // ever had any, counted since start. Any thread.
  struct PeerBytes {
    uint64_t peer = 0;
    uint64_t sent = 0;
    uint64_t received = 0;
  };
  std::vector<PeerBytes> peer_bytes() const;
  // Both families in Prometheus' text format, labelled To and From with the peer's id in hex, as etcd's rafthttp.
  void AppendPrometheus(std::string* out) const;

 private:
  struct Conn;
  struct Peer;
  // One peer's byte counters: written by the transport thread only (a plain add, no read-modify-write race), read by
  // any.
  struct ByteCounters {
    std::atomic<uint64_t> sent{0};
    std::atomic<uint64_t> received{0};
    static void Add(std::atomic<uint64_t>& c, uint64_t n) {
      c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    }
  };
  // The counters of `peer`, made on first use (a peer's first connection or queue: not per message).
  ByteCounters* CountersOf(uint64_t peer);

  explicit PeerTransport(PeerTransportOptions options);
  absl::Status Listen();
  void Loop();
  void Wake();
  // Per loop turn: reports drops, drains queues into connections, opens connections; returns the epoll timeout (ms).
  int ServicePeers();
  void OnAccept();
  void OnInbound(Conn* c);
  void EndInbound(Conn* c, const std::string& why);
  bool RefusePlainOnTlsPort(Conn* c);
  bool ParseInbound(Conn* c);
  void SayAndClose(Conn* c, const std::string& bytes, const std::string& what);
  bool Refused(uint64_t id);
  // Hash questions' answers, which come from any thread, possibly after Stop (then they are dropped): the transport
  // thread sends each (AnswerQueries) and closes its connection.
  struct Answers {
    std::mutex mu;
    bool open = true;  // guarded by mu: false once stopped
    int wake_fd = -1;
    std::vector<std::pair<uint64_t, std::string>> queued;  // guarded by mu: (query, answer)
  };
  void AnswerQueries();
  void OnOutbound(Conn* c, uint32_t events);
  void OnRefusal(Peer* p, std::string said);
  void Connect(Peer* p);
  void Disconnect(Peer* p);
  void FillOutbound(Peer* p);
  bool WriteOutbound(Peer* p);
  // False if the connection failed meanwhile (a snapshot file could not be read).
  bool ConsumeOutbound(Peer* p, size_t bytes);
  // An inbound snapshot frame's header is complete at `data`: check it and open its sink. False: refused (closed).
  bool StartInboundSnapshot(Conn* c, const char* data, uint32_t header_bytes, uint64_t file_bytes);
  void WatchWrites(Conn* c, bool want);
  void WatchInterest(Conn* c);
  void FailOutbound(Peer* p, const std::string& why);
  void Close(Conn* c);
  int64_t NowMs() const;
  void Log(const std::string& line);

  PeerTransportOptions options_;
  uint16_t port_ = 0;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  int listen_fd_ = -1;

  std::mutex mu_;
  // Guarded by mu_ (the map and each Peer's queue and address); entries are erased only by the transport thread.
  std::map<uint64_t, std::unique_ptr<Peer>> peers_;
  bool stopping_ = false;  // guarded by mu_
  std::set<uint64_t> refused_ids_;  // guarded by mu_: removed members
  const std::shared_ptr<Answers> answers_ = std::make_shared<Answers>();
  uint64_t next_query_ = 0;  // transport thread
  std::atomic<bool> wake_pending_{false};
  std::atomic<uint64_t> dropped_total_{0};
  mutable std::mutex bytes_mu_;
  std::map<uint64_t, std::unique_ptr<ByteCounters>> bytes_;  // guarded by bytes_mu_ (the map; never erased)
  std::thread thread_;
  std::once_flag stop_once_;

  // Transport thread only.
  std::vector<std::unique_ptr<Conn>> inbound_;
  std::vector<std::unique_ptr<Conn>> closed_;  // freed after the epoll batch that may still name them
  bool read_again_ = false;  // some inbound TLS connection stopped reading with bytes left inside its session
  // Where the transport's thread reads a connection's bytes before appending what came to its buffer (growing the
  // buffer by a whole chunk per read zero-filled 256 KiB each time: 4% of a member's CPU under put).
  std::unique_ptr<char[]> read_chunk_;
};

}  // namespace detcd::net

#endif  // DETCD_NET_PEER_TRANSPORT_H_
