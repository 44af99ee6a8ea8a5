// EtcdLogger: etcd 3.4's two server loggers, which tooling written for etcd parses: capnslog text
// ("2026-11-30 09:20:00.123456 I | embed: ready to serve client requests") and zap (--logger=zap: one JSON object a
// line). Lines go whole to stderr from any thread.
#ifndef DETCD_CMD_DETCD_LOG_H_
#define DETCD_CMD_DETCD_LOG_H_

#include <mutex>
#include <string>

namespace detcd {

class EtcdLogger {
 public:
  explicit EtcdLogger(bool zap) : zap_(zap) {}
  void Info(const std::string& package, const std::string& msg) { Write('I', "info", package, msg); }
  void Warn(const std::string& package, const std::string& msg) { Write('W', "warn", package, msg); }
  void Error(const std::string& package, const std::string& msg) { Write('E', "error", package, msg); }

 private:
  void Write(char level, const char* zap_level, const std::string& package, const std::string& msg);

  const bool zap_;
  std::mutex mu_;
};

}  // namespace detcd

#endif  // DETCD_CMD_DETCD_LOG_H_
