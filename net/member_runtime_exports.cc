// MemberRuntime: its state exports, for Maintenance.Snapshot streaming etcd's file (net/etcd_snapshot_stream.h) from
// a state held still on the core (kv::NodeCore's state exports): begun, stepped a bounded batch per trip to the core
// and ended from the gRPC handler's thread; the core only ever does one bounded slice of the work at a time. An export
// begun is always ended: by its caller, or here when the caller stopped waiting before the core began it.
#include <memory>
#include <utility>

#include "kv/errors.h"
#include "net/member_runtime.h"

namespace detcd::net {

absl::StatusOr<kv::NodeCore::StateExport> MemberRuntime::BeginStateExport(absl::Duration timeout) {
  // Not OnCore: an export begun after its caller gave up waiting would keep its pin forever. The core begins it
  // only while the caller still waits (decided under the lock both take).
  struct Begin {
    std::mutex mu;
    std::condition_variable cv;
    bool begun = false;
    bool caller_gone = false;
    kv::NodeCore::StateExport e;
  };
  auto b = std::make_shared<Begin>();
  const bool posted = Post([this, b] {
    std::lock_guard<std::mutex> l(b->mu);
    if (b->caller_gone) return;
    b->e = core_->BeginStateExport();
    b->begun = true;
    b->cv.notify_all();
  });
  std::unique_lock<std::mutex> l(b->mu);
  if (!posted || !b->cv.wait_for(l, absl::ToChronoMicroseconds(timeout), [&] { return b->begun; })) {
    b->caller_gone = true;
    return running() ? kv::ErrTimeout() : kv::ErrStopped();
  }
  return std::move(b->e);
}

absl::StatusOr<MemberRuntime::ExportedVersions> MemberRuntime::StepStateExport(uint64_t id, kv::Revision from,
                                                                               size_t max_records, size_t max_bytes,
                                                                               absl::Duration timeout) {
  std::optional<absl::StatusOr<ExportedVersions>> r = OnCore<absl::StatusOr<ExportedVersions>>(
      [this, id, from, max_records, max_bytes]() -> absl::StatusOr<ExportedVersions> {
        ExportedVersions v;
        absl::StatusOr<std::optional<kv::Revision>> next =
            core_->StepStateExport(id, from, max_records, max_bytes, &v.records);
        if (!next.ok()) return next.status();
        v.next = *next;
        return v;
      },
      timeout);
  if (!r) return running() ? kv::ErrTimeout() : kv::ErrStopped();
  return *std::move(r);
}

void MemberRuntime::EndStateExport(uint64_t id) {
  (void)Post([this, id] { core_->EndStateExport(id); }, Drainer::kCoreThread);
}

absl::StatusOr<MemberRuntime::ExportCounts> MemberRuntime::StateExportCounts(absl::Duration timeout) {
  std::optional<ExportCounts> r = OnCore<ExportCounts>(
      [this] {
        return ExportCounts{core_->state_exports(), core_->store().pins(), core_->store().held_versions()};
      },
      timeout);
  if (!r) return running() ? kv::ErrTimeout() : kv::ErrStopped();
  return *r;
}

}  // namespace detcd::net
