#include "load/load_options.h"

namespace detcd::load {
namespace {

struct Named {
  Workload workload;
  absl::string_view name;
};
constexpr Named kWorkloads[] = {
    {Workload::kRegister, "register"}, {Workload::kPut, "put"},
    {Workload::kRange, "range"},       {Workload::kRangeSerializable, "range-serializable"},
    {Workload::kTxnPut, "txn-put"},    {Workload::kWatch, "watch"},
    {Workload::kLeaseKeepalive, "lease-keepalive"},
};

}  // namespace

absl::string_view WorkloadName(Workload w) {
  for (const Named& n : kWorkloads) {
    if (n.workload == w) return n.name;
  }
  return "unknown";
}

std::optional<Workload> ParseWorkload(absl::string_view name) {
  for (const Named& n : kWorkloads) {
    if (n.name == name) return n.workload;
  }
  return std::nullopt;
}

}  // namespace detcd::load
