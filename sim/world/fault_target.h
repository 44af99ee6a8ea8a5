// FaultTarget: what the fault injector does to a simulated cluster's members (kv_cluster.h): crash and restart (also
// timed right after a send that depends on durable state), pause and resume, clock drift, disk faults, and the
// questions it needs answered to pick a target. Members are numbered 1..size() (these are hosts: the member a host
// runs may change when the membership does).
#ifndef DETCD_SIM_WORLD_FAULT_TARGET_H_
#define DETCD_SIM_WORLD_FAULT_TARGET_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "api/scenario.pb.h"

namespace detcd::sim {

class FaultTarget {
 public:
  virtual ~FaultTarget() = default;

  virtual int size() const = 0;
  virtual bool IsUp(uint64_t id) const = 0;
  virtual bool IsPaused(uint64_t id) const = 0;
  // The leader of the highest term among running members, or 0.
  virtual uint64_t Leader() const = 0;

  virtual void Crash(uint64_t id) = 0;
  virtual void Restart(uint64_t id) = 0;
  virtual void Pause(uint64_t id) = 0;
  virtual void Resume(uint64_t id) = 0;
  // The member's clock runs `factor` times as fast as real time.
  virtual void SetDrift(uint64_t id, double factor) = 0;
  // EIO on every write (or sync) while on; a full disk while on.
  virtual void SetDiskError(uint64_t id, bool on_sync, bool on) = 0;
  virtual void SetDiskFull(uint64_t id, bool on) = 0;
  // One synced bit flipped; returns what was hit, or "" if nothing synced is there yet.
  virtual std::string FlipBit(uint64_t id, simpb::BitRot::Where where) = 0;
  // One bit flipped in one of the newest `records` synced WAL log records; returns what was hit, or "" if none.
  virtual std::string CorruptWalTail(uint64_t id, uint32_t records) = 0;
  // The member loses power right after it hands the network the next message of kind `which` (a vote grant, an
  // append acknowledgement: simpb::CrashAfterSend), once; then `crashed` is called with what it sent. Arming again
  // replaces the trigger; Disarm removes it.
  virtual void ArmCrashAfterSend(uint64_t id, simpb::CrashAfterSend::Message which,
                                 std::function<void(const std::string& sent)> crashed) = 0;
  virtual void DisarmCrashAfterSend(uint64_t id) = 0;
  // The hosts running the learners of the Raft configuration of the member on `id` (none if it is down).
  virtual std::vector<uint64_t> LearnerHosts(uint64_t id) const = 0;
  // Whether the member on `id` can now catch up only by a leader's snapshot of a configuration it does not have: the
  // leader's log starts past the member's last entry, and the leader's configuration differs from the member's.
  virtual bool NeedsSnapshotOfNewConfig(uint64_t id) const = 0;
};

}  // namespace detcd::sim

#endif  // DETCD_SIM_WORLD_FAULT_TARGET_H_
