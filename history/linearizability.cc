#include "history/linearizability.h"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "base/check.h"
#include "history/json.h"

namespace detcd::history {
namespace {

// ---- The model: one key's operations, values interned as small integers -------------------------------------------

using ValueId = int32_t;
constexpr ValueId kAbsentId = 0;

enum class StepKind : uint8_t {
  kRead,       // requires state == a
  kWrite,      // state := a
  kCas,        // requires state == a; state := b
  kCasFailed,  // requires state != a (a cas that completed with "fail")
};

struct ModelOp {
  StepKind kind = StepKind::kRead;
  bool optional = false;  // unknown outcome: return at +infinity, may never take effect
  ValueId a = kAbsentId;
  ValueId b = kAbsentId;
  int64_t invocation = 0;
  int64_t completion = 0;  // meaningless when optional
  size_t history_index = 0;
};

// The register's sequential specification: whether `op` can take effect in `state`, and the state after it.
inline bool Apply(const ModelOp& op, ValueId state, ValueId* next) {
  switch (op.kind) {
    case StepKind::kRead:
      *next = state;
      return state == op.a;
    case StepKind::kWrite:
      *next = op.a;
      return true;
    case StepKind::kCas:
      *next = op.b;
      return state == op.a;
    case StepKind::kCasFailed:
      *next = state;
      return state != op.a;
  }
  return false;
}

// Whether an operation changes the register (and so could be what another operation observed).
inline bool IsWriter(const ModelOp& op) { return op.kind == StepKind::kWrite || op.kind == StepKind::kCas; }

// SplitMix64 finalizer: a fixed random 64-bit key per operation index for the Zobrist hash of the linearized set.
inline uint64_t Mix(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// ---- The search (WGL) --------------------------------------------------------------------------------------------

// Runs the search for one key's operations. Holds its buffers across calls so that shrinking, which runs it many
// times, allocates only when a history is larger than any before; nothing is allocated per search step except
// when the cache grows.
class KeySearch {
 public:
  // At most this many configurations are remembered per key (0: no limit); past it the search gives up and
  // exhausted() says so (Linearizable then returns true: nothing was proven).
  void set_budget(size_t configurations) { budget_ = configurations; }
  bool exhausted() const { return exhausted_; }

  bool Linearizable(const std::vector<ModelOp>& ops) {
    exhausted_ = false;
    const int32_t n = static_cast<int32_t>(ops.size());
    int32_t required = 0;
    for (const ModelOp& op : ops) required += op.optional ? 0 : 1;
    if (required == 0) return true;  // every remaining operation may simply not have happened
    BuildList(ops);

    words_ = (static_cast<size_t>(n) + 63) / 64;
    stride_ = 2 + words_;
    bits_.assign(words_, 0);
    zobrist_.resize(n);
    for (int32_t i = 0; i < n; ++i) zobrist_[i] = Mix(static_cast<uint64_t>(i));
    arena_.clear();
    cache_.clear();
    stack_.clear();
    ValueId values = 1;
    for (const ModelOp& op : ops) values = std::max({values, op.a + 1, op.b + 1});
    producers_.assign(values, 0);
    needers_.assign(values, 0);
    for (const ModelOp& op : ops) Count(op, +1);

    uint64_t set_hash = 0;
    ValueId state = kAbsentId;
    // Undoes linearizations until one whose alternatives remain to be tried; false if none is left. A frame whose
    // operation does not change the register was forced (see below): its configuration fails with it.
    auto backtrack = [&](int32_t* entry) {
      for (;;) {
        if (stack_.empty()) return false;
        const Frame top = stack_.back();
        stack_.pop_back();
        state = top.state_before;
        Flip(top.op);
        set_hash ^= zobrist_[top.op];
        Unlift(top.op);
        Count(ops[top.op], +1);
        if (!ops[top.op].optional) ++required;
        if (!top.forced) {
          *entry = next_[call_entry_[top.op]];
          return true;
        }
      }
    };
    int32_t entry = next_[kHead];
    for (;;) {
      DETCD_CHECK_MSG(entry != kEnd, "the list ends only after every required operation was linearized");
      const int32_t op_index = entry_op_[entry];
      if (!entry_is_call_[entry]) {
        // The return of an operation not yet linearized: every order that linearizes it later breaks real time.
        if (!backtrack(&entry)) return false;
        continue;
      }
      const ModelOp& op = ops[op_index];
      ValueId after;
      if (!Apply(op, state, &after) || Strands(op, state, after)) {
        entry = next_[entry];
        continue;
      }
      // A read or failed cas that holds now, among the operations that may go next, can go first: in any
      // successful continuation it could be moved to the front (nothing remaining must precede it in real time,
      // and it leaves the register as it was). So if linearizing it now fails, this configuration fails too, and
      // its other candidates need no trial. This partial-order reduction keeps histories with many concurrent
      // readers of one key tractable.
      const bool forced = after == state && !IsWriter(op);
      Flip(op_index);
      set_hash ^= zobrist_[op_index];
      if (!Remember(set_hash, after)) {
        Flip(op_index);
        set_hash ^= zobrist_[op_index];
        if (forced) {
          if (!backtrack(&entry)) return false;
        } else {
          entry = next_[entry];
        }
        continue;
      }
      if (budget_ > 0 && cache_.size() > budget_) {
        exhausted_ = true;
        return true;
      }
      stack_.push_back({op_index, state, forced});
      state = after;
      Lift(op_index);
      Count(op, -1);
      if (!op.optional && --required == 0) return true;
      entry = next_[kHead];
    }
  }

 private:
  static constexpr int32_t kHead = 0;
  static constexpr int32_t kEnd = -1;

  size_t budget_ = 0;
  bool exhausted_ = false;

  struct Frame {
    int32_t op;
    ValueId state_before;
    bool forced;
  };

  // Entries 1..E are the call and return events in time order (calls before returns at equal times: such operations
  // are concurrent); entry 0 is the head sentinel. Optional operations have a call entry only.
  void BuildList(const std::vector<ModelOp>& ops) {
    const int32_t n = static_cast<int32_t>(ops.size());
    events_.clear();
    for (int32_t i = 0; i < n; ++i) {
      events_.push_back({ops[i].invocation, 0, i});
      if (!ops[i].optional) events_.push_back({ops[i].completion, 1, i});
    }
    std::sort(events_.begin(), events_.end());
    const int32_t e = static_cast<int32_t>(events_.size());
    next_.assign(e + 1, kEnd);
    prev_.assign(e + 1, kHead);
    entry_op_.assign(e + 1, -1);
    entry_is_call_.assign(e + 1, 0);
    call_entry_.assign(n, -1);
    return_entry_.assign(n, -1);
    for (int32_t k = 1; k <= e; ++k) {
      const TimedEvent& ev = events_[k - 1];
      entry_op_[k] = ev.op;
      entry_is_call_[k] = ev.is_return == 0;
      (ev.is_return ? return_entry_ : call_entry_)[ev.op] = k;
      prev_[k] = k - 1;
      next_[k - 1] = k;
    }
    next_[e] = kEnd;
  }

  void Unlink(int32_t e) {
    next_[prev_[e]] = next_[e];
    if (next_[e] != kEnd) prev_[next_[e]] = prev_[e];
  }
  void Relink(int32_t e) {
    next_[prev_[e]] = e;
    if (next_[e] != kEnd) prev_[next_[e]] = e;
  }
  // Removes an operation's events from the list; Unlift undoes the most recent Lift (dancing links: the removed
  // entries keep their own pointers, and relinking in reverse order restores the list exactly).
  void Lift(int32_t op) {
    Unlink(call_entry_[op]);
    if (return_entry_[op] >= 0) Unlink(return_entry_[op]);
  }
  void Unlift(int32_t op) {
    if (return_entry_[op] >= 0) Relink(return_entry_[op]);
    Relink(call_entry_[op]);
  }

  // The value an operation leaves in the register when it takes effect, if it writes one.
  static bool Produces(const ModelOp& op, ValueId* v) {
    if (!IsWriter(op)) return false;
    *v = op.kind == StepKind::kWrite ? op.a : op.b;
    return true;
  }
  // The value the register must hold where a required operation takes effect, if any.
  static bool Needs(const ModelOp& op, ValueId* v) {
    if (op.optional || (op.kind != StepKind::kRead && op.kind != StepKind::kCas)) return false;
    *v = op.a;
    return true;
  }
  // Keeps producers_ and needers_ counting the operations not linearized yet (delta -1 when one is).
  void Count(const ModelOp& op, int32_t delta) {
    ValueId v;
    if (Produces(op, &v)) producers_[v] += delta;
    if (Needs(op, &v)) needers_[v] += delta;
  }
  // Whether `op`, taking the register from `before` to `after`, leaves a value that a remaining required operation
  // still needs and that no remaining operation can write again: then no continuation can succeed. (Pruning these
  // at once, rather than when the stranded reader's return is reached, spares the search every ordering of the
  // operations in between; with unique written values a wrong guess among concurrent writes is caught here.)
  bool Strands(const ModelOp& op, ValueId before, ValueId after) const {
    if (after == before) return false;
    ValueId needed;
    const int32_t self = Needs(op, &needed) && needed == before ? 1 : 0;
    return needers_[before] - self > 0 && producers_[before] == 0;
  }

  void Flip(int32_t op) { bits_[op >> 6] ^= uint64_t{1} << (op & 63); }

  // Adds (linearized set, state) to the cache; false if it was there already (that subtree was explored and failed).
  // A configuration is stored in the arena as [hash, state, bitset words...]; the set holds its offset.
  bool Remember(uint64_t set_hash, ValueId state) {
    const uint64_t hash = Mix(set_hash ^ (static_cast<uint64_t>(state) * 0xff51afd7ed558ccdULL));
    const size_t offset = arena_.size();
    arena_.push_back(hash);
    arena_.push_back(static_cast<uint64_t>(state));
    arena_.insert(arena_.end(), bits_.begin(), bits_.end());
    if (cache_.insert(offset).second) return true;
    arena_.resize(offset);
    return false;
  }

  struct TimedEvent {
    int64_t time;
    int32_t is_return;
    int32_t op;
    bool operator<(const TimedEvent& o) const {
      return std::tie(time, is_return, op) < std::tie(o.time, o.is_return, o.op);
    }
  };

  struct ArenaHash {
    const std::vector<uint64_t>* arena;
    size_t operator()(size_t offset) const { return static_cast<size_t>((*arena)[offset]); }
  };
  struct ArenaEq {
    const std::vector<uint64_t>* arena;
    const size_t* stride;
    bool operator()(size_t x, size_t y) const {
      const uint64_t* a = arena->data() + x;
      const uint64_t* b = arena->data() + y;
      return std::equal(a, a + *stride, b);
    }
  };

  std::vector<TimedEvent> events_;
  std::vector<int32_t> next_, prev_, entry_op_, call_entry_, return_entry_;
  std::vector<uint8_t> entry_is_call_;
  size_t words_ = 0;
  size_t stride_ = 0;
  std::vector<uint64_t> bits_;
  std::vector<uint64_t> zobrist_;
  std::vector<int32_t> producers_;  // per value: writers not linearized yet that write it
  std::vector<int32_t> needers_;    // per value: required reads and cases not linearized yet that need it
  std::vector<Frame> stack_;
  std::vector<uint64_t> arena_;
  absl::flat_hash_set<size_t, ArenaHash, ArenaEq> cache_{0, ArenaHash{&arena_}, ArenaEq{&arena_, &stride_}};
};

// ---- Shrinking ----------------------------------------------------------------------------------------------------
//
// A contradiction is shrunk by dropping operations while the rest stays non-linearizable — but only by drops that
// cannot *create* a contradiction, so that the result still explains the original failure:
//  - dropping a read or a failed cas removes a constraint: anything linearizable before stays linearizable;
//  - dropping a writer (write or cas, completed or not) W of value v is allowed only if no remaining operation could
//    have been satisfied by v: no read of v, no cas expecting v, no failed cas expecting something other than v.
//    Then a linearization of the history with W demoted to unknown (a pure relaxation) stays valid with W removed:
//    W's value was never what a remaining operation observed.
// Without the second rule, dropping the write of 1 from "write 1; write 2; read 1" would leave "write 2; read 1",
// non-linearizable for the wrong reason (1 was never written).
//
// Candidates are tried in chunks (halving down to single operations, as in delta debugging), reads and failed cases
// first, then completed writers, then unknown ones: constraints that go first let more writers go after them.

class Shrinker {
 public:
  Shrinker(const std::vector<ModelOp>& ops, KeySearch* search, absl::Time deadline)
      : ops_(ops), search_(search), deadline_(deadline) {}

  // Returns indices into ops of a non-linearizable sub-history; *fixed_point is false if the deadline stopped it.
  std::vector<size_t> Shrink(bool* fixed_point) {
    std::vector<size_t> active(ops_.size());
    for (size_t i = 0; i < active.size(); ++i) active[i] = i;
    std::stable_sort(active.begin(), active.end(), [&](size_t x, size_t y) { return Priority(x) < Priority(y); });
    *fixed_point = false;
    size_t chunk = std::max<size_t>(1, active.size() / 2);
    for (;;) {
      bool dropped_any = false;
      for (size_t start = 0; start < active.size();) {
        if (absl::Now() >= deadline_) return Sorted(active);
        const size_t end = std::min(active.size(), start + chunk);
        if (TryDrop(active, start, end)) {
          active.erase(active.begin() + start, active.begin() + end);
          dropped_any = true;
        } else {
          start = end;
        }
      }
      if (chunk == 1 && !dropped_any) break;
      chunk = std::max<size_t>(1, chunk / 2);
    }
    *fixed_point = true;
    return Sorted(active);
  }

 private:
  int Priority(size_t i) const {
    const ModelOp& op = ops_[i];
    if (!IsWriter(op)) return 0;
    return op.optional ? 2 : 1;
  }

  std::vector<size_t> Sorted(std::vector<size_t> v) const {
    std::sort(v.begin(), v.end());
    return v;
  }

  // Whether dropping active[start, end) is honest and leaves a non-linearizable history.
  bool TryDrop(const std::vector<size_t>& active, size_t start, size_t end) {
    // What the remaining operations could observe: values read or expected by a cas, and failed cases' values.
    observed_.clear();
    failed_cas_expecting_.clear();
    size_t failed_cas = 0;
    candidate_.clear();
    for (size_t k = 0; k < active.size(); ++k) {
      if (k >= start && k < end) continue;
      const ModelOp& op = ops_[active[k]];
      candidate_.push_back(op);
      if (op.kind == StepKind::kRead || op.kind == StepKind::kCas) observed_.insert(op.a);
      if (op.kind == StepKind::kCasFailed) {
        ++failed_cas;
        ++failed_cas_expecting_[op.a];
      }
    }
    for (size_t k = start; k < end; ++k) {
      const ModelOp& op = ops_[active[k]];
      if (!IsWriter(op)) continue;
      const ValueId v = op.kind == StepKind::kWrite ? op.a : op.b;
      if (observed_.contains(v)) return false;
      auto it = failed_cas_expecting_.find(v);
      if (failed_cas > (it == failed_cas_expecting_.end() ? 0 : it->second)) return false;
    }
    // Keep the operations in history order for the search (its list is sorted anyway; this keeps indices stable).
    std::sort(candidate_.begin(), candidate_.end(),
              [](const ModelOp& x, const ModelOp& y) { return x.history_index < y.history_index; });
    return !search_->Linearizable(candidate_);
  }

  const std::vector<ModelOp>& ops_;
  KeySearch* search_;
  absl::Time deadline_;
  std::vector<ModelOp> candidate_;
  absl::flat_hash_set<ValueId> observed_;
  absl::flat_hash_map<ValueId, size_t> failed_cas_expecting_;
};

// ---- Splitting a history by key -----------------------------------------------------------------------------------

struct KeyModel {
  std::vector<ModelOp> ops;
};

// Interns values per key (absent = 0) and turns each operation into its step, leaving out what cannot constrain
// the search: failed reads and writes (they did not happen) and reads of unknown outcome.
std::map<std::string, KeyModel> SplitByKey(const History& history) {
  std::map<std::string, KeyModel> keys;
  std::map<std::string, absl::flat_hash_map<RegisterValue, ValueId>> interned;
  auto intern = [&](const std::string& key, const RegisterValue& v) -> ValueId {
    if (v.absent()) return kAbsentId;
    auto& ids = interned[key];
    auto [it, inserted] = ids.try_emplace(v, static_cast<ValueId>(ids.size() + 1));
    return it->second;
  };
  for (size_t i = 0; i < history.operations.size(); ++i) {
    const Operation& op = history.operations[i];
    ModelOp m;
    m.invocation = op.invocation;
    m.completion = op.completion;
    m.history_index = i;
    m.optional = op.outcome == OpOutcome::kUnknown;
    switch (op.f) {
      case OpFunction::kRead:
        if (op.outcome != OpOutcome::kOk) continue;
        m.kind = StepKind::kRead;
        m.a = intern(op.key, op.output);
        break;
      case OpFunction::kWrite:
        if (op.outcome == OpOutcome::kFail) continue;
        m.kind = StepKind::kWrite;
        m.a = intern(op.key, op.input);
        break;
      case OpFunction::kCas:
        m.kind = op.outcome == OpOutcome::kFail ? StepKind::kCasFailed : StepKind::kCas;
        m.a = intern(op.key, op.expected);
        m.b = intern(op.key, op.input);
        break;
    }
    if (!m.optional) DETCD_CHECK_MSG(m.completion >= m.invocation, "an operation completes after its invocation");
    keys[op.key].ops.push_back(m);
  }
  return keys;
}

std::string Describe(const Operation& op) {
  std::string value;
  switch (op.f) {
    case OpFunction::kRead:
      value = op.outcome == OpOutcome::kOk ? op.output.ToJson() : "";
      break;
    case OpFunction::kWrite:
      value = op.input.ToJson();
      break;
    case OpFunction::kCas:
      value = absl::StrCat("[", op.expected.ToJson(), ", ", op.input.ToJson(), "]");
      break;
  }
  return absl::StrCat(OpOutcomeName(op.outcome), "  ", OpFunctionName(op.f), value.empty() ? "" : " ", value);
}

std::string Lines(const Operation& op) {
  if (op.invoke_line == 0) return absl::StrCat("op ", op.invocation);  // built in memory: no file lines
  if (op.completion_line == 0) return absl::StrCat("line ", op.invoke_line, ", never completed");
  return absl::StrCat("lines ", op.invoke_line, "-", op.completion_line);
}

}  // namespace

CheckResult CheckLinearizability(const History& history, const CheckOptions& options) {
  CheckResult result;
  const std::map<std::string, KeyModel> keys = SplitByKey(history);
  result.keys = keys.size();
  KeySearch search;
  search.set_budget(options.max_configurations);
  std::vector<std::pair<const std::string*, const KeyModel*>> failing;
  for (const auto& [key, model] : keys) {
    result.operations += model.ops.size();
    const bool ok = search.Linearizable(model.ops);
    if (search.exhausted()) {
      result.undecided.push_back(key);
      continue;
    }
    if (!ok) failing.emplace_back(&key, &model);
  }
  search.set_budget(0);
  result.linearizable = failing.empty();
  const absl::Time deadline = options.shrink_budget == absl::InfiniteDuration()
                                  ? absl::InfiniteFuture()
                                  : absl::Now() + options.shrink_budget;
  for (const auto& [key, model] : failing) {
    KeyContradiction c;
    c.key = *key;
    c.key_operations = model->ops.size();
    Shrinker shrinker(model->ops, &search, deadline);
    for (size_t i : shrinker.Shrink(&c.shrunk_to_fixed_point)) c.operations.push_back(model->ops[i].history_index);
    std::sort(c.operations.begin(), c.operations.end());
    result.contradictions.push_back(std::move(c));
  }
  return result;
}

std::string FormatCheckResult(const History& history, const CheckResult& result) {
  if (result.linearizable) return "linearizable: yes\n";
  std::string out = "linearizable: no\n";
  for (const KeyContradiction& c : result.contradictions) {
    absl::StrAppend(&out, "key ", QuoteJsonString(c.key), ": no linearization of these ", c.operations.size(), " of its ",
                    c.key_operations, " operations", c.shrunk_to_fixed_point ? "" : " (shrinking stopped at the time budget)",
                    ":\n");
    size_t lines_width = 0, process_width = 0;
    for (size_t i : c.operations) {
      lines_width = std::max(lines_width, Lines(history.operations[i]).size());
      process_width = std::max(process_width, absl::StrCat(history.operations[i].process).size());
    }
    for (size_t i : c.operations) {
      const Operation& op = history.operations[i];
      absl::StrAppend(&out, absl::StrFormat("  %-*s  process %-*d  %s\n", static_cast<int>(lines_width), Lines(op),
                                            static_cast<int>(process_width), op.process, Describe(op)));
    }
  }
  absl::StrAppend(&out,
                  "(a read shows the value it returned, null if absent; a cas shows [expected, new], and \"fail\" means "
                  "the current value differed from expected; \"info\" may or may not have taken effect)\n");
  return out;
}

}  // namespace detcd::history
