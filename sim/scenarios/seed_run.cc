#include "sim/scenarios/seed_run.h"

#include <chrono>
#include <cstring>

#include "absl/status/status.h"
#include "base/little_endian.h"

namespace detcd::sim {
namespace {

// The fields in one fixed order, so that the encoder and the decoder cannot disagree: `Fields(io, run)` visits them
// with io.U64 / io.I64 / io.Str, and the same function serves both directions.
template <typename Io, typename Run>
void Fields(Io& io, Run& run) {
  auto& r = run.result;
  io.U64(run.seed);
  io.U64(run.operations);
  io.Double(run.wall_s);
  io.Outcome(r.outcome);
  io.Str(r.checker);
  io.Str(r.detail);
  io.I64(r.failure_time_us);
  io.Str(r.trace_hash);
  io.I64(r.simulated_us);
  io.U64(r.committed_index);
  io.Size(r.terms_with_leader);
  io.Int(r.faults);
  io.Int(r.crashes);
  io.Int(r.refusals);
  io.Int(r.snapshots_taken);
  io.Int(r.snapshots_installed);
  io.U64(r.messages_sent);
  io.U64(r.events);
  io.Bool(r.kv);
  io.U64(r.kv_requests);
  io.U64(r.kv_ok);
  io.U64(r.acked_puts);
  io.U64(r.kv_unknown);
  io.U64(r.watch_events);
  io.U64(r.watch_reconnects);
  io.I64(r.final_revision);
  io.Size(r.linearizability_undecided);
  io.U64(r.leases_granted);
  io.U64(r.leases_revoked);
  io.U64(r.members_added);
  io.U64(r.members_removed);
  io.U64(r.members_promoted);
  io.U64(r.leaders_removed);
  io.Int(r.removed_members_stopped);
  io.U64(r.auth_ok);
  io.U64(r.auth_denied);
  io.U64(r.auth_old_revision);
  io.U64(r.auth_ops_checked);
  io.U64(r.auth_writes_matched);
  io.U64(r.auth_changes);
}

class Writer {
 public:
  void U64(uint64_t v) { AppendLittleEndian(&out_, v, 8); }
  void I64(int64_t v) { U64(static_cast<uint64_t>(v)); }
  void Int(int v) { I64(v); }
  void Size(size_t v) { U64(v); }
  void Bool(bool v) { U64(v ? 1 : 0); }
  void Double(double v) {
    uint64_t bits = 0;
    std::memcpy(&bits, &v, sizeof bits);
    U64(bits);
  }
  void Outcome(sim::Outcome o) { U64(static_cast<uint64_t>(o)); }
  void Str(const std::string& s) {
    U64(s.size());
    out_ += s;
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

// Reads what Writer wrote; the first short read or bad value marks the whole decoding failed, and the rest of the
// fields then read as zero.
class Reader {
 public:
  explicit Reader(absl::string_view in) : in_(in) {}

  void U64(uint64_t& v) {
    v = 0;
    if (!ok_ || in_.size() < 8) {
      ok_ = false;
      return;
    }
    v = LoadLittleEndian(in_.data(), 8);
    in_.remove_prefix(8);
  }
  void I64(int64_t& v) {
    uint64_t u = 0;
    U64(u);
    v = static_cast<int64_t>(u);
  }
  void Int(int& v) {
    int64_t w = 0;
    I64(w);
    if (w < INT32_MIN || w > INT32_MAX) ok_ = false;
    v = static_cast<int>(w);
  }
  void Size(size_t& v) {
    uint64_t u = 0;
    U64(u);
    v = static_cast<size_t>(u);
  }
  void Bool(bool& v) {
    uint64_t u = 0;
    U64(u);
    if (u > 1) ok_ = false;
    v = u == 1;
  }
  void Double(double& v) {
    uint64_t bits = 0;
    U64(bits);
    std::memcpy(&v, &bits, sizeof v);
  }
  void Outcome(sim::Outcome& o) {
    uint64_t u = 0;
    U64(u);
    if (u > static_cast<uint64_t>(sim::Outcome::kLiveness)) ok_ = false;
    o = ok_ ? static_cast<sim::Outcome>(u) : sim::Outcome::kPass;
  }
  void Str(std::string& s) {
    uint64_t n = 0;
    U64(n);
    if (!ok_ || n > in_.size()) {
      ok_ = false;
      s.clear();
      return;
    }
    s.assign(in_.data(), static_cast<size_t>(n));
    in_.remove_prefix(static_cast<size_t>(n));
  }
  bool Done() const { return ok_ && in_.empty(); }

 private:
  absl::string_view in_;
  bool ok_ = true;
};

}  // namespace

SeedRun RunOneSeed(const ScenarioConfig& scenario, const RunOptions& base, uint64_t seed, history::History* history) {
  RunOptions options = base;
  options.seed = seed;
  const auto start = std::chrono::steady_clock::now();
  SeedRun run;
  run.seed = seed;
  run.result = RunScenario(scenario, options);
  run.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  run.operations = run.result.history.operations.size();
  if (history != nullptr) *history = std::move(run.result.history);
  run.result.history = history::History{};
  return run;
}

std::string EncodeSeedRun(const SeedRun& run) {
  Writer w;
  Fields(w, run);
  return w.Take();
}

absl::StatusOr<SeedRun> DecodeSeedRun(absl::string_view bytes) {
  SeedRun run;
  Reader r(bytes);
  Fields(r, run);
  if (!r.Done()) return absl::DataLossError("malformed seed result from a worker process");
  return run;
}

}  // namespace detcd::sim
