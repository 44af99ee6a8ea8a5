// SeedProgress: the progress line of a seed range on stderr — seeds done of the total, failures, seeds per second
// and the time left at that rate. On a terminal it rewrites one line in place, at most four times a second; to a
// file or pipe (--progress) it appends a line at most once a second. It never writes to stdout, so a --json stream
// stays clean. It reads the wall clock, which the simulation itself never does.
#ifndef DETCD_SIM_SCENARIOS_SEED_PROGRESS_H_
#define DETCD_SIM_SCENARIOS_SEED_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace detcd::sim {

// "kv_swarm: 120/10000 seeds, 2 failed, 3.4 seeds/s, 48m26s left" (elapsed_s > 0 and done > 0 give a rate).
std::string FormatProgress(const std::string& label, uint64_t done, uint64_t total, uint64_t failed, double elapsed_s);

class SeedProgress {
 public:
  // `terminal`: `out` is a terminal whose line can be rewritten in place.
  SeedProgress(std::string label, uint64_t total, std::FILE* out, bool terminal);

  // Shows the counts if the last showing is old enough, or if the range is complete.
  void Update(uint64_t done, uint64_t failed);
  // Erases the line on a terminal (before other output, and at the end); nothing otherwise.
  void Clear();

 private:
  using Clock = std::chrono::steady_clock;

  const std::string label_;
  const uint64_t total_;
  std::FILE* const out_;
  const bool terminal_;
  const Clock::time_point start_;
  Clock::time_point last_shown_;
  bool shown_ = false;    // something was ever shown
  bool on_line_ = false;  // a line is on the terminal now
};

}  // namespace detcd::sim

#endif  // DETCD_SIM_SCENARIOS_SEED_PROGRESS_H_
