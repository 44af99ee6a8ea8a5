#include "load/tally.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/check.h"

namespace detcd::load {

void Tally::Merge(const Tally& other) {
  latencies_ms_.insert(latencies_ms_.end(), other.latencies_ms_.begin(), other.latencies_ms_.end());
  sorted_ = false;
  ok_ += other.ok_;
  failed_ += other.failed_;
  for (const auto& [message, count] : other.errors_) errors_[message] += count;
}

void Tally::MergeFailures(const Tally& other) {
  failed_ += other.failed_;
  for (const auto& [message, count] : other.errors_) errors_[message] += count;
}

double Tally::LatencyMs(double q) {
  DETCD_CHECK(q >= 0 && q <= 1);
  if (latencies_ms_.empty()) return 0;
  if (!sorted_ || !std::is_sorted(latencies_ms_.begin(), latencies_ms_.end())) {
    std::sort(latencies_ms_.begin(), latencies_ms_.end());
  }
  sorted_ = true;
  // Nearest rank: the smallest sample with at least q of all samples at or below it.
  const size_t n = latencies_ms_.size();
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(n)));
  if (rank == 0) rank = 1;
  return latencies_ms_[std::min(rank, n) - 1];
}

std::string Tally::ResultLine(const std::string& workload, const std::string& fields, double seconds) {
  DETCD_CHECK(seconds > 0);
  return absl::StrFormat(
      "result: workload=%s %s ok=%d failed=%d seconds=%.2f rps=%.0f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f",
      workload, fields, ok_, failed_, seconds, static_cast<double>(ok_) / seconds, LatencyMs(0.5), LatencyMs(0.9),
      LatencyMs(0.99), LatencyMs(1.0));
}

std::vector<std::string> Tally::ErrorLines(size_t limit) const {
  std::vector<std::pair<uint64_t, std::string>> by_count;
  for (const auto& [message, count] : errors_) by_count.emplace_back(count, message);
  std::stable_sort(by_count.begin(), by_count.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<std::string> lines;
  for (size_t i = 0; i < by_count.size() && i < limit; ++i) {
    lines.push_back(absl::StrCat("errors: ", by_count[i].first, " x \"", by_count[i].second, "\""));
  }
  if (by_count.size() > limit) lines.push_back(absl::StrCat("errors: ", by_count.size() - limit, " more messages"));
  return lines;
}

std::string Tally::Summary(double seconds) {
  DETCD_CHECK(seconds > 0);
  return absl::StrFormat(
      "requests: %d ok, %d failed in %.2f s\nthroughput: %.0f ok requests/s; latency ms p50 %.2f p90 %.2f p99 %.2f "
      "max %.2f",
      ok_, failed_, seconds, static_cast<double>(ok_) / seconds, LatencyMs(0.5), LatencyMs(0.9), LatencyMs(0.99),
      LatencyMs(1.0));
}

}  // namespace detcd::load
