// Script: the data-driven test file format of the election suite (the shape of etcd-io/raft's testdata) — parsing,
// running and rewriting. A file is a sequence of blocks:
//
//   # comment lines (kept verbatim, as are extra blank lines between blocks)
//   command arg key=value key=(1,2,3) (4,5)
//   ----
//   the exact output the command is expected to print
//
// Blocks are separated by one blank line, so an output never contains an empty line (the runner checks). Running a
// script feeds each command to a handler and rebuilds the file with the actual outputs in place of the expected
// ones: equal text means the script passes, and the rebuilt text is what rewrite mode writes back. This unit knows
// nothing about Raft; it must never interpret a command itself.
#ifndef DETCD_RAFT_RAFTTEST_SCRIPT_H_
#define DETCD_RAFT_RAFTTEST_SCRIPT_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace detcd::raft::rafttest {

// One argument of a command line. `key=v` -> {key, {v}}; `key=(a,b)` -> {key, {a, b}}; a bare `v` -> {"", {v}};
// a bare `(a,b)` -> {"", {a, b}}.
struct ScriptArg {
  std::string key;
  std::vector<std::string> vals;
};

struct ScriptCommand {
  std::string name;
  std::vector<ScriptArg> args;
  int line = 0;  // 1-based line of the command in its file
};

struct ScriptBlock {
  std::string prelude;       // comment and blank lines before the command, verbatim (each ending in '\n')
  std::string command_line;  // as written
  std::string expected;      // expected output, each line ending in '\n' ("" if none was written yet)
  ScriptCommand command;
};

struct Script {
  std::vector<ScriptBlock> blocks;
  std::string trailer;  // comment lines after the last block
};

absl::StatusOr<ScriptCommand> ParseCommandLine(const std::string& line, int line_no);
absl::StatusOr<Script> ParseScript(const std::string& text);

// Runs one command, returning its whole output (lines ending in '\n'; never an empty line).
using CommandHandler = std::function<std::string(const ScriptCommand&)>;

struct ScriptResult {
  std::string actual_text;      // the script with every block's actual output: what rewrite mode writes
  int first_mismatch_line = 0;  // line of the first command whose output differs from the expectation; 0 if none
  std::string first_mismatch_command;
};

ScriptResult RunScript(const Script& script, const CommandHandler& handler);

// A line diff of want against got in a unified-ish format: hunks of `-want` / `+got` lines with their line numbers
// and a little context, at most max_lines lines. Empty if the texts are equal.
std::string LineDiff(const std::string& want, const std::string& got, int max_lines = 60);

}  // namespace detcd::raft::rafttest

#endif  // DETCD_RAFT_RAFTTEST_SCRIPT_H_
