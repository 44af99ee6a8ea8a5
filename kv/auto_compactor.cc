#include "kv/auto_compactor.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace detcd::kv {

namespace {

constexpr int64_t kHourMs = 3'600'000;
constexpr int64_t kRevisionIntervalMs = 5 * 60'000;  // etcd's revInterval
constexpr int64_t kRetryDivisor = 10;                // etcd's retryDivisor

// Go's time.Duration.String() for whole milliseconds: "100ms", "1s", "1.5s", "1m0s", "1h0m0s".
std::string GoDuration(int64_t ms) {
  if (ms == 0) return "0s";
  if (ms < 1000) return absl::StrCat(ms, "ms");
  std::string out;
  if (ms >= kHourMs) absl::StrAppend(&out, ms / kHourMs, "h");
  if (ms >= 60'000) absl::StrAppend(&out, (ms % kHourMs) / 60'000, "m");
  const int64_t s_ms = ms % 60'000;
  absl::StrAppend(&out, s_ms / 1000);
  if (s_ms % 1000 != 0) {
    std::string frac = absl::StrCat(1000 + s_ms % 1000).substr(1);  // three digits
    while (!frac.empty() && frac.back() == '0') frac.pop_back();
    absl::StrAppend(&out, ".", frac);
  }
  absl::StrAppend(&out, "s");
  return out;
}

int64_t TicksOf(int64_t ms, int64_t tick_us) { return std::max<int64_t>(1, ms * 1000 / tick_us); }

}  // namespace

AutoCompactor::AutoCompactor(AutoCompactionConfig config, int64_t tick_us) : config_(config), tick_us_(tick_us) {
  DETCD_CHECK(tick_us > 0 || config_.mode == AutoCompactionConfig::Mode::kOff);
  if (config_.mode == AutoCompactionConfig::Mode::kPeriodic) {
    DETCD_CHECK_MSG(config_.retention_ms > 0, "periodic auto-compaction without a retention");
    const int64_t compact_ms = std::min(config_.retention_ms, kHourMs);
    compact_ticks_ = TicksOf(compact_ms, tick_us);
    retry_ticks_ = TicksOf(compact_ms / kRetryDivisor, tick_us);
    notes_kept_ = static_cast<size_t>(TicksOf(config_.retention_ms, tick_us) / retry_ticks_ + 1);
  } else if (config_.mode == AutoCompactionConfig::Mode::kRevision) {
    DETCD_CHECK_MSG(config_.retention_revisions > 0, "revision auto-compaction without a retention");
    retry_ticks_ = TicksOf(kRevisionIntervalMs, tick_us);
    next_try_tick_ = retry_ticks_;
  }
}

AutoCompactor::Step AutoCompactor::Tick(int64_t revision, int64_t compacted, bool leader) {
  Step step;
  if (!enabled()) return step;
  ++ticks_;
  Settle(compacted, &step);
  Step more = config_.mode == AutoCompactionConfig::Mode::kPeriodic ? Periodic(revision, leader)
                                                                     : Revision(revision, leader);
  step.compact_at = more.compact_at;
  step.log.insert(step.log.end(), more.log.begin(), more.log.end());
  // A compaction at or below the store's is etcd's ErrCompacted, which its compactor takes as success.
  if (step.compact_at > 0 && step.compact_at <= compacted) {
    Settle(compacted, &step);
    step.compact_at = 0;
  }
  return step;
}

void AutoCompactor::Settle(int64_t compacted, Step* step) {
  if (pending_ == 0) return;
  if (compacted >= pending_) {
    step->log.push_back(absl::StrCat("Finished auto-compaction at revision ", pending_));
    last_success_tick_ = pending_since_;  // etcd's Compact call returns as it applies: its start is its end
    first_done_ = true;
    last_compacted_at_ = pending_;
    pending_ = 0;
  } else if (ticks_ - pending_since_ >= retry_ticks_) {
    // Not applied within an interval: lost with a leader change (etcd's Compact call fails then).
    step->log.push_back(absl::StrCat("Failed auto-compaction at revision ", pending_, " (not applied within ",
                                     GoDuration(retry_ticks_ * tick_us_ / 1000), ")"));
    step->log.push_back(absl::StrCat("Retry after ", GoDuration(retry_ticks_ * tick_us_ / 1000)));
    pending_ = 0;
  }
}

AutoCompactor::Step AutoCompactor::Periodic(int64_t revision, bool leader) {
  Step step;
  if (ticks_ < next_note_tick_) return step;
  next_note_tick_ = ticks_ + retry_ticks_;
  // etcd's loop: wait a retry interval, compact if due (leader only), then note the revision for later.
  const int64_t due = first_done_ ? compact_ticks_ : TicksOf(config_.retention_ms, tick_us_);
  if (leader && pending_ == 0 && !notes_.empty() && ticks_ - last_success_tick_ >= due && notes_.front() > 0) {
    pending_ = notes_.front();
    pending_since_ = ticks_;
    step.compact_at = pending_;
    step.log.push_back(absl::StrCat("Starting auto-compaction at revision ", pending_, " (retention: ",
                                    GoDuration(config_.retention_ms), ")"));
  }
  notes_.push_back(revision);
  while (notes_.size() > notes_kept_) notes_.pop_front();
  return step;
}

AutoCompactor::Step AutoCompactor::Revision(int64_t revision, bool leader) {
  Step step;
  if (ticks_ < next_try_tick_) return step;
  next_try_tick_ = ticks_ + retry_ticks_;
  if (!leader || pending_ != 0) return step;
  const int64_t at = revision - config_.retention_revisions;
  if (at <= 0 || at == last_compacted_at_) return step;
  pending_ = at;
  pending_since_ = ticks_;
  step.compact_at = at;
  step.log.push_back(absl::StrCat("Starting auto-compaction at revision ", at, " (retention: ",
                                  config_.retention_revisions, " revisions)"));
  return step;
}

}  // namespace detcd::kv
