#include "cmd/detcd_log.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

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

EtcdLogger::~EtcdLogger() {
  for (FILE* f : owned_) std::fclose(f);
}

absl::Status EtcdLogger::SetOutputs(const std::vector<std::string>& outputs) {
  std::vector<FILE*> files, opened;
  for (const std::string& out : outputs) {
    if (out == "default" || out == "stderr") {
      files.push_back(stderr);
    } else if (out == "stdout") {
      files.push_back(stdout);
    } else {
      FILE* f = std::fopen(out.c_str(), "ae");
      if (f == nullptr) {
        const std::string why = std::strerror(errno);
        for (FILE* o : opened) std::fclose(o);
        return absl::FailedPreconditionError(absl::StrCat("cannot open log output ", out, ": ", why));
      }
      files.push_back(f);
      opened.push_back(f);
    }
  }
  std::lock_guard<std::mutex> l(mu_);
  outputs_ = std::move(files);
  owned_.insert(owned_.end(), opened.begin(), opened.end());
  return absl::OkStatus();
}

void EtcdLogger::SetLevel(const std::string& level) {
  std::lock_guard<std::mutex> l(mu_);
  min_level_ = level == "debug" ? 0 : level == "info" ? 1 : level == "warn" ? 2 : 3;
}

void EtcdLogger::Write(char level, const char* zap_level, const std::string& package, const std::string& msg) {
  const int rank = level == 'D' ? 0 : level == 'I' ? 1 : level == 'W' ? 2 : 3;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (rank < min_level_) return;
  }
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
  for (FILE* f : outputs_) {
    std::fputs(line.c_str(), f);
    std::fflush(f);
  }
}

}  // namespace detcd
