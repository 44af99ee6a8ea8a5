// MvccStore: etcd's multi-version key-value store, in memory. Every write transaction produces a new main revision;
// every version of every key is kept, addressable by revision, until compaction removes what no read at or after the
// compaction revision can see. Reads name a revision (0 = current) and see the keyspace exactly as it was then.
// Keys are ordered bytewise; a range is [key, end) with etcd's conventions (empty end: the single key; end "\0": every
// key >= key). The store is a pure, single-threaded value: no clock, no IO, no threads; errors for bad revisions are
// returned as absl::Status with etcd's messages.
#ifndef DETCD_KV_MVCC_STORE_H_
#define DETCD_KV_MVCC_STORE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/kv_snapshot.pb.h"
#include "api/mvccpb/kv.pb.h"
#include "kv/key_index.h"
#include "kv/revision.h"
#include "kv/shared_key.h"
#include "kv/value_bytes.h"

namespace detcd::kv {

// etcd's mvcc errors, as its gRPC API words them (OUT_OF_RANGE).
absl::Status ErrCompacted();  // "etcdserver: mvcc: required revision has been compacted"
absl::Status ErrFutureRev();  // "etcdserver: mvcc: required revision is a future revision"
bool IsErrCompacted(const absl::Status& s);
bool IsErrFutureRev(const absl::Status& s);

struct RangeOptions {
  int64_t limit = 0;      // at most this many kvs (0: no limit); count still counts every key in range
  int64_t rev = 0;        // 0: the current revision
  bool count_only = false;
};

struct RangeResult {
  std::vector<mvccpb::KeyValue> kvs;
  int64_t count = 0;  // keys in range at that revision, regardless of limit
  int64_t rev = 0;    // the store's current revision when the range was served (etcd's header revision)
};

class MvccStore {
 public:
  // An empty store at `initial_revision`: its first write makes initial_revision + 1. etcd's stores start at 1 (a
  // fresh etcd's first put is revision 2), which is what a member uses; 0 keeps unit tests' arithmetic plain.
  explicit MvccStore(int64_t initial_revision = 0) : rev_(initial_revision) {}

  int64_t rev() const { return rev_; }
  int64_t compacted_rev() const { return compacted_rev_; }
  // The compaction revision as etcd reports it (its compactMainRev): -1 until the first compaction.
  int64_t etcd_compacted_rev() const { return compacted_rev_ > 0 ? compacted_rev_ : -1; }
  size_t keys() const { return index_.size(); }          // keys with any history (live or not)
  size_t live_keys() const { return live_keys_; }        // keys live now (etcd_debugging_mvcc_keys_total)
  size_t records() const { return records_.size(); }     // versions kept
  // Bytes the kept versions take (keys, values and a fixed overhead per version): what the quota limits.
  int64_t bytes() const { return bytes_; }

  absl::StatusOr<RangeResult> Range(const std::string& key, const std::string& end, const RangeOptions& opts) const;

  // A write transaction: every change made through it shares main revision rev() + 1, and reads through it see
  // those changes. The store's revision moves when End() is called, and only if something changed. Only one may be
  // open at a time; the store must not be written otherwise while it is.
  class WriteTxn {
   public:
    explicit WriteTxn(MvccStore* store);
    ~WriteTxn();  // ends the transaction if End() was not called
    WriteTxn(const WriteTxn&) = delete;
    WriteTxn& operator=(const WriteTxn&) = delete;

    absl::StatusOr<RangeResult> Range(const std::string& key, const std::string& end, RangeOptions opts) const;
    // What a put replaced: whether the key was live, and its lease then (0: none).
    struct Replaced {
      bool existed = false;
      int64_t lease = 0;
    };
    // Writes key = value with lease (0: none). prev (if not null) receives the previous version, or is cleared if
    // the key did not exist. The new version is the last of events(). The value's bytes are copied twice (the
    // version's record and the event), nothing else.
    Replaced Put(const std::string& key, absl::string_view value, int64_t lease, mvccpb::KeyValue* prev);
    // Deletes every live key in [key, end); returns how many. prev (if not null) receives the deleted versions.
    int64_t DeleteRange(const std::string& key, const std::string& end, std::vector<mvccpb::KeyValue>* prev);
    // The changes so far, as watch events (a put carries the new kv; a delete the key and mod_revision).
    const std::vector<mvccpb::Event>& events() const { return events_; }
    // The revision this transaction writes at (rev() + 1), and whether it wrote anything yet.
    int64_t write_rev() const { return main_; }
    bool changed() const { return sub_ > 0; }
    // Makes the changes the store's new revision (if any). Returns the events.
    std::vector<mvccpb::Event> End();

