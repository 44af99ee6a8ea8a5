#include "sim/scenarios/seed_progress.h"

#include <cstdio>
#include <string>

#include "gtest/gtest.h"

namespace detcd::sim {
namespace {

TEST(SeedProgress, FormatsCountsRateAndTimeLeft) {
  EXPECT_EQ(FormatProgress("kv_swarm", 0, 100, 0, 0), "kv_swarm: 0/100 seeds, 0 failed");
  EXPECT_EQ(FormatProgress("kv_swarm", 10, 100, 1, 5), "kv_swarm: 10/100 seeds, 1 failed, 2.0 seeds/s, 45s left");
  EXPECT_EQ(FormatProgress("s", 1, 10000, 0, 2), "s: 1/10000 seeds, 0 failed, 0.5 seeds/s, 5h33m left");
  EXPECT_EQ(FormatProgress("s", 100, 1000, 0, 10), "s: 100/1000 seeds, 0 failed, 10.0 seeds/s, 1m30s left");
  EXPECT_EQ(FormatProgress("s", 5, 5, 2, 1), "s: 5/5 seeds, 2 failed, 5.0 seeds/s, 0s left");
}

std::string Written(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string out;
  for (int c; (c = std::fgetc(f)) != EOF;) out.push_back(static_cast<char>(c));
  return out;
}

// To a file: whole lines, the first at once, then at most one a second — and always the last.
TEST(SeedProgress, AppendsThrottledLinesToAFile) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  SeedProgress progress("x", 3, f, /*terminal=*/false);
  progress.Update(1, 0);
  progress.Update(2, 1);  // within the second: not shown
  progress.Update(3, 1);  // complete: shown
  progress.Clear();       // nothing to erase in a file
  const std::string out = Written(f);
  EXPECT_EQ(out.rfind("x: 1/3 seeds, 0 failed", 0), 0u) << out;
  EXPECT_EQ(out.find("x: 2/3"), std::string::npos) << out;
  EXPECT_NE(out.find("\nx: 3/3 seeds, 1 failed"), std::string::npos) << out;
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(out.find('\r'), std::string::npos) << out;
  std::fclose(f);
}

TEST(SeedProgress, RewritesOneLineOnATerminal) {
  std::FILE* f = std::tmpfile();
  ASSERT_NE(f, nullptr);
  SeedProgress progress("x", 2, f, /*terminal=*/true);
  progress.Update(1, 0);
  progress.Update(2, 0);
  progress.Clear();
  const std::string out = Written(f);
  const std::string erase = "\r\033[K";
  EXPECT_EQ(out.rfind(erase + "x: 1/2 seeds, 0 failed", 0), 0u) << out;
  EXPECT_NE(out.find(erase + "x: 2/2 seeds, 0 failed"), std::string::npos) << out;
  EXPECT_EQ(out.substr(out.size() - erase.size()), erase) << out;
  EXPECT_EQ(out.find('\n'), std::string::npos) << out;
  std::fclose(f);
}

}  // namespace
}  // namespace detcd::sim
