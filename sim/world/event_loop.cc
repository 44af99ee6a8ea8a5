#include "sim/world/event_loop.h"

#include <algorithm>
#include <utility>

#include "base/check.h"

namespace detcd::sim {

EventLoop::EventId EventLoop::Schedule(TimeUs at_us, std::function<void()> fn) {
  // An event in the past would make time run backwards for whoever observes it.
  DETCD_CHECK_MSG(at_us >= now_us_, "event scheduled in the past");
  DETCD_CHECK(fn != nullptr);
  const EventId id = next_id_++;
  heap_.push_back(Event{at_us, id, std::move(fn)});
  std::push_heap(heap_.begin(), heap_.end(), Later());
  pending_.insert(id);
  return id;
}

bool EventLoop::Cancel(EventId id) { return pending_.erase(id) > 0; }

void EventLoop::SkipCancelled() {
  while (!heap_.empty() && !pending_.contains(heap_.front().id)) {
    std::pop_heap(heap_.begin(), heap_.end(), Later());
    heap_.pop_back();
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
  std::pop_heap(heap_.begin(), heap_.end(), Later());
  Event event = std::move(heap_.back());
  heap_.pop_back();
  pending_.erase(event.id);
  DETCD_CHECK(event.at_us >= now_us_);
  now_us_ = event.at_us;
  ++events_run_;
  // The callback may schedule or cancel events: it runs after the queue is consistent again.
  event.fn();
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