   private:
    MvccStore* store_;
    int64_t main_;
    int64_t sub_ = 0;
    bool ended_ = false;
    std::vector<mvccpb::Event> events_;
  };

  // Compacts at rev: afterwards reads below rev fail with ErrCompacted. Errors: ErrCompacted if rev <= the current
  // compaction revision, ErrFutureRev if rev > rev().
  absl::Status Compact(int64_t rev);

  // Every change with main revision in [from, to], in revision order, as events. Fails with ErrCompacted if from
  // < compacted_rev() (history before it is gone; the compaction revision itself is kept). For watchers catching up.
  absl::StatusOr<std::vector<mvccpb::Event>> Changes(int64_t from, int64_t to) const;

  // Calls fn(key, lease) for every key live now whose version has a lease, in key order; nothing is copied (a
  // restore reattaching leases must not copy the state).
  void ForEachLeasedKey(const std::function<void(absl::string_view key, int64_t lease)>& fn) const;

  // etcd's HashKV at rev (0: now): the CRC-32C etcd 3.4 computes over its backend's versions up to rev
  // (kv/etcd_version_bytes.h), the same number for the same history, for comparing replicas and checking a move from
  // etcd. Errors as Range, and ErrCompacted at the compaction revision itself (as etcd).
  absl::StatusOr<uint32_t> HashKV(int64_t rev) const;

  // The whole store as bytes, and back. Restore refuses bytes that do not decode to a consistent store.
  std::string Serialize() const;
  absl::Status Restore(const std::string& data);

  // ---- a snapshot in progress ----
  // A version as the store keeps it (its revision is the key it is kept under). The key's bytes are the key
  // index's own (shared, not copied: see SharedKey).
  struct Record {
    SharedKey key;
    ValueBytes value;
    int64_t create_main = 0;
    int64_t version = 0;
    int64_t lease = 0;
    bool tombstone = false;
  };
  // Every version Serialize writes, oldest first, without making the bytes (a digest of the state in O(1) memory).
  void ForEachVersion(const std::function<void(const Revision&, const Record&)>& fn) const;
  // Pins the versions with main revision <= rev (rev(): what a snapshot taken now holds): they stay readable through
  // VisitVersions until that pin goes, even if a compaction removes them meanwhile (compaction still hides them from
  // reads, hashes, watchers and the quota at once: only their memory is kept). Writes go on as usual (they only add
  // versions above rev). Several pins may be held at once, each seeing exactly the versions kept when it was made:
  // the member's own snapshot holds one (Pin/Unpin), each reader outside it (Maintenance.Snapshot) one of its own
  // (AddPin/RemovePin).
  // A version as it goes into a snapshot (Serialize and the piecewise snapshot writer make the same records).
  static void ToStoreRecord(const Revision& rev, const Record& r, kvpb::StoreRecord* out);
  using PinId = uint64_t;
  PinId AddPin(int64_t rev);
  // Drops the pin; the versions compaction removed that no other pin still sees are freed.
  void RemovePin(PinId pin);
  bool pinned(PinId pin) const { return pins_.count(pin) > 0; }
  int64_t pin_rev(PinId pin) const;
  size_t pins() const { return pins_.size(); }
  // Versions compaction removed and pins still keep.
  size_t held_versions() const { return held_.size(); }
  // The member's own snapshot's pin (one at a time).
  void Pin(int64_t rev);
  void Unpin();
  int64_t pinned_rev() const { return own_pin_ ? pin_rev(*own_pin_) : -1; }  // -1: none
  // Calls fn(rev, record) for at most max versions with revision >= from and main revision <= to_main (to_main <= the
  // own pin's revision, if one is pinned), oldest first, the versions compaction removed since the own pin included.
  // Returns the revision to resume from, or nullopt once every such version was visited. fn returns false to stop
  // after that version (a caller bounding the bytes it makes).
  std::optional<Revision> VisitVersions(Revision from, int64_t to_main, size_t max,
                                        const std::function<bool(const Revision&, const Record&)>& fn) const;
  // The same for `pin`'s versions (main revision <= its revision, as they were when it was made).
  std::optional<Revision> VisitPinnedVersions(PinId pin, Revision from, size_t max,
                                              const std::function<bool(const Revision&, const Record&)>& fn) const;

