// detcd: the etcd-compatible server's main(): etcd 3.4's command line and ETCD_* variables (cmd/detcd_flags.h) or
// its config file (cmd/detcd_config_file.h), the logger etcd's settings choose (cmd/detcd_log.h), the signals, and
// one DetcdServer (cmd/detcd_server.h), which starts, serves and stops the member. Nothing else lives here.
#include <signal.h>
#include <time.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "cmd/detcd_config_file.h"
#include "cmd/detcd_flags.h"
#include "cmd/detcd_log.h"
#include "cmd/detcd_server.h"

extern char** environ;

int main(int argc, char** argv) {
  // Debian builds Abseil without NDEBUG, which leaves absl::Mutex's deadlock detection on: a cycle-graph update on
  // every lock gRPC takes (several per request). Its checks are for development; a server runs without them.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::vector<std::string> args(argv + 1, argv + argc);
  std::map<std::string, std::string> env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string kv = *e;
    const size_t eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  std::vector<std::string> warnings;
  absl::StatusOr<detcd::DetcdConfig> parsed = detcd::ParseDetcdFlags(args, env, &warnings);
  // etcd's line, logged when the file is loaded (or printed before the error when it cannot be).
  const std::string loading_line =
      parsed.ok() ? absl::StrCat("Loading server configuration from \"", parsed->config_file,
                                 "\". Other configuration command line flags and environment variables will be "
                                 "ignored if provided.")
                  : "";
  if (parsed.ok() && parsed->action == detcd::DetcdFlagsAction::kLoadConfigFile) {
    parsed = detcd::LoadDetcdConfigFile(parsed->config_file, &warnings);
    if (!parsed.ok()) std::fprintf(stderr, "%s\n", loading_line.c_str());
  }
  if (!parsed.ok()) {
    std::fprintf(stderr, "%s\n", std::string(parsed.status().message()).c_str());
    if (parsed.status().code() == absl::StatusCode::kInvalidArgument) std::fputs(detcd::DetcdUsageText().c_str(), stderr);
    return detcd::DetcdFlagsExitCode(parsed.status());
  }
  if (parsed->action == detcd::DetcdFlagsAction::kPrintHelp) {
    std::fputs(detcd::DetcdUsageText().c_str(), stderr);
    std::fputs(detcd::DetcdHelpText().c_str(), stdout);
    return 0;
  }
  if (parsed->action == detcd::DetcdFlagsAction::kPrintVersion) {
    std::fputs(detcd::DetcdVersionText().c_str(), stdout);
    return 0;
  }
  detcd::EtcdLogger log(parsed->logger == "zap");
  log.SetLevel(parsed->log_level);
  if (absl::Status s = log.SetOutputs(parsed->log_outputs); !s.ok()) {
    std::fprintf(stderr, "%s\n", std::string(s.message()).c_str());
    return 1;
  }
  if (!parsed->config_file.empty()) {
    log.Info("etcdmain", parsed->logger == "zap" ? "loaded server configuration, other configuration command line "
                                                   "flags and environment variables will be ignored if provided"
                                                 : loading_line);
  }
  for (const std::string& w : warnings) log.Warn("etcdmain", w);
  // Signals are taken synchronously by this thread; every thread started from here on inherits the mask, so none of
  // them is picked for a signal's default action. SIGUSR1: the member was removed from the cluster. One that
  // arrives during start-up is kept for the wait at the end.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  int sig = 0;
  detcd::DetcdServerOptions options;
  options.config = std::move(*parsed);
  options.log = &log;
  // Test-only (not an etcd setting): WAL segments smaller than etcd's preallocated 64 MiB for suites of many members.
  if (auto it = env.find("DETCD_WAL_SEGMENT_BYTES"); it != env.end()) {
    (void)absl::SimpleAtoi(it->second, &options.wal_segment_bytes);
  }
  // Test-only: this member silently stores another value for puts to this key (a replica whose state went bad), for
  // the corruption checks' end-to-end test.
  if (auto it = env.find("DETCD_TESTING_CORRUPT_KEY"); it != env.end()) options.testing_corrupt_key = it->second;
  options.interrupted = [&signals, &sig] {
    const timespec none{0, 0};
    if (sig == 0) sig = std::max(0, sigtimedwait(&signals, nullptr, &none));
    return sig != 0;
  };
  absl::StatusOr<std::unique_ptr<detcd::DetcdServer>> server = detcd::DetcdServer::Start(std::move(options));
  if (!server.ok()) {
    log.Error("etcdmain", std::string(server.status().message()));
    return detcd::DetcdFlagsExitCode(server.status());
  }
  if (sig == 0) sigwait(&signals, &sig);
  if (sig == SIGUSR1) {
    log.Warn("etcdserver", "the member has been permanently removed from the cluster");
    log.Warn("etcdserver", "the data-dir used by this member must be removed.");
  } else {
    log.Info("osutil", absl::StrCat("received ", sig == SIGINT ? "interrupt" : "terminated", " signal, shutting down..."));
  }
  (*server)->Stop();
  log.Info("etcdserver", "stopped");
  return 0;
}
