// Tally: what a run's clients observed — the latency of every successful request and the failed ones grouped by
// error message — and the report made from it: a human summary and one machine-readable `result:` line that
// tools/bench-vs-etcd.sh and the tests parse. A client owns its own Tally (no locks); the run merges them at the end.
#ifndef DETCD_LOAD_TALLY_H_
#define DETCD_LOAD_TALLY_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace detcd::load {

class Tally {
 public:
  void Ok(double latency_ms) {
    ++ok_;
    latencies_ms_.push_back(latency_ms);
  }
  void Fail(const std::string& message, uint64_t count = 1) {
    failed_ += count;
    errors_[message] += count;
  }
  void Merge(const Tally& other);
  // Only the other's failures (the watch workload reports events, not the puts that caused them).
  void MergeFailures(const Tally& other);

  uint64_t ok() const { return ok_; }
  uint64_t failed() const { return failed_; }
  // Latency at quantile q in [0, 1] of the successful requests (nearest rank), 0 when there are none. Sorts.
  double LatencyMs(double q);

  // `result: workload=W <fields> ok=N failed=N seconds=S rps=R p50_ms=.. p90_ms=.. p99_ms=.. max_ms=..`
  // where `fields` are the run's own (clients=64 conns=4 ...) and rps counts ok requests per second.
  std::string ResultLine(const std::string& workload, const std::string& fields, double seconds);
  // One line per distinct error message, most frequent first, at most `limit`: `errors: 12 x "message"`.
  std::vector<std::string> ErrorLines(size_t limit) const;
  // Human summary: counts, throughput and latency percentiles on two lines.
  std::string Summary(double seconds);

 private:
  std::vector<double> latencies_ms_;
  bool sorted_ = true;
  uint64_t ok_ = 0;
  uint64_t failed_ = 0;
  std::map<std::string, uint64_t> errors_;
};

}  // namespace detcd::load

#endif  // DETCD_LOAD_TALLY_H_
