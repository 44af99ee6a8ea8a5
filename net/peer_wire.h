// The peer port's wire format (see net/peer_transport.h for the whole of it): magics, frame layout, limits of one
// connection's buffers, and little-endian helpers. Shared by the transport's halves and the cluster query
// (net/peer_query.h); nothing else should need it.
#ifndef DETCD_NET_PEER_WIRE_H_
#define DETCD_NET_PEER_WIRE_H_

#include <cstddef>
#include <cstdint>

#include "base/little_endian.h"

namespace detcd::net::peer_wire {

inline constexpr char kMagic[] = "detcd-peer-1";
inline constexpr char kInfoMagic[] = "detcd-info-1";  // a joining member asks who is in the cluster
inline constexpr uint32_t kInfoBytesMax = 1u << 20;
// The corruption checks ask a peer for its HashKV: the magic, then the revision (u64). The answer frame holds a
// serialized etcdserverpb::HashKVResponse, or kHashErrorPrefix and the member's error text.
inline constexpr char kHashMagic[] = "detcd-hash-1";
inline constexpr size_t kHashQuestionBytes = 12 + 8;
inline constexpr char kHashErrorPrefix[] = "error: ";
// A peer's prober measures the round trip to this member (etcd's GET /raft/probing): the magic alone; the answer is
// an empty frame, sent at once by the transport thread.
inline constexpr char kPingMagic[] = "detcd-ping-1";
// What a member tells a member it removed (etcd's words).
inline constexpr char kRemovedMessage[] = "the member has been permanently removed from the cluster";
inline constexpr size_t kMagicBytes = 12;
inline constexpr size_t kHandshakeBytes = kMagicBytes + 3 * 8;
inline constexpr size_t kFrameHeaderBytes = 4;
// A frame whose length has this bit is a MSG_SNAP followed by its snapshot file: the rest of the length is the
// message's, then a u64 file length, then the file.
inline constexpr uint32_t kSnapshotFrameBit = 1u << 31;
inline constexpr size_t kSnapshotLengthBytes = 8;
// A receiver's refusal, in plain words, before it closes.
inline constexpr char kRefusedPrefix[] = "detcd-peer-refused: ";

inline void PutU64(char* out, uint64_t v) { StoreLittleEndian(out, v, 8); }
inline uint64_t GetU64(const char* in) { return LoadLittleEndian(in, 8); }
inline void PutU32(char* out, uint32_t v) { StoreLittleEndian(out, v, 4); }
inline uint32_t GetU32(const char* in) { return static_cast<uint32_t>(LoadLittleEndian(in, 4)); }

}  // namespace detcd::net::peer_wire

#endif  // DETCD_NET_PEER_WIRE_H_
