#include "cmd/detcd_log.h"

#include <cstdio>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace detcd {

namespace {

std::string JsonEscape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (static_cast<unsigned char>(c) < 0x20) {
      out += absl::StrFormat("\\u%04x", c);
      continue;
    }
    out.push_back(c);
  }
  return out;
}

}  // namespace

void EtcdLogger::Write(char level, const char* zap_level, const std::string& package, const std::string& msg) {
  const absl::Time now = absl::Now();
  std::string line;
  if (zap_) {
    line = absl::StrCat("{\"level\":\"", zap_level, "\",\"ts\":\"",
                        absl::FormatTime("%Y-%m-%dT%H:%M:%E6S%Ez", now, absl::UTCTimeZone()), "\",\"caller\":\"",
                        package, "\",\"msg\":\"", JsonEscape(msg), "\"}\n");
  } else {
    line = absl::StrCat(absl::FormatTime("%Y-%m-%d %H:%M:%E6S", now, absl::UTCTimeZone()), " ", std::string(1, level),
                        " | ", package, ": ", msg, "\n");
  }
  std::lock_guard<std::mutex> l(mu_);
  std::fputs(line.c_str(), stderr);
  std::fflush(stderr);
}

}  // namespace detcd
