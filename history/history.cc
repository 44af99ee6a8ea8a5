#include "history/history.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <tuple>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "base/check.h"
#include "history/json.h"

namespace detcd::history {
namespace {

enum class EventType { kInvoke, kOk, kFail, kInfo };

// One line, checked field by field but not yet matched against the process's operation in flight.
struct Event {
  int64_t process = 0;
  EventType type = EventType::kInvoke;
  OpFunction f = OpFunction::kRead;
  const JsonValue* key = nullptr;    // a string, or nullptr if the line has none
  const JsonValue* value = nullptr;  // nullptr if the line has none
};

absl::Status LineError(int line, absl::string_view reason) {
  return absl::InvalidArgumentError(absl::StrCat("line ", line, ": ", reason));
}

// The JSON text of a value for messages, cut short if long.
std::string Shown(const JsonValue& v) {
  switch (v.type) {
    case JsonValue::Type::kNull:
      return "null";
    case JsonValue::Type::kBool:
      return v.boolean ? "true" : "false";
    case JsonValue::Type::kInt:
      return absl::StrCat(v.integer);
    case JsonValue::Type::kString: {
      std::string q = QuoteJsonString(v.string);
      if (q.size() > 40) q = q.substr(0, 36) + "...\"";
      return q;
    }
    case JsonValue::Type::kArray:
      return "an array";
    case JsonValue::Type::kObject:
      return "an object";
  }
  return "?";
}

// A register value: an integer, a string, or (if allowed) null.
absl::StatusOr<RegisterValue> ToRegisterValue(const JsonValue& v, bool null_allowed, absl::string_view what) {
  switch (v.type) {
    case JsonValue::Type::kInt:
      return RegisterValue::Int(v.integer);
    case JsonValue::Type::kString:
      return RegisterValue::String(v.string);
    case JsonValue::Type::kNull:
      if (null_allowed) return RegisterValue::Absent();
      return absl::InvalidArgumentError(absl::StrCat(what, " must be an integer or a string, found null"));
    default:
      return absl::InvalidArgumentError(absl::StrCat(what, " must be an integer, a string",
                                                     null_allowed ? " or null" : "", ", found ", JsonTypeName(v.type)));
  }
}

// Jepsen's fault injector logs its actions in the same history as process "nemesis": they are not operations.
bool IsNemesis(const JsonValue& line) {
  if (line.type != JsonValue::Type::kObject) return false;
  const JsonValue* p = line.Find("process");
  return p != nullptr && p->type == JsonValue::Type::kString && p->string == "nemesis";
}

absl::StatusOr<Event> ReadEvent(const JsonValue& line) {
  if (line.type != JsonValue::Type::kObject) {
    return absl::InvalidArgumentError(absl::StrCat("expected a JSON object, found ", JsonTypeName(line.type)));
  }
  // Other fields (Jepsen's "time", "index", "node", "error", ...) carry nothing the check needs: ignored.
  auto required = [&](absl::string_view name, JsonValue::Type type,
                      const char* type_name) -> absl::StatusOr<const JsonValue*> {
    const JsonValue* v = line.Find(name);
    if (v == nullptr) return absl::InvalidArgumentError(absl::StrCat("missing field \"", name, "\""));
    if (v->type != type) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", name, "\" must be ", type_name, ", found ", JsonTypeName(v->type)));
    }
    return v;
  };
  Event e;
  absl::StatusOr<const JsonValue*> process = required("process", JsonValue::Type::kInt, "an integer");
  if (!process.ok()) return process.status();
  e.process = (*process)->integer;

  absl::StatusOr<const JsonValue*> type = required("type", JsonValue::Type::kString, "a string");
  if (!type.ok()) return type.status();
  const std::string& t = (*type)->string;
  if (t == "invoke") {
    e.type = EventType::kInvoke;
  } else if (t == "ok") {
    e.type = EventType::kOk;
  } else if (t == "fail") {
    e.type = EventType::kFail;
  } else if (t == "info") {
    e.type = EventType::kInfo;
  } else {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown type ", Shown(**type), " (want \"invoke\", \"ok\", \"fail\" or \"info\")"));
  }

  absl::StatusOr<const JsonValue*> f = required("f", JsonValue::Type::kString, "a string");
  if (!f.ok()) return f.status();
  const std::string& fs = (*f)->string;
  if (fs == "read") {
    e.f = OpFunction::kRead;
  } else if (fs == "write") {
    e.f = OpFunction::kWrite;
  } else if (fs == "cas") {
    e.f = OpFunction::kCas;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("unknown f ", Shown(**f), " (want \"read\", \"write\" or \"cas\")"));
  }

  e.key = line.Find("key");
  if (e.key == nullptr && e.type == EventType::kInvoke) return absl::InvalidArgumentError("missing field \"key\"");
  if (e.key != nullptr && e.key->type != JsonValue::Type::kString) {
    return absl::InvalidArgumentError(absl::StrCat("\"key\" must be a string, found ", JsonTypeName(e.key->type)));
  }
  e.value = line.Find("value");
  return e;
}

