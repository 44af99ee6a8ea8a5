#include "raft/rafttest/script.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace detcd::raft::rafttest {

namespace {

constexpr char kSeparator[] = "----";

std::vector<std::string> SplitLines(const std::string& text) {
  std::vector<std::string> lines = absl::StrSplit(text, '\n');
  if (!lines.empty() && lines.back().empty()) lines.pop_back();  // the text's final newline
  return lines;
}

std::string Trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// Splits "(a, b,c)" into {a, b, c}; anything else is one value.
absl::StatusOr<std::vector<std::string>> ParseValue(const std::string& v, int line_no) {
  if (v.empty() || v[0] != '(') return std::vector<std::string>{v};
  if (v.back() != ')') return absl::InvalidArgumentError(absl::StrCat("line ", line_no, ": unbalanced '(' in ", v));
  std::vector<std::string> out;
  const std::string inner = v.substr(1, v.size() - 2);
  if (Trim(inner).empty()) return out;
  for (absl::string_view part : absl::StrSplit(inner, ',')) out.push_back(Trim(std::string(part)));
  return out;
}

// The terminating blank line of a block may not appear inside an output: make any empty line visible instead.
std::string NormalizeOutput(std::string out) {
  if (out.empty()) return "ok\n";
  if (out.back() != '\n') out.push_back('\n');
  std::string fixed;
  for (const std::string& line : SplitLines(out)) absl::StrAppend(&fixed, line.empty() ? "<empty line>" : line, "\n");
  return fixed;
}

}  // namespace

