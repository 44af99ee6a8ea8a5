#include "sim/world/event_loop.h"

#include <algorithm>
#include <utility>

#include "base/check.h"

namespace detcd::sim {

EventLoop::EventId EventLoop::Schedule(TimeUs at_us, std::function<void()> fn) {
  // An event in the past would make time run backwards for whoever observes it.
  DETCD_CHECK_MSG(at_us >= now_us_, "event scheduled in the past");
  DETCD_CHECK(fn != nullptr);
  const uint64_t seq = next_seq_++;
  DETCD_CHECK_MSG(seq < (uint64_t{1} << (64 - kSlotBits)), "event sequence numbers exhausted");
  uint32_t slot;
  if (!free_slots_.empty()) {
    slot = free_slots_.back();
    free_slots_.pop_back();
  } else {
    DETCD_CHECK_MSG(slots_.size() <= kSlotMask, "more pending events than event slots");
    slot = static_cast<uint32_t>(slots_.size());
    slots_.emplace_back();
  }
  Slot& s = slots_[slot];
  DETCD_CHECK(s.seq == 0 && s.fn == nullptr);
  s.seq = seq;
  s.fn = std::move(fn);
  heap_.push_back(Entry{at_us, seq, slot});
  std::push_heap(heap_.begin(), heap_.end(), Later());
  ++pending_;
  return (seq << kSlotBits) | slot;
}

bool EventLoop::Cancel(EventId id) {
  const uint64_t slot = id & kSlotMask;
  if (slot >= slots_.size()) return false;
  Slot& s = slots_[slot];
  if (s.seq == 0 || s.seq != id >> kSlotBits) return false;  // ran, cancelled, or the slot holds a later event
  s.seq = 0;
  s.fn = nullptr;  // what it captured goes now; the heap entry goes when it reaches the top
  --pending_;
  return true;
}

void EventLoop::PopTop() {
  std::pop_heap(heap_.begin(), heap_.end(), Later());
  const uint32_t slot = heap_.back().slot;
  heap_.pop_back();
  free_slots_.push_back(slot);
}

void EventLoop::SkipCancelled() {
  while (!heap_.empty() && slots_[heap_.front().slot].seq != heap_.front().seq) {
    DETCD_CHECK(slots_[heap_.front().slot].seq == 0);  // a slot is reused only after its entry left the heap
    PopTop();
  }
}

std::optional<TimeUs> EventLoop::NextEventTime() {
  SkipCancelled();
  if (heap_.empty()) return std::nullopt;
  return heap_.front().at_us;
}

bool EventLoop::RunOne() {
  SkipCancelled();
  if (heap_.empty()) return false;
  const Entry top = heap_.front();
  Slot& s = slots_[top.slot];
  std::function<void()> fn = std::move(s.fn);
  s.fn = nullptr;
  s.seq = 0;
  PopTop();
  --pending_;
  DETCD_CHECK(top.at_us >= now_us_);
  now_us_ = top.at_us;
  ++events_run_;
  // The callback may schedule or cancel events: it runs after the queue is consistent again.
  fn();
  return true;
}

uint64_t EventLoop::RunUntil(TimeUs t_us) {
  uint64_t ran = 0;
  for (;;) {
    const std::optional<TimeUs> next = NextEventTime();
    if (!next.has_value() || *next > t_us) break;
    RunOne();
    ++ran;
  }
  now_us_ = std::max(now_us_, t_us);
  return ran;
}

}  // namespace detcd::sim
