// Format: deterministic one-line renderings of Raft values for the interaction scripts (etcd-io/raft's
// DescribeMessage style): `1->2 MsgApp Term:1 Log:1/2 Commit:2 Entries:[1/3 EntryNormal "a"]`. Scripts compare these
// lines byte for byte, so a format change rewrites every expectation: change them only on purpose. No pointers, no
// addresses, no time, nothing that depends on hash order.
#ifndef DETCD_RAFT_RAFTTEST_FORMAT_H_
#define DETCD_RAFT_RAFTTEST_FORMAT_H_

#include <string>
#include <vector>

#include "api/raft.pb.h"
#include "raft/message_names.h"
#include "raft/raw_node.h"

namespace detcd::raft::rafttest {

// `learner=4`, `add=4`, `remove=4`, `update=4`
std::string FormatConfChange(const raftpb::ConfChange& cc);
// `term/index EntryNormal "data"`, `term/index EntryConfChange add=4`
std::string FormatEntry(const raftpb::Entry& e);
// `[e1, e2]`
std::string FormatEntries(const std::vector<raftpb::Entry>& entries);
std::string FormatMessage(const raftpb::Message& m);
std::string FormatHardState(const raftpb::HardState& hs);
std::string FormatSoftState(const SoftState& ss);
// The lines of a Ready (sections only when non-empty), without indentation.
std::vector<std::string> FormatReady(const Ready& rd);

}  // namespace detcd::raft::rafttest

#endif  // DETCD_RAFT_RAFTTEST_FORMAT_H_
