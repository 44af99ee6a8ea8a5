#include "raft/invariants.h"

#include "absl/strings/str_cat.h"

namespace detcd::raft {

std::optional<uint64_t> NodeView::TermAt(uint64_t index) const {
  if (index == committed) return committed_term;
  if (log == nullptr || index + 1 < first_index || index > last_index) return std::nullopt;
  const uint64_t t = log->Term(index);
  if (t == 0) return std::nullopt;  // not known any more (a snapshot waits to replace the log)
  return t;
}

NodeView ViewOf(const Raft& raft, bool with_quorum) {
  NodeView v;
  v.id = raft.id();
  v.term = raft.term();
  v.vote = raft.vote();
  v.lead = raft.lead();
  v.state = raft.state();
  v.committed = raft.log().committed();
  v.applied = raft.log().applied();
  v.first_index = raft.log().FirstIndex();
  v.last_index = raft.log().LastIndex();
  v.committed_term = raft.log().Term(v.committed);
  if (with_quorum && v.state == StateType::kLeader) v.quorum_match = raft.tracker().Committed();
  v.log = &raft.log();
  return v;
}

std::string NodeInvariants::Check(const Raft& raft) {
  const bool moved = prev_ && raft.state() == StateType::kLeader && raft.log().committed() > prev_->committed;
  return Check(ViewOf(raft, moved));
}

std::string NodeInvariants::Check(const NodeView& now) {
  std::string broken;
  auto fail = [&broken, &now](const std::string& what) {
    if (broken.empty()) broken = absl::StrCat("raft node ", now.id, " (term ", now.term, "): ", what);
  };
  if (now.applied > now.committed) fail(absl::StrCat("applied ", now.applied, " is beyond commit ", now.committed));
  if (now.committed > now.last_index) {
    fail(absl::StrCat("commit ", now.committed, " is beyond the last index ", now.last_index));
  }
  if (now.state == StateType::kLeader && (now.vote != now.id || now.lead != now.id)) {
    fail(absl::StrCat("a leader that voted for ", now.vote, " and names ", now.lead, " the leader"));
  }
  if (prev_) {
    const NodeView& was = *prev_;
    if (now.term < was.term) fail(absl::StrCat("the term went back from ", was.term));
    if (now.term == was.term && was.vote != kNone && now.vote != was.vote) {
      fail(absl::StrCat("the vote changed from ", was.vote, " to ", now.vote, " within the term"));
    }
    if (now.committed < was.committed) {
      fail(absl::StrCat("commit went back from ", was.committed, " to ", now.committed));
    } else if (const std::optional<uint64_t> t = now.TermAt(was.committed);
               was.committed_term != 0 && t && *t != was.committed_term) {
      fail(absl::StrCat("committed entry ", was.committed, " changed its term from ", was.committed_term, " to ", *t));
    }
    if (now.state == StateType::kLeader && now.committed > was.committed) {
      if (now.committed_term != now.term) {
        fail(absl::StrCat("a leader committed up to ", now.committed, ", an entry of an earlier term (",
                          now.committed_term, ")"));
      }
      if (now.committed > now.quorum_match) {
        fail(absl::StrCat("a leader committed up to ", now.committed, " but a quorum matched only ",
                          now.quorum_match));
      }
    }
  }
  prev_ = now;
  prev_->log = nullptr;  // the log is read only while it is the node's state now
  return broken;
}

}  // namespace detcd::raft
