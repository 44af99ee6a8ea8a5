#include "sim/world/network.h"

#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace detcd::sim {
namespace {

raftpb::Message Msg(uint64_t from, uint64_t to, uint64_t index = 0) {
  raftpb::Message m;
  m.set_type(raftpb::MSG_APP);
  m.set_from(from);
  m.set_to(to);
  m.set_index(index);
  return m;
}

// A network over a fresh loop and PRNG that records what arrives.
struct Harness {
  explicit Harness(int nodes, NetworkOptions options = {}, uint64_t seed = 1)
      : prng(seed), net(options, nodes, &loop, &prng, &trace, [this](std::shared_ptr<const raftpb::Message> m) {
          arrivals.push_back({m->from(), m->to(), m->index(), loop.Now()});
        }) {}

  // Sends one message on every directed link and runs the loop dry; returns the set of links that delivered.
  std::set<std::pair<uint64_t, uint64_t>> Probe() {
    arrivals.clear();
    for (uint64_t a = 1; a <= static_cast<uint64_t>(net.nodes()); ++a) {
      for (uint64_t b = 1; b <= static_cast<uint64_t>(net.nodes()); ++b) {
        if (a != b) net.Send(Msg(a, b));
      }
    }
    while (loop.RunOne()) {
    }
    std::set<std::pair<uint64_t, uint64_t>> links;
    for (const Arrival& a : arrivals) links.insert({a.from, a.to});
    return links;
  }

  struct Arrival {
    uint64_t from, to, index;
    TimeUs at_us;
    bool operator==(const Arrival& o) const {
      return from == o.from && to == o.to && index == o.index && at_us == o.at_us;
    }
  };

