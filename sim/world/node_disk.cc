#include "sim/world/node_disk.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"

namespace detcd::sim {

void NodeDisk::SetError(bool on_sync, bool on) {
  if (on_sync) {
    disk_.set_sync_error(on);
  } else {
    disk_.set_write_error(on);
  }
}

void NodeDisk::SetFull(bool on) { disk_.set_capacity_bytes(on ? std::max<uint64_t>(disk_.used_bytes(), 1) : 0); }

std::string NodeDisk::FlipBit(simpb::BitRot::Where where, Prng* prng) {
  const std::string prefix = where == simpb::BitRot::WAL        ? "/data/member/wal/"
                             : where == simpb::BitRot::SNAPSHOT ? "/data/member/snap/"
                                                                : "/data/";
  return disk_.FlipRandomBit(prefix, prng);
}

void NodeDisk::PowerOff(simpb::CrashLoss loss, Prng* prng) {
  store_.Close();
  if (loss == simpb::CRASH_LOSS_UNSPECIFIED) loss = static_cast<simpb::CrashLoss>(prng->Range(1, 3));
  disk_.Crash(loss == simpb::TORN_PREFIX      ? CrashLoss::kTornPrefix
              : loss == simpb::RANDOM_SECTORS ? CrashLoss::kRandomSectors
                                              : CrashLoss::kAll,
              prng);
}

}  // namespace detcd::sim
