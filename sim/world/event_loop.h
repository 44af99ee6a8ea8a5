// EventLoop: the simulator's discrete-event scheduler over virtual time (int64 microseconds). Every callback runs at
// its scheduled instant, one at a time, in (time, insertion order): two events at the same instant always run in the
// order they were scheduled, so a run is a pure function of the seed. It never reads a real clock, never runs two
// callbacks concurrently and never moves time backwards.
#ifndef DETCD_SIM_WORLD_EVENT_LOOP_H_
#define DETCD_SIM_WORLD_EVENT_LOOP_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

namespace detcd::sim {

// Virtual time in microseconds since the start of a simulation.
using TimeUs = int64_t;

class EventLoop {
 public:
  // Identifies a scheduled event for Cancel; never 0, never reused within one loop.
  using EventId = uint64_t;

  EventLoop() = default;
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs fn at virtual time at_us (>= Now()). Returns its id.
  EventId Schedule(TimeUs at_us, std::function<void()> fn);
  // Runs fn delay_us (>= 0) after Now().
  EventId ScheduleAfter(TimeUs delay_us, std::function<void()> fn) { return Schedule(now_us_ + delay_us, std::move(fn)); }
  // Forgets a pending event. Returns false if it already ran or was cancelled. The queue entry is dropped lazily.
  bool Cancel(EventId id);

  TimeUs Now() const { return now_us_; }
  // Runs the next event (advancing Now() to its time). Returns false if none is pending.
  bool RunOne();
  // Runs every event due at or before t_us (including ones scheduled meanwhile), then sets Now() to t_us
  // (if t_us is in the past, Now() does not move). Returns the number of events run.
  uint64_t RunUntil(TimeUs t_us);
  // The time of the next pending event, if any.
  std::optional<TimeUs> NextEventTime();

  bool Empty() const { return pending_ == 0; }
  // Pending (not cancelled, not yet run) events.
  size_t size() const { return pending_; }
  // Events run since construction: a cheap progress measure for benchmarks and traces.
  uint64_t events_run() const { return events_run_; }

 private:
  // An id is the event's sequence number (its insertion order, which breaks ties on time) above the index of the
  // slot holding its callback: Cancel finds the slot without a lookup, and a slot reused by a later event has a
  // different sequence number, so an old id never cancels a new event.
  static constexpr int kSlotBits = 24;
  static constexpr uint64_t kSlotMask = (uint64_t{1} << kSlotBits) - 1;

  // What the heap orders: small, so sifting moves no callbacks.
  struct Entry {
    TimeUs at_us;
    uint64_t seq;
    uint32_t slot;
  };
  struct Slot {
    uint64_t seq = 0;  // the pending event's sequence number; 0 while free or cancelled
    std::function<void()> fn;
  };
  // std::push_heap builds a max-heap: "later" events compare greater-than so the earliest sits on top.
  struct Later {
    bool operator()(const Entry& a, const Entry& b) const {
      return a.at_us != b.at_us ? a.at_us > b.at_us : a.seq > b.seq;
    }
  };

  // Drops cancelled events from the top of the heap, freeing their slots.
  void SkipCancelled();
  // Pops the heap's top entry and frees its slot.
  void PopTop();

  TimeUs now_us_ = 0;
  uint64_t next_seq_ = 1;
  uint64_t events_run_ = 0;
  size_t pending_ = 0;
  std::vector<Entry> heap_;
  std::vector<Slot> slots_;
  std::vector<uint32_t> free_slots_;
};

}  // namespace detcd::sim

#endif  // DETCD_SIM_WORLD_EVENT_LOOP_H_
