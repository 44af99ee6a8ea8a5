// NodeCore: its state exports — the state as of one moment, for a reader on another thread that copies it a
// bounded piece per event (Maintenance.Snapshot). Each holds a pin of its own on the MVCC store, so writes,
// compactions and the member's own snapshots go on meanwhile; the pin goes when the reader ends the export or the
// state is replaced. It never does IO and never copies more than a step's bound at once.
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "kv/node_core.h"

namespace detcd::kv {

NodeCore::StateExport NodeCore::BeginStateExport() {
  StateExport e;
  e.id = ++last_export_id_;
  e.small = SmallState();
  e.revision = store_.rev();
  e.compacted_revision = store_.compacted_rev();
  e.applied_index = applied_index_;
  e.header = Header();
  const MvccStore::PinId pin = store_.AddPin(store_.rev());
  DETCD_CHECK(exports_.emplace(e.id, pin).second);
  return e;
}

absl::StatusOr<std::optional<Revision>> NodeCore::StepStateExport(uint64_t id, Revision from, size_t max_records,
                                                                  size_t max_bytes,
                                                                  std::vector<kvpb::StoreRecord>* out) {
  DETCD_CHECK(max_records > 0 && max_bytes > 0 && out != nullptr);
  auto it = exports_.find(id);
  if (it == exports_.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("detcd: the state export ", id, " ended (the member's state was replaced by a snapshot)"));
  }
  DETCD_CHECK(store_.pinned(it->second));
  size_t bytes = 0;
  const size_t before = out->size();
  std::optional<Revision> next = store_.VisitPinnedVersions(
      it->second, from, max_records, [&](const Revision& rev, const MvccStore::Record& r) {
        MvccStore::ToStoreRecord(rev, r, &out->emplace_back());
        bytes += r.key.size() + r.value.size();
        return bytes < max_bytes;
      });
  // Bounded: max_records, or max_bytes and the version that crossed it.
  DETCD_CHECK(out->size() - before <= max_records);
  DETCD_CHECK_MSG(!next || next->main <= store_.pin_rev(it->second), "an export past its revision");
  return next;
}

void NodeCore::EndStateExport(uint64_t id) {
  auto it = exports_.find(id);
  if (it == exports_.end()) return;
  store_.RemovePin(it->second);
  exports_.erase(it);
}

void NodeCore::EndStateExports() {
  for (const auto& [id, pin] : exports_) store_.RemovePin(pin);
  exports_.clear();
  DETCD_CHECK_MSG(store_.pins() == (store_.pinned_rev() >= 0 ? 1u : 0u), "a pin nobody holds");
}

}  // namespace detcd::kv
