#include "sim/scenarios/timeline.h"

#include <cstdlib>
#include <fstream>
#include <string>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "sim/scenarios/runner.h"
#include "sim/scenarios/scenario.h"

namespace detcd::sim {
namespace {

history::History TwoWrites() {
  history::HistoryRecorder rec;
  int64_t now = 0;
  rec.set_clock([&now] { return now; });
  now = 100'000;
  const int a = rec.Invoke(1, history::OpFunction::kWrite, "k1", history::RegisterValue::Int(7));
  now = 150'000;
  const int b = rec.Invoke(2, history::OpFunction::kWrite, "k2", history::RegisterValue::Int(8));
  now = 300'000;
  rec.Ok(a);
  rec.Info(b);
  return rec.history();
}

TEST(TimelineRecorderTest, KeepsChangesAsSpansAndMarksAndNamesWhatTheFailureNames) {
  Timeline t;
  TimelineRecorder r(&t);
  r.Observe(0, 1, "follower", 1);
  r.Observe(10, 1, "follower", 1);  // no change: no new span
  r.Observe(50, 1, "leader", 2);
  r.NodeEvent(400'000, 1, "crash");
  r.NodeEvent(600'000, 1, "restart");
  simpb::Fault crash;
  crash.set_at_ms(400);
  crash.mutable_crash()->mutable_target()->set_node(1);
  crash.mutable_crash()->set_restart_after_ms(200);
  r.Finish(3, 1'000'000, 1'500'000, {crash}, TwoWrites(), "safety violation", "linearizability",
           "key \"k2\": no linearization", 900'000);
  ASSERT_EQ(t.spans.size(), 4u);
  EXPECT_EQ(t.spans[0].state, "follower");
  EXPECT_EQ(t.spans[0].to_us, 50);
  EXPECT_EQ(t.spans[1].state, "leader");
  EXPECT_EQ(t.spans[1].term, 2u);
  EXPECT_EQ(t.spans[1].to_us, 400'000);
  EXPECT_EQ(t.spans[2].state, "down");
  EXPECT_EQ(t.spans[2].to_us, 600'000);
  EXPECT_EQ(t.spans[3].state, "up");
  EXPECT_EQ(t.spans[3].to_us, 1'500'000) << "the open span ends with the run";
  ASSERT_EQ(t.marks.size(), 2u);
  ASSERT_EQ(t.bands.size(), 1u);
  EXPECT_EQ(t.bands[0].kind, "crash");
  EXPECT_EQ(t.bands[0].from_us, 400'000);
  EXPECT_EQ(t.bands[0].to_us, 600'000);
  ASSERT_EQ(t.ops.size(), 2u);
  EXPECT_EQ(t.ops[0].text, "write k1 7");
  EXPECT_EQ(t.ops[0].from_us, 100'000);
  EXPECT_EQ(t.ops[0].to_us, 300'000);
  EXPECT_FALSE(t.ops[0].highlighted);
  EXPECT_EQ(t.ops[1].outcome, "info");
  EXPECT_TRUE(t.ops[1].highlighted) << "the failure names k2";
}

TEST(TimelineHtmlTest, ASelfContainedPageWithEverythingEscaped) {
  Timeline t;
  TimelineRecorder r(&t);
  r.Observe(0, 1, "leader", 3);
  r.Finish(1, 1'000'000, 1'000'000, {}, TwoWrites(), "safety violation", "<script>", "a & b < c \"quoted\"\x01", 500);
  t.title = "t<i>tle";
  const std::string html = TimelineHtml(t);
  EXPECT_FALSE(absl::StrContains(html, "<script")) << "nothing runs, and the checker's text is escaped";
  EXPECT_TRUE(absl::StrContains(html, "&lt;script&gt;"));
  EXPECT_TRUE(absl::StrContains(html, "a &amp; b &lt; c &quot;quoted&quot;\xEF\xBF\xBD"));
  EXPECT_TRUE(absl::StrContains(html, "t&lt;i&gt;tle"));
  EXPECT_FALSE(absl::StrContains(html, "http://") && absl::StrContains(html, "src=")) << "nothing fetched";
  EXPECT_TRUE(absl::StrContains(html, "class=\"span leader\""));
  EXPECT_TRUE(absl::StrContains(html, "class=\"failure\""));
  EXPECT_TRUE(absl::StrContains(html, "id=\"verdict\" class=\"fail\""));
}

// A real run with a timeline: every node's lane has spans, some node led, the crash shows, the clients' operations
// are there, and the timeline did not change the run.
TEST(TimelineRunTest, ARunFillsItsTimelineWithoutChangingIt) {
  absl::StatusOr<ScenarioConfig> c = ParseScenarioText(R"pb(
                                                         name: "timeline"
                                                         nodes: 3
                                                         duration_ms: 3000
                                                         liveness_bound_ms: 10000
                                                         kv { clients: 2 ops_per_sec: 40 }
                                                         faults {
                                                           at_ms: 1000
                                                           crash {
                                                             target { select: LEADER }
                                                             restart_after_ms: 500
                                                           }
                                                         }
                                                       )pb",
                                                       "timeline.textproto");
  ASSERT_TRUE(c.ok()) << c.status();
  RunOptions plain;
  plain.seed = 3;
  const RunResult without = RunScenario(*c, plain);
  Timeline t;
  RunOptions with = plain;
  with.timeline = &t;
  const RunResult r = RunScenario(*c, with);
  EXPECT_EQ(r.trace_hash, without.trace_hash) << "recording the timeline changed the run";
  EXPECT_EQ(t.nodes, 3);
  EXPECT_EQ(t.title, "timeline seed 3");
  EXPECT_EQ(t.verdict, "pass");
  bool led = false;
  int down = 0;
  for (const Timeline::Span& s : t.spans) {
    led |= s.state == "leader";
    down += s.state == "down" ? 1 : 0;
  }
  EXPECT_TRUE(led);
  EXPECT_EQ(down, 1);
  EXPECT_EQ(t.bands.size(), 1u);
  EXPECT_EQ(t.ops.size(), r.history.operations.size());
  EXPECT_GT(t.ops.size(), 20u);
  const std::string html = TimelineHtml(t);
  EXPECT_TRUE(absl::StrContains(html, "class=\"band crash\""));
  EXPECT_TRUE(absl::StrContains(html, "data-what=\"crash\""));
  EXPECT_TRUE(absl::StrContains(html, "id=\"verdict\" class=\"pass\""));
  // The counts read as English: one fault, several nodes and operations.
  EXPECT_TRUE(absl::StrContains(html, absl::StrCat("<p>3 nodes, 1 fault, ", t.ops.size(), " client operations;")))
      << html.substr(0, 2000);
  if (const char* out = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR")) {  // to look at
    std::ofstream(std::string(out) + "/timeline.html") << html;
  }
}

}  // namespace
}  // namespace detcd::sim
