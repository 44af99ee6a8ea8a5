#include "history/history.h"

#include <string>

#include "base/prng.h"
#include "gtest/gtest.h"
#include "history/register_history_gen.h"

namespace detcd::history {
namespace {

std::string ErrorOf(absl::string_view text) {
  absl::StatusOr<History> h = ParseHistory(text);
  EXPECT_FALSE(h.ok()) << "accepted:\n" << text;
  return h.ok() ? "" : std::string(h.status().message());
}

TEST(History, ParsesOperationsWithPositionsOutcomesAndLines) {
  const std::string text =
      R"({"process": 1, "type": "invoke", "f": "write", "key": "x", "value": 5}
{"process": 2, "type": "invoke", "f": "read", "key": "x", "value": null}

{"process": 1, "type": "ok", "f": "write", "key": "x", "value": 5}
{"process": 2, "type": "ok", "f": "read", "key": "x", "value": "five"}
{"process": 3, "type": "invoke", "f": "cas", "key": "y", "value": [null, 7], "time": 123, "index": 4}
{"process": 3, "type": "fail", "f": "cas", "key": "y", "value": [null, 7], "error": "compare failed"}
{"process": 4, "type": "invoke", "f": "write", "key": "z", "value": 1}
{"process": 4, "type": "info", "f": "write", "key": "z", "value": null}
{"process": 4, "type": "invoke", "f": "read", "key": "z"}
{"process": 5, "type": "invoke", "f": "read", "key": "y"}
{"process": 5, "type": "fail", "f": "read"}
)";
  absl::StatusOr<History> h = ParseHistory(text);
  ASSERT_TRUE(h.ok()) << h.status();
  ASSERT_EQ(h->operations.size(), 6u);

  const Operation& w = h->operations[0];
  EXPECT_EQ(w.process, 1);
  EXPECT_EQ(w.f, OpFunction::kWrite);
  EXPECT_EQ(w.key, "x");
  EXPECT_EQ(w.input, RegisterValue::Int(5));
  EXPECT_EQ(w.outcome, OpOutcome::kOk);
  EXPECT_EQ(w.invocation, 1);
  EXPECT_EQ(w.completion, 4);  // positions are line numbers; the blank line 3 is skipped
  EXPECT_EQ(w.invoke_line, 1);
  EXPECT_EQ(w.completion_line, 4);

  const Operation& r = h->operations[1];
  EXPECT_EQ(r.f, OpFunction::kRead);
  EXPECT_EQ(r.output, RegisterValue::String("five"));
  EXPECT_NE(r.output, RegisterValue::Int(5));
  EXPECT_EQ(r.completion_line, 5);

  const Operation& cas = h->operations[2];
  EXPECT_EQ(cas.f, OpFunction::kCas);
  EXPECT_TRUE(cas.expected.absent());
  EXPECT_EQ(cas.input, RegisterValue::Int(7));
  EXPECT_EQ(cas.outcome, OpOutcome::kFail);

  const Operation& info = h->operations[3];
  EXPECT_EQ(info.outcome, OpOutcome::kUnknown);
  EXPECT_EQ(info.completion_line, 9);

  const Operation& hanging = h->operations[4];  // process 4 may invoke again after "info"; this one never completes
  EXPECT_EQ(hanging.outcome, OpOutcome::kUnknown);
  EXPECT_EQ(hanging.completion, kNeverCompleted);
  EXPECT_EQ(hanging.completion_line, 0);