// Fills the arguments of an invoked operation from its invoke's value.
absl::Status ReadArguments(const Event& e, Operation* op) {
  const JsonValue* v = e.value;
  switch (e.f) {
    case OpFunction::kRead:
      if (v != nullptr && v->type != JsonValue::Type::kNull) {
        return absl::InvalidArgumentError(absl::StrCat("a read's invoke carries no value (null), found ", Shown(*v)));
      }
      return absl::OkStatus();
    case OpFunction::kWrite: {
      if (v == nullptr) return absl::InvalidArgumentError("a write's invoke needs a \"value\" (the value written)");
      absl::StatusOr<RegisterValue> w = ToRegisterValue(*v, /*null_allowed=*/false, "the value written");
      if (!w.ok()) return w.status();
      op->input = *std::move(w);
      return absl::OkStatus();
    }
    case OpFunction::kCas: {
      if (v == nullptr) return absl::InvalidArgumentError("a cas's invoke needs a \"value\" [expected, new]");
      if (v->type != JsonValue::Type::kArray || v->array.size() != 2) {
        return absl::InvalidArgumentError(absl::StrCat(
            "a cas's value must be a 2-element array [expected, new], found ",
            v->type == JsonValue::Type::kArray ? absl::StrCat("an array of ", v->array.size()) : Shown(*v)));
      }
      absl::StatusOr<RegisterValue> expected =
          ToRegisterValue(v->array[0], /*null_allowed=*/true, "a cas's expected value");
      if (!expected.ok()) return expected.status();
      absl::StatusOr<RegisterValue> next = ToRegisterValue(v->array[1], /*null_allowed=*/false, "a cas's new value");
      if (!next.ok()) return next.status();
      op->expected = *std::move(expected);
      op->input = *std::move(next);
      return absl::OkStatus();
    }
  }
  return absl::OkStatus();
}

// Checks a completion against its operation and records its result.
absl::Status ReadCompletion(const Event& e, int line, Operation* op) {
  if (e.f != op->f) {
    return absl::InvalidArgumentError(absl::StrCat("f \"", OpFunctionName(e.f), "\" differs from \"",
                                                   OpFunctionName(op->f), "\" of process ", e.process,
                                                   "'s invoke at line ", op->invoke_line));
  }
  if (e.key != nullptr && e.key->string != op->key) {
    return absl::InvalidArgumentError(absl::StrCat("key ", QuoteJsonString(e.key->string), " differs from ",
                                                   QuoteJsonString(op->key), " of process ", e.process,
                                                   "'s invoke at line ", op->invoke_line));
  }
  op->completion = line;
  op->completion_line = line;
  op->outcome = e.type == EventType::kOk     ? OpOutcome::kOk
                : e.type == EventType::kFail ? OpOutcome::kFail
                                             : OpOutcome::kUnknown;
  const JsonValue* v = e.value;
  if (op->f == OpFunction::kRead) {
    if (op->outcome != OpOutcome::kOk) {
      if (v != nullptr && v->type != JsonValue::Type::kNull) {
        return absl::InvalidArgumentError(
            absl::StrCat("a read that did not complete ok carries no value (null), found ", Shown(*v)));
      }
      return absl::OkStatus();
    }
    if (v == nullptr)
      return absl::InvalidArgumentError("a read's ok needs a \"value\": the value read (null if absent)");
    absl::StatusOr<RegisterValue> read = ToRegisterValue(*v, /*null_allowed=*/true, "the value read");
    if (!read.ok()) return read.status();
    op->output = *std::move(read);
    return absl::OkStatus();
  }
  // A write's or cas's completion may repeat its arguments (as Jepsen does) or carry null; nothing else.
  if (v == nullptr || v->type == JsonValue::Type::kNull) return absl::OkStatus();
  Operation repeated;
  if (absl::Status s = ReadArguments(e, &repeated); !s.ok()) return s;
  if (repeated.input != op->input || repeated.expected != op->expected) {
    return absl::InvalidArgumentError(absl::StrCat("value ", Shown(*v), " differs from the arguments of process ",
                                                   e.process, "'s invoke at line ", op->invoke_line));
  }
  return absl::OkStatus();
}

}  // namespace

