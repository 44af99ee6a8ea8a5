// InteractionEnv: network cuts, and the commands that only observe (raft-state, raft-log, status).
#include <algorithm>

#include "absl/strings/str_cat.h"
#include "raft/rafttest/format.h"
#include "raft/rafttest/interaction_env.h"

namespace detcd::raft::rafttest {

absl::Status InteractionEnv::Partition(const ScriptCommand& cmd) {
  if (cmd.name == "heal") {
    cuts_.clear();
  } else if (cmd.name == "partition") {
    std::vector<std::vector<uint64_t>> groups;
    for (const ScriptArg& a : cmd.args) {
      if (!a.key.empty()) return absl::InvalidArgumentError("usage: partition (ids) (ids)...");
      groups.emplace_back();
      for (const std::string& v : a.vals) {
        absl::StatusOr<uint64_t> id = KnownId(v);
        if (!id.ok()) return id.status();
        groups.back().push_back(*id);
      }
    }
    cuts_.clear();
    for (size_t i = 0; i < groups.size(); ++i) {
      for (size_t j = i + 1; j < groups.size(); ++j) {
        for (uint64_t a : groups[i]) {
          for (uint64_t b : groups[j]) {
            cuts_.insert({a, b});
            cuts_.insert({b, a});
          }
        }
      }
    }
  } else if (cmd.name == "isolate") {
    absl::StatusOr<uint64_t> id = FirstId(cmd);
    if (!id.ok()) return id.status();
    for (uint64_t other : AllIds()) {
      if (other == *id) continue;
      cuts_.insert({*id, other});
      cuts_.insert({other, *id});
    }
  } else {  // asymmetric from=A to=B
    uint64_t ends[2] = {0, 0};
    const char* keys[2] = {"from", "to"};
    for (int k = 0; k < 2; ++k) {
      auto it = std::find_if(cmd.args.begin(), cmd.args.end(), [&](const ScriptArg& a) { return a.key == keys[k]; });
      if (it == cmd.args.end() || it->vals.size() != 1) {
        return absl::InvalidArgumentError("usage: asymmetric from=ID to=ID");
      }
      absl::StatusOr<uint64_t> id = KnownId(it->vals[0]);
      if (!id.ok()) return id.status();
      ends[k] = *id;
    }
    cuts_.insert({ends[0], ends[1]});
  }
  PrintCuts();
  return absl::OkStatus();
}

void InteractionEnv::PrintCuts() {
  std::string s = "cuts:";
  for (const auto& [from, to] : cuts_) {
    const bool both = cuts_.count({to, from}) > 0;
    if (both && from > to) continue;  // printed as to<->from
    absl::StrAppend(&s, " ", from, both ? "<->" : "->", to);
  }
  if (cuts_.empty()) s += " none";
  Line(s);
}

void InteractionEnv::RaftState() {
  for (const auto& [id, n] : nodes_) {
    // A running node's role is what its own configuration says now (it changes as configuration changes apply);
    // a node that is down is shown with the configuration it started with.
    const bool learner = n.raw != nullptr
                             ? n.raw->raft().tracker().learners().count(id) > 0
                             : std::find(n.config.learners.begin(), n.config.learners.end(), id) != n.config.learners.end();
    const bool voter = n.raw != nullptr ? n.raw->raft().tracker().IsVoter(id) : !learner;
    const char* role = voter ? "(Voter)" : learner ? "(Non-Voter)" : "(Non-Member)";
    if (n.raw == nullptr) {
      Line(absl::StrCat(id, ": down ", role));
      continue;
    }
    const Raft& r = n.raw->raft();
    std::string s = absl::StrCat(id, ": ", StateName(r.state()), " ", role, " Term:", r.term(), " Lead:", r.lead());
    if (r.vote() != kNone) absl::StrAppend(&s, " Vote:", r.vote());
    if (n.unpersisted) s += " (holds an un-persisted Ready)";
    Line(s);
  }
}

absl::Status InteractionEnv::RaftLog(uint64_t id) {
  const Node& n = nodes_.at(id);
  if (n.raw == nullptr) {
    // Down: what survives is the storage.
    const std::vector<raftpb::Entry>& all = n.storage->all_entries();
    if (all.size() <= 1) Line("log is empty");
    for (size_t i = 1; i < all.size(); ++i) Line(FormatEntry(all[i]));
    Line(absl::StrCat("(down) ", FormatHardState(n.storage->InitialHardState())));
    return absl::OkStatus();
  }
  const raft::RaftLog& log = n.raw->raft().log();
  const uint64_t first = log.FirstIndex(), last = log.LastIndex();
  if (last < first) Line("log is empty");
  if (last >= first) {
    for (const raftpb::Entry& e : log.Slice(first, last + 1, UINT64_MAX)) {
      Line(FormatEntry(e) + (e.index() > log.StableLastIndex() ? " (unstable)" : ""));
    }
  }
  Line(absl::StrCat("Commit:", log.committed(), " Applied:", log.applied()));
  return absl::OkStatus();
}

absl::Status InteractionEnv::StatusCmd(uint64_t id) {
  absl::StatusOr<RawNode*> node = Running(id);
  if (!node.ok()) return node.status();
  const Status st = (*node)->GetStatus();
  if (st.progress.empty()) {
    Line(absl::StrCat(id, " is ", StateName(st.soft_state.state), ": no progress to show"));
    return absl::OkStatus();
  }
  for (const auto& [peer, pr] : st.progress) Line(absl::StrCat(peer, ": ", pr.ToString()));
  if (st.lead_transferee != kNone) Line(absl::StrCat("transferring leadership to ", st.lead_transferee));
  return absl::OkStatus();
}

}  // namespace detcd::raft::rafttest
