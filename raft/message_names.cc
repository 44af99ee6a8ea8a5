#include "raft/message_names.h"

#include "absl/strings/str_cat.h"

namespace detcd::raft {

std::string MessageTypeName(raftpb::MessageType t) {
  switch (t) {
    case raftpb::MSG_HUP:
      return "MsgHup";
    case raftpb::MSG_BEAT:
      return "MsgBeat";
    case raftpb::MSG_PROP:
      return "MsgProp";
    case raftpb::MSG_APP:
      return "MsgApp";
    case raftpb::MSG_APP_RESP:
      return "MsgAppResp";
    case raftpb::MSG_VOTE:
      return "MsgVote";
    case raftpb::MSG_VOTE_RESP:
      return "MsgVoteResp";
    case raftpb::MSG_SNAP:
      return "MsgSnap";
    case raftpb::MSG_HEARTBEAT:
      return "MsgHeartbeat";
    case raftpb::MSG_HEARTBEAT_RESP:
      return "MsgHeartbeatResp";
    case raftpb::MSG_UNREACHABLE:
      return "MsgUnreachable";
    case raftpb::MSG_SNAP_STATUS:
      return "MsgSnapStatus";
    case raftpb::MSG_CHECK_QUORUM:
      return "MsgCheckQuorum";
    case raftpb::MSG_TRANSFER_LEADER:
      return "MsgTransferLeader";
    case raftpb::MSG_TIMEOUT_NOW:
      return "MsgTimeoutNow";
    case raftpb::MSG_READ_INDEX:
      return "MsgReadIndex";
    case raftpb::MSG_READ_INDEX_RESP:
      return "MsgReadIndexResp";
    case raftpb::MSG_PRE_VOTE:
      return "MsgPreVote";
    case raftpb::MSG_PRE_VOTE_RESP:
      return "MsgPreVoteResp";
    default:
      return absl::StrCat("MsgType(", static_cast<int>(t), ")");
  }
}

}  // namespace detcd::raft
