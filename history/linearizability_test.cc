#include "history/linearizability.h"

#include <algorithm>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "base/prng.h"
#include "gtest/gtest.h"
#include "history/history.h"
#include "history/register_history_gen.h"
#include "rapidcheck.h"

namespace detcd::history {
namespace {

constexpr int64_t kNever = kNeverCompleted;
const RegisterValue kNull = RegisterValue::Absent();
RegisterValue V(int64_t v) { return RegisterValue::Int(v); }

// Builds histories with explicit positions: each helper adds one operation invoked at `call` and completed at `ret`
// (kNever: never completed).
class Builder {
 public:
  Builder& Write(int64_t p, const std::string& key, RegisterValue v, int64_t call, int64_t ret,
                 OpOutcome outcome = OpOutcome::kOk) {
    return Add(p, OpFunction::kWrite, key, std::move(v), kNull, kNull, call, ret, outcome);
  }
  Builder& Read(int64_t p, const std::string& key, RegisterValue out, int64_t call, int64_t ret,
                OpOutcome outcome = OpOutcome::kOk) {
    return Add(p, OpFunction::kRead, key, kNull, kNull, std::move(out), call, ret, outcome);
  }
  Builder& Cas(int64_t p, const std::string& key, RegisterValue expected, RegisterValue next, int64_t call,
               int64_t ret, OpOutcome outcome = OpOutcome::kOk) {
    return Add(p, OpFunction::kCas, key, std::move(next), std::move(expected), kNull, call, ret, outcome);
  }
  const History& history() const { return h_; }

