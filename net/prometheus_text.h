// Pieces of Prometheus' text format (0.0.4) shared by the /metrics writers, written as etcd 3.4's Go client writes
// them: floats in Go's shortest form, and histograms of durations with exponential buckets (the client's
// ExponentialBuckets(first, 2, n)). Pure formatting and counting: no locks, no clock, no IO; callers guard a
// histogram they share between threads.
#ifndef DETCD_NET_PROMETHEUS_TEXT_H_
#define DETCD_NET_PROMETHEUS_TEXT_H_

#include <cstdint>
#include <string>

namespace detcd::net {

// v as Go's strconv.FormatFloat(v, 'g', -1, 64) writes it: the shortest digits that read back as v, in exponent
// form from 1e+06 up (2.147483648e+09) or below 1e-04.
std::string GoFloat(double v);

// Durations in seconds counted into `buckets` upper bounds first, 2·first, 4·first… (at most kMaxBuckets).
class DurationHistogram {
 public:
  static constexpr int kMaxBuckets = 16;
  // etcd's disk histograms (WAL fsync, backend commit): 1 ms doubling up to 8.192 s.
  DurationHistogram() : DurationHistogram(0.001, 14) {}
  DurationHistogram(double first_bound, int buckets);

  void Observe(double seconds);
  int buckets() const { return buckets_; }
  double UpperBound(int i) const { return first_bound_ * static_cast<double>(uint64_t{1} << i); }
  uint64_t count() const { return count_; }
  double sum_seconds() const { return sum_seconds_; }
  // Observations <= UpperBound(i), cumulative as Prometheus shows them.
  uint64_t CumulativeCount(int i) const;

  // The series (no HELP/TYPE lines): name_bucket{labels,le="…"} for each bound and +Inf, name_sum, name_count.
  // `labels`: empty, or `To="8e9e05c52164694d"` (without braces).
  void AppendSeries(const std::string& name, const std::string& labels, std::string* out) const;

 private:
  double first_bound_;
  int buckets_;
  uint64_t counts_[kMaxBuckets] = {};  // observations in (UpperBound(i-1), UpperBound(i)]
  uint64_t count_ = 0;                 // all observations, those above the last bound too
  double sum_seconds_ = 0;
};

// "# HELP name help\n# TYPE name type\n".
void AppendMetricHeader(const std::string& name, const char* type, const std::string& help, std::string* out);

}  // namespace detcd::net

#endif  // DETCD_NET_PROMETHEUS_TEXT_H_
