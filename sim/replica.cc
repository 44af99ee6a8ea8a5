#include "sim/replica.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/check.h"

namespace detcd::sim {

std::string RequestId(absl::string_view value) {
  const size_t colon = value.find(':');
  return std::string(colon == absl::string_view::npos ? value : value.substr(0, colon));
}

void Replica::Apply(const raftpb::Entry& entry) {
  DETCD_CHECK_MSG(entry.index() > applied_index_, "entries applied out of order");
  applied_index_ = entry.index();
  if (entry.type() != raftpb::ENTRY_NORMAL || entry.data().empty()) return;  // a new leader's empty entry
  std::string id = RequestId(entry.data());
  if (id_set_.insert(id).second) ids_.push_back(std::move(id));
}

// Format: "replica <applied_index>\n" then one id per line. Ids never contain '\n' (RequestId stops at ':' and
// the workload builds ids from digits and letters).
std::string Replica::Snapshot() const {
  std::string out = absl::StrCat("replica ", applied_index_, "\n");
  for (const std::string& id : ids_) absl::StrAppend(&out, id, "\n");
  return out;
}

absl::Status Replica::Restore(absl::string_view data) {
  std::vector<absl::string_view> lines = absl::StrSplit(data, '\n');
  uint64_t index = 0;
  if (lines.empty() || !absl::ConsumePrefix(&lines[0], "replica ") || !absl::SimpleAtoi(lines[0], &index)) {
    return absl::DataLossError("replica snapshot: bad header");
  }
  if (lines.back() != "") return absl::DataLossError("replica snapshot: truncated");
  std::vector<std::string> ids;
  std::set<std::string> set;
  for (size_t i = 1; i + 1 < lines.size(); ++i) {
    if (!set.insert(std::string(lines[i])).second) {
      return absl::DataLossError(absl::StrCat("replica snapshot: duplicate id ", lines[i]));
    }
    ids.emplace_back(lines[i]);
  }
  applied_index_ = index;
  ids_ = std::move(ids);
  id_set_ = std::move(set);
  return absl::OkStatus();
}

void Replica::Clear() {
  applied_index_ = 0;
  ids_.clear();
  id_set_.clear();
}

}  // namespace detcd::sim
