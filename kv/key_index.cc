#include "kv/key_index.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace detcd::kv {

const KeyChange& KeyIndex::Put(Revision rev) {
  DETCD_CHECK_MSG(changes_.empty() || changes_.back().rev < rev,
                  absl::StrCat("put at ", rev.main, ".", rev.sub, " is not after the key's last change").c_str());
  KeyChange c;
  c.rev = rev;
  if (IsLive()) {
    c.create_main = changes_.back().create_main;
    c.version = changes_.back().version + 1;
  } else {
    c.create_main = rev.main;  // a new generation
    c.version = 1;
  }
  changes_.push_back(c);
  return changes_.back();
}

bool KeyIndex::Tombstone(Revision rev) {
  if (!IsLive()) return false;
  DETCD_CHECK(changes_.back().rev < rev);
  KeyChange c;
  c.rev = rev;
  c.tombstone = true;
  changes_.push_back(c);
  return true;
}

bool KeyIndex::Restore(const KeyChange& c) {
  if (!changes_.empty() && !(changes_.back().rev < c.rev)) return false;
  if (c.tombstone) {
    // First after compaction at the delete's own revision, or the end of a live generation.
    if (!(IsLive() || changes_.empty()) || c.version != 0 || c.create_main != 0) return false;
  } else if (IsLive()) {
    if (c.version != changes_.back().version + 1 || c.create_main != changes_.back().create_main) return false;
  } else if (!changes_.empty()) {
    if (c.version != 1 || c.create_main != c.rev.main) return false;  // a new generation after a delete
  } else if (c.version < 1 || c.create_main < 1 || c.create_main > c.rev.main) {
    return false;  // the first change kept after compaction may be any version of its generation
  }
  changes_.push_back(c);
  return true;
}

bool KeyIndex::Get(int64_t at_rev, KeyAt* out) const {
  // The newest change at or before at_rev decides.
  auto it = std::upper_bound(changes_.begin(), changes_.end(), at_rev,
                             [](int64_t r, const KeyChange& c) { return r < c.rev.main; });
  if (it == changes_.begin()) return false;
  --it;
  if (it->tombstone) return false;
  out->mod = it->rev;
  out->create_main = it->create_main;
  out->version = it->version;
  return true;
}

void KeyIndex::Since(int64_t rev, std::vector<KeyChange>* out) const {
  auto it = std::lower_bound(changes_.begin(), changes_.end(), rev,
                             [](const KeyChange& c, int64_t r) { return c.rev.main < r; });
  out->insert(out->end(), it, changes_.end());
}

void KeyIndex::Compact(int64_t at_rev, std::vector<Revision>* removed, bool drop_tombstone_at_rev) {
  auto keep = std::upper_bound(changes_.begin(), changes_.end(), at_rev,
                               [](int64_t r, const KeyChange& c) { return r < c.rev.main; });
  if (keep == changes_.begin()) return;  // nothing at or before at_rev
  --keep;
  // `keep` is what a read at at_rev sees; a tombstone there means "absent", which needs no record — unless it is at
  // at_rev itself, where a watcher starting at the compaction revision must still see the delete.
  if (keep->tombstone && (keep->rev.main < at_rev || drop_tombstone_at_rev)) ++keep;
  for (auto it = changes_.begin(); it != keep; ++it) removed->push_back(it->rev);
  changes_.erase(changes_.begin(), keep);
}

}  // namespace detcd::kv
