#include "sim/world/event_loop.h"

#include <algorithm>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace detcd::sim {
namespace {

TEST(EventLoopTest, RunsInTimeOrder) {
  EventLoop loop;
  std::vector<int> order;
  loop.Schedule(30, [&] { order.push_back(3); });
  loop.Schedule(10, [&] { order.push_back(1); });
  loop.Schedule(20, [&] { order.push_back(2); });
  EXPECT_EQ(loop.size(), 3u);
  while (loop.RunOne()) {
  }
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(loop.Now(), 30);
  EXPECT_TRUE(loop.Empty());
  EXPECT_EQ(loop.events_run(), 3u);
}

TEST(EventLoopTest, TiesBreakByInsertionOrder) {
  EventLoop loop;
  std::string order;
  for (char c = 'a'; c <= 'j'; ++c) loop.Schedule(5, [&order, c] { order.push_back(c); });
  while (loop.RunOne()) {
  }
  EXPECT_EQ(order, "abcdefghij");
}

// Many events at few distinct times, scheduled from callbacks and cancelled at random: they run in (time, order
// scheduled) order, as a sorted list of the same events says.
TEST(EventLoopTest, RandomScheduleAndCancelRunInTimeThenInsertionOrder) {
  EventLoop loop;
  std::mt19937_64 rng(7);
  struct Planned {
    TimeUs at;
    uint64_t n;  // order scheduled
  };
  std::vector<Planned> expected;
  std::vector<uint64_t> ran;
  std::map<uint64_t, EventLoop::EventId> ids;  // n -> id, while pending
  uint64_t next = 0;
  std::function<void(int)> schedule = [&](int depth) {
    const uint64_t n = next++;
    const TimeUs at = loop.Now() + static_cast<TimeUs>(rng() % 8);
    expected.push_back({at, n});
    ids[n] = loop.Schedule(at, [&, n, depth] {
      ids.erase(n);
      ran.push_back(n);
      if (depth < 3) {
        for (uint64_t k = rng() % 3; k > 0; --k) schedule(depth + 1);
      }
      if (!ids.empty() && rng() % 4 == 0) {  // cancel a pending one
        auto it = ids.begin();
        std::advance(it, static_cast<long>(rng() % ids.size()));
        EXPECT_TRUE(loop.Cancel(it->second));
        for (Planned& p : expected) {
          if (p.n == it->first) p.at = -1;  // never runs
        }
        ids.erase(it);
      }
    });
  };
  for (int i = 0; i < 300; ++i) schedule(0);
  while (loop.RunOne()) {
  }
  std::vector<Planned> runs;
  for (const Planned& p : expected) {
    if (p.at >= 0) runs.push_back(p);
  }
  std::stable_sort(runs.begin(), runs.end(), [](const Planned& a, const Planned& b) { return a.at < b.at; });
  std::vector<uint64_t> want;
  for (const Planned& p : runs) want.push_back(p.n);
  ASSERT_GT(want.size(), 300u);
  EXPECT_EQ(ran, want);
  EXPECT_TRUE(loop.Empty());
}

TEST(EventLoopTest, ScheduleAfterIsRelativeToNow) {
  EventLoop loop;
  TimeUs ran_at = -1;
  loop.Schedule(100, [&] { loop.ScheduleAfter(50, [&] { ran_at = loop.Now(); }); });
  while (loop.RunOne()) {
  }
  EXPECT_EQ(ran_at, 150);
}

TEST(EventLoopTest, EventScheduledForNowRunsAfterQueuedOnesAtSameTime) {
  EventLoop loop;
  std::vector<int> order;
  loop.Schedule(10, [&] {
    order.push_back(1);
    loop.ScheduleAfter(0, [&] { order.push_back(3); });
  });
  loop.Schedule(10, [&] { order.push_back(2); });
  loop.RunUntil(10);
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3}));
}

