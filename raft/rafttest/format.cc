#include "raft/rafttest/format.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace detcd::raft::rafttest {

namespace {

// Printable data: quoted, with control and non-ASCII bytes escaped so that output stays one line.
std::string Quote(const std::string& data) {
  std::string out = "\"";
  for (unsigned char c : data) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c >= 0x7f) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  out.push_back('"');
  return out;
}

}  // namespace

std::string FormatConfChange(const raftpb::ConfChange& cc) {
  const char* what = "?";
  switch (cc.type()) {
    case raftpb::CONF_CHANGE_ADD_NODE:
      what = "add";
      break;
    case raftpb::CONF_CHANGE_REMOVE_NODE:
      what = "remove";
      break;
    case raftpb::CONF_CHANGE_UPDATE_NODE:
      what = "update";
      break;
    case raftpb::CONF_CHANGE_ADD_LEARNER_NODE:
      what = "learner";
      break;
    default:
      break;
  }
  return absl::StrCat(what, "=", cc.node_id());
}

std::string FormatEntry(const raftpb::Entry& e) {
  if (e.type() == raftpb::ENTRY_CONF_CHANGE) {
    raftpb::ConfChange cc;
    if (cc.ParseFromString(e.data())) {
      return absl::StrCat(e.term(), "/", e.index(), " EntryConfChange ", FormatConfChange(cc));
    }
    return absl::StrCat(e.term(), "/", e.index(), " EntryConfChange ", Quote(e.data()));
  }
  return absl::StrCat(e.term(), "/", e.index(), " EntryNormal ", Quote(e.data()));
}

std::string FormatEntries(const std::vector<raftpb::Entry>& entries) {
  return absl::StrCat(
      "[", absl::StrJoin(entries, ", ", [](std::string* out, const raftpb::Entry& e) { out->append(FormatEntry(e)); }),
      "]");
}

std::string FormatMessage(const raftpb::Message& m) {
  std::string s = absl::StrCat(m.from(), "->", m.to(), " ", MessageTypeName(m.type()), " Term:", m.term(),
                               " Log:", m.log_term(), "/", m.index());
  if (m.reject()) absl::StrAppend(&s, " Rejected (Hint: ", m.reject_hint(), ")");
  if (m.commit() != 0) absl::StrAppend(&s, " Commit:", m.commit());
  if (m.entries_size() > 0) {
    absl::StrAppend(&s, " Entries:", FormatEntries(std::vector<raftpb::Entry>(m.entries().begin(), m.entries().end())));
  }
  if (!m.context().empty()) absl::StrAppend(&s, " Context:", Quote(m.context()));
  return s;
}

std::string FormatHardState(const raftpb::HardState& hs) {
  return absl::StrCat("HardState Term:", hs.term(), " Vote:", hs.vote(), " Commit:", hs.commit());
}

std::string FormatSoftState(const SoftState& ss) {
  return absl::StrCat("Lead:", ss.lead, " State:", StateName(ss.state));
}

std::vector<std::string> FormatReady(const Ready& rd) {
  std::vector<std::string> out;
  out.push_back(absl::StrCat("Ready MustSync=", rd.must_sync ? "true" : "false", ":"));
  if (rd.soft_state) out.push_back(FormatSoftState(*rd.soft_state));
  if (rd.hard_state) out.push_back(FormatHardState(*rd.hard_state));
  if (!rd.entries.empty()) {
    out.push_back("Entries:");
    for (const raftpb::Entry& e : rd.entries) out.push_back("  " + FormatEntry(e));
  }
  if (!rd.committed_entries.empty()) {
    out.push_back("CommittedEntries:");
    for (const raftpb::Entry& e : rd.committed_entries) out.push_back("  " + FormatEntry(e));
  }
  if (!rd.messages.empty()) {
    out.push_back("Messages:");
    for (const raftpb::Message& m : rd.messages) out.push_back("  " + FormatMessage(m));
  }
  if (!rd.read_states.empty()) {
    out.push_back("ReadStates:");
    for (const ReadState& rs : rd.read_states) {
      out.push_back(absl::StrCat("  Index:", rs.index, " RequestCtx:", Quote(rs.request_ctx)));
    }
  }
  return out;
}

}  // namespace detcd::raft::rafttest
