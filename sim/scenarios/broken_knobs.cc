#include "sim/scenarios/broken_knobs.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"

namespace detcd::sim {
namespace {

struct Knob {
  const char* name;
  bool* (*field)(RunOptions*);
};

const std::vector<Knob>& Knobs() {
  static const std::vector<Knob> knobs = {
      {"vote_ignores_log", [](RunOptions* o) { return &o->testing.vote_ignores_log; }},
      {"commit_earlier_terms", [](RunOptions* o) { return &o->testing.commit_earlier_terms; }},
      {"truncate_on_stale_append", [](RunOptions* o) { return &o->testing.truncate_on_stale_append; }},
      {"learners_in_quorum", [](RunOptions* o) { return &o->testing.learners_in_quorum; }},
      {"restore_keeps_config", [](RunOptions* o) { return &o->testing.restore_keeps_config; }},
      {"auto_compact_newest", [](RunOptions* o) { return &o->kv_testing.auto_compact_newest; }},
      {"leader_reads_locally", [](RunOptions* o) { return &o->kv_testing.leader_reads_locally; }},
      {"watch_future_start_from_now", [](RunOptions* o) { return &o->kv_testing.watch_future_start_from_now; }},
      {"watch_drop_when_full", [](RunOptions* o) { return &o->kv_testing.watch_drop_when_full; }},
      {"restore_revision_from_records", [](RunOptions* o) { return &o->kv_testing.restore_revision_from_records; }},
      {"revoke_keeps_keys", [](RunOptions* o) { return &o->kv_testing.revoke_keeps_keys; }},
      {"watch_ignores_restore", [](RunOptions* o) { return &o->kv_testing.watch_ignores_restore; }},
      {"send_before_durable", [](RunOptions* o) { return &o->kv_testing.send_before_durable; }},
      {"forget_reads_awaiting_apply", [](RunOptions* o) { return &o->kv_testing.forget_reads_awaiting_apply; }},
      {"read_before_apply", [](RunOptions* o) { return &o->kv_testing.read_before_apply; }},
      {"auth_check_at_admission_only", [](RunOptions* o) { return &o->kv_testing.auth_check_at_admission_only; }},
      {"auth_ignores_revision", [](RunOptions* o) { return &o->kv_testing.auth_ignores_revision; }},
      {"auth_serializable_reads_unchecked",
       [](RunOptions* o) { return &o->kv_testing.auth_serializable_reads_unchecked; }},
      {"ack_before_sync", [](RunOptions* o) { return &o->kv_ack_before_sync; }},
      {"corrupt_tail_is_torn", [](RunOptions* o) { return &o->wal_corrupt_tail_is_torn; }},
  };
  return knobs;
}

}  // namespace

std::string BrokenKnobNames() {
  std::vector<std::string> names;
  for (const Knob& k : Knobs()) names.push_back(k.name);
  return absl::StrJoin(names, ", ");
}

absl::Status ApplyBrokenKnobs(const std::string& list, RunOptions* options) {
  for (absl::string_view name : absl::StrSplit(list, ',', absl::SkipEmpty())) {
    bool found = false;
    for (const Knob& k : Knobs()) {
      if (name != k.name) continue;
      *k.field(options) = true;
      found = true;
    }
    if (!found)
      return absl::InvalidArgumentError(absl::StrCat("unknown knob '", name, "' (known: ", BrokenKnobNames(), ")"));
  }
  return absl::OkStatus();
}

}  // namespace detcd::sim
