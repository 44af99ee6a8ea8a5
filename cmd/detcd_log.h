// EtcdLogger: etcd 3.4's two server loggers, which tooling written for etcd parses: capnslog text
// ("2026-11-30 09:20:00.123456 I | embed: ready to serve client requests") and zap (--logger=zap: one JSON object a
// line). Lines go whole to each output (--log-outputs: stderr by default, stdout, files appended to) from any thread;
// lines below --log-level are dropped.
#ifndef DETCD_CMD_DETCD_LOG_H_
#define DETCD_CMD_DETCD_LOG_H_

#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace detcd {

class EtcdLogger {
 public:
  explicit EtcdLogger(bool zap) : zap_(zap) {}
  ~EtcdLogger();
  EtcdLogger(const EtcdLogger&) = delete;
  EtcdLogger& operator=(const EtcdLogger&) = delete;

  // Where lines go: "default" or "stderr", "stdout", or a file path (opened for appending). Error: a file that cannot
  // be opened (nothing changes then).
  absl::Status SetOutputs(const std::vector<std::string>& outputs);
  // etcd's level names: "debug", "info", "warn", "error" (and "dpanic", "panic", "fatal", which keep only errors).
  void SetLevel(const std::string& level);

  void Debug(const std::string& package, const std::string& msg) { Write('D', "debug", package, msg); }
  void Info(const std::string& package, const std::string& msg) { Write('I', "info", package, msg); }
  void Warn(const std::string& package, const std::string& msg) { Write('W', "warn", package, msg); }
  void Error(const std::string& package, const std::string& msg) { Write('E', "error", package, msg); }

 private:
  void Write(char level, const char* zap_level, const std::string& package, const std::string& msg);

  const bool zap_;
  int min_level_ = 1;  // 0 debug, 1 info, 2 warn, 3 error
  std::mutex mu_;
  std::vector<FILE*> outputs_ = {stderr};
  std::vector<FILE*> owned_;  // files it opened
};

}  // namespace detcd

#endif  // DETCD_CMD_DETCD_LOG_H_
