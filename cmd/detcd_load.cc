// detcd-load: the project's load tool, in the shape of etcd's `benchmark` — concurrent etcd v3 clients over gRPC
// (works against detcd and etcd alike) running one workload, then a human summary and one `result:` line:
//   detcd-load --endpoints=127.0.0.1:2379 --workload=put --clients=64 --conns=4 --total=100000
//   detcd-load --endpoints=127.0.0.1:2379 --clients=16 --keys=10 --duration=10s --history=FILE   (register)
// Flag parsing and wiring only: the workloads live in load/, the history format is history/history.h's.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "load/completion_threads.h"
#include "load/connections.h"
#include "load/key_space.h"
#include "load/lease_load.h"
#include "load/load_options.h"
#include "load/register_load.h"
#include "load/tally.h"
#include "load/unary_load.h"
#include "load/watch_load.h"

namespace {

using detcd::load::LoadOptions;
using detcd::load::Workload;

constexpr int kExitBadArgs = 2;
constexpr size_t kErrorLinesShown = 5;

const char kUsage[] =
    "usage: detcd-load --endpoints=HOST:PORT[,HOST:PORT...] [--workload=W] [flags]\n"
    "  --workload=W        register (default), put, range, range-serializable, txn-put, watch, lease-keepalive\n"
    "  --clients=N         concurrent clients, one request in flight each (default 8); writers for watch\n"
    "  --conns=M           HTTP/2 connections the clients share, spread over the endpoints (default 1)\n"
    "  --threads=T         threads driving all clients (default 1)\n"
    "  --total=N           requests to send in all (default: run for --duration)\n"
    "  --duration=D        how long to run, e.g. 10s (default 5s; with --total, an upper bound)\n"
    "  --timeout=D         per-request deadline (default 2s)\n"
    "  --key-size=B        key bytes (default 8)\n"
    "  --val-size=B        value bytes (default 256)\n"
    "  --key-space=K       distinct keys (default 1000); range workloads put each once first, untimed\n"
    "  --sequential-keys   keys in order (default: uniformly random)\n"
    "  --skip-fill         range workloads: the keys exist already, do not put them first\n"
    "  --watchers=W        watch streams on the whole key space (watch; default 16)\n"
    "  --user=NAME:PASSWORD  authenticate first; every request carries the token (put, range*, txn-put)\n"
    "register only (thread and connection per client; history for detcd-check):\n"
    "  --keys=K            keys load/k0 .. load/k<K-1> (default 10)\n"
    "  --value-bytes=N     pad written values to N bytes (default: just the number)\n"
    "  --history=FILE      write the history as JSON lines for detcd-check\n";

int Bad(const std::string& why) {
  std::fprintf(stderr, "detcd-load: %s\n%s", why.c_str(), kUsage);
  return kExitBadArgs;
}

template <typename Int>
bool ParseInt(const std::string& v, Int min, Int max, Int* out) {
  Int n;
  if (!absl::SimpleAtoi(v, &n) || n < min || n > max) return false;
  *out = n;
  return true;
}

// Fills `opt` from argv; returns "" or why the command line is wrong.
std::string ParseFlags(int argc, char** argv, LoadOptions* opt) {
  bool register_only = false, benchmark_only = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const size_t eq = arg.find('=');
    const std::string name = arg.substr(0, eq);
    const bool has_value = eq != std::string::npos;
    const std::string v = has_value ? arg.substr(eq + 1) : "";
    const std::string invalid = "invalid " + name + " '" + v + "'";
    if ((name == "--sequential-keys" || name == "--skip-fill") && (!has_value || v == "true" || v == "false")) {
      (name == "--skip-fill" ? opt->skip_fill : opt->sequential_keys) = !has_value || v == "true";
      benchmark_only = true;
      continue;
    }
    if (!absl::StartsWith(name, "--") || !has_value) return "unknown argument '" + arg + "'";
    if (name == "--endpoints") {
      for (absl::string_view e : absl::StrSplit(v, ',', absl::SkipEmpty())) {
        std::string ep(e);
        if (absl::StartsWith(ep, "http://")) ep = ep.substr(7);
        opt->endpoints.push_back(ep);
      }
    } else if (name == "--workload") {
      const auto w = detcd::load::ParseWorkload(v);
      if (!w) return invalid;
      opt->workload = *w;
    } else if (name == "--clients") {
      if (!ParseInt(v, 1, 100000, &opt->clients)) return invalid;
    } else if (name == "--conns") {
      if (!ParseInt(v, 1, 10000, &opt->conns)) return invalid;
      benchmark_only = true;
    } else if (name == "--threads") {
      if (!ParseInt(v, 1, 64, &opt->threads)) return invalid;
      benchmark_only = true;
    } else if (name == "--total") {
      if (!ParseInt<int64_t>(v, 1, int64_t{1} << 40, &opt->total)) return invalid;
      benchmark_only = true;
    } else if (name == "--duration") {
      if (!absl::ParseDuration(v, &opt->duration) || opt->duration <= absl::ZeroDuration()) return invalid;
      opt->duration_set = true;
    } else if (name == "--timeout") {
      if (!absl::ParseDuration(v, &opt->timeout) || opt->timeout <= absl::ZeroDuration()) return invalid;
    } else if (name == "--key-size") {
      if (!ParseInt(v, 1, 1 << 20, &opt->key_size)) return invalid;
      benchmark_only = true;
    } else if (name == "--val-size") {
      if (!ParseInt(v, 0, 64 << 20, &opt->val_size)) return invalid;
      benchmark_only = true;
    } else if (name == "--key-space") {
      if (!ParseInt<int64_t>(v, 1, int64_t{1} << 40, &opt->key_space)) return invalid;
      benchmark_only = true;
    } else if (name == "--watchers") {
      if (!ParseInt(v, 1, 100000, &opt->watchers)) return invalid;
      benchmark_only = true;
    } else if (name == "--keys") {
      if (!ParseInt(v, 1, 1 << 30, &opt->register_keys)) return invalid;
      register_only = true;
    } else if (name == "--value-bytes") {
      if (!ParseInt(v, 0, 1 << 20, &opt->register_value_bytes)) return invalid;
      register_only = true;
    } else if (name == "--user") {
      // etcd's benchmark takes "name[:password]" and prompts for a missing password; this tool does not prompt.
      const size_t colon = v.find(':');
      if (v.empty() || colon == 0 || colon == std::string::npos) return "--user needs NAME:PASSWORD";
      opt->user = v.substr(0, colon);
      opt->password = v.substr(colon + 1);
    } else if (name == "--history") {
      if (v.empty()) return invalid;
      opt->history = v;
      register_only = true;
    } else {
      return "unknown argument '" + arg + "'";
    }
  }
  if (opt->endpoints.empty()) return "--endpoints is required";
  const bool is_register = opt->workload == Workload::kRegister;
  if (is_register && benchmark_only) return "--conns/--threads/--total/--key-*/--val-size/--watchers need a benchmark --workload";
  if (!is_register && register_only) return "--keys/--value-bytes/--history are for --workload=register only";
  const bool unary = opt->workload == Workload::kPut || opt->workload == Workload::kRange ||
                     opt->workload == Workload::kRangeSerializable || opt->workload == Workload::kTxnPut;
  if (!opt->user.empty() && !unary) return "--user is for the put, range, range-serializable and txn-put workloads";
  if (!detcd::load::KeySpace::FitsIn(opt->key_space, opt->key_size)) {
    return absl::StrCat("--key-space=", opt->key_space, " keys do not fit in --key-size=", opt->key_size, " digits");
  }
  return "";
}