  EventLoop loop;
  Prng prng;
  Trace trace;
  Network net;
  std::vector<Arrival> arrivals;
};

using Links = std::set<std::pair<uint64_t, uint64_t>>;

Links AllLinks(int n) {
  Links links;
  for (uint64_t a = 1; a <= static_cast<uint64_t>(n); ++a) {
    for (uint64_t b = 1; b <= static_cast<uint64_t>(n); ++b) {
      if (a != b) links.insert({a, b});
    }
  }
  return links;
}

TEST(NetworkTest, DeliversEverythingWithinLatencyBounds) {
  NetworkOptions options;
  options.latency_min_us = 100;
  options.latency_max_us = 300;
  Harness h(3, options);
  for (int i = 0; i < 100; ++i) h.net.Send(Msg(1, 2, i));
  while (h.loop.RunOne()) {
  }
  ASSERT_EQ(h.arrivals.size(), 100u);
  for (const auto& a : h.arrivals) {
    EXPECT_GE(a.at_us, 100);
    EXPECT_LE(a.at_us, 300);
  }
  EXPECT_EQ(h.net.stats().sent, 100u);
  EXPECT_EQ(h.net.stats().delivered, 100u);
  EXPECT_EQ(h.net.in_flight(), 0u);
}

TEST(NetworkTest, RandomLatencyReorders) {
  Harness h(2);
  for (int i = 0; i < 50; ++i) h.net.Send(Msg(1, 2, i));
  while (h.loop.RunOne()) {
  }
  bool reordered = false;
  for (size_t i = 1; i < h.arrivals.size(); ++i) reordered |= h.arrivals[i].index < h.arrivals[i - 1].index;
  EXPECT_TRUE(reordered);
}

TEST(NetworkTest, ExponentialLatencyStaysInBoundsWithMeanNearTarget) {
  NetworkOptions options;
  options.distribution = LatencyDistribution::kExponential;
  options.latency_min_us = 100;
  options.latency_max_us = 20'000;
  options.latency_mean_us = 600;
  Harness h(2, options);
  const int n = 20'000;
  for (int i = 0; i < n; ++i) h.net.Send(Msg(1, 2, i));
  while (h.loop.RunOne()) {
  }
  ASSERT_EQ(h.arrivals.size(), static_cast<size_t>(n));
  double sum = 0;
  for (const auto& a : h.arrivals) {
    EXPECT_GE(a.at_us, 100);
    EXPECT_LE(a.at_us, 20'000);
    sum += a.at_us;
  }
  EXPECT_NEAR(sum / n, 600, 30);
}

TEST(NetworkTest, DropProbabilityOneDropsAll) {
  NetworkOptions options;
  options.drop_probability = 1;
  Harness h(3, options);
  EXPECT_TRUE(h.Probe().empty());
  EXPECT_EQ(h.net.stats().dropped_random, 6u);
  EXPECT_EQ(h.net.stats().dropped(), 6u);
}

TEST(NetworkTest, DuplicateProbabilityOneDeliversTwice) {
  NetworkOptions options;
  options.duplicate_probability = 1;
  Harness h(2, options);
  h.net.Send(Msg(1, 2, 7));
  while (h.loop.RunOne()) {
  }
  ASSERT_EQ(h.arrivals.size(), 2u);
  EXPECT_EQ(h.arrivals[0].index, 7u);
  EXPECT_EQ(h.arrivals[1].index, 7u);
  EXPECT_EQ(h.net.stats().duplicated, 1u);
  EXPECT_EQ(h.net.stats().delivered, 2u);
}

TEST(NetworkTest, ReorderAddsExtraDelay) {
  NetworkOptions options;
  options.latency_min_us = 100;
  options.latency_max_us = 100;
  options.reorder_probability = 1;
  options.reorder_delay_max_us = 1'000;
  Harness h(2, options);
  h.net.Send(Msg(1, 2));
  while (h.loop.RunOne()) {
  }
  ASSERT_EQ(h.arrivals.size(), 1u);
  EXPECT_GT(h.arrivals[0].at_us, 100);
  EXPECT_LE(h.arrivals[0].at_us, 1'100);
  EXPECT_EQ(h.net.stats().reordered, 1u);
}

TEST(NetworkTest, IsolateCutsBothDirections) {
  Harness h(3);
  h.net.Isolate(2);
  EXPECT_EQ(h.Probe(), (Links{{1, 3}, {3, 1}}));
  EXPECT_EQ(h.net.stats().dropped_blocked, 4u);
}

TEST(NetworkTest, PartitionBlocksBetweenGroupsOnly) {
  Harness h(5);
  h.net.Partition({{1, 2}, {3, 4, 5}});
  EXPECT_EQ(h.Probe(), (Links{{1, 2}, {2, 1}, {3, 4}, {4, 3}, {3, 5}, {5, 3}, {4, 5}, {5, 4}}));
}

TEST(NetworkTest, PartitionUnlistedNodesFormOneGroup) {
  Harness h(4);
  h.net.Partition({{1}, {2}});
  EXPECT_EQ(h.Probe(), (Links{{3, 4}, {4, 3}}));
}

TEST(NetworkTest, BlockOneWayIsAsymmetric) {
  Harness h(3);
  h.net.BlockOneWay(1, 2);
  Links expected = AllLinks(3);
  expected.erase({1, 2});
  EXPECT_EQ(h.Probe(), expected);
  EXPECT_TRUE(h.net.Blocked(1, 2));
  EXPECT_FALSE(h.net.Blocked(2, 1));
}

TEST(NetworkTest, BridgeNodeReachesBothSides) {
  Harness h(5);
  h.net.Bridge(3, {1, 2}, {4, 5});
  Links expected = AllLinks(5);
  for (uint64_t a : {1, 2}) {
    for (uint64_t b : {4, 5}) {
      expected.erase({a, b});
      expected.erase({b, a});
    }
  }
  const Links got = h.Probe();
  EXPECT_EQ(got, expected);
  for (uint64_t other : {1, 2, 4, 5}) {
    EXPECT_TRUE(got.count({3, other}));
    EXPECT_TRUE(got.count({other, 3}));
  }
}

TEST(NetworkTest, HealRestoresAllLinks) {
  Harness h(5);
  h.net.Isolate(1);
  h.net.Partition({{2, 3}});
  h.net.BlockOneWay(4, 5);
  h.net.Bridge(3, {1}, {5});
  EXPECT_EQ(h.net.active_faults(), 4u);
  h.net.Heal();
  EXPECT_EQ(h.net.active_faults(), 0u);
  EXPECT_EQ(h.Probe(), AllLinks(5));
}

TEST(NetworkTest, RemovingOneFaultKeepsOverlappingOnes) {
  Harness h(3);
  const Network::FaultId isolate = h.net.Isolate(1);
  const Network::FaultId block = h.net.BlockOneWay(1, 2);
  h.net.Remove(isolate);
  EXPECT_TRUE(h.net.Blocked(1, 2));
  EXPECT_FALSE(h.net.Blocked(2, 1));
  EXPECT_FALSE(h.net.Blocked(1, 3));
  h.net.Remove(block);
  h.net.Remove(block);  // no-op
  EXPECT_EQ(h.Probe(), AllLinks(3));
}

TEST(NetworkTest, MessageInFlightWhenCutIsDropped) {
  NetworkOptions options;
  options.latency_min_us = 1'000;
  options.latency_max_us = 1'000;
  Harness h(2, options);
  h.net.Send(Msg(1, 2));
  h.loop.RunUntil(500);
  const Network::FaultId cut = h.net.Isolate(2);
  h.loop.RunUntil(2'000);
  EXPECT_TRUE(h.arrivals.empty());
  EXPECT_EQ(h.net.stats().dropped_in_flight, 1u);
  EXPECT_EQ(h.net.in_flight(), 0u);
  // Sent before, cut and healed while in flight: it arrives.
  h.net.Remove(cut);
  h.net.Send(Msg(1, 2));
  h.loop.RunUntil(2'500);
  h.net.Remove(h.net.Isolate(2));
  h.loop.RunUntil(5'000);
  EXPECT_EQ(h.arrivals.size(), 1u);
}

TEST(NetworkTest, ClogHoldsThenDeliversInOrder) {
  NetworkOptions options;
  options.latency_min_us = 100;
  options.latency_max_us = 100;
  Harness h(3, options);
  h.net.Clog(1, 2, 10'000);
  EXPECT_TRUE(h.net.Clogged(1, 2));
  EXPECT_FALSE(h.net.Clogged(2, 1));
  for (int i = 0; i < 3; ++i) h.net.Send(Msg(1, 2, i));
  h.net.Send(Msg(2, 1, 99));
  h.loop.RunUntil(9'999);
  ASSERT_EQ(h.arrivals.size(), 1u);  // only the reverse direction
  EXPECT_EQ(h.arrivals[0].index, 99u);
  EXPECT_EQ(h.net.in_flight(), 3u);
  h.loop.RunUntil(20'000);
  ASSERT_EQ(h.arrivals.size(), 4u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(h.arrivals[1 + i].index, static_cast<uint64_t>(i));
    EXPECT_EQ(h.arrivals[1 + i].at_us, 10'000);
  }
  EXPECT_EQ(h.net.stats().clogged, 3u);
  EXPECT_EQ(h.net.stats().dropped(), 0u);
  EXPECT_FALSE(h.net.Clogged(1, 2));
  EXPECT_EQ(h.net.active_faults(), 0u);
}

TEST(NetworkTest, HealReleasesClogEarly) {
  NetworkOptions options;
  options.latency_min_us = 100;
  options.latency_max_us = 100;
  Harness h(2, options);
  h.net.Clog(1, 2, 1'000'000);
  h.net.Send(Msg(1, 2));
  h.loop.RunUntil(5'000);
  EXPECT_TRUE(h.arrivals.empty());
  h.net.Heal();
  h.loop.RunUntil(5'000);
  ASSERT_EQ(h.arrivals.size(), 1u);
  EXPECT_EQ(h.arrivals[0].at_us, 5'000);
  EXPECT_TRUE(h.loop.Empty());  // the clog's expiry event was cancelled
}

TEST(NetworkTest, ClogDoesNotReleaseEarlierThanLatency) {
  NetworkOptions options;
  options.latency_min_us = 3'000;
  options.latency_max_us = 3'000;
  Harness h(2, options);
  h.net.Clog(1, 2, 1'000);
  h.net.Send(Msg(1, 2));
  h.loop.RunUntil(10'000);
  ASSERT_EQ(h.arrivals.size(), 1u);
  EXPECT_EQ(h.arrivals[0].at_us, 3'000);
}

TEST(NetworkTest, SlowAppendsDelayOnlyAppendsToThatNode) {
  NetworkOptions options;
  options.latency_min_us = 100;
  options.latency_max_us = 300;
  Harness h(3, options);
  const Network::FaultId f = h.net.SlowAppends(2, 10'000);
  raftpb::Message heartbeat = Msg(1, 2, 7);
  heartbeat.set_type(raftpb::MSG_HEARTBEAT);
  h.net.Send(Msg(1, 2, 1));  // an append to the slow node
  h.net.Send(std::move(heartbeat));  // not an append
  h.net.Send(Msg(1, 3, 3));  // an append to another node
  while (h.loop.RunOne()) {
  }
  ASSERT_EQ(h.arrivals.size(), 3u);
  for (const auto& a : h.arrivals) {
    if (a.index == 1) {
      EXPECT_GE(a.at_us, 10'100);
      EXPECT_LE(a.at_us, 10'300);
    } else {
      EXPECT_LE(a.at_us, 300) << "index " << a.index;
    }
  }
  h.net.Remove(f);
  h.arrivals.clear();
  const TimeUs sent_us = h.loop.Now();
  h.net.Send(Msg(1, 2, 4));
  while (h.loop.RunOne()) {
  }
  ASSERT_EQ(h.arrivals.size(), 1u);
  EXPECT_LE(h.arrivals[0].at_us - sent_us, 300) << "the lag ended with its fault";
  EXPECT_EQ(h.net.active_faults(), 0u);
}

TEST(NetworkTest, FaultsAndDropsAreTraced) {
  std::ostringstream out;
  Harness h(3);
  h.trace.set_output(&out);
  h.net.Partition({{1}, {2, 3}});
  h.net.Send(Msg(1, 2));
  h.net.Heal();
  EXPECT_EQ(out.str(),
            "[   0.000000s] net partition {1} {2 3} [f1]\n"
            "[   0.000000s] net drop 1->2 MsgApp t0 i0/0 c0 n0 (link blocked)\n"
            "[   0.000000s] net heal\n"
            "[   0.000000s] net end [f1] partition {1} {2 3}\n");
}

std::vector<Harness::Arrival> RunWorkload(uint64_t seed) {
  NetworkOptions options;
  options.drop_probability = 0.1;
  options.duplicate_probability = 0.1;
  options.reorder_probability = 0.1;
  options.distribution = LatencyDistribution::kExponential;
  Harness h(5, options, seed);
  for (int i = 0; i < 500; ++i) {
    const uint64_t from = 1 + i % 5;
    const uint64_t to = 1 + (from + i / 5 % 4) % 5;  // from + 1..4, wrapped: never from itself
    h.net.Send(Msg(from, to, i));
    if (i % 50 == 0) h.loop.RunUntil(h.loop.Now() + 700);
  }
  while (h.loop.RunOne()) {
  }
  return h.arrivals;
}

TEST(NetworkTest, SameSeedSameDeliveries) {
  const auto a = RunWorkload(42);
  const auto b = RunWorkload(42);
  ASSERT_FALSE(a.empty());
  EXPECT_EQ(a, b);
  EXPECT_NE(a, RunWorkload(43));
}

TEST(NetworkDeathTest, UnknownNodeAborts) {
  Harness h(3);
  EXPECT_DEATH(h.net.Send(Msg(1, 4)), "node id 4 out of range");
}

// Members added to a running cluster have ids that are not host numbers: the harness says where each id runs. Link
// faults are between hosts, and a message from or to an id that runs on no host is lost.
TEST(NetworkTest, IdsRunOnHostsTheHarnessNames) {
  Harness h(3);
  const uint64_t joiner = 0xfeedface12345678;  // runs on host 3
  h.net.set_host_of([joiner](uint64_t id) -> uint64_t {
    if (id == joiner) return 3;
    return id <= 2 ? id : 0;  // host 3's founding member (id 3) is gone
  });
  h.net.Send(Msg(1, joiner, 1));
  h.net.Send(Msg(1, 3, 2));  // the old member of host 3: nowhere
  const Network::FaultId cut = h.net.Isolate(3);
  h.net.Send(Msg(joiner, 2, 3));  // blocked: host 3 is isolated
  h.net.Remove(cut);
  h.net.Send(Msg(2, joiner, 4));
  while (h.loop.RunOne()) {
  }
  std::set<std::pair<uint64_t, uint64_t>> arrived;  // (index, to)
  for (const auto& a : h.arrivals) arrived.insert({a.index, a.to});
  EXPECT_EQ(arrived, (std::set<std::pair<uint64_t, uint64_t>>{{1, joiner}, {4, joiner}}));
  EXPECT_EQ(h.net.stats().dropped_unroutable, 1u);
  EXPECT_EQ(h.net.stats().dropped_blocked, 1u);
}

TEST(NetworkTest, MessageKeyTellsApartWhatDescribeMessageShows) {
  raftpb::Message base;
  base.set_from(1);
  base.set_to(2);
  base.set_type(raftpb::MSG_APP);
  base.set_term(3);
  base.set_index(5);
  base.set_log_term(2);
  base.set_commit(4);
  base.add_entries();
  EXPECT_EQ(MessageKey(base), MessageKey(raftpb::Message(base)));
  std::vector<raftpb::Message> changed(9, base);
  changed[0].set_from(3);
  changed[1].set_to(3);
  changed[2].set_type(raftpb::MSG_HEARTBEAT);
  changed[3].set_term(4);
  changed[4].set_index(6);
  changed[5].set_log_term(3);
  changed[6].set_commit(5);
  changed[7].add_entries();
  changed[8].set_reject(true);
  std::set<MessageKeyBytes> keys{MessageKey(base)};
  for (size_t i = 0; i < changed.size(); ++i) {
    // The line shows each change (but a MsgApp's reject flag, which the key holds all the same) ...
    if (i != 8) {
      EXPECT_NE(DescribeMessage(changed[i]), DescribeMessage(base)) << i;
    }
    keys.insert(MessageKey(changed[i]));  // ... and so does the key
  }
  EXPECT_EQ(keys.size(), changed.size() + 1);
}

}  // namespace
}  // namespace detcd::sim