  EXPECT_EQ(h->operations[5].outcome, OpOutcome::kFail);
}

TEST(History, ValuesCompareByTypeAndContent) {
  EXPECT_NE(RegisterValue::Int(1), RegisterValue::String("1"));
  EXPECT_NE(RegisterValue::Int(0), RegisterValue::Absent());
  EXPECT_NE(RegisterValue::String(""), RegisterValue::Absent());
  EXPECT_EQ(RegisterValue::String("a"), RegisterValue::String("a"));
  EXPECT_EQ(RegisterValue::Int(1).ToJson(), "1");
  EXPECT_EQ(RegisterValue::String("a\"b").ToJson(), "\"a\\\"b\"");
  EXPECT_EQ(RegisterValue::Absent().ToJson(), "null");
}

TEST(History, EmptyAndBlankInputIsAnEmptyHistory) {
  EXPECT_TRUE(ParseHistory("")->operations.empty());
  EXPECT_TRUE(ParseHistory("\n  \n\r\n")->operations.empty());
}

TEST(History, ErrorsNameTheLineAndTheReason) {
  const std::string invoke_w = R"({"process": 1, "type": "invoke", "f": "write", "key": "x", "value": 1})";
  EXPECT_EQ(ErrorOf(invoke_w + "\n{\"process\": 1, \"type\": \"ok\""),
            "line 2: column 28: expected ',' or '}', found end of line");
  EXPECT_EQ(ErrorOf("[1]"), "line 1: expected a JSON object, found an array");
  EXPECT_EQ(ErrorOf(R"({"type": "invoke", "f": "read", "key": "x"})"), "line 1: missing field \"process\"");
  EXPECT_EQ(ErrorOf(R"({"process": "p1", "type": "invoke", "f": "read", "key": "x"})"),
            "line 1: \"process\" must be an integer, found a string");
  EXPECT_EQ(ErrorOf(R"({"process": 1, "type": "start", "f": "read", "key": "x"})"),
            "line 1: unknown type \"start\" (want \"invoke\", \"ok\", \"fail\" or \"info\")");
  EXPECT_EQ(ErrorOf(R"({"process": 1, "type": "invoke", "f": "delete", "key": "x"})"),
            "line 1: unknown f \"delete\" (want \"read\", \"write\" or \"cas\")");
  EXPECT_EQ(ErrorOf(R"({"process": 1, "type": "invoke", "f": "read"})"), "line 1: missing field \"key\"");
  EXPECT_EQ(ErrorOf(R"({"process": 1, "type": "invoke", "f": "read", "key": 3})"),
            "line 1: \"key\" must be a string, found an integer");
  // Jepsen's fault injector's lines are not operations.
  EXPECT_EQ(ErrorOf("{\"process\": \"nemesis\", \"type\": \"info\", \"f\": \"start-partition\", \"value\": \"majority\"}\n"
                    R"({"process": "n1", "type": "invoke", "f": "read", "key": "x"})"),
            "line 2: \"process\" must be an integer, found a string");
  // Fields the check does not use are ignored, so a misspelt "value" shows up as a missing one.
  EXPECT_EQ(ErrorOf(R"({"process": 1, "type": "invoke", "f": "write", "key": "x", "vaule": 1})"),
            "line 1: a write's invoke needs a \"value\" (the value written)");
  EXPECT_EQ(ErrorOf(R"({"process": 1, "type": "invoke", "f": "write", "key": "x"})"),
            "line 1: a write's invoke needs a \"value\" (the value written)");
  EXPECT_EQ(ErrorOf(R"({"process": 1, "type": "invoke", "f": "write", "key": "x", "value": null})"),
            "line 1: the value written must be an integer or a string, found null");
  EXPECT_EQ(ErrorOf(R"({"process": 1, "type": "invoke", "f": "write", "key": "x", "value": true})"),
            "line 1: the value written must be an integer, a string, found a boolean");
  EXPECT_EQ(ErrorOf(R"({"process": 1, "type": "invoke", "f": "write", "key": "x", "value": 1.5})"),
            "line 1: column 70: numbers must be integers (no fraction or exponent)");
  EXPECT_EQ(ErrorOf(R"({"process": 1, "type": "invoke", "f": "cas", "key": "x", "value": 1})"),
            "line 1: a cas's value must be a 2-element array [expected, new], found 1");
  EXPECT_EQ(ErrorOf(R"({"process": 1, "type": "invoke", "f": "cas", "key": "x", "value": [1, 2, 3]})"),
            "line 1: a cas's value must be a 2-element array [expected, new], found an array of 3");
  EXPECT_EQ(ErrorOf(R"({"process": 1, "type": "invoke", "f": "cas", "key": "x", "value": [1, null]})"),
            "line 1: a cas's new value must be an integer or a string, found null");
  EXPECT_EQ(ErrorOf(R"({"process": 1, "type": "invoke", "f": "cas", "key": "x", "value": [[1], 2]})"),
            "line 1: a cas's expected value must be an integer, a string or null, found an array");
  EXPECT_EQ(ErrorOf(R"({"process": 1, "type": "invoke", "f": "read", "key": "x", "value": 4})"),
            "line 1: a read's invoke carries no value (null), found 4");
  EXPECT_EQ(ErrorOf(R"({"process": 1, "type": "ok", "f": "read", "key": "x", "value": 4})"),
            "line 1: \"ok\" for process 1, which has no invoke in flight");
  EXPECT_EQ(ErrorOf(invoke_w + "\n" + invoke_w), "line 2: process 1 invokes again while its operation from line 1 is "
                                                 "still in flight");
  EXPECT_EQ(ErrorOf(invoke_w + "\n" + R"({"process": 1, "type": "ok", "f": "read", "key": "x", "value": 1})"),
            "line 2: f \"read\" differs from \"write\" of process 1's invoke at line 1");
  EXPECT_EQ(ErrorOf(invoke_w + "\n" + R"({"process": 1, "type": "ok", "f": "write", "key": "y", "value": 1})"),
            "line 2: key \"y\" differs from \"x\" of process 1's invoke at line 1");
  EXPECT_EQ(ErrorOf(invoke_w + "\n" + R"({"process": 1, "type": "ok", "f": "write", "key": "x", "value": 2})"),
            "line 2: value 2 differs from the arguments of process 1's invoke at line 1");
  EXPECT_EQ(ErrorOf(invoke_w + "\n" + R"({"process": 1, "type": "ok", "f": "write", "key": "x", "value": "1"})"),
            "line 2: value \"1\" differs from the arguments of process 1's invoke at line 1");
  const std::string invoke_r = R"({"process": 2, "type": "invoke", "f": "read", "key": "x"})";
  EXPECT_EQ(ErrorOf(invoke_r + "\n" + R"({"process": 2, "type": "ok", "f": "read", "key": "x"})"),
            "line 2: a read's ok needs a \"value\": the value read (null if absent)");
  EXPECT_EQ(ErrorOf(invoke_r + "\n" + R"({"process": 2, "type": "info", "f": "read", "key": "x", "value": 3})"),
            "line 2: a read that did not complete ok carries no value (null), found 3");
  EXPECT_EQ(ErrorOf("\n\n" + invoke_r + " x"), "line 3: column 59: unexpected 'x' after the value");
}

TEST(History, CompletionsMayRepeatOrOmitTheArguments) {
  const std::string text = R"({"process": 1, "type": "invoke", "f": "cas", "key": "x", "value": [1, "2"]}
{"process": 1, "type": "ok", "f": "cas", "key": "x", "value": [1, "2"]}
{"process": 1, "type": "invoke", "f": "cas", "key": "x", "value": [1, "2"]}
{"process": 1, "type": "fail", "f": "cas"}
{"process": 1, "type": "invoke", "f": "write", "key": "x", "value": 3}
{"process": 1, "type": "info", "f": "write", "value": null}
)";
  absl::StatusOr<History> h = ParseHistory(text);
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->operations.size(), 3u);
  EXPECT_EQ(h->operations[0].input, RegisterValue::String("2"));
  EXPECT_EQ(h->operations[0].expected, RegisterValue::Int(1));
}