std::string RegisterValue::ToJson() const {
  switch (kind_) {
    case Kind::kAbsent:
      return "null";
    case Kind::kInt:
      return absl::StrCat(int_);
    case Kind::kString:
      return QuoteJsonString(string_);
  }
  return "null";
}

const char* OpFunctionName(OpFunction f) {
  switch (f) {
    case OpFunction::kRead:
      return "read";
    case OpFunction::kWrite:
      return "write";
    case OpFunction::kCas:
      return "cas";
  }
  return "?";
}

const char* OpOutcomeName(OpOutcome o) {
  switch (o) {
    case OpOutcome::kOk:
      return "ok";
    case OpOutcome::kFail:
      return "fail";
    case OpOutcome::kUnknown:
      return "info";
  }
  return "?";
}

absl::StatusOr<History> ParseHistory(absl::string_view text) {
  History history;
  absl::flat_hash_map<int64_t, size_t> in_flight;  // process -> index of its operation without a completion yet
  int line = 0;
  for (absl::string_view row : absl::StrSplit(text, '\n')) {
    ++line;
    if (row.find_first_not_of(" \t\r") == absl::string_view::npos) continue;
    absl::StatusOr<JsonValue> json = ParseJson(row);
    if (!json.ok()) return LineError(line, json.status().message());
    if (IsNemesis(*json)) continue;
    absl::StatusOr<Event> event = ReadEvent(*json);
    if (!event.ok()) return LineError(line, event.status().message());
    const Event& e = *event;
    auto busy = in_flight.find(e.process);
    if (e.type == EventType::kInvoke) {
      if (busy != in_flight.end()) {
        return LineError(line, absl::StrCat("process ", e.process, " invokes again while its operation from line ",
                                            history.operations[busy->second].invoke_line, " is still in flight"));
      }
      Operation op;
      op.process = e.process;
      op.f = e.f;
      op.key = e.key->string;
      op.invocation = line;
      op.invoke_line = line;
      if (absl::Status s = ReadArguments(e, &op); !s.ok()) return LineError(line, s.message());
      in_flight[e.process] = history.operations.size();
      history.operations.push_back(std::move(op));
      continue;
    }
    if (busy == in_flight.end()) {
      return LineError(line, absl::StrCat("\"",
                                          e.type == EventType::kOk     ? "ok"
                                          : e.type == EventType::kFail ? "fail"
                                                                       : "info",
                                          "\" for process ", e.process, ", which has no invoke in flight"));
    }
    if (absl::Status s = ReadCompletion(e, line, &history.operations[busy->second]); !s.ok()) {
      return LineError(line, s.message());
    }
    in_flight.erase(busy);
  }
  return history;
}

absl::StatusOr<History> ReadHistoryFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read history file '", path, "': ", std::strerror(errno)));
  }
  std::ostringstream contents;
  contents << in.rdbuf();
  if (in.bad()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read history file '", path, "': ", std::strerror(errno)));
  }
  absl::StatusOr<History> history = ParseHistory(contents.str());
  if (!history.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", history.status().message()));
  return history;
}

std::string FormatHistory(const History& history) {
  // Sort key (position, phase, a, b): at one position, phase 0 = invocations, 2 = completions (after the invocations,
  // so that operations at equal positions stay concurrent), except phase 1 for a process that completes and invokes
  // again at that position: its completion, then its invocation (a = process, b = 0 then 1), or the file would show
  // a second invoke on a busy process. Elsewhere a = operation index.
  struct Event {
    int64_t position;
    int phase;
    int64_t a, b;
    size_t op;
    bool is_completion;
    bool operator<(const Event& o) const {
      return std::tie(position, phase, a, b) < std::tie(o.position, o.phase, o.a, o.b);
    }
  };
  absl::flat_hash_map<std::pair<int64_t, int64_t>, size_t> invoked_at, completed_at;  // (process, position) -> op
  for (size_t i = 0; i < history.operations.size(); ++i) {
    const Operation& op = history.operations[i];
    invoked_at[{op.process, op.invocation}] = i;
    if (op.completion != kNeverCompleted) completed_at[{op.process, op.completion}] = i;
  }
  auto other_at = [](const absl::flat_hash_map<std::pair<int64_t, int64_t>, size_t>& at, int64_t process,
                     int64_t position, size_t self) {
    auto it = at.find({process, position});
    return it != at.end() && it->second != self;
  };
  std::vector<Event> events;
  for (size_t i = 0; i < history.operations.size(); ++i) {
    const Operation& op = history.operations[i];
    const int64_t index = static_cast<int64_t>(i);
    if (other_at(completed_at, op.process, op.invocation, i)) {
      events.push_back({op.invocation, 1, op.process, 1, i, false});
    } else {
      events.push_back({op.invocation, 0, index, 0, i, false});
    }
    if (op.completion == kNeverCompleted) continue;
    if (other_at(invoked_at, op.process, op.completion, i)) {
      events.push_back({op.completion, 1, op.process, 0, i, true});
    } else {
      events.push_back({op.completion, 2, index, 0, i, true});
    }
  }
  std::sort(events.begin(), events.end());
  std::string out;
  for (const Event& event : events) {
    const bool is_completion = event.is_completion;
    const Operation& op = history.operations[event.op];
    std::string value;
    if (op.f == OpFunction::kCas) {
      value = absl::StrCat("[", op.expected.ToJson(), ", ", op.input.ToJson(), "]");
    } else if (op.f == OpFunction::kWrite) {
      value = op.input.ToJson();
    } else {
      value = is_completion && op.outcome == OpOutcome::kOk ? op.output.ToJson() : "null";
    }
    absl::StrAppend(&out, "{\"process\": ", op.process, ", \"type\": \"",
                    is_completion ? OpOutcomeName(op.outcome) : "invoke", "\", \"f\": \"", OpFunctionName(op.f),
                    "\", \"key\": ", QuoteJsonString(op.key), ", \"value\": ", value, "}\n");
  }
  return out;
}

