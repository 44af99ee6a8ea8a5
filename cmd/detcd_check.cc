// detcd-check: says whether a key-value register history is linearizable. Flag parsing and wiring only; the history
// format lives in history/history.h and the checker in history/linearizability.h.
//   detcd-check --history=FILE [--shrink_budget=10s]
// Exit codes: 0 linearizable, 1 not linearizable, 2 bad arguments or a history that cannot be read.
//
// The flags are ABSL_FLAGs, but argv is walked here rather than by absl::ParseCommandLine: that one exits with
// status 1 on an unknown flag or --help, and 1 must mean "not linearizable" to scripts.
#include <cstdio>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/time/time.h"
#include "history/history.h"
#include "history/linearizability.h"

ABSL_FLAG(std::string, history, "", "history file: JSON lines, one event per line");
ABSL_FLAG(absl::Duration, shrink_budget, absl::Seconds(10),
          "time for shrinking the contradictions of a non-linearizable history");

namespace {

constexpr int kExitLinearizable = 0;
constexpr int kExitNotLinearizable = 1;
constexpr int kExitBadInput = 2;

const char kUsage[] =
    "usage: detcd-check --history=FILE [--shrink_budget=DURATION]\n"
    "  --history=FILE           JSON lines, one event per line, in the style of Jepsen's register workload:\n"
    "                           {\"process\": 1, \"type\": \"invoke\"|\"ok\"|\"fail\"|\"info\",\n"
    "                            \"f\": \"read\"|\"write\"|\"cas\", \"key\": \"k\", \"value\": V}\n"
    "                           (a cas's value is [expected, new]; a read's ok carries the value read, null if absent)\n"
    "  --shrink_budget=DURATION time for shrinking a contradiction to a small one (default 10s; 0 = none)\n"
    "prints 'linearizable: yes', or 'linearizable: no' and, per failing key, a small set of operations with no\n"
    "linearization, with their line numbers\n"
    "exit codes: 0 linearizable, 1 not linearizable, 2 bad arguments or malformed history\n";

constexpr const char* kFlags[] = {"history", "shrink_budget"};

int BadInput(const std::string& message, bool usage) {
  std::fprintf(stderr, "detcd-check: %s\n%s", message.c_str(), usage ? kUsage : "");
  return kExitBadInput;
}

}  // namespace

int main(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return kExitLinearizable;
    }
    const size_t eq = arg.find('=');
    const std::string name = absl::StartsWith(arg, "--") ? arg.substr(2, eq == std::string::npos ? eq : eq - 2) : "";
    bool known = false;
    for (const char* flag : kFlags) known = known || name == flag;
    if (!known) return BadInput("unknown argument '" + arg + "'", true);
    if (eq == std::string::npos) return BadInput("--" + name + " needs a value (--" + name + "=...)", true);
    std::string error;
    if (!absl::FindCommandLineFlag(name)->ParseFrom(arg.substr(eq + 1), &error)) {
      return BadInput("invalid --" + name + ": " + error, true);
    }
  }
  const std::string path = absl::GetFlag(FLAGS_history);
  if (path.empty()) return BadInput("--history is required", true);
  detcd::history::CheckOptions options;
  options.shrink_budget = absl::GetFlag(FLAGS_shrink_budget);
  if (options.shrink_budget < absl::ZeroDuration()) return BadInput("--shrink_budget must not be negative", true);

  const absl::StatusOr<detcd::history::History> history = detcd::history::ReadHistoryFile(path);
  if (!history.ok()) return BadInput(std::string(history.status().message()), false);
  const detcd::history::CheckResult result = detcd::history::CheckLinearizability(*history, options);
  std::fputs(detcd::history::FormatCheckResult(*history, result).c_str(), stdout);
  return result.linearizable ? kExitLinearizable : kExitNotLinearizable;
}
