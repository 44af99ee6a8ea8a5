// The peer transport's per-connection and per-peer state, and the limits of its buffers: shared by its three
// sources (net/peer_transport.cc: the loop and lifecycle; net/peer_inbound.cc: connections from peers;
// net/peer_outbound.cc: connections to peers). Only the transport's own thread touches what is not marked as guarded
// by PeerTransport::mu_. Nothing outside the transport includes this.
#ifndef DETCD_NET_PEER_TRANSPORT_STATE_H_
#define DETCD_NET_PEER_TRANSPORT_STATE_H_

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "api/raft.pb.h"
#include "net/byte_stream.h"
#include "net/peer_transport.h"
#include "storage/disk.h"

namespace detcd::net {

namespace peer_limits {
// How much an outbound connection takes from its peer's queue at a time: enough to keep the socket busy, little
// enough that the bounded queue (not this buffer) is where a slow peer's backlog piles up and gets dropped.
inline constexpr size_t kOutFramesMax = 64;
inline constexpr size_t kOutBytesMax = 8u << 20;
inline constexpr size_t kReadChunkBytes = 256u << 10;
inline constexpr size_t kReadPerEventBytesMax = 4u << 20;  // then back to epoll: one busy connection cannot starve others
inline constexpr size_t kTlsReadChunkBytes = 16u << 10;    // a TLS read returns at most one record (16 KiB)
inline constexpr int kIovMax = 64;
inline constexpr int kEpollTimeoutMaxMs = 1000;
}  // namespace peer_limits

inline std::string PeerHex(uint64_t id) { return absl::StrCat(absl::Hex(id)); }
inline std::string ErrnoText(int e) { return std::strerror(e); }

// A connection from a peer (kInbound) or to one (kOutbound).
struct PeerTransport::Conn {
  enum Kind { kInbound, kOutbound };
  Kind kind;
  ByteStream stream;             // the socket, plain or TLS; closed: !stream.open()
  bool watching_writes = false;  // EPOLLOUT is in the epoll interest
  bool write_waits = false;      // a write (or the handshake) waits for the socket to become writable
  bool read_waits = false;       // a TLS read waits for the socket to become writable
  std::string remote;            // for logs

  // kInbound.
  bool read_again = false;  // stopped reading (per-event maximum) with bytes left inside the TLS session
  bool peeked = false;      // its first bytes were looked at (a plain dialer on a TLS port?)
  bool handshaken = false;  // the peer handshake (magic, cluster, ids), not TLS's
  uint64_t sender = 0;
  ByteCounters* received = nullptr;  // the sender's, once handshaken
  std::string in;  // read, not yet parsed
  bool logged_foreign = false;
  uint64_t query = 0;  // a hash question waiting for its answer (its token; 0: none)
  // A snapshot's file arriving after its MSG_SNAP: where its bytes go, the message, and how many bytes are to come.
  std::unique_ptr<SnapshotSink> sink;
  raftpb::Message snapshot;
  uint64_t snapshot_left = 0;

  // kOutbound.
  Peer* peer = nullptr;
  bool connecting = false;
};

struct PeerTransport::Peer {
  uint64_t id = 0;
  ByteCounters* bytes = nullptr;  // CountersOf(id): set when the peer is made

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

}  // namespace detcd::net

#endif  // DETCD_NET_PEER_TRANSPORT_STATE_H_
