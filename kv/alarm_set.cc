#include "kv/alarm_set.h"

#include "base/check.h"

namespace detcd::kv {

bool AlarmSet::Activate(uint64_t member, etcdserverpb::AlarmType type) {
  if (type == etcdserverpb::NONE) return false;
  return alarms_.emplace(member, static_cast<int>(type)).second;
}

bool AlarmSet::Deactivate(uint64_t member, etcdserverpb::AlarmType type) {
  return alarms_.erase({member, static_cast<int>(type)}) > 0;
}

bool AlarmSet::Has(etcdserverpb::AlarmType type) const {
  for (const auto& [member, t] : alarms_) {
    if (t == static_cast<int>(type)) return true;
  }
  return false;
}

std::vector<etcdserverpb::AlarmMember> AlarmSet::List(etcdserverpb::AlarmType type) const {
  std::vector<etcdserverpb::AlarmMember> out;
  for (const auto& [member, t] : alarms_) {
    DETCD_CHECK_MSG(t != etcdserverpb::NONE && etcdserverpb::AlarmType_IsValid(t), "an alarm of no known type");
    if (type != etcdserverpb::NONE && t != static_cast<int>(type)) continue;
    etcdserverpb::AlarmMember& a = out.emplace_back();
    a.set_memberid(member);
    a.set_alarm(static_cast<etcdserverpb::AlarmType>(t));
  }
  return out;
}

void AlarmSet::Restore(const google::protobuf::RepeatedPtrField<etcdserverpb::AlarmMember>& alarms) {
  alarms_.clear();
  for (const etcdserverpb::AlarmMember& a : alarms) Activate(a.memberid(), a.alarm());
}

}  // namespace detcd::kv
