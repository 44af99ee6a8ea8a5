// AlarmSet: the cluster's raised alarms as etcd's alarm store keeps them — one entry per (member, alarm type), raised
// and cleared by applied Alarm requests, listed in member then type order, carried in the state snapshot. It only
// records; what an alarm stops (NOSPACE: writes that grow the store; CORRUPT: every write) is the core's to decide.
// It never holds an entry of type NONE.
#ifndef DETCD_KV_ALARM_SET_H_
#define DETCD_KV_ALARM_SET_H_

#include <cstdint>
#include <set>
#include <utility>
#include <vector>

#include "api/etcdserverpb/rpc.pb.h"
#include "google/protobuf/repeated_field.h"

namespace detcd::kv {

class AlarmSet {
 public:
  // True if it was not raised for that member already. NONE is ignored (false).
  bool Activate(uint64_t member, etcdserverpb::AlarmType type);
  // True if it was raised (and is now cleared).
  bool Deactivate(uint64_t member, etcdserverpb::AlarmType type);
  bool Has(etcdserverpb::AlarmType type) const;
  // Every alarm of `type` (NONE: every alarm), as etcd's Alarm GET lists them.
  std::vector<etcdserverpb::AlarmMember> List(etcdserverpb::AlarmType type = etcdserverpb::NONE) const;
  // Replaces the set with what a snapshot carried.
  void Restore(const google::protobuf::RepeatedPtrField<etcdserverpb::AlarmMember>& alarms);
  bool empty() const { return alarms_.empty(); }

 private:
  std::set<std::pair<uint64_t, int>> alarms_;  // (member, type)
};

}  // namespace detcd::kv

#endif  // DETCD_KV_ALARM_SET_H_