TEST(History, FormatParsesBackToTheSameOperations) {
  RegisterWorkloadOptions options;
  options.operations = 300;
  options.unknown_fraction = 0.1;
  options.fail_fraction = 0.1;
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    options.seed = seed;
    const History original = GenerateRegisterHistory(options);
    absl::StatusOr<History> back = ParseHistory(FormatHistory(original));
    ASSERT_TRUE(back.ok()) << back.status();
    ASSERT_EQ(back->operations.size(), original.operations.size());
    for (size_t i = 0; i < original.operations.size(); ++i) {
      const Operation& a = original.operations[i];
      const Operation& b = back->operations[i];
      EXPECT_EQ(a.process, b.process);
      EXPECT_EQ(a.f, b.f);
      EXPECT_EQ(a.key, b.key);
      EXPECT_EQ(a.input, b.input);
      EXPECT_EQ(a.expected, b.expected);
      EXPECT_EQ(a.output, b.output);
      EXPECT_EQ(a.outcome, b.outcome);
      // The recorder numbers events like the lines of the file it formats to.
      EXPECT_EQ(a.invocation, b.invocation);
      EXPECT_EQ(a.completion, b.completion);
      EXPECT_EQ(a.invoke_line, b.invoke_line);
      EXPECT_EQ(a.completion_line, b.completion_line);
    }
  }
}

