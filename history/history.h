// History: what clients of a key-value register did, as the linearizability checker (history/linearizability.h) needs
// it — operations (read, write, compare-and-set on one key) with the positions of their invocation and completion
// and their outcome — plus the JSON-lines format that detcd-check reads and detcd-sim writes, in the style of
// Jepsen's register workload, one event per line:
//   {"process": 3, "type": "invoke", "f": "cas", "key": "k1", "value": [1, 2]}
//   {"process": 3, "type": "ok", "f": "cas", "key": "k1", "value": [1, 2]}
// The parser trusts nothing: any line it cannot map to an event of a well-formed history is an error naming the line
// and the reason. This unit never decides linearizability and never reads a clock.
#ifndef DETCD_HISTORY_HISTORY_H_
#define DETCD_HISTORY_HISTORY_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace detcd::history {

// A register's value: absent (JSON null: a key never written, or a cas that expects the key absent), an integer, or
// a string. Values compare by type and content: the integer 1 and the string "1" differ.
class RegisterValue {
 public:
  enum class Kind : uint8_t { kAbsent, kInt, kString };

  RegisterValue() = default;
  static RegisterValue Absent() { return RegisterValue(); }
  static RegisterValue Int(int64_t v) {
    RegisterValue r;
    r.kind_ = Kind::kInt;
    r.int_ = v;
    return r;
  }
  static RegisterValue String(std::string v) {
    RegisterValue r;
    r.kind_ = Kind::kString;
    r.string_ = std::move(v);
    return r;
  }

  Kind kind() const { return kind_; }
  bool absent() const { return kind_ == Kind::kAbsent; }
  int64_t int_value() const { return int_; }
  const std::string& string_value() const { return string_; }

  // JSON text: null, 42 or "text".
  std::string ToJson() const;

  friend bool operator==(const RegisterValue& a, const RegisterValue& b) {
    return a.kind_ == b.kind_ && a.int_ == b.int_ && a.string_ == b.string_;
  }
  friend bool operator!=(const RegisterValue& a, const RegisterValue& b) { return !(a == b); }
  template <typename H>
  friend H AbslHashValue(H h, const RegisterValue& v) {
    return H::combine(std::move(h), v.kind_, v.int_, v.string_);
  }

 private:
  Kind kind_ = Kind::kAbsent;
  int64_t int_ = 0;  // 0 unless kInt, so that == and the hash can compare every field
  std::string string_;
};

enum class OpFunction : uint8_t { kRead, kWrite, kCas };

// ok: it happened, with the recorded result. fail: a read or write did not happen; a cas happened and its compare
// did not hold. unknown: "info", or invoked and never completed — it may or may not have taken effect, at any time
// after its invocation.
enum class OpOutcome : uint8_t { kOk, kFail, kUnknown };

const char* OpFunctionName(OpFunction f);  // "read", "write", "cas"
const char* OpOutcomeName(OpOutcome o);    // "ok", "fail", "info"

// Positions order the events of a history: an operation A precedes B in real time iff A.completion < B.invocation.
// Equal positions mean "at the same time", hence concurrent.
inline constexpr int64_t kNeverCompleted = std::numeric_limits<int64_t>::max();

struct Operation {
  int64_t process = 0;
  OpFunction f = OpFunction::kRead;
  std::string key;
  RegisterValue input;     // write: the value written; cas: the new value; read: absent
  RegisterValue expected;  // cas: the value compared against (absent = the key must be absent); otherwise absent
  RegisterValue output;    // an ok read: the value read (absent = the key was absent); otherwise absent
  OpOutcome outcome = OpOutcome::kUnknown;
  int64_t invocation = 0;                // position of the invoke event
  int64_t completion = kNeverCompleted;  // position of the completion event; kNeverCompleted if there was none
  int invoke_line = 0;                   // 1-based line numbers in the file it came from (0 if built in memory)
  int completion_line = 0;               // 0 if there was no completion event
  // When it was invoked and completed, where the recorder had a clock (a simulator's virtual time); otherwise -1.
  int64_t invoke_us = -1;
  int64_t completion_us = -1;
};

// Operations in the order of their invocations.
struct History {
  std::vector<Operation> operations;
};

// Parses a whole JSON-lines history. Empty (or all-blank) lines are skipped; events are positioned by their line
// number. Errors are InvalidArgument "line N: <reason>". An operation still in flight at the end has an unknown
// outcome. Each line is an object with the fields process (integer), type ("invoke", "ok", "fail" or "info"),
// f ("read", "write" or "cas"), key (string) and value; any other field ("time", "index", "node", ...) is ignored, and
// so are lines of Jepsen's fault injector (process "nemesis").
absl::StatusOr<History> ParseHistory(absl::string_view text);

// Reads and parses a file. Errors: "cannot read history file 'F': <why>", or "F: line N: <reason>".
absl::StatusOr<History> ReadHistoryFile(const std::string& path);

// The history as JSON lines (each ending in '\n') that ParseHistory reads back to the same operations, positions
// aside: events are written in position order, invocations before completions at equal positions (they are
// concurrent) except that a process's completion precedes its own next invocation (if several processes complete
// and invoke again at one position, some of those pairs become ordered: give events distinct positions, as
// HistoryRecorder does, to avoid that). An unknown outcome with a completion position is written as "info"; one
// without is left without a completion.
std::string FormatHistory(const History& history);

// Builds a history in memory, as a simulator's clients record it: each event takes the next position and the line
// number it will have in FormatHistory's output.
class HistoryRecorder {
 public:
  // Returns the operation's id, for the completion. `input` is the written or new value, `expected` a cas's compare
  // value; a read passes neither.
  int Invoke(int64_t process, OpFunction f, std::string key, RegisterValue input = RegisterValue(),
             RegisterValue expected = RegisterValue());
  void Ok(int id, RegisterValue output = RegisterValue());  // output: the value a read returned
  void Fail(int id);
  void Info(int id);
  // The operation is known not to have happened (the server refused it before it could take effect): it observed
  // nothing and changed nothing, the same as never having been invoked, and is left out of history().
  void Withdraw(int id);

  // The operations recorded, withdrawn ones left out; line numbers are those of FormatHistory's output.
  History history() const;
  // Events are also timed by `now_us` (Operation::invoke_us, completion_us) from now on.
  void set_clock(std::function<int64_t()> now_us) { now_us_ = std::move(now_us); }

 private:
  void Complete(int id, OpOutcome outcome, RegisterValue output);

  History history_;
  std::vector<bool> withdrawn_;
  int64_t next_position_ = 0;
  std::function<int64_t()> now_us_;
};

}  // namespace detcd::history

#endif  // DETCD_HISTORY_HISTORY_H_
