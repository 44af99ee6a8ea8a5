#include "net/prometheus_text.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace detcd::net {

std::string GoFloat(double v) {
  char buf[64];
  int digits = 0;  // after the point, in exponent form
  for (; digits < 17; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*e", digits, v);
    if (std::strtod(buf, nullptr) == v) break;
  }
  const int exp = std::atoi(std::strchr(buf, 'e') + 1);
  if (exp < -4 || exp >= 6) return buf;
  std::snprintf(buf, sizeof buf, "%.*f", std::max(0, digits - exp), v);
  return buf;
}

DurationHistogram::DurationHistogram(double first_bound, int buckets) : first_bound_(first_bound), buckets_(buckets) {
  DETCD_CHECK_MSG(first_bound > 0 && buckets > 0 && buckets <= kMaxBuckets, "a histogram's buckets");
}

void DurationHistogram::Observe(double seconds) {
  ++count_;
  sum_seconds_ += seconds;
  for (int i = 0; i < buckets_; ++i) {
    if (seconds <= UpperBound(i)) {
      ++counts_[i];
      return;
    }
  }
}

uint64_t DurationHistogram::CumulativeCount(int i) const {
  DETCD_CHECK(i >= 0 && i < buckets_);
  uint64_t n = 0;
  for (int j = 0; j <= i; ++j) n += counts_[j];
  return n;
}

void DurationHistogram::AppendSeries(const std::string& name, const std::string& labels, std::string* out) const {
  const std::string lead = labels.empty() ? "{" : absl::StrCat("{", labels, ",");
  uint64_t cumulative = 0;
  for (int i = 0; i < buckets_; ++i) {
    cumulative += counts_[i];
    absl::StrAppend(out, name, "_bucket", lead, "le=\"", GoFloat(UpperBound(i)), "\"} ", cumulative, "\n");
  }
  DETCD_CHECK_MSG(cumulative <= count_, "a histogram counted more in its buckets than it observed");
  const std::string plain = labels.empty() ? "" : absl::StrCat("{", labels, "}");
  absl::StrAppend(out, name, "_bucket", lead, "le=\"+Inf\"} ", count_, "\n", name, "_sum", plain, " ",
                  GoFloat(sum_seconds_), "\n", name, "_count", plain, " ", count_, "\n");
}

void AppendMetricHeader(const std::string& name, const char* type, const std::string& help, std::string* out) {
  absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n");
}

}  // namespace detcd::net
