// Linearizability checker for key-value register histories (history/history.h): decides whether some total order of the
// operations respects real time (an operation that completed before another was invoked comes first) and the
// sequential semantics of a register per key (a read returns the last value written, absent if none; a cas sets the
// new value iff the current one equals the expected one). For a history that has none, it reports per failing key a
// shrunk sub-history that still has none — a contradiction a person can read.
//
// Algorithm: Wing & Gong's search with Lowe's improvements ("Testing for linearizability", 2017), as porcupine runs
// it. A register history is linearizable iff each key's sub-history is (P-compositionality, Horn & Kroening), so keys
// are checked one by one. For a key, call and return events sit in a doubly linked list in time order; the search
// repeatedly linearizes an operation whose call precedes the first remaining return (removing its two events from the
// list), backtracks when it meets a return whose operation it could not linearize, and prunes every configuration
// (set of linearized operations as a bitset, register value) it has already explored.
//
// How outcomes enter the search:
//  - ok: the operation happened between its invocation and its completion.
//  - fail read or write: it did not happen; it is left out.
//  - fail cas: it happened and its compare did not hold: it is a read that observed a value different from `expected`
//    at a point between its invocation and completion, and it constrains the search like a read. (A client must
//    therefore record a cas that was rejected before reaching the store, e.g. for lack of a leader, as "info", never
//    as "fail"; "info" is always safe.)
//  - unknown ("info", or never completed): its return is at +infinity and it is optional. A write or cas may be
//    linearized at any point after its invocation or never (a cas whose compare does not hold where it is placed is
//    the same as one that never happened); the search succeeds once every completed operation is linearized. An
//    unknown read constrains nothing and is left out.
//
// The checker never modifies the history, and its verdict never depends on time: only the shrinking stops at a time
// budget (CheckOptions::shrink_budget), which can only make a contradiction larger than the smallest one found.
#ifndef DETCD_HISTORY_LINEARIZABILITY_H_
#define DETCD_HISTORY_LINEARIZABILITY_H_

#include <cstddef>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "history/history.h"

namespace detcd::history {

struct CheckOptions {
  // Wall time for shrinking the contradictions of all failing keys together. Zero reports each failing key's whole
  // sub-history unshrunk; infinite shrinks to a fixed point (deterministic output).
  absl::Duration shrink_budget = absl::InfiniteDuration();
  // Configurations remembered per key before the search gives up on that key and reports it undecided (0: never
  // give up). Many operations of unknown outcome on one key can make the search exponential; a simulator that must
  // finish sets a bound, detcd-check does not.
  size_t max_configurations = 0;
};

// A sub-history of one key that has no linearization. It is honest: it was reached from the key's whole sub-history
// only by steps that cannot turn a linearizable history into a non-linearizable one (see linearizability.cc), so it
// shows why the history is not linearizable.
struct KeyContradiction {
  std::string key;
  std::vector<size_t> operations;  // indices into History::operations, in invocation order
  size_t key_operations = 0;       // operations on this key that the search considered (see the header comment)
  bool shrunk_to_fixed_point = true;  // false if the budget ran out before no single operation could be dropped
};

struct CheckResult {
  bool linearizable = true;
  size_t keys = 0;
  size_t operations = 0;  // operations that the search considered, over all keys
  std::vector<KeyContradiction> contradictions;  // one per failing key, in key order
  std::vector<std::string> undecided;            // keys whose search ran out of max_configurations
};

CheckResult CheckLinearizability(const History& history, const CheckOptions& options = CheckOptions());

// "linearizable: yes\n", or "linearizable: no\n" followed by each contradiction: the key, then one line per
// operation with its original line numbers, process, outcome, function and value.
std::string FormatCheckResult(const History& history, const CheckResult& result);

}  // namespace detcd::history

#endif  // DETCD_HISTORY_LINEARIZABILITY_H_
