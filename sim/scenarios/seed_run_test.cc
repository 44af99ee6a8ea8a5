#include "sim/scenarios/seed_run.h"

#include <string>

#include "base/prng.h"
#include "gtest/gtest.h"

namespace detcd::sim {
namespace {

// A SeedRun with every field set to something other than its default.
SeedRun FullRun() {
  SeedRun run;
  run.seed = 0xfedcba9876543210ULL;
  run.operations = 12;
  run.wall_s = 0.25;
  RunResult& r = run.result;
  r.outcome = Outcome::kLiveness;
  r.checker = "liveness";
  r.detail = std::string("not converged \xff\n") + '\0' + "end";
  r.failure_time_us = -3;
  r.trace_hash = "0123456789abcdef";
  r.simulated_us = 60000000;
  r.committed_index = 4;
  r.terms_with_leader = 5;
  r.faults = 6;
  r.crashes = 7;
  r.refusals = 8;
  r.snapshots_taken = 9;
  r.snapshots_installed = 10;
  r.messages_sent = 11;
  r.events = 12;
  r.kv = true;
  r.kv_requests = 13;
  r.kv_ok = 14;
  r.acked_puts = 15;
  r.kv_unknown = 16;
  r.watch_events = 17;
  r.watch_reconnects = 18;
  r.final_revision = 19;
  r.linearizability_undecided = 20;
  r.leases_granted = 21;
  r.leases_revoked = 22;
  r.members_added = 23;
  r.members_removed = 24;
  r.members_promoted = 25;
  r.leaders_removed = 26;
  r.removed_members_stopped = 27;
  r.auth_ok = 28;
  r.auth_denied = 29;
  r.auth_old_revision = 30;
  r.auth_ops_checked = 31;
  r.auth_writes_matched = 32;
  r.auth_changes = 33;
  return run;
}

TEST(SeedRun, RoundTripsEveryField) {
  const SeedRun in = FullRun();
  absl::StatusOr<SeedRun> out = DecodeSeedRun(EncodeSeedRun(in));
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->seed, in.seed);
  EXPECT_EQ(out->operations, in.operations);
  EXPECT_EQ(out->wall_s, in.wall_s);
  const RunResult& a = in.result;
  const RunResult& b = out->result;
  EXPECT_EQ(b.outcome, a.outcome);
  EXPECT_EQ(b.checker, a.checker);
  EXPECT_EQ(b.detail, a.detail);
  EXPECT_EQ(b.failure_time_us, a.failure_time_us);
  EXPECT_EQ(b.trace_hash, a.trace_hash);
  EXPECT_EQ(b.simulated_us, a.simulated_us);
  EXPECT_EQ(b.committed_index, a.committed_index);
  EXPECT_EQ(b.terms_with_leader, a.terms_with_leader);
  EXPECT_EQ(b.faults, a.faults);
  EXPECT_EQ(b.crashes, a.crashes);
  EXPECT_EQ(b.refusals, a.refusals);
  EXPECT_EQ(b.snapshots_taken, a.snapshots_taken);
  EXPECT_EQ(b.snapshots_installed, a.snapshots_installed);
  EXPECT_EQ(b.messages_sent, a.messages_sent);
  EXPECT_EQ(b.events, a.events);
  EXPECT_EQ(b.kv, a.kv);
  EXPECT_EQ(b.kv_requests, a.kv_requests);
  EXPECT_EQ(b.kv_ok, a.kv_ok);
  EXPECT_EQ(b.acked_puts, a.acked_puts);
  EXPECT_EQ(b.kv_unknown, a.kv_unknown);
  EXPECT_EQ(b.watch_events, a.watch_events);
  EXPECT_EQ(b.watch_reconnects, a.watch_reconnects);
  EXPECT_EQ(b.final_revision, a.final_revision);
  EXPECT_EQ(b.linearizability_undecided, a.linearizability_undecided);
  EXPECT_EQ(b.leases_granted, a.leases_granted);
  EXPECT_EQ(b.leases_revoked, a.leases_revoked);
  EXPECT_EQ(b.members_added, a.members_added);
  EXPECT_EQ(b.members_removed, a.members_removed);
  EXPECT_EQ(b.members_promoted, a.members_promoted);
  EXPECT_EQ(b.leaders_removed, a.leaders_removed);
  EXPECT_EQ(b.removed_members_stopped, a.removed_members_stopped);
  EXPECT_EQ(b.auth_ok, a.auth_ok);
  EXPECT_EQ(b.auth_denied, a.auth_denied);
  EXPECT_EQ(b.auth_old_revision, a.auth_old_revision);
  EXPECT_EQ(b.auth_ops_checked, a.auth_ops_checked);
  EXPECT_EQ(b.auth_writes_matched, a.auth_writes_matched);
  EXPECT_EQ(b.auth_changes, a.auth_changes);
}

TEST(SeedRun, RefusesTruncatedOrPaddedRecords) {
  const std::string bytes = EncodeSeedRun(FullRun());
  for (size_t n = 0; n < bytes.size(); ++n) {
    EXPECT_FALSE(DecodeSeedRun(bytes.substr(0, n)).ok()) << "accepted the first " << n << " bytes";
  }
  EXPECT_FALSE(DecodeSeedRun(bytes + "x").ok());
}

// Random edits of a valid record: decoded or refused, never a crash (string lengths are checked before use).
TEST(SeedRun, SurvivesGarbage) {
  const std::string valid = EncodeSeedRun(FullRun());
  Prng prng(5);
  for (int round = 0; round < 5000; ++round) {
    std::string s = valid;
    for (int e = 0; e < 3; ++e) s[prng.Uniform(s.size())] = static_cast<char>(prng.Uniform(256));
    (void)DecodeSeedRun(s);
  }
}

}  // namespace
}  // namespace detcd::sim
