// KeyIndex: the history of one key in the MVCC store — every revision at which it was written or deleted, in order,
// with the create revision and version of the generation each write belongs to. It answers "what did this key look
// like at revision R" (Get), "which changes after R" (Since, for watchers catching up) and forgets what compaction
// makes unreachable (Compact). A generation runs from a key's creation to its deletion (tombstone): versions count
// from 1 in each generation, and a deleted key reads as absent until it is put again. It stores no values (the store
// keeps those by revision) and never reads a clock or does IO.
#ifndef DETCD_KV_KEY_INDEX_H_
#define DETCD_KV_KEY_INDEX_H_

#include <cstdint>
#include <vector>

#include "kv/revision.h"

namespace detcd::kv {

// One change of a key: written (put) or deleted (tombstone) at `rev`.
struct KeyChange {
  Revision rev;
  int64_t create_main = 0;  // main revision that created the generation (0 for a tombstone)
  int64_t version = 0;      // version within the generation (0 for a tombstone)
  bool tombstone = false;
};

// What a key looked like at some revision.
struct KeyAt {
  Revision mod;  // the revision of the write visible at that point
  int64_t create_main = 0;
  int64_t version = 0;
};

class KeyIndex {
 public:
  // A put at rev (after every change recorded so far). Returns the change recorded.
  const KeyChange& Put(Revision rev);
  // A delete at rev; the key must be live. Returns false (and records nothing) if it is not.
  bool Tombstone(Revision rev);

  // The key as of main revision at_rev: false if it did not exist then (never created, or deleted).
  bool Get(int64_t at_rev, KeyAt* out) const;
  // Live at the newest revision.
  bool IsLive() const { return !changes_.empty() && !changes_.back().tombstone; }
  // Changes with main revision >= rev, oldest first.
  void Since(int64_t rev, std::vector<KeyChange>* out) const;

  // Rebuilding from a snapshot: appends a change as recorded, if it is consistent with the ones before it (after
  // them; versions and create revisions that follow on; a tombstone only on a live key). Returns false otherwise.
  bool Restore(const KeyChange& c);

  // Compaction at main revision at_rev: keeps what a read at any revision >= at_rev can see (the newest change
  // <= at_rev unless it is a tombstone older than at_rev, and everything after it); every change dropped is appended
  // to removed.
  // drop_tombstone_at_rev is test-only breakage (see MvccStore::set_testing_revision_from_records).
  void Compact(int64_t at_rev, std::vector<Revision>* removed, bool drop_tombstone_at_rev = false);
  bool Empty() const { return changes_.empty(); }
  const std::vector<KeyChange>& changes() const { return changes_; }

 private:
  std::vector<KeyChange> changes_;  // ascending by rev
};

}  // namespace detcd::kv

#endif  // DETCD_KV_KEY_INDEX_H_