 private:
  Builder& Add(int64_t p, OpFunction f, const std::string& key, RegisterValue in, RegisterValue expected,
               RegisterValue out, int64_t call, int64_t ret, OpOutcome outcome) {
    Operation op;
    op.process = p;
    op.f = f;
    op.key = key;
    op.input = std::move(in);
    op.expected = std::move(expected);
    op.output = std::move(out);
    op.invocation = call;
    op.completion = ret;
    op.outcome = ret == kNever ? OpOutcome::kUnknown : outcome;
    h_.operations.push_back(std::move(op));
    return *this;
  }
  History h_;
};

bool Linearizable(const Builder& b) { return CheckLinearizability(b.history()).linearizable; }

// ---- Single behaviours -----------------------------------------------------------------------------------------

TEST(Linearizability, EmptyHistoryIsLinearizable) {
  const CheckResult r = CheckLinearizability(History());
  EXPECT_TRUE(r.linearizable);
  EXPECT_EQ(r.keys, 0u);
}

TEST(Linearizability, SequentialRegister) {
  EXPECT_TRUE(Linearizable(Builder().Write(1, "x", V(1), 1, 2).Read(1, "x", V(1), 3, 4)));
  EXPECT_FALSE(Linearizable(Builder().Write(1, "x", V(1), 1, 2).Read(1, "x", V(2), 3, 4)));
  EXPECT_FALSE(Linearizable(Builder().Write(1, "x", V(1), 1, 2).Read(1, "x", kNull, 3, 4)));
}

TEST(Linearizability, NeverWrittenKeyReadsAbsent) {
  EXPECT_TRUE(Linearizable(Builder().Read(1, "x", kNull, 1, 2)));
  EXPECT_FALSE(Linearizable(Builder().Read(1, "x", V(0), 1, 2)));
}

TEST(Linearizability, ValuesCompareByType) {
  EXPECT_FALSE(Linearizable(Builder().Write(1, "x", V(1), 1, 2).Read(2, "x", RegisterValue::String("1"), 3, 4)));
  EXPECT_TRUE(Linearizable(Builder()
                               .Write(1, "x", RegisterValue::String("1"), 1, 2)
                               .Read(2, "x", RegisterValue::String("1"), 3, 4)));
}

TEST(Linearizability, StaleReadAfterACompletedWriteIsCaught) {
  Builder b;
  b.Write(1, "x", V(1), 1, 2).Write(2, "x", V(2), 3, 4).Read(3, "x", V(1), 5, 6);
  EXPECT_FALSE(Linearizable(b));
  // Concurrent with the second write, the same read is fine.
  EXPECT_TRUE(Linearizable(Builder().Write(1, "x", V(1), 1, 2).Write(2, "x", V(2), 3, 6).Read(3, "x", V(1), 4, 5)));
}

TEST(Linearizability, ReadConcurrentWithAWriteMaySeeEitherValue) {
  EXPECT_TRUE(Linearizable(Builder().Write(1, "x", V(1), 1, 4).Read(2, "x", V(1), 2, 3)));
  EXPECT_TRUE(Linearizable(Builder().Write(1, "x", V(1), 1, 4).Read(2, "x", kNull, 2, 3)));
  // Equal positions are concurrent: a read invoked where the write completes may still see the old value.
  EXPECT_TRUE(Linearizable(Builder().Write(1, "x", V(1), 1, 5).Read(2, "x", kNull, 5, 6)));
  EXPECT_FALSE(Linearizable(Builder().Write(1, "x", V(1), 1, 5).Read(2, "x", kNull, 6, 7)));
}

TEST(Linearizability, ConcurrentWritesReadInAnImpossibleOrder) {
  // Two concurrent writes; reads (one process, in sequence) see 1 then 2: possible.
  EXPECT_TRUE(Linearizable(
      Builder().Write(1, "x", V(1), 1, 10).Write(2, "x", V(2), 1, 10).Read(3, "x", V(1), 2, 3).Read(3, "x", V(2), 4, 5)));
  // 1, 2, then 1 again: each value was written once, so no order explains it.
  EXPECT_FALSE(Linearizable(Builder()
                                .Write(1, "x", V(1), 1, 10)
                                .Write(2, "x", V(2), 1, 10)
                                .Read(3, "x", V(1), 2, 3)
                                .Read(3, "x", V(2), 4, 5)
                                .Read(3, "x", V(1), 6, 7)));
  // After both writes completed, two readers disagree in sequence: 2 then 1.
  EXPECT_FALSE(Linearizable(Builder()
                                .Write(1, "x", V(1), 1, 10)
                                .Write(2, "x", V(2), 1, 10)
                                .Read(3, "x", V(2), 11, 12)
                                .Read(4, "x", V(1), 13, 14)));
}

TEST(Linearizability, CasSuccessesThatContradictEachOther) {
  // Both concurrent cas(0 -> _) cannot succeed: after the first the value is no longer 0.
  EXPECT_FALSE(Linearizable(
      Builder().Write(1, "x", V(0), 1, 2).Cas(2, "x", V(0), V(1), 3, 6).Cas(3, "x", V(0), V(2), 4, 7)));
  // A chain is fine, in either invocation order.
  EXPECT_TRUE(Linearizable(
      Builder().Write(1, "x", V(0), 1, 2).Cas(2, "x", V(1), V(2), 3, 6).Cas(3, "x", V(0), V(1), 4, 7)));
  // cas from absent (create if absent) succeeds once.
  EXPECT_TRUE(Linearizable(Builder().Cas(1, "x", kNull, V(1), 1, 2).Read(1, "x", V(1), 3, 4)));
  EXPECT_FALSE(Linearizable(Builder().Cas(1, "x", kNull, V(1), 1, 2).Cas(2, "x", kNull, V(2), 3, 4)));
}

TEST(Linearizability, FailedCasIsAReadThatSawAnotherValue) {
  // The write completed, then the cas found the value was not 1: contradiction.
  EXPECT_FALSE(Linearizable(Builder().Write(1, "x", V(1), 1, 2).Cas(2, "x", V(1), V(2), 3, 4, OpOutcome::kFail)));
  // Were a failed cas simply dropped, the same history would pass: it does constrain the state.
  EXPECT_TRUE(Linearizable(Builder().Write(1, "x", V(1), 1, 2)));
  // Concurrent with the write, it may have seen the absent value before it.
  EXPECT_TRUE(Linearizable(Builder().Write(1, "x", V(1), 1, 4).Cas(2, "x", V(1), V(2), 2, 3, OpOutcome::kFail)));
  // Creating an absent key cannot fail while the key is absent.
  EXPECT_FALSE(Linearizable(Builder().Cas(1, "x", kNull, V(1), 1, 2, OpOutcome::kFail)));
  EXPECT_TRUE(Linearizable(Builder().Write(1, "x", V(5), 1, 2).Cas(1, "x", kNull, V(1), 3, 4, OpOutcome::kFail)));
  // A failed cas does not write: a later read of its new value is a contradiction.
  EXPECT_FALSE(Linearizable(
      Builder().Write(1, "x", V(0), 1, 2).Cas(1, "x", V(3), V(4), 3, 4, OpOutcome::kFail).Read(1, "x", V(4), 5, 6)));
}

TEST(Linearizability, FailedReadsAndWritesDidNotHappen) {
  EXPECT_TRUE(Linearizable(Builder().Write(1, "x", V(1), 1, 2, OpOutcome::kFail).Read(2, "x", kNull, 3, 4)));
  EXPECT_FALSE(Linearizable(Builder().Write(1, "x", V(1), 1, 2, OpOutcome::kFail).Read(2, "x", V(1), 3, 4)));
  // A failed read's (absent) value constrains nothing.
  EXPECT_TRUE(
      Linearizable(Builder().Write(1, "x", V(1), 1, 2).Read(2, "x", kNull, 3, 4, OpOutcome::kFail)));
}

TEST(Linearizability, UnknownWriteThatMustHaveHappened) {
  // Only the unknown write explains the read, even long after the writer vanished.
  EXPECT_TRUE(Linearizable(Builder().Write(1, "x", V(1), 1, kNever).Read(2, "x", V(1), 50, 51)));
  // "info" with a completion position is the same as never completing.
  EXPECT_TRUE(Linearizable(Builder().Write(1, "x", V(1), 1, 2, OpOutcome::kUnknown).Read(2, "x", V(1), 50, 51)));
  // But not before it was invoked.
  EXPECT_FALSE(Linearizable(Builder().Read(2, "x", V(1), 1, 2).Write(1, "x", V(1), 3, kNever)));
}

TEST(Linearizability, UnknownWriteThatMustNotHaveHappened) {
  // Reads after the unknown write still see the earlier value: it never took effect (or not yet).
  EXPECT_TRUE(Linearizable(
      Builder().Write(1, "x", V(1), 1, 2).Write(2, "x", V(2), 3, kNever).Read(3, "x", V(1), 5, 6).Read(3, "x", V(1), 7, 8)));
  // It may take effect late: 1, then 2.
  EXPECT_TRUE(Linearizable(
      Builder().Write(1, "x", V(1), 1, 2).Write(2, "x", V(2), 3, kNever).Read(3, "x", V(1), 5, 6).Read(3, "x", V(2), 7, 8)));
  // But only once: 1, 2, 1 is impossible.
  EXPECT_FALSE(Linearizable(Builder()
                                .Write(1, "x", V(1), 1, 2)
                                .Write(2, "x", V(2), 3, kNever)
                                .Read(3, "x", V(1), 5, 6)
                                .Read(3, "x", V(2), 7, 8)
                                .Read(3, "x", V(1), 9, 10)));
}

TEST(Linearizability, UnknownCasMayOrMayNotHaveTakenEffect) {
  Builder base;
  base.Write(1, "x", V(0), 1, 2).Cas(2, "x", V(0), V(1), 3, kNever);
  EXPECT_TRUE(Linearizable(Builder(base).Read(3, "x", V(1), 5, 6)));
  EXPECT_TRUE(Linearizable(Builder(base).Read(3, "x", V(0), 5, 6)));
  EXPECT_TRUE(Linearizable(Builder(base).Read(3, "x", V(0), 5, 6).Read(3, "x", V(1), 7, 8)));
  EXPECT_FALSE(Linearizable(Builder(base).Read(3, "x", V(1), 5, 6).Read(3, "x", V(0), 7, 8)));
  // Its compare must hold where it takes effect: a cas(5 -> 1) never makes a 1 out of a 0.
  EXPECT_FALSE(Linearizable(Builder().Write(1, "x", V(0), 1, 2).Cas(2, "x", V(5), V(1), 3, kNever).Read(3, "x", V(1), 5, 6)));
}

TEST(Linearizability, ExhaustedBudgetLeavesTheKeyUndecidedNotFailed) {
  // Twelve concurrent writes of unknown outcome, then reads that need some of them in a particular order: plenty of
  // configurations to remember.
  Builder b;
  for (int i = 0; i < 12; ++i) b.Write(i + 1, "x", V(i + 1), 1, kNever);
  b.Read(20, "x", V(3), 5, 6).Read(20, "x", V(7), 7, 8).Read(20, "x", V(3), 9, 10);
  b.Write(30, "y", V(1), 1, 2).Read(31, "y", V(2), 3, 4);
  CheckOptions tight;
  tight.max_configurations = 3;
  CheckResult r = CheckLinearizability(b.history(), tight);
  EXPECT_EQ(r.undecided, std::vector<std::string>{"x"});
  EXPECT_FALSE(r.linearizable) << "the other key is still decided";
  ASSERT_EQ(r.contradictions.size(), 1u);
  EXPECT_EQ(r.contradictions[0].key, "y");
  // Without a budget the search decides x too: 3, 7, 3 would need the write of 3 to take effect twice.
  CheckResult full = CheckLinearizability(b.history());
  EXPECT_TRUE(full.undecided.empty());
  EXPECT_EQ(full.contradictions.size(), 2u);
}

TEST(Linearizability, UnknownReadsConstrainNothing) {
  EXPECT_TRUE(Linearizable(Builder().Write(1, "x", V(1), 1, 2).Read(2, "x", kNull, 3, kNever)));
  EXPECT_TRUE(Linearizable(Builder().Write(1, "x", V(1), 1, 2).Read(2, "x", kNull, 3, 4, OpOutcome::kUnknown)));
}

TEST(Linearizability, KeysAreIndependent) {
  // A write to one key says nothing about another.
  EXPECT_TRUE(Linearizable(Builder().Write(1, "a", V(1), 1, 2).Read(2, "b", kNull, 3, 4)));
  EXPECT_FALSE(Linearizable(Builder().Write(1, "a", V(1), 1, 4).Read(2, "b", V(1), 2, 3)));
  // Only the failing key is reported.
  Builder b;
  b.Write(1, "a", V(1), 1, 2).Write(2, "b", V(1), 1, 2).Write(1, "a", V(2), 3, 4).Read(2, "b", V(1), 3, 4);
  b.Read(3, "a", V(1), 5, 6).Read(4, "c", kNull, 5, 6);
  const CheckResult r = CheckLinearizability(b.history());
  EXPECT_FALSE(r.linearizable);
  EXPECT_EQ(r.keys, 3u);
  ASSERT_EQ(r.contradictions.size(), 1u);
  EXPECT_EQ(r.contradictions[0].key, "a");
  EXPECT_EQ(r.contradictions[0].operations, (std::vector<size_t>{0, 2, 4}));
  EXPECT_EQ(r.contradictions[0].key_operations, 3u);
}

// ---- Shrinking ---------------------------------------------------------------------------------------------------

TEST(Linearizability, ShrinksToTheOperationsThatContradictEachOther) {
  // A stale read amid noise on the same key: other readers, and writes nobody depends on.
  Builder b;
  b.Write(1, "x", V(1), 1, 2);       // 0
  b.Read(2, "x", V(1), 3, 4);        // 1
  b.Write(3, "x", V(9), 3, kNever);  // 2: unknown, never observed
  b.Write(1, "x", V(2), 5, 6);       // 3
  b.Read(2, "x", V(2), 7, 8);        // 4
  b.Read(4, "x", V(1), 9, 10);       // 5: stale
  b.Read(2, "x", V(2), 11, 12);      // 6
  b.Write(1, "x", V(3), 13, 14);     // 7
  const CheckResult r = CheckLinearizability(b.history());
  ASSERT_EQ(r.contradictions.size(), 1u);
  EXPECT_EQ(r.contradictions[0].operations, (std::vector<size_t>{0, 3, 5}));
  EXPECT_TRUE(r.contradictions[0].shrunk_to_fixed_point);
  EXPECT_EQ(r.contradictions[0].key_operations, 8u);
}

TEST(Linearizability, ShrinkingNeverDropsTheWriteThatExplainsARead) {
  // Dropping "write 1" would leave "write 2; read 1", non-linearizable only because 1 was never written.
  const CheckResult r =
      CheckLinearizability(Builder().Write(1, "x", V(1), 1, 2).Write(2, "x", V(2), 3, 4).Read(3, "x", V(1), 5, 6).history());
  ASSERT_EQ(r.contradictions.size(), 1u);
  EXPECT_EQ(r.contradictions[0].operations, (std::vector<size_t>{0, 1, 2}));
}

TEST(Linearizability, ReadOfAValueNeverWrittenShrinksToTheRead) {
  const CheckResult r = CheckLinearizability(
      Builder().Write(1, "x", V(1), 1, 2).Read(2, "x", V(1), 3, 4).Read(2, "x", V(7), 5, 6).history());
  ASSERT_EQ(r.contradictions.size(), 1u);
  EXPECT_EQ(r.contradictions[0].operations, (std::vector<size_t>{2}));
}

TEST(Linearizability, ZeroShrinkBudgetReportsTheWholeKey) {
  CheckOptions options;
  options.shrink_budget = absl::ZeroDuration();
  const CheckResult r = CheckLinearizability(
      Builder().Write(1, "x", V(1), 1, 2).Read(2, "x", V(1), 3, 4).Read(2, "x", V(7), 5, 6).history(), options);
  ASSERT_EQ(r.contradictions.size(), 1u);
  EXPECT_EQ(r.contradictions[0].operations, (std::vector<size_t>{0, 1, 2}));
  EXPECT_FALSE(r.contradictions[0].shrunk_to_fixed_point);
}

TEST(Linearizability, FormatNamesTheKeyAndEachOperationWithItsLines) {
  absl::StatusOr<History> h = ParseHistory(
      R"({"process": 1, "type": "invoke", "f": "write", "key": "x", "value": 1}
{"process": 1, "type": "ok", "f": "write", "key": "x", "value": 1}
{"process": 1, "type": "invoke", "f": "write", "key": "x", "value": "two"}
{"process": 2, "type": "invoke", "f": "cas", "key": "y", "value": [null, 5]}
{"process": 1, "type": "ok", "f": "write", "key": "x", "value": "two"}
{"process": 3, "type": "invoke", "f": "read", "key": "x", "value": null}
{"process": 3, "type": "ok", "f": "read", "key": "x", "value": 1}
)");
  ASSERT_TRUE(h.ok()) << h.status();
  const CheckResult r = CheckLinearizability(*h);
  EXPECT_EQ(FormatCheckResult(*h, r),
            "linearizable: no\n"
            "key \"x\": no linearization of these 3 of its 3 operations:\n"
            "  lines 1-2  process 1  ok  write 1\n"
            "  lines 3-5  process 1  ok  write \"two\"\n"
            "  lines 6-7  process 3  ok  read 1\n"
            "(a read shows the value it returned, null if absent; a cas shows [expected, new], and \"fail\" means the "
            "current value differed from expected; \"info\" may or may not have taken effect)\n");
  EXPECT_EQ(FormatCheckResult(History(), CheckLinearizability(History())), "linearizable: yes\n");
}

// ---- Against ground truth ----------------------------------------------------------------------------------------

// The checker's semantics (see linearizability.h), written the slow and obvious way for one key: every subset of the
// unknown writers, in every order, checked against real time pair by pair and then run on a register.
bool BruteForceLinearizable(const History& h) {
  std::vector<const Operation*> required, optional;
  for (const Operation& op : h.operations) {
    if (op.outcome == OpOutcome::kFail && op.f != OpFunction::kCas) continue;
    if (op.outcome == OpOutcome::kUnknown) {
      if (op.f != OpFunction::kRead) optional.push_back(&op);
      continue;
    }
    required.push_back(&op);
  }
  auto ret = [](const Operation* op) { return op->outcome == OpOutcome::kUnknown ? kNeverCompleted : op->completion; };
  for (uint32_t mask = 0; mask < (1u << optional.size()); ++mask) {
    std::vector<const Operation*> seq = required;
    for (size_t i = 0; i < optional.size(); ++i) {
      if (mask & (1u << i)) seq.push_back(optional[i]);
    }
    std::sort(seq.begin(), seq.end());
    do {
      bool ok = true;
      for (size_t i = 0; i < seq.size() && ok; ++i) {
        for (size_t j = i + 1; j < seq.size() && ok; ++j) ok = !(ret(seq[j]) < seq[i]->invocation);
      }
      RegisterValue state;
      for (size_t i = 0; i < seq.size() && ok; ++i) {
        const Operation& op = *seq[i];
        if (op.f == OpFunction::kRead) {
          ok = state == op.output;
        } else if (op.f == OpFunction::kWrite) {
          state = op.input;
        } else if (op.outcome == OpOutcome::kFail) {
          ok = state != op.expected;
        } else {
          ok = state == op.expected;
          state = op.input;
        }
      }
      if (ok) return true;
    } while (std::next_permutation(seq.begin(), seq.end()));
  }
  return false;
}

// Small single-key histories with arbitrary results (so about half are not linearizable).
History RandomSmallHistory(Prng* prng) {
  HistoryRecorder rec;
  struct Busy {
    int id = -1;
    OpFunction f = OpFunction::kRead;
  };
  std::vector<Busy> busy(4);
  std::vector<int64_t> process_of = {0, 1, 2, 3};
  int64_t next_process = 4;
  const int n = 1 + static_cast<int>(prng->Uniform(7));
  int issued = 0, open = 0;
  auto value = [&](bool may_be_absent) {
    const uint64_t v = prng->Uniform(may_be_absent ? 3 : 2);
    return v == 2 ? RegisterValue() : V(static_cast<int64_t>(v) + 1);
  };
  while (issued < n || open > 0) {
    const size_t p = prng->Uniform(busy.size());
    if (busy[p].id < 0) {
      if (issued == n) continue;
      ++issued;
      ++open;
      const OpFunction f = static_cast<OpFunction>(prng->Uniform(3));
      busy[p].f = f;
      busy[p].id = f == OpFunction::kRead    ? rec.Invoke(process_of[p], f, "k")
                   : f == OpFunction::kWrite ? rec.Invoke(process_of[p], f, "k", value(false))
                                             : rec.Invoke(process_of[p], f, "k", value(false), value(true));
      continue;
    }
    const uint64_t outcome = prng->Uniform(10);
    if (outcome < 6) {
      rec.Ok(busy[p].id, busy[p].f == OpFunction::kRead ? value(true) : RegisterValue());
    } else if (outcome < 8) {
      rec.Fail(busy[p].id);
    } else if (outcome < 9) {
      rec.Info(busy[p].id);
    } else {
      process_of[p] = next_process++;  // never completes
    }
    busy[p].id = -1;
    --open;
  }
  return rec.history();
}

TEST(Linearizability, AgreesWithBruteForceOnSmallHistories) {
  Prng prng(2024);
  int linearizable = 0;
  constexpr int kRounds = 3000;
  for (int round = 0; round < kRounds; ++round) {
    const History h = RandomSmallHistory(&prng);
    const bool expected = BruteForceLinearizable(h);
    ASSERT_EQ(CheckLinearizability(h).linearizable, expected) << FormatHistory(h);
    linearizable += expected ? 1 : 0;
  }
  // Both verdicts are well represented, or the comparison would prove little.
  EXPECT_GT(linearizable, kRounds / 5);
  EXPECT_LT(linearizable, kRounds * 4 / 5);
}

// Every contradiction is itself non-linearizable, and only contains operations of its key.
void ExpectContradictionsHold(const History& h, const CheckResult& r) {
  for (const KeyContradiction& c : r.contradictions) {
    History sub;
    for (size_t i : c.operations) {
      ASSERT_LT(i, h.operations.size());
      EXPECT_EQ(h.operations[i].key, c.key);
      sub.operations.push_back(h.operations[i]);
    }
    EXPECT_FALSE(CheckLinearizability(sub).linearizable) << FormatHistory(sub);
    EXPECT_TRUE(std::is_sorted(c.operations.begin(), c.operations.end()));
  }
}

// The index of an ok read to corrupt, or -1.
int PickRead(const History& h, Prng* prng) {
  std::vector<int> reads;
  for (size_t i = 0; i < h.operations.size(); ++i) {
    if (h.operations[i].f == OpFunction::kRead && h.operations[i].outcome == OpOutcome::kOk) reads.push_back(i);
  }
  return reads.empty() ? -1 : reads[prng->Uniform(reads.size())];
}

// A stale-read corruption: a read r and an ok writer w1 of the same key such that another ok writer w2 completed
// after w1 completed and before r was invoked. Values are fresh per write, so r reading w1's value is impossible.
std::optional<std::pair<int, int>> PickStaleRead(const History& h) {
  auto writer = [](const Operation& op) {
    return op.outcome == OpOutcome::kOk && (op.f == OpFunction::kWrite || op.f == OpFunction::kCas);
  };
  for (size_t r = 0; r < h.operations.size(); ++r) {
    const Operation& read = h.operations[r];
    if (read.f != OpFunction::kRead || read.outcome != OpOutcome::kOk) continue;
    for (size_t w2 = 0; w2 < h.operations.size(); ++w2) {
      const Operation& b = h.operations[w2];
      if (!writer(b) || b.key != read.key || b.completion >= read.invocation) continue;
      for (size_t w1 = 0; w1 < h.operations.size(); ++w1) {
        const Operation& a = h.operations[w1];
        if (writer(a) && a.key == read.key && a.completion < b.invocation) {
          return std::make_pair(static_cast<int>(r), static_cast<int>(w1));
        }
      }
    }
  }
  return std::nullopt;
}

void ConfigureRapidCheck() { setenv("RC_PARAMS", "seed=20240611 max_success=200 max_size=100", 1); }

TEST(LinearizabilityProperty, RealRegisterHistoriesAreLinearizableAndCorruptedOnesAreNot) {
  ConfigureRapidCheck();
  const bool ok = rc::check("register histories", [] {
    RegisterWorkloadOptions options;
    options.seed = *rc::gen::arbitrary<uint64_t>();
    options.processes = *rc::gen::inRange(1, 9);
    options.keys = *rc::gen::inRange(1, 4);
    options.operations = *rc::gen::inRange(0, 120);
    options.unknown_fraction = *rc::gen::element(0.0, 0.05, 0.2);
    History h = GenerateRegisterHistory(options);
    const CheckResult good = CheckLinearizability(h);
    RC_ASSERT(good.linearizable);

    // A read of a value nobody wrote.
    Prng prng(options.seed);
    const int read = PickRead(h, &prng);
    if (read >= 0) {
      History bad = h;
      bad.operations[read].output = RegisterValue::String("never written");
      const CheckResult r = CheckLinearizability(bad);
      RC_ASSERT(!r.linearizable);
      RC_ASSERT(r.contradictions.size() == 1u);
      RC_ASSERT(r.contradictions[0].key == bad.operations[read].key);
      RC_ASSERT(r.contradictions[0].operations == std::vector<size_t>{static_cast<size_t>(read)});
    }
    // A stale read of a value overwritten before the read began: the contradiction keeps the write it saw.
    if (const auto stale = PickStaleRead(h)) {
      History bad = h;
      const Operation& w1 = bad.operations[stale->second];
      bad.operations[stale->first].output = w1.input;
      const CheckResult r = CheckLinearizability(bad);
      RC_ASSERT(!r.linearizable);
      RC_ASSERT(r.contradictions.size() == 1u);
      const std::vector<size_t>& ops = r.contradictions[0].operations;
      RC_ASSERT(std::count(ops.begin(), ops.end(), static_cast<size_t>(stale->first)) == 1);
      RC_ASSERT(std::count(ops.begin(), ops.end(), static_cast<size_t>(stale->second)) == 1);
      ExpectContradictionsHold(bad, r);
    }
  });
  EXPECT_TRUE(ok);
}

// 10,000 operations over 100 keys and 50 processes, as detcd-check must decide in seconds (timed in the report, not
// here): the verdict only.
TEST(Linearizability, TenThousandOperations) {
  RegisterWorkloadOptions options;
  options.seed = 10000;
  options.processes = 50;
  options.keys = 100;
  options.operations = 10000;
  options.unknown_fraction = 0.01;
  const History h = GenerateRegisterHistory(options);
  ASSERT_EQ(h.operations.size(), 10000u);
  const CheckResult r = CheckLinearizability(h);
  EXPECT_TRUE(r.linearizable);
  EXPECT_EQ(r.keys, 100u);

  const auto stale = PickStaleRead(h);
  ASSERT_TRUE(stale.has_value());
  History bad = h;
  bad.operations[stale->first].output = bad.operations[stale->second].input;
  const CheckResult b = CheckLinearizability(bad);
  EXPECT_FALSE(b.linearizable);
  ASSERT_EQ(b.contradictions.size(), 1u);
  EXPECT_LE(b.contradictions[0].operations.size(), 10u);
  ExpectContradictionsHold(bad, b);
}

// The same with many processes on one key (about 30 operations in flight at any time): a search without its
// pruning (see linearizability.cc) would not finish.
TEST(Linearizability, TenThousandOperationsOnOneKey) {
  RegisterWorkloadOptions options;
  options.seed = 10001;
  options.processes = 50;
  options.keys = 1;
  options.operations = 10000;
  options.unknown_fraction = 0.01;
  const History h = GenerateRegisterHistory(options);
  EXPECT_TRUE(CheckLinearizability(h).linearizable);
  const auto stale = PickStaleRead(h);
  ASSERT_TRUE(stale.has_value());
  History bad = h;
  bad.operations[stale->first].output = bad.operations[stale->second].input;
  const CheckResult b = CheckLinearizability(bad);
  EXPECT_FALSE(b.linearizable);
  ASSERT_EQ(b.contradictions.size(), 1u);
  EXPECT_EQ(b.contradictions[0].operations.size(), 3u);
}

}  // namespace
}  // namespace detcd::history
