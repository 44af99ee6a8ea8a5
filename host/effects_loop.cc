#include "host/effects_loop.h"

#include <optional>
#include <utility>

#include "base/check.h"

namespace detcd::host {

void EffectsLoop::Drain(kv::NodeCore& core, EffectsHost& host) {
  bool gone = !host.Present();
  while (!gone) {
    if (!Pass(core, host, &gone)) break;
  }
}

bool EffectsLoop::Pass(kv::NodeCore& core, EffectsHost& host, bool* gone) {
  host.BeforePass();
  bool progress = false;
  std::vector<raftpb::Message> messages = core.TakeMessages();
  if (!messages.empty()) {
    progress = true;
    host.Send(std::move(messages));
    if (!host.Present()) return *gone = true, false;
  }
  std::vector<kv::ClientReply> replies = core.TakeReplies();
  if (!replies.empty()) {
    progress = true;
    host.BeginReplies(replies.size());
    for (kv::ClientReply& reply : replies) {
      host.Reply(std::move(reply));
      // A reply's client may end the member (in the simulator, a crash it drew); the rest are lost with it.
      if (!host.Present()) return *gone = true, false;
    }
    host.EndReplies();
  }
  const kv::Membership& membership = core.membership();
  if (membership.version() != members_version_seen_) {
    DETCD_CHECK_MSG(membership.version() > members_version_seen_, "the membership's version went back");
    members_version_seen_ = membership.version();
    host.MembersChanged(membership);
    if (!host.Present()) return *gone = true, false;
  }
  if (core.removed() && !removal_reported_) {
    // etcd's member stops once it applied its own removal; what it had to send and answer went out above.
    removal_reported_ = true;
    host.Removed();
    if (!host.Present()) return *gone = true, false;
  }
  // Streams are offered only when some response waits: most passes have none, and listing a host's streams is not
  // free.
  for (uint64_t stream : core.HasAnyWatchResponses() ? host.WatchStreamsWithRoom() : std::vector<uint64_t>{}) {
    if (!core.HasWatchResponses(stream)) continue;
    progress = true;
    // What the hub hands over in one take (bounded by its per-stream queue) all goes; the host may then say the
    // stream has no more room, and its responses wait in the hub.
    for (const etcdserverpb::WatchResponse& response : core.TakeWatchResponses(stream)) {
      host.WatchResponse(stream, response);
    }
    if (!host.Present()) return *gone = true, false;
  }
  std::vector<kv::SnapshotPiece> pieces = core.TakeSnapshotPieces();
  for (const kv::SnapshotPiece& piece : pieces) {
    DETCD_CHECK_MSG(piece.metadata.index() > 0, "a snapshot piece without its snapshot's index");
  }
  if (!pieces.empty()) progress = true;
  // New pieces or not while the host holds some: a host writing them one at a time starts the next one here.
  if (!pieces.empty() || host.HoldsSnapshotPieces()) {
    host.SaveSnapshotPieces(std::move(pieces));
    if (!host.Present()) return *gone = true, false;
  }
  if (std::optional<kv::PersistRequest> batch = core.TakePersist()) {
    progress = true;
    host.Persist(std::move(*batch));
    if (!host.Present()) return *gone = true, false;
  }
  return progress;
}

}  // namespace detcd::host