  // A restore made a version at a time (a snapshot decoded as it is read, never held whole): Add takes the versions
  // in revision order, refusing one out of order or inconsistent with its key's history; FinishRestore checks them
  // against the snapshot's revisions and replaces the store's contents with them. The store is untouched until
  // then (and if either refuses).
  class Restoring {
   public:
    Restoring() = default;
    Restoring(Restoring&&) = default;
    Restoring& operator=(Restoring&&) = default;
    absl::Status Add(const kvpb::StoreRecord& in);
    size_t records() const { return records_.size(); }

   private:
    friend class MvccStore;
    using Index = absl::btree_map<SharedKey, KeyIndex, SharedKeyLess>;
    Index index_;
    absl::btree_map<Revision, Record> records_;
    int64_t bytes_ = 0;
  };
  absl::Status FinishRestore(Restoring restoring, int64_t revision, int64_t compacted_revision);

  // Test-only breakage (etcd 3.4's #17780): compaction also drops a tombstone at the compaction revision, and
  // Restore takes the revision from the newest record kept instead of the snapshot — so a restart after a
  // compaction at a delete makes the revision go back.
  void set_testing_revision_from_records(bool on) { testing_revision_from_records_ = on; }

 private:
  // Resolves rev 0 and checks it against [compacted_rev_, current].
  absl::StatusOr<int64_t> ReadRev(int64_t rev, int64_t current) const;
  absl::StatusOr<RangeResult> RangeAt(const std::string& key, const std::string& end, const RangeOptions& opts,
                                      int64_t current) const;
  mvccpb::KeyValue ToKeyValue(const Revision& rev, const Record& r) const;
  // Calls fn(key, index) for every key in [key, end) in order, until fn returns false.
  using Index = absl::btree_map<SharedKey, KeyIndex, SharedKeyLess>;
  template <typename Fn>
  void ForEachKey(const std::string& key, const std::string& end, Fn fn) const;
  void Insert(const Revision& rev, Record r);

  static int64_t RecordBytes(const Record& r) { return static_cast<int64_t>(r.key.size() + r.value.size()) + 64; }
  // The index's entry for key, created (with the key's one shared copy of its bytes) if it has none.
  Index::iterator IndexEntry(const std::string& key);

  // The keys of the index live now, kept as writes make and delete them.
  size_t CountLiveKeys() const;
  int64_t rev_ = 0;
  int64_t compacted_rev_ = 0;
  int64_t bytes_ = 0;
  size_t live_keys_ = 0;
  bool txn_open_ = false;
  bool testing_revision_from_records_ = false;
  Index index_;
  absl::btree_map<Revision, Record> records_;
  // A pin: its revision, and how many compactions had run when it was made (it sees the versions removed by later
  // ones).
  struct PinInfo {
    int64_t rev = 0;
    uint64_t compactions = 0;
  };
  // A version compaction removed while a pin still saw it; `compaction`: which compaction (counted from 1).
  struct Held {
    Record record;
    uint64_t compaction = 0;
  };
  static bool Sees(const PinInfo& pin, const Revision& rev, const Held& h) {
    return rev.main <= pin.rev && h.compaction > pin.compactions;
  }
  std::optional<Revision> Visit(Revision from, int64_t to_main, const PinInfo* pin, size_t max,
                                const std::function<bool(const Revision&, const Record&)>& fn) const;
  uint64_t compactions_ = 0;
  PinId next_pin_ = 1;
  std::map<PinId, PinInfo> pins_;
  std::optional<PinId> own_pin_;
  // Versions compaction removed from records_ that some pin still sees, kept until no pin does.
  absl::btree_map<Revision, Held> held_;
};

}  // namespace detcd::kv

#endif  // DETCD_KV_MVCC_STORE_H_
