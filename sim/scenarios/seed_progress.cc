#include "sim/scenarios/seed_progress.h"

#include <cmath>
#include <utility>

#include "absl/strings/str_format.h"

namespace detcd::sim {
namespace {

std::string Duration(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const uint64_t total = static_cast<uint64_t>(s + 0.5);
  if (total >= 3600) return absl::StrFormat("%dh%02dm", total / 3600, total % 3600 / 60);
  if (total >= 60) return absl::StrFormat("%dm%02ds", total / 60, total % 60);
  return absl::StrFormat("%ds", total);
}

}  // namespace

std::string FormatProgress(const std::string& label, uint64_t done, uint64_t total, uint64_t failed, double elapsed_s) {
  std::string out = absl::StrFormat("%s: %d/%d seeds, %d failed", label, done, total, failed);
  if (elapsed_s > 0 && done > 0) {
    const double rate = static_cast<double>(done) / elapsed_s;
    absl::StrAppendFormat(&out, ", %.1f seeds/s, %s left", rate, Duration(static_cast<double>(total - done) / rate));
  }
  return out;
}

SeedProgress::SeedProgress(std::string label, uint64_t total, std::FILE* out, bool terminal)
    : label_(std::move(label)), total_(total), out_(out), terminal_(terminal), start_(Clock::now()) {}

void SeedProgress::Update(uint64_t done, uint64_t failed) {
  const Clock::time_point now = Clock::now();
  const auto interval = terminal_ ? std::chrono::milliseconds(250) : std::chrono::milliseconds(1000);
  if (shown_ && now - last_shown_ < interval && done != total_) return;
  const std::string line =
      FormatProgress(label_, done, total_, failed, std::chrono::duration<double>(now - start_).count());
  if (terminal_) {
    std::fprintf(out_, "\r\033[K%s", line.c_str());
    on_line_ = true;
  } else {
    std::fprintf(out_, "%s\n", line.c_str());
  }
  std::fflush(out_);
  shown_ = true;
  last_shown_ = now;
}

void SeedProgress::Clear() {
  if (!terminal_ || !on_line_) return;
  std::fputs("\r\033[K", out_);
  std::fflush(out_);
  on_line_ = false;
}

}  // namespace detcd::sim