TEST(EventLoopTest, CancelSkipsEvent) {
  EventLoop loop;
  std::vector<int> order;
  const EventLoop::EventId first = loop.Schedule(1, [&] { order.push_back(1); });
  const EventLoop::EventId id = loop.Schedule(2, [&] { order.push_back(2); });
  loop.Schedule(3, [&] { order.push_back(3); });
  EXPECT_TRUE(loop.Cancel(id));
  EXPECT_FALSE(loop.Cancel(id));
  EXPECT_EQ(loop.size(), 2u);
  while (loop.RunOne()) {
  }
  EXPECT_EQ(order, (std::vector<int>{1, 3}));
  EXPECT_FALSE(loop.Cancel(first));  // already ran
}

TEST(EventLoopTest, AnOldIdNeverCancelsTheEventThatReusedItsPlace) {
  EventLoop loop;
  std::vector<int> order;
  auto token = std::make_shared<int>(0);
  const EventLoop::EventId cancelled = loop.Schedule(5, [token] {});
  EXPECT_EQ(token.use_count(), 2);
  EXPECT_TRUE(loop.Cancel(cancelled));
  EXPECT_EQ(token.use_count(), 1);  // a cancelled callback's captures go at once, not when its time comes
  const EventLoop::EventId ran = loop.Schedule(1, [&] { order.push_back(1); });
  EXPECT_TRUE(loop.RunOne());
  std::vector<EventLoop::EventId> ids;
  for (int i = 2; i <= 4; ++i) ids.push_back(loop.Schedule(i, [&order, i] { order.push_back(i); }));
  EXPECT_FALSE(loop.Cancel(cancelled));
  EXPECT_FALSE(loop.Cancel(ran));
  for (EventLoop::EventId id : ids) {
    EXPECT_NE(id, cancelled);
    EXPECT_NE(id, ran);
  }
  EXPECT_EQ(loop.size(), 3u);
  while (loop.RunOne()) {
  }
  EXPECT_EQ(order, (std::vector<int>{1, 2, 3, 4}));
}

TEST(EventLoopTest, CancelledHeadDoesNotCountAsPending) {
  EventLoop loop;
  const EventLoop::EventId id = loop.Schedule(1, [] {});
  loop.Cancel(id);
  EXPECT_TRUE(loop.Empty());
  EXPECT_FALSE(loop.NextEventTime().has_value());
  EXPECT_FALSE(loop.RunOne());
  EXPECT_EQ(loop.Now(), 0);
}

TEST(EventLoopTest, RunUntilStopsAtBoundaryAndAdvancesTime) {
  EventLoop loop;
  std::vector<TimeUs> ran;
  for (TimeUs t : {5, 10, 15}) loop.Schedule(t, [&] { ran.push_back(loop.Now()); });
  EXPECT_EQ(loop.RunUntil(10), 2u);
  EXPECT_EQ(ran, (std::vector<TimeUs>{5, 10}));
  EXPECT_EQ(loop.Now(), 10);
  EXPECT_EQ(loop.RunUntil(12), 0u);
  EXPECT_EQ(loop.Now(), 12);
  EXPECT_EQ(loop.NextEventTime(), 15);
  loop.RunUntil(100);
  EXPECT_EQ(loop.Now(), 100);
  EXPECT_EQ(ran, (std::vector<TimeUs>{5, 10, 15}));
}

TEST(EventLoopTest, RunUntilRunsEventsScheduledDuringIt) {
  EventLoop loop;
  int count = 0;
  std::function<void()> again = [&] {
    ++count;
    loop.ScheduleAfter(10, again);
  };
  loop.Schedule(0, again);
  loop.RunUntil(95);
  EXPECT_EQ(count, 10);  // at 0, 10, ..., 90
  EXPECT_EQ(loop.size(), 1u);
}

TEST(EventLoopDeathTest, SchedulingInThePastAborts) {
  EventLoop loop;
  loop.RunUntil(100);
  EXPECT_DEATH(loop.Schedule(99, [] {}), "event scheduled in the past");
}

}  // namespace
}  // namespace detcd::sim
