// Timeline: what a simulated run looked like over virtual time, for a person reading a failure — each node's role
// and term, its crashes, restarts and pauses, the faults as bands, the register clients' operations from invocation
// to completion with their outcome, and the checker's verdict — and its rendering as one self-contained HTML page
// (inline SVG, hover titles; no script, style sheet or font fetched from anywhere: detcd-sim --html). The recorder
// only listens (it schedules nothing and draws no randomness, so a run with it is the same run); the page is pure
// text built from the timeline: no IO, no clock.
#ifndef DETCD_SIM_SCENARIOS_TIMELINE_H_
#define DETCD_SIM_SCENARIOS_TIMELINE_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "api/scenario.pb.h"
#include "history/history.h"

namespace detcd::sim {

struct Timeline {
  // A node in one state from from_us until to_us: "leader", "candidate", "pre-candidate", "follower" (with its
  // term), or "down", "paused".
  struct Span {
    uint64_t node = 0;
    int64_t from_us = 0;
    int64_t to_us = 0;
    std::string state;
    uint64_t term = 0;
  };
  // A moment on a node's lane: "crash", "disk error", "restart", "refused to start", "pause", "resume".
  struct Mark {
    uint64_t node = 0;
    int64_t at_us = 0;
    std::string what;
  };
  struct Band {
    int64_t from_us = 0;
    int64_t to_us = 0;
    std::string kind;  // "partition", "crash"… (the fault's oneof name)
    std::string summary;
  };
  struct Op {
    int64_t process = 0;
    int64_t from_us = 0;
    int64_t to_us = 0;    // the end of the run if it never completed
    std::string outcome;  // "ok", "fail", "info"
    std::string text;     // "write k1 7", "read k1 -> 7", "cas k1 3->4"
    std::string key;
    bool highlighted = false;  // one the failure names (its key), or one in flight when it was found
  };

  std::string title;
  int nodes = 0;
  int64_t phase_end_us = 0;  // the heal
  int64_t end_us = 0;
  std::vector<Span> spans;
  std::vector<Mark> marks;
  std::vector<Band> bands;
  std::vector<Op> ops;
  // The verdict: "pass", or the outcome with the checker, its message and when it was found.
  std::string verdict = "pass";
  std::string checker;
  std::string message;
  int64_t failure_us = -1;
};

// Builds a Timeline from a run's callbacks; the runner calls it (RunOptions::timeline).
class TimelineRecorder {
 public:
  explicit TimelineRecorder(Timeline* out) : out_(out) {}
  // A node's Raft state as seen now (called often; only changes are kept).
  void Observe(int64_t now_us, uint64_t node, const std::string& state, uint64_t term);
  void NodeEvent(int64_t now_us, uint64_t node, const std::string& what);
  // The run is over: open spans end at end_us; the faults become bands; the operations, bars; the failure marks
  // what it names.
  void Finish(int nodes, int64_t phase_end_us, int64_t end_us, const std::vector<simpb::Fault>& schedule,
              const history::History& history, const std::string& verdict, const std::string& checker,
              const std::string& message, int64_t failure_us);

 private:
  void Enter(int64_t now_us, uint64_t node, const std::string& state, uint64_t term);
  Timeline* out_;
  std::map<uint64_t, size_t> open_;  // node -> its span in out_->spans still open
};

// The page. Everything is escaped; a failure's message is shown whole at the top.
std::string TimelineHtml(const Timeline& timeline);

}  // namespace detcd::sim

#endif  // DETCD_SIM_SCENARIOS_TIMELINE_H_
