// Names of Raft message types as logs, traces and scripts print them ("MsgApp", "MsgPreVoteResp"), etcd's spelling.
// Naming only: nothing here decides anything.
#ifndef DETCD_RAFT_MESSAGE_NAMES_H_
#define DETCD_RAFT_MESSAGE_NAMES_H_

#include <string>

#include "api/raft.pb.h"

namespace detcd::raft {

// "MsgType(N)" for a value outside the enum (a message decoded from garbage).
std::string MessageTypeName(raftpb::MessageType t);

}  // namespace detcd::raft

#endif  // DETCD_RAFT_MESSAGE_NAMES_H_
