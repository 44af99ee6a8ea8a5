#include "sim/world/snapshot_sends.h"

#include "absl/strings/str_cat.h"

namespace detcd::sim {

void SnapshotSends::Sent(const raftpb::Message& m, uint64_t incarnation) {
  const Key key = std::make_tuple(m.from(), m.to(), m.snapshot().metadata().index());
  in_flight_[key] = incarnation;
  trace_->Record(loop_->Now(), absl::StrCat("node ", m.from(), " sends snapshot ", m.snapshot().metadata().index(),
                                            " to ", m.to()));
  loop_->ScheduleAfter(timeout_us_, [this, key, incarnation] {
    auto it = in_flight_.find(key);
    if (it == in_flight_.end() || it->second != incarnation) return;  // arrived, or sent again since
    in_flight_.erase(it);
    report_(std::get<0>(key), incarnation, std::get<1>(key), /*failed=*/true);
  });
}

void SnapshotSends::Delivered(const raftpb::Message& m) {
  auto it = in_flight_.find(std::make_tuple(m.from(), m.to(), m.snapshot().metadata().index()));
  if (it == in_flight_.end()) return;
  const uint64_t incarnation = it->second;
  in_flight_.erase(it);
  report_(m.from(), incarnation, m.to(), /*failed=*/false);
}

}  // namespace detcd::sim