void Report(const LoadOptions& opt, detcd::load::Tally* tally, const std::string& fields, double seconds) {
  if (seconds <= 0) seconds = 1e-9;
  std::printf("%s\n", tally->Summary(seconds).c_str());
  const std::string all_fields = absl::StrCat("clients=", opt.clients, " conns=", opt.conns, fields);
  std::printf("%s\n",
              tally->ResultLine(std::string(detcd::load::WorkloadName(opt.workload)), all_fields, seconds).c_str());
  for (const std::string& line : tally->ErrorLines(kErrorLinesShown)) std::printf("%s\n", line.c_str());
}

// Every key of the key space exists before timed reads: one put each, in order, not counted.
void Fill(const LoadOptions& opt, const std::vector<std::shared_ptr<grpc::Channel>>& channels,
          detcd::load::CompletionThreads* threads) {
  using namespace detcd::load;
  KeySpace fill_keys(opt.key_space, opt.key_size, /*sequential=*/true);
  UnaryPlan fill;
  fill.workload = Workload::kPut;
  fill.clients = static_cast<int>(std::min<int64_t>(opt.clients, opt.key_space));
  fill.total = opt.key_space;
  UnaryOutcome filled = RunUnary(opt, fill, channels, threads, &fill_keys);
  std::printf("fill: %llu keys put in %.2f s, %llu failed (not counted below)\n",
              static_cast<unsigned long long>(filled.tally.ok()), filled.seconds,
              static_cast<unsigned long long>(filled.tally.failed()));
}

int RunBenchmark(LoadOptions opt) {
  using namespace detcd::load;
  CompletionThreads threads(opt.threads);
  const auto channels = OpenConnections(opt.endpoints, opt.conns);
  if (!opt.user.empty()) {
    absl::StatusOr<std::string> token = Authenticate(channels[0], opt.user, opt.password, opt.timeout);
    if (!token.ok()) {
      std::fprintf(stderr, "detcd-load: authenticate as %s: %s\n", opt.user.c_str(),
                   std::string(token.status().message()).c_str());
      return 1;
    }
    opt.token = *token;
  }
  KeySpace keys(opt.key_space, opt.key_size, opt.sequential_keys);
  UnaryPlan plan;
  plan.workload = opt.workload;
  plan.clients = opt.clients;
  plan.total = opt.total;
  plan.duration = (opt.total == 0 || opt.duration_set) ? opt.duration : absl::InfiniteDuration();
  switch (opt.workload) {
    case Workload::kRange:
    case Workload::kRangeSerializable:
      if (!opt.skip_fill) Fill(opt, channels, &threads);
      [[fallthrough]];
    case Workload::kPut:
    case Workload::kTxnPut: {
      UnaryOutcome out = RunUnary(opt, plan, channels, &threads, &keys);
      Report(opt, &out.tally, "", out.seconds);
      return 0;
    }
    case Workload::kWatch: {
      WatchOutcome out = RunWatch(opt, channels, &threads, &keys);
      Report(opt, &out.events, absl::StrCat(" watchers=", opt.watchers, " puts=", out.puts), out.seconds);
      return 0;
    }
    case Workload::kLeaseKeepalive: {
      LeaseOutcome out = RunLeaseKeepalive(opt, channels, &threads);
      Report(opt, &out.tally, "", out.seconds);
      return 0;
    }
    case Workload::kRegister:
      break;
  }
  return RunRegister(opt);
}

}  // namespace

int main(int argc, char** argv) {
  // As detcd does: Debian's Abseil leaves absl::Mutex's deadlock detection on, a cost on every lock gRPC takes.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--help" || std::string(argv[i]) == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
  }
  LoadOptions opt;
  const std::string error = ParseFlags(argc, argv, &opt);
  if (!error.empty()) return Bad(error);
  if (opt.workload == Workload::kRegister) return detcd::load::RunRegister(opt);
  return RunBenchmark(opt);
}
