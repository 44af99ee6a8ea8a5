// InteractionEnv: command dispatch and argument handling, and the driver mechanics (building nodes, Readies,
// message delivery, crashes). The observation commands (raft-state, raft-log, status) and the network cuts are in
// interaction_env_inspect.cc.
#include "raft/rafttest/interaction_env.h"

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "raft/rafttest/format.h"

namespace detcd::raft::rafttest {

namespace {

const ScriptArg* FindArg(const ScriptCommand& cmd, const std::string& key) {
  for (const ScriptArg& a : cmd.args) {
    if (a.key == key) return &a;
  }
  return nullptr;
}

absl::StatusOr<uint64_t> ParseUint(const std::string& s) {
  uint64_t v = 0;
  if (!absl::SimpleAtoi(s, &v)) return absl::InvalidArgumentError(absl::StrCat("not a number: '", s, "'"));
  return v;
}

absl::StatusOr<bool> ParseBool(const std::string& s) {
  if (s == "true") return true;
  if (s == "false") return false;
  return absl::InvalidArgumentError(absl::StrCat("not a bool: '", s, "'"));
}

// The single value of key=value, or `def` if the argument is absent.
absl::StatusOr<std::string> KeyValue(const ScriptCommand& cmd, const std::string& key, const std::string& def) {
  const ScriptArg* a = FindArg(cmd, key);
  if (a == nullptr) return def;
  if (a->vals.size() != 1) return absl::InvalidArgumentError(absl::StrCat(key, "= takes one value"));
  return a->vals[0];
}

absl::StatusOr<std::vector<uint64_t>> ParseIds(const std::vector<std::string>& vals) {
  std::vector<uint64_t> out;
  for (const std::string& v : vals) {
    absl::StatusOr<uint64_t> id = ParseUint(v);
    if (!id.ok()) return id.status();
    out.push_back(*id);
  }
  return out;
}

std::string IdList(const std::vector<uint64_t>& ids) { return absl::StrCat("(", absl::StrJoin(ids, ","), ")"); }

// Propagates a bad Status from an expression yielding absl::StatusOr<T> into `lhs`.
#define ENV_ASSIGN_OR_RETURN(lhs, expr)         \
  auto lhs##_or = (expr);                       \
  if (!lhs##_or.ok()) return lhs##_or.status(); \
  auto lhs = std::move(*lhs##_or)

}  // namespace

// ---- dispatch ----

std::string InteractionEnv::Handle(const ScriptCommand& cmd) {
  out_.clear();
  indent_ = 0;
  const absl::Status s = Dispatch(cmd);
  indent_ = 0;
  // Errors are printed even when silent: a setup step that fails must not pass unnoticed.
  if (!s.ok()) absl::StrAppend(&out_, "error: ", s.message(), "\n");
  return out_;
}

absl::Status InteractionEnv::Dispatch(const ScriptCommand& cmd) {
  const std::string& c = cmd.name;
  if (c == "add-nodes") return AddNodes(cmd);
  if (c == "log-level") {
    const std::string level = cmd.args.size() == 1 && cmd.args[0].vals.size() == 1 ? cmd.args[0].vals[0] : "";
    if (level != "silent" && level != "none" && level != "info") {
      return absl::InvalidArgumentError("usage: log-level silent|none|info");
    }
    log_info_ = level == "info";
    silent_ = level == "silent";
    return absl::OkStatus();
  }
  if (c == "stabilize") {
    ENV_ASSIGN_OR_RETURN(ids, PositionalIds(cmd));
    return Stabilize(ids.empty() ? AllIds() : ids);
  }
  if (c == "process-ready") return ProcessReadyCmd(cmd);
  if (c == "deliver-msgs") return DeliverMsgsCmd(cmd);
  if (c == "drop-msgs") {
    ENV_ASSIGN_OR_RETURN(ids, PositionalIds(cmd));
    for (uint64_t id : ids) DropMsgs(id);
    return absl::OkStatus();
  }
  if (c == "partition" || c == "isolate" || c == "asymmetric" || c == "heal") return Partition(cmd);
  if (c == "raft-state") {
    RaftState();
    return absl::OkStatus();
  }
  if (c == "transfer-leader") {
    ENV_ASSIGN_OR_RETURN(from_s, KeyValue(cmd, "from", ""));
    ENV_ASSIGN_OR_RETURN(to_s, KeyValue(cmd, "to", ""));
    ENV_ASSIGN_OR_RETURN(from, KnownId(from_s));
    ENV_ASSIGN_OR_RETURN(to, ParseUint(to_s));
    ENV_ASSIGN_OR_RETURN(node, Running(from));
    node->TransferLeader(to);
    return absl::OkStatus();
  }
  // The remaining commands name one node first.
  ENV_ASSIGN_OR_RETURN(id, FirstId(cmd));
  if (c == "crash") {
    ENV_ASSIGN_OR_RETURN(node, Running(id));
    (void)node;
    ENV_ASSIGN_OR_RETURN(lose_s, KeyValue(cmd, "lose-unsynced", "false"));
    ENV_ASSIGN_OR_RETURN(lose_unsynced, ParseBool(lose_s));
    Crash(id, lose_unsynced);
    return absl::OkStatus();
  }
  if (c == "restart") {
    if (nodes_.at(id).raw != nullptr) Crash(id, /*lose_unsynced=*/false);
    Line(absl::StrCat(id, " restarts from its storage"));
    // Messages sent to the node while it was down never reached it.
    for (const raftpb::Message& m : inbox_[id]) Line("  lost while down: " + FormatMessage(m));
    inbox_.erase(id);
    Build(id);
    return absl::OkStatus();
  }
  if (c == "raft-log") return RaftLog(id);
  if (c == "status") return StatusCmd(id);
  if (c == "persist") {
    ENV_ASSIGN_OR_RETURN(node, Running(id));
    (void)node;
    Node& n = nodes_.at(id);
    if (!n.unpersisted) return absl::FailedPreconditionError(absl::StrCat(id, " has no un-persisted Ready"));
    const Ready rd = std::move(*n.unpersisted);
    n.unpersisted.reset();
    Line(absl::StrCat("> ", id, " persisting its held Ready"));
    PersistReady(id, rd);
    return absl::OkStatus();
  }
  ENV_ASSIGN_OR_RETURN(node, Running(id));
  if (c == "campaign") return node->Campaign();
  if (c == "tick-election") return TickElection(id);
  if (c == "tick-heartbeat" || c == "tick") {
    int64_t times = nodes_.at(id).config.heartbeat_ticks;
    if (c == "tick") {
      if (cmd.args.size() != 2 || cmd.args[1].vals.size() != 1) return absl::InvalidArgumentError("usage: tick ID N");
      ENV_ASSIGN_OR_RETURN(n, ParseUint(cmd.args[1].vals[0]));
      times = static_cast<int64_t>(n);
    }
    for (int64_t i = 0; i < times; ++i) node->Tick();
    return absl::OkStatus();
  }
  if (c == "propose" || c == "read-index") {
    if (cmd.args.size() != 2 || cmd.args[1].vals.size() != 1) {
      return absl::InvalidArgumentError(absl::StrCat("usage: ", c, " ID DATA"));
    }
    const std::string& data = cmd.args[1].vals[0];
    return c == "propose" ? node->Propose(data) : node->ReadIndex(data);
  }
  if (c == "propose-conf-change") {
    // propose-conf-change ID add=N | remove=N | learner=N | update=N
    static const std::pair<const char*, raftpb::ConfChangeType> kKinds[] = {
        {"add", raftpb::CONF_CHANGE_ADD_NODE},
        {"remove", raftpb::CONF_CHANGE_REMOVE_NODE},
        {"learner", raftpb::CONF_CHANGE_ADD_LEARNER_NODE},
        {"update", raftpb::CONF_CHANGE_UPDATE_NODE},
    };
    for (const auto& [key, type] : kKinds) {
      ENV_ASSIGN_OR_RETURN(v, KeyValue(cmd, key, ""));
      if (v.empty()) continue;
      ENV_ASSIGN_OR_RETURN(target, ParseUint(v));
      raftpb::ConfChange cc;
      cc.set_type(type);
      cc.set_node_id(target);
      return node->ProposeConfChange(cc);
    }
    return absl::InvalidArgumentError("usage: propose-conf-change ID add=N|remove=N|learner=N|update=N");
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown command '", c, "'"));
}

// ---- arguments ----

absl::StatusOr<uint64_t> InteractionEnv::KnownId(const std::string& s) const {
  ENV_ASSIGN_OR_RETURN(id, ParseUint(s));
  if (nodes_.count(id) == 0) return absl::NotFoundError(absl::StrCat("no node ", id));
  return id;
}

absl::StatusOr<RawNode*> InteractionEnv::Running(uint64_t id) {
  Node& n = nodes_.at(id);
  if (n.raw == nullptr) return absl::FailedPreconditionError(absl::StrCat("node ", id, " is down"));
  return n.raw.get();
}

absl::StatusOr<std::vector<uint64_t>> InteractionEnv::PositionalIds(const ScriptCommand& cmd) const {
  std::vector<uint64_t> ids;
  for (const ScriptArg& a : cmd.args) {
    if (!a.key.empty()) continue;
    for (const std::string& v : a.vals) {
      ENV_ASSIGN_OR_RETURN(id, KnownId(v));
      ids.push_back(id);
    }
  }
  return ids;
}

absl::StatusOr<uint64_t> InteractionEnv::FirstId(const ScriptCommand& cmd) const {
  if (cmd.args.empty() || !cmd.args[0].key.empty() || cmd.args[0].vals.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(cmd.name, ": the first argument must be a node id"));
  }
  return KnownId(cmd.args[0].vals[0]);
}

std::vector<uint64_t> InteractionEnv::AllIds() const {
  std::vector<uint64_t> ids;
  for (const auto& [id, n] : nodes_) ids.push_back(id);
  return ids;
}

void InteractionEnv::Line(const std::string& s) {
  if (!silent_) absl::StrAppend(&out_, std::string(indent_, ' '), s, "\n");
}

// ---- nodes ----

absl::Status InteractionEnv::AddNodes(const ScriptCommand& cmd) {
  if (cmd.args.empty() || !cmd.args[0].key.empty() || cmd.args[0].vals.size() != 1) {
    return absl::InvalidArgumentError("usage: add-nodes N [key=value...]");
  }
  ENV_ASSIGN_OR_RETURN(n, ParseUint(cmd.args[0].vals[0]));
  const uint64_t first = nodes_.empty() ? 1 : nodes_.rbegin()->first + 1;
  std::vector<uint64_t> learners, voters;
  if (const ScriptArg* a = FindArg(cmd, "learners")) {
    ENV_ASSIGN_OR_RETURN(ids, ParseIds(a->vals));
    learners = ids;
  }
  if (const ScriptArg* a = FindArg(cmd, "voters")) {
    ENV_ASSIGN_OR_RETURN(ids, ParseIds(a->vals));
    voters = ids;
  } else {
    for (uint64_t id = first; id < first + n; ++id) {
      if (std::find(learners.begin(), learners.end(), id) == learners.end()) voters.push_back(id);
    }
  }
  ENV_ASSIGN_OR_RETURN(prevote_s, KeyValue(cmd, "prevote", "false"));
  ENV_ASSIGN_OR_RETURN(checkquorum_s, KeyValue(cmd, "checkquorum", "false"));
  ENV_ASSIGN_OR_RETURN(election_s, KeyValue(cmd, "election", "10"));
  ENV_ASSIGN_OR_RETURN(heartbeat_s, KeyValue(cmd, "heartbeat", "1"));
  ENV_ASSIGN_OR_RETURN(seed_s, KeyValue(cmd, "seed", "0"));
  ENV_ASSIGN_OR_RETURN(prevote, ParseBool(prevote_s));
  ENV_ASSIGN_OR_RETURN(checkquorum, ParseBool(checkquorum_s));
  ENV_ASSIGN_OR_RETURN(election, ParseUint(election_s));
  ENV_ASSIGN_OR_RETURN(heartbeat, ParseUint(heartbeat_s));
  ENV_ASSIGN_OR_RETURN(seed, ParseUint(seed_s));
  // Optional: bytes of entries per MsgApp (at least one entry is always sent), to replicate one entry at a time.
  ENV_ASSIGN_OR_RETURN(max_msg_size_s, KeyValue(cmd, "max-msg-size", ""));
  uint64_t max_msg_size = Config().max_size_per_msg_bytes;
  if (!max_msg_size_s.empty()) {
    ENV_ASSIGN_OR_RETURN(v, ParseUint(max_msg_size_s));
    max_msg_size = v;
  }
  if (heartbeat == 0 || election <= heartbeat) {
    return absl::InvalidArgumentError("need 0 < heartbeat < election");
  }
  for (uint64_t id = first; id < first + n; ++id) {
    Node& node = nodes_[id];
    node.config.id = id;
    node.config.peers = voters;
    node.config.learners = learners;
    node.config.pre_vote = prevote;
    node.config.check_quorum = checkquorum;
    node.config.election_ticks = static_cast<int>(election);
    node.config.heartbeat_ticks = static_cast<int>(heartbeat);
    node.config.seed = seed + id;
    node.config.max_size_per_msg_bytes = max_msg_size;
    node.storage = std::make_unique<MemoryStorage>();
    Line(absl::StrCat(id, ": voters=", IdList(voters), " learners=", IdList(learners),
                      " prevote=", prevote ? "true" : "false", " checkquorum=", checkquorum ? "true" : "false",
                      " election=", election, " heartbeat=", heartbeat, " seed=", seed + id,
                      max_msg_size_s.empty() ? "" : absl::StrCat(" max-msg-size=", max_msg_size)));
    indent_ += 2;
    Build(id);
    indent_ -= 2;
  }
  return absl::OkStatus();
}

void InteractionEnv::Build(uint64_t id) {
  Node& n = nodes_.at(id);
  Config c = n.config;
  c.storage = n.storage.get();
  c.applied = 0;  // the state machine (`applied`) is rebuilt from the log
  c.logger = [this](const std::string& line) {
    if (log_info_) Line("INFO " + line);
  };
  n.applied.clear();
  n.unpersisted.reset();
  n.raw = std::make_unique<RawNode>(c);
}

absl::Status InteractionEnv::TickElection(uint64_t id) {
  RawNode& node = *nodes_.at(id).raw;
  const Raft& r = node.raft();
  // A leader's clock runs its CheckQuorum interval (election_ticks); everyone else's the randomized timeout.
  const int timeout =
      r.state() == StateType::kLeader ? nodes_.at(id).config.election_ticks : r.randomized_election_timeout();
  const int ticks = std::max(1, timeout - r.election_elapsed());
  for (int i = 0; i < ticks; ++i) node.Tick();
  return absl::OkStatus();
}

void InteractionEnv::Crash(uint64_t id, bool lose_unsynced) {
  Node& n = nodes_.at(id);
  Line(absl::StrCat(id, " crashed"));
  indent_ += 2;
  const raftpb::HardState written = n.storage->InitialHardState();
  if (lose_unsynced && (written.term() != n.synced_hard_state.term() || written.vote() != n.synced_hard_state.vote() ||
                        written.commit() != n.synced_hard_state.commit())) {
    Line(absl::StrCat("lost unsynced ", FormatHardState(written), "; storage keeps ",
                      FormatHardState(n.synced_hard_state)));
    n.storage->SetHardState(n.synced_hard_state);
  }
  if (n.unpersisted) {
    Line("lost un-persisted Ready:");
    indent_ += 2;
    for (const std::string& l : FormatReady(*n.unpersisted)) Line(l);
    indent_ -= 2;
  }
  n.unpersisted.reset();
  n.raw.reset();
  n.applied.clear();
  for (const raftpb::Message& m : inbox_[id]) Line("lost inbound: " + FormatMessage(m));
  inbox_.erase(id);
  for (auto& [to, msgs] : inbox_) {
    std::vector<raftpb::Message> keep;
    for (raftpb::Message& m : msgs) {
      if (m.from() == id) {
        Line("lost outbound: " + FormatMessage(m));
      } else {
        keep.push_back(std::move(m));
      }
    }
    msgs = std::move(keep);
  }
  indent_ -= 2;
}

// ---- Readies and messages ----

absl::Status InteractionEnv::ProcessReadyCmd(const ScriptCommand& cmd) {
  ENV_ASSIGN_OR_RETURN(persist_s, KeyValue(cmd, "persist", "true"));
  ENV_ASSIGN_OR_RETURN(persist, ParseBool(persist_s));
  ENV_ASSIGN_OR_RETURN(ids, PositionalIds(cmd));
  if (ids.empty()) return absl::InvalidArgumentError("usage: process-ready ID... [persist=false]");
  for (uint64_t id : ids) {
    ENV_ASSIGN_OR_RETURN(node, Running(id));
    if (nodes_.at(id).unpersisted) {
      return absl::FailedPreconditionError(absl::StrCat(id, " holds an un-persisted Ready: persist it first"));
    }
    if (!node->HasReady()) {
      Line(absl::StrCat("> ", id, " has no Ready"));
      continue;
    }
    ProcessReady(id, persist);
  }
  return absl::OkStatus();
}

bool InteractionEnv::ProcessReady(uint64_t id, bool persist) {
  Node& n = nodes_.at(id);
  if (n.raw == nullptr || n.unpersisted || !n.raw->HasReady()) return false;
  Ready rd = n.raw->GetReady();
  Line(absl::StrCat("> ", id, " handling Ready"));
  indent_ += 2;
  for (const std::string& l : FormatReady(rd)) Line(l);
  if (persist) {
    PersistReady(id, rd);
  } else {
    Line(absl::StrCat("not persisted: held, with its messages, until `persist ", id, "`"));
    n.unpersisted = std::move(rd);
  }
  indent_ -= 2;
  return true;
}

void InteractionEnv::PersistReady(uint64_t id, const Ready& rd) {
  Node& n = nodes_.at(id);
  n.storage->Append(rd.entries);
  if (rd.hard_state) n.storage->SetHardState(*rd.hard_state);
  // A synced Ready makes everything written before it durable too.
  if (rd.must_sync) n.synced_hard_state = n.storage->InitialHardState();
  for (const raftpb::Message& m : rd.messages) inbox_[m.to()].push_back(m);
  for (const raftpb::Entry& e : rd.committed_entries) {
    if (e.type() == raftpb::ENTRY_CONF_CHANGE) {
      raftpb::ConfChange cc;
      if (!cc.ParseFromString(e.data())) {
        Line(absl::StrCat("undecodable configuration change at index ", e.index()));
        continue;
      }
      Line(absl::StrCat("applying configuration change ", FormatConfChange(cc)));
      n.raw->ApplyConfChange(cc);
    } else if (!e.data().empty()) {
      n.applied.push_back(e.data());
    }
  }
  n.raw->Advance(rd);
}

absl::Status InteractionEnv::DeliverMsgsCmd(const ScriptCommand& cmd) {
  std::set<uint64_t> senders;
  if (const ScriptArg* a = FindArg(cmd, "from")) {
    ENV_ASSIGN_OR_RETURN(ids, ParseIds(a->vals));
    senders.insert(ids.begin(), ids.end());
  }
  if (const ScriptArg* a = FindArg(cmd, "drop")) {
    ENV_ASSIGN_OR_RETURN(ids, ParseIds(a->vals));
    for (uint64_t id : ids) DropMsgs(id);
  }
  ENV_ASSIGN_OR_RETURN(ids, PositionalIds(cmd));
  for (uint64_t id : ids) {
    if (!DeliverMsgs(id, senders)) Line(absl::StrCat("> ", id, " has no messages"));
  }
  return absl::OkStatus();
}

bool InteractionEnv::DeliverMsgs(uint64_t id, const std::set<uint64_t>& senders) {
  auto it = inbox_.find(id);
  if (it == inbox_.end()) return false;
  std::vector<raftpb::Message> now, later;
  for (raftpb::Message& m : it->second) {
    (senders.empty() || senders.count(m.from()) > 0 ? now : later).push_back(std::move(m));
  }
  it->second = std::move(later);
  if (now.empty()) return false;
  Line(absl::StrCat("> ", id, " receiving messages"));
  indent_ += 2;
  for (const raftpb::Message& m : now) {
    RawNode* node = nodes_.at(id).raw.get();
    if (node == nullptr) {
      Line(absl::StrCat("dropped (", id, " is down): ", FormatMessage(m)));
      continue;
    }
    if (cuts_.count({m.from(), m.to()}) > 0) {
      Line("dropped (partition): " + FormatMessage(m));
      continue;
    }
    Line(FormatMessage(m));
    const absl::Status s = node->Step(m);
    if (!s.ok()) Line(absl::StrCat("error: ", s.message()));
  }
  indent_ -= 2;
  return true;
}

void InteractionEnv::DropMsgs(uint64_t id) {
  auto it = inbox_.find(id);
  if (it == inbox_.end() || it->second.empty()) return;
  Line(absl::StrCat("> ", id, " dropping messages"));
  indent_ += 2;
  for (const raftpb::Message& m : it->second) Line("dropped: " + FormatMessage(m));
  indent_ -= 2;
  inbox_.erase(it);
}

absl::Status InteractionEnv::Stabilize(const std::vector<uint64_t>& ids) {
  // Bounded: Raft without ticks goes quiet within a few rounds; looping on means a bug worth failing loudly on.
  for (int round = 0; round < 1000; ++round) {
    bool done = true;
    for (uint64_t id : ids) done &= !ProcessReady(id, /*persist=*/true);
    for (uint64_t id : ids) done &= !DeliverMsgs(id, {});
    if (done) return absl::OkStatus();
  }
  return absl::InternalError("stabilize: no quiescence after 1000 rounds");
}

}  // namespace detcd::raft::rafttest