TEST(History, FormatKeepsEventsAtEqualPositionsConcurrentAndProcessesSequential) {
  History h;
  auto op = [](int64_t process, OpFunction f, int64_t invocation, int64_t completion) {
    Operation o;
    o.process = process;
    o.f = f;
    o.key = "k";
    if (f == OpFunction::kWrite) o.input = RegisterValue::Int(process);
    o.outcome = OpOutcome::kOk;
    o.invocation = invocation;
    o.completion = completion;
    return o;
  };
  h.operations.push_back(op(1, OpFunction::kWrite, 10, 20));
  h.operations.push_back(op(2, OpFunction::kRead, 20, 30));   // invoked as process 1's write completes: concurrent
  h.operations.push_back(op(1, OpFunction::kWrite, 20, 40));  // process 1 again, at the same position
  absl::StatusOr<History> back = ParseHistory(FormatHistory(h));
  ASSERT_TRUE(back.ok()) << back.status() << "\n" << FormatHistory(h);
  ASSERT_EQ(back->operations.size(), 3u);
  const Operation& first = back->operations[0];
  const Operation& read = back->operations[1].process == 2 ? back->operations[1] : back->operations[2];
  EXPECT_GT(first.completion, read.invocation) << FormatHistory(h);
}

// Random edits of a valid history: the parser returns a history or a "line N: ..." error, and never crashes.
TEST(History, SurvivesGarbage) {
  RegisterWorkloadOptions options;
  options.operations = 20;
  const std::string valid = FormatHistory(GenerateRegisterHistory(options));
  const std::string alphabet = "{}[]\":,\\-0123456789 \nabcdefiklnoprstuvwy";
  Prng prng(11);
  for (int round = 0; round < 5000; ++round) {
    std::string s = valid;
    const int edits = 1 + static_cast<int>(prng.Uniform(3));
    for (int e = 0; e < edits; ++e) {
      const size_t at = prng.Uniform(s.size() + 1);
      if (prng.Chance(0.5)) {
        s.insert(at, 1, alphabet[prng.Uniform(alphabet.size())]);
      } else if (at < s.size()) {
        s.erase(at, 1);
      }
    }
    absl::StatusOr<History> h = ParseHistory(s);
    if (!h.ok()) {
      EXPECT_EQ(h.status().message().substr(0, 5), "line ") << h.status();
    }
  }
}

TEST(History, UnreadableFileIsAnError) {
  absl::StatusOr<History> h = ReadHistoryFile("/nonexistent/history.jsonl");
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.status().message(), "cannot read history file '/nonexistent/history.jsonl': No such file or directory");
}

}  // namespace
}  // namespace detcd::history

namespace detcd::history {
namespace {

TEST(History, WithdrawnOperationsAreLeftOutAndLinesStayTrue) {
  HistoryRecorder rec;
  const int w = rec.Invoke(1, OpFunction::kWrite, "k", RegisterValue::Int(1));
  const int gone = rec.Invoke(2, OpFunction::kCas, "k", RegisterValue::Int(2), RegisterValue::Int(1));
  rec.Ok(w);
  rec.Withdraw(gone);  // refused before it could take effect
  const int r = rec.Invoke(3, OpFunction::kRead, "k");
  rec.Ok(r, RegisterValue::Int(1));
  const History h = rec.history();
  ASSERT_EQ(h.operations.size(), 2u);
  EXPECT_EQ(h.operations[0].f, OpFunction::kWrite);
  EXPECT_EQ(h.operations[1].f, OpFunction::kRead);
  // The line numbers are those of the file FormatHistory writes, as ParseHistory reads them back.
  absl::StatusOr<History> back = ParseHistory(FormatHistory(h));
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->operations.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(back->operations[i].invoke_line, h.operations[i].invoke_line) << i;
    EXPECT_EQ(back->operations[i].completion_line, h.operations[i].completion_line) << i;
  }
  EXPECT_EQ(h.operations[1].invoke_line, 3);
}

}  // namespace
}  // namespace detcd::history