absl::StatusOr<ScriptCommand> ParseCommandLine(const std::string& line, int line_no) {
  std::vector<std::string> tokens;
  std::string cur;
  int depth = 0;
  for (char c : line) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (depth < 0) return absl::InvalidArgumentError(absl::StrCat("line ", line_no, ": unbalanced ')'"));
    if (depth == 0 && std::isspace(static_cast<unsigned char>(c))) {
      if (!cur.empty()) tokens.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (depth != 0) return absl::InvalidArgumentError(absl::StrCat("line ", line_no, ": unbalanced '('"));
  if (!cur.empty()) tokens.push_back(std::move(cur));
  if (tokens.empty()) return absl::InvalidArgumentError(absl::StrCat("line ", line_no, ": empty command"));
  ScriptCommand cmd;
  cmd.name = tokens[0];
  cmd.line = line_no;
  for (size_t i = 1; i < tokens.size(); ++i) {
    const std::string& t = tokens[i];
    const size_t eq = t.find('=');
    const size_t paren = t.find('(');
    ScriptArg arg;
    std::string value = t;
    if (eq != std::string::npos && (paren == std::string::npos || eq < paren)) {
      arg.key = t.substr(0, eq);
      value = t.substr(eq + 1);
    }
    absl::StatusOr<std::vector<std::string>> vals = ParseValue(value, line_no);
    if (!vals.ok()) return vals.status();
    arg.vals = std::move(*vals);
    cmd.args.push_back(std::move(arg));
  }
  return cmd;
}

absl::StatusOr<Script> ParseScript(const std::string& text) {
  const std::vector<std::string> lines = SplitLines(text);
  Script script;
  std::string prelude;
  size_t i = 0;
  while (i < lines.size()) {
    const std::string& line = lines[i];
    if (line.empty() || line[0] == '#') {
      absl::StrAppend(&prelude, line, "\n");
      ++i;
      continue;
    }
    ScriptBlock block;
    block.prelude = std::move(prelude);
    prelude.clear();
    block.command_line = line;
    absl::StatusOr<ScriptCommand> cmd = ParseCommandLine(line, static_cast<int>(i + 1));
    if (!cmd.ok()) return cmd.status();
    block.command = std::move(*cmd);
    ++i;
    if (i >= lines.size() || lines[i] != kSeparator) {
      return absl::InvalidArgumentError(
          absl::StrCat("line ", i + 1, ": expected '", kSeparator, "' after command '", line, "'"));
    }
    ++i;
    while (i < lines.size() && !lines[i].empty()) absl::StrAppend(&block.expected, lines[i++], "\n");
    if (i < lines.size()) ++i;  // the blank line that ends the block
    script.blocks.push_back(std::move(block));
  }
  script.trailer = std::move(prelude);
  return script;
}

ScriptResult RunScript(const Script& script, const CommandHandler& handler) {
  ScriptResult result;
  for (size_t b = 0; b < script.blocks.size(); ++b) {
    const ScriptBlock& block = script.blocks[b];
    const std::string actual = NormalizeOutput(handler(block.command));
    if (actual != block.expected && result.first_mismatch_line == 0) {
      result.first_mismatch_line = block.command.line;
      result.first_mismatch_command = block.command_line;
    }
    absl::StrAppend(&result.actual_text, block.prelude, block.command_line, "\n", kSeparator, "\n", actual);
    if (b + 1 < script.blocks.size() || !script.trailer.empty()) result.actual_text += "\n";
  }
  result.actual_text += script.trailer;
  return result;
}

std::string LineDiff(const std::string& want, const std::string& got, int max_lines) {
  if (want == got) return "";
  const std::vector<std::string> a = SplitLines(want), b = SplitLines(got);
  const size_t n = a.size(), m = b.size();
  std::string out;
  int emitted = 0;
  auto emit = [&](const std::string& line) {
    if (emitted < max_lines) absl::StrAppend(&out, line, "\n");
    if (emitted == max_lines) out += "... (diff truncated)\n";
    ++emitted;
  };
  if (n * m > 16u * 1000 * 1000) {
    // Too large for the quadratic LCS: report the first differing line only.
    size_t i = 0;
    while (i < n && i < m && a[i] == b[i]) ++i;
    emit(absl::StrCat("@@ first difference at line ", i + 1, " @@"));
    if (i < n) emit("-" + a[i]);
    if (i < m) emit("+" + b[i]);
    return out;
  }
  // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  std::vector<std::vector<uint32_t>> lcs(n + 1, std::vector<uint32_t>(m + 1, 0));
  for (size_t i = n; i-- > 0;) {
    for (size_t j = m; j-- > 0;) {
      lcs[i][j] = a[i] == b[j] ? lcs[i + 1][j + 1] + 1 : std::max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  // The edit script: ' ' keep, '-' only in want, '+' only in got; with each line's position in its file.
  struct Edit {
    char op;
    size_t ai, bi;
  };
  std::vector<Edit> edits;
  size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && a[i] == b[j]) {
      edits.push_back({' ', i++, j++});
    } else if (i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1])) {
      edits.push_back({'-', i++, j});  // removals first, as unified diffs show them
    } else {
      edits.push_back({'+', i, j++});
    }
  }
  constexpr size_t kContext = 2;
  size_t k = 0;
  while (k < edits.size()) {
    if (edits[k].op == ' ') {
      ++k;
      continue;
    }
    // A hunk: from kContext lines before this change to kContext lines after the last change near it.
    const size_t start = k >= kContext ? k - kContext : 0;
    size_t end = k;
    while (end < edits.size()) {
      if (edits[end].op != ' ') {
        ++end;
        continue;
      }
      size_t run = end;
      while (run < edits.size() && edits[run].op == ' ') ++run;
      if (run == edits.size() || run - end > 2 * kContext) break;
      end = run;
    }
    const size_t stop = std::min(edits.size(), end + kContext);
    emit(absl::StrCat("@@ want line ", edits[start].ai + 1, ", got line ", edits[start].bi + 1, " @@"));
    for (size_t e = start; e < stop; ++e) {
      const Edit& ed = edits[e];
      emit(absl::StrCat(std::string(1, ed.op), ed.op == '+' ? b[ed.bi] : a[ed.ai]));
    }
    k = stop;
  }
  return out;
}

}  // namespace detcd::raft::rafttest