int HistoryRecorder::Invoke(int64_t process, OpFunction f, std::string key, RegisterValue input,
                            RegisterValue expected) {
  DETCD_CHECK_MSG(f == OpFunction::kRead ? input.absent() && expected.absent() : !input.absent(),
                  "a read takes no arguments; a write and a cas need a value to write");
  DETCD_CHECK_MSG(f == OpFunction::kCas || expected.absent(), "only a cas has an expected value");
  Operation op;
  op.process = process;
  op.f = f;
  op.key = std::move(key);
  op.input = std::move(input);
  op.expected = std::move(expected);
  op.invocation = ++next_position_;
  op.invoke_line = static_cast<int>(op.invocation);
  if (now_us_) op.invoke_us = now_us_();
  history_.operations.push_back(std::move(op));
  withdrawn_.push_back(false);
  return static_cast<int>(history_.operations.size() - 1);
}

void HistoryRecorder::Withdraw(int id) {
  DETCD_CHECK(id >= 0 && static_cast<size_t>(id) < history_.operations.size());
  DETCD_CHECK_MSG(history_.operations[id].completion == kNeverCompleted, "a completed operation cannot be withdrawn");
  withdrawn_[id] = true;
  history_.operations[id].completion = ++next_position_;
}

History HistoryRecorder::history() const {
  History out;
  std::vector<int64_t> positions;  // of the events kept, to number their lines as FormatHistory writes them
  for (size_t i = 0; i < history_.operations.size(); ++i) {
    if (withdrawn_[i]) continue;
    const Operation& op = history_.operations[i];
    out.operations.push_back(op);
    positions.push_back(op.invocation);
    if (op.completion != kNeverCompleted) positions.push_back(op.completion);
  }
  std::sort(positions.begin(), positions.end());
  auto line = [&](int64_t position) {
    return static_cast<int>(std::lower_bound(positions.begin(), positions.end(), position) - positions.begin()) + 1;
  };
  for (Operation& op : out.operations) {
    op.invoke_line = line(op.invocation);
    if (op.completion != kNeverCompleted) op.completion_line = line(op.completion);
  }
  return out;
}

void HistoryRecorder::Ok(int id, RegisterValue output) { Complete(id, OpOutcome::kOk, std::move(output)); }
void HistoryRecorder::Fail(int id) { Complete(id, OpOutcome::kFail, RegisterValue()); }
void HistoryRecorder::Info(int id) { Complete(id, OpOutcome::kUnknown, RegisterValue()); }

void HistoryRecorder::Complete(int id, OpOutcome outcome, RegisterValue output) {
  DETCD_CHECK(id >= 0 && static_cast<size_t>(id) < history_.operations.size());
  Operation& op = history_.operations[id];
  DETCD_CHECK_MSG(op.completion == kNeverCompleted, "an operation completes once");
  DETCD_CHECK_MSG(op.f == OpFunction::kRead || output.absent(), "only a read returns a value");
  op.outcome = outcome;
  op.output = std::move(output);
  op.completion = ++next_position_;
  op.completion_line = static_cast<int>(op.completion);
  if (now_us_) op.completion_us = now_us_();
}

}  // namespace detcd::history
