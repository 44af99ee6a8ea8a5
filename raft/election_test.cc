// The election regression suite: runs every script in testdata/election/*.txt through an InteractionEnv and compares
// the whole output with the expectation written in the script. A script pins the exact sequence of Readies, messages
// and Raft log lines of one election scenario, so any change in election behaviour shows up as a diff.
//
// Rewrite mode regenerates the expectations in the source tree; review them on the git diff:
//   bazel run //raft:election_test -- --rewrite      (or REWRITE=1 bazel run //raft:election_test)
// `bazel run` sets BUILD_WORKSPACE_DIRECTORY, which is how the test finds the sources to write.
#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "raft/rafttest/interaction_env.h"
#include "raft/rafttest/script.h"

namespace detcd::raft::rafttest {
namespace {

constexpr char kScriptDir[] = "testdata/election";

bool RewriteMode() {
  const char* env = std::getenv("REWRITE");
  if (env != nullptr && (std::string(env) == "1" || std::string(env) == "true")) return true;
  for (const std::string& arg : ::testing::internal::GetArgvs()) {
    if (arg == "--rewrite" || arg == "-rewrite") return true;
  }
  return false;
}

// The scripts as the test sees them: in the runfiles tree (the working directory under `bazel test` and `bazel run`).
std::filesystem::path RunfilesScriptDir() {
  std::vector<std::filesystem::path> candidates = {kScriptDir};
  if (const char* srcdir = std::getenv("TEST_SRCDIR"))
    candidates.push_back(std::filesystem::path(srcdir) / "detcd" / kScriptDir);
  if (const char* runfiles = std::getenv("RUNFILES_DIR"))
    candidates.push_back(std::filesystem::path(runfiles) / "detcd" / kScriptDir);
  for (const auto& dir : candidates) {
    if (std::filesystem::is_directory(dir)) return dir;
  }
  return kScriptDir;
}

std::vector<std::string> ScriptNames() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(RunfilesScriptDir(), ec)) {
    if (entry.path().extension() == ".txt") names.push_back(entry.path().filename().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string RunOnce(const Script& script) {
  InteractionEnv env;
  return RunScript(script, [&env](const ScriptCommand& cmd) { return env.Handle(cmd); }).actual_text;
}

class ElectionScriptTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ElectionScriptTest, MatchesExpectedOutput) {
  const std::string name = GetParam();
  const std::string text = ReadFile(RunfilesScriptDir() / name);
  absl::StatusOr<Script> script = ParseScript(text);
  ASSERT_TRUE(script.ok()) << name << ": " << script.status();
  InteractionEnv env;
  const ScriptResult result = RunScript(*script, [&env](const ScriptCommand& cmd) { return env.Handle(cmd); });
  // Same script, fresh environment: the output must be byte-identical, or expectations would be flaky.
  ASSERT_EQ(RunOnce(*script), result.actual_text) << name << ": output is not deterministic";

  if (RewriteMode()) {
    const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY");
    ASSERT_NE(workspace, nullptr) << "rewrite mode writes into the source tree: use `bazel run //raft:election_test "
                                     "-- --rewrite`, which sets BUILD_WORKSPACE_DIRECTORY";
    if (result.actual_text == text) return;
    const std::filesystem::path target = std::filesystem::path(workspace) / kScriptDir / name;
    std::ofstream out(target, std::ios::binary | std::ios::trunc);
    out << result.actual_text;
    out.close();
    ASSERT_TRUE(out.good()) << "cannot write " << target;
    std::cout << "rewrote " << target.string() << "\n";
    return;
  }
  if (result.actual_text != text) {
    ADD_FAILURE() << kScriptDir << "/" << name << ": output differs, first at the command on line "
                  << result.first_mismatch_line << ": `" << result.first_mismatch_command << "`\n"
                  << LineDiff(text, result.actual_text)
                  << "If the new behaviour is right: bazel run //raft:election_test -- --rewrite, then review the "
                     "git diff.";
  }
}

std::string TestName(const ::testing::TestParamInfo<std::string>& info) {
  std::string s = info.param.substr(0, info.param.size() - 4);  // without ".txt"
  for (char& c : s) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return s;
}

INSTANTIATE_TEST_SUITE_P(Scripts, ElectionScriptTest, ::testing::ValuesIn(ScriptNames()), TestName);

TEST(ElectionSuite, FindsScripts) {
  EXPECT_FALSE(ScriptNames().empty()) << "no scripts under " << RunfilesScriptDir()
                                      << " (is //testdata:election_scripts in the test's data?)";
}

// The format itself, independent of Raft: a script round-trips through parse and rebuild unchanged.
TEST(ElectionSuite, ScriptRoundTrip) {
  const std::string text =
      "# leading comment\n\ncmd a=(1, 2) (3,4) b=x 5\n----\nline one\nline two\n\n# between\nnext\n----\nok\n";
  absl::StatusOr<Script> script = ParseScript(text);
  ASSERT_TRUE(script.ok()) << script.status();
  ASSERT_EQ(script->blocks.size(), 2u);
  const ScriptCommand& c = script->blocks[0].command;
  EXPECT_EQ(c.name, "cmd");
  ASSERT_EQ(c.args.size(), 4u);
  EXPECT_EQ(c.args[0].key, "a");
  EXPECT_EQ(c.args[0].vals, (std::vector<std::string>{"1", "2"}));
  EXPECT_EQ(c.args[1].key, "");
  EXPECT_EQ(c.args[1].vals, (std::vector<std::string>{"3", "4"}));
  EXPECT_EQ(c.args[3].vals, (std::vector<std::string>{"5"}));
  const std::vector<std::string> outs = {"line one\nline two\n", "ok\n"};
  size_t i = 0;
  const ScriptResult r = RunScript(*script, [&](const ScriptCommand&) { return outs[i++]; });
  EXPECT_EQ(r.actual_text, text);
  EXPECT_EQ(r.first_mismatch_line, 0);
  EXPECT_EQ(LineDiff(text, text), "");
  EXPECT_NE(LineDiff("a\nb\nc\n", "a\nx\nc\n"), "");
}

}  // namespace
}  // namespace detcd::raft::rafttest
