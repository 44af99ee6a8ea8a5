// EffectsLoop: the one place that drains a kv::NodeCore's effects — its snapshot pieces, the batch to persist,
// Raft messages, client replies, watch responses, the membership and its own removal — and decides their order.
// Both drivers of a member run it: the production member (net/MemberRuntime: a real disk thread, transport and
// clock) and the simulator's host (sim/KvCluster: a simulated disk, network and clock). What differs between them is
// only how each effect is carried out, behind EffectsHost; what may leave before what is written once, here (and,
// for what depends on durability, inside the core: a message or reply that needs a batch durable is not handed out
// before the driver reports the batch with Persisted).
//
// Order of one pass: messages, then replies (as one batch), then a changed membership, then — if the member applied
// its own removal — Removed, then watch responses, then snapshot pieces, then the batch to persist. Passes
// repeat while a pass found anything. After a callback that may end the member (a reply's client crashing it in the
// simulator, its removal), the loop asks the host whether the member is still there and stops if not.
//
// It does no IO, reads no clock and holds nothing but what it has reported already (the membership version, the
// removal): a new incarnation of a member gets a new loop.
#ifndef DETCD_HOST_EFFECTS_LOOP_H_
#define DETCD_HOST_EFFECTS_LOOP_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "api/etcdserverpb/rpc.pb.h"
#include "api/raft.pb.h"
#include "kv/node_core.h"

namespace detcd::host {

// How a driver carries out the core's effects. Every call is made by the thread holding the core.
class EffectsHost {
 public:
  virtual ~EffectsHost() = default;

  // Whether the member is still there to act (not crashed, paused or retired by what a callback just did).
  virtual bool Present() { return true; }
  // Before each pass over the effects (the simulator's checkers look at the core here).
  virtual void BeforePass() {}

  // The snapshot pieces handed out since the last pass — the member's own snapshot and those for followers
  // (kv::SnapshotPiece's contract: each stream's in order, each reported when done) — in order. Called on a pass
  // that has some, and on every pass, with none too, while the host HoldsSnapshotPieces: a host that writes them
  // one at a time may then start the next one it holds.
  virtual void SaveSnapshotPieces(std::vector<kv::SnapshotPiece> pieces) = 0;
  // Whether the host keeps pieces it has not started writing (see SaveSnapshotPieces).
  virtual bool HoldsSnapshotPieces() { return false; }
  // A batch to make durable: write it, sync it if must_sync, then (on the core's turn) report core.Persisted(seq).
  // There is at most one unreported batch: the core hands out the next after Persisted.
  virtual void Persist(kv::PersistRequest batch) = 0;
  // Raft messages for peers, in the order the core made them. A MSG_SNAP without data goes with the file for
  // followers whose kEnd the host reported just before (kv::SnapshotPiece): its transport carries that file.
  virtual void Send(std::vector<raftpb::Message> messages) = 0;
  // Replies to clients; a reply nobody waits for any more (answered already, by its deadline) is the host's to drop.
  // A batch of `count` replies is bracketed by BeginReplies/EndReplies (count > 0).
  // EndReplies is not called if the member is gone after a reply.
  virtual void BeginReplies(size_t count) { (void)count; }
  virtual void Reply(kv::ClientReply reply) = 0;
  virtual void EndReplies() {}
  // The core's watch streams (their ids in the core) that can take responses now; and one response for one of them.
  virtual std::vector<uint64_t> WatchStreamsWithRoom() = 0;
  virtual void WatchResponse(uint64_t stream, const etcdserverpb::WatchResponse& response) = 0;
  // The membership changed (first reported once it has a version: a fresh joiner's empty one is not).
  virtual void MembersChanged(const kv::Membership& membership) { (void)membership; }
  // The member applied its own removal from the cluster (once). Whatever it had to send and answer went out first.
  virtual void Removed() {}
};

class EffectsLoop {
 public:
  // Drains `core`'s effects into `host` until a pass finds nothing (or the member is gone).
  void Drain(kv::NodeCore& core, EffectsHost& host);

 private:
  // One pass; true if it found anything. Sets *gone if the member is no longer there.
  bool Pass(kv::NodeCore& core, EffectsHost& host, bool* gone);

  uint64_t members_version_seen_ = 0;  // a membership not yet changed (version 0) is not reported
  bool removal_reported_ = false;
};

}  // namespace detcd::host

#endif  // DETCD_HOST_EFFECTS_LOOP_H_
