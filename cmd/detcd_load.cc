// detcd-load: the project's load tool — concurrent etcd clients over gRPC (works against detcd and etcd alike) that
// get, put and compare-and-swap a few keys with unique integer values for a while, then print throughput and
// latency, and optionally write the clients' history for detcd-check:
//   detcd-load --endpoints=127.0.0.1:2379 --clients=16 --keys=10 --duration=10s [--history=FILE]
// A request that times out or fails in a way that leaves its outcome open is recorded as "info" and its client
// continues as a new process; one refused before it could take effect ("no leader", connection refused) is left
// out of the history. Flag parsing and wiring only: the history format is sim/history's.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "sim/history.h"

namespace {

constexpr int kExitBadArgs = 2;

const char kUsage[] =
    "usage: detcd-load --endpoints=HOST:PORT[,HOST:PORT...] [--clients=N] [--keys=K] [--duration=D]\n"
    "                  [--timeout=D] [--history=FILE] [--value-bytes=N]\n"
    "  --clients=N      concurrent clients, one request in flight each (default 8)\n"
    "  --keys=K         keys load/k0 .. load/k<K-1> (default 10)\n"
    "  --duration=D     how long to run, e.g. 10s (default 5s)\n"
    "  --timeout=D      per-request deadline (default 2s); a request past it is recorded as unknown\n"
    "  --history=FILE   write the history as JSON lines for detcd-check\n"
    "  --value-bytes=N  pad written values to N bytes (default: just the number)\n";

struct Options {
  std::vector<std::string> endpoints;
  int clients = 8;
  int keys = 10;
  absl::Duration duration = absl::Seconds(5);
  absl::Duration timeout = absl::Seconds(2);
  std::string history;
  int value_bytes = 0;
};

// One recorder for every client thread: events take positions in the order the threads record them, which is a
// real-time order (an event is recorded before the request is sent, or after its answer arrived).
class SharedHistory {
 public:
  int Invoke(int64_t process, detcd::sim::OpFunction f, const std::string& key, detcd::sim::RegisterValue in = {},
             detcd::sim::RegisterValue expected = {}) {
    std::lock_guard<std::mutex> l(mu_);
    return rec_.Invoke(process, f, key, std::move(in), std::move(expected));
  }
  void Ok(int id, detcd::sim::RegisterValue out = {}) {
    std::lock_guard<std::mutex> l(mu_);
    rec_.Ok(id, std::move(out));
  }
  void Fail(int id) {
    std::lock_guard<std::mutex> l(mu_);
    rec_.Fail(id);
  }
  void Info(int id) {
    std::lock_guard<std::mutex> l(mu_);
    rec_.Info(id);
  }
  void Withdraw(int id) {
    std::lock_guard<std::mutex> l(mu_);
    rec_.Withdraw(id);
  }
  detcd::sim::History Get() {
    std::lock_guard<std::mutex> l(mu_);
    return rec_.history();
  }

 private:
  std::mutex mu_;
  detcd::sim::HistoryRecorder rec_;
};

struct Stats {
  std::mutex mu;
  std::vector<double> latencies_ms;  // of successful requests
  uint64_t ok = 0, failed = 0, unknown = 0, refused = 0;
};

// Refused before it could take effect: etcd's "no leader" (nothing was proposed) or no connection at all.
bool NeverHappened(const grpc::Status& s) {
  return (s.error_code() == grpc::StatusCode::UNAVAILABLE &&
          (s.error_message() == "etcdserver: no leader" || absl::StrContains(s.error_message(), "failed to connect") ||
           absl::StrContains(s.error_message(), "Connection refused")));
}

detcd::sim::RegisterValue Decode(const std::string& v) {
  int64_t n = 0;
  const std::string digits = v.substr(0, v.find('.'));
  if (absl::SimpleAtoi(digits, &n)) return detcd::sim::RegisterValue::Int(n);
  return detcd::sim::RegisterValue::String(v);
}

void RunClient(int index, const Options& opt, std::atomic<int64_t>* next_value, std::atomic<int64_t>* next_process,
               SharedHistory* history, Stats* stats, std::chrono::steady_clock::time_point end) {
  using detcd::sim::OpFunction;
  using detcd::sim::RegisterValue;
  std::mt19937_64 rng(static_cast<uint64_t>(index) * 7919 + 17);  // which op and key: no need to replay
  int64_t process = (*next_process)++;
  size_t endpoint = static_cast<size_t>(index) % opt.endpoints.size();
  auto stub = etcdserverpb::KV::NewStub(grpc::CreateChannel(opt.endpoints[endpoint], grpc::InsecureChannelCredentials()));
  auto pad = [&](int64_t v) {
    std::string s = absl::StrCat(v);
    if (opt.value_bytes > static_cast<int>(s.size()) + 1) s += "." + std::string(opt.value_bytes - s.size() - 1, 'x');
    return s;
  };
  while (std::chrono::steady_clock::now() < end) {
    const std::string key = absl::StrCat("load/k", rng() % static_cast<uint64_t>(opt.keys));
    const int roll = static_cast<int>(rng() % 100);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(opt.timeout));
    const auto start = std::chrono::steady_clock::now();
    grpc::Status s;
    int op = -1;
    bool is_read = false, ok = false, compare_held = true;
    RegisterValue read_value;
    if (roll < 40) {
      is_read = true;
      etcdserverpb::RangeRequest req;
      req.set_key(key);
      etcdserverpb::RangeResponse resp;
      op = history->Invoke(process, OpFunction::kRead, key);
      s = stub->Range(&ctx, req, &resp);
      ok = s.ok();
      if (ok && resp.kvs_size() > 0) read_value = Decode(resp.kvs(0).value());
    } else if (roll < 75) {
      const int64_t v = (*next_value)++;
      etcdserverpb::PutRequest req;
      req.set_key(key);
      req.set_value(pad(v));
      etcdserverpb::PutResponse resp;
      op = history->Invoke(process, OpFunction::kWrite, key, RegisterValue::Int(v));
      s = stub->Put(&ctx, req, &resp);
      ok = s.ok();
    } else {
      const int64_t v = (*next_value)++;
      const int64_t seen = next_value->load();
      RegisterValue expected;
      if (rng() % 10 != 0 && seen > 2) {
        expected = RegisterValue::Int(std::max<int64_t>(1, seen - 1 - static_cast<int64_t>(rng() % 8)));
      }
      etcdserverpb::TxnRequest req;
      etcdserverpb::Compare* c = req.add_compare();
      c->set_key(key);
      c->set_result(etcdserverpb::Compare::EQUAL);
      if (expected.absent()) {
        c->set_target(etcdserverpb::Compare::CREATE);
        c->set_create_revision(0);
      } else {
        // Values may be padded: compare the whole stored value, which is what this client would have written.
        c->set_target(etcdserverpb::Compare::VALUE);
        c->set_value(pad(expected.int_value()));
      }
      etcdserverpb::PutRequest* put = req.add_success()->mutable_request_put();
      put->set_key(key);
      put->set_value(pad(v));
      etcdserverpb::TxnResponse resp;
      op = history->Invoke(process, OpFunction::kCas, key, RegisterValue::Int(v), expected);
      s = stub->Txn(&ctx, req, &resp);
      ok = s.ok();
      compare_held = ok && resp.succeeded();
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    std::lock_guard<std::mutex> l(stats->mu);
    if (ok) {
      ++stats->ok;
      stats->latencies_ms.push_back(ms);
      if (is_read) {
        history->Ok(op, read_value);
      } else if (compare_held) {
        history->Ok(op);
      } else {
        history->Fail(op);  // the compare did not hold
      }
    } else if (is_read) {
      ++stats->failed;
      history->Fail(op);  // a failed read changed nothing
    } else if (NeverHappened(s)) {
      ++stats->refused;
      history->Withdraw(op);
    } else {
      ++stats->unknown;
      history->Info(op);
      process = (*next_process)++;  // the old request may still take effect
    }
    if (!ok) {
      // Try the next endpoint, as clientv3's balancer would, after a short pause.
      endpoint = (endpoint + 1) % opt.endpoints.size();
      stub = etcdserverpb::KV::NewStub(
          grpc::CreateChannel(opt.endpoints[endpoint], grpc::InsecureChannelCredentials()));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&](const char* name, std::string* out) {
      const std::string prefix = std::string(name) + "=";
      if (!absl::StartsWith(arg, prefix)) return false;
      *out = arg.substr(prefix.size());
      return true;
    };
    std::string v;
    auto bad = [&](const std::string& why) {
      std::fprintf(stderr, "detcd-load: %s\n%s", why.c_str(), kUsage);
      return kExitBadArgs;
    };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    } else if (value("--endpoints", &v)) {
      for (absl::string_view e : absl::StrSplit(v, ',', absl::SkipEmpty())) {
        std::string ep(e);
        if (absl::StartsWith(ep, "http://")) ep = ep.substr(7);
        opt.endpoints.push_back(ep);
      }
    } else if (value("--clients", &v)) {
      if (!absl::SimpleAtoi(v, &opt.clients) || opt.clients < 1 || opt.clients > 10000) return bad("invalid --clients");
    } else if (value("--keys", &v)) {
      if (!absl::SimpleAtoi(v, &opt.keys) || opt.keys < 1) return bad("invalid --keys");
    } else if (value("--value-bytes", &v)) {
      if (!absl::SimpleAtoi(v, &opt.value_bytes) || opt.value_bytes < 0 || opt.value_bytes > (1 << 20)) {
        return bad("invalid --value-bytes");
      }
    } else if (value("--duration", &v)) {
      if (!absl::ParseDuration(v, &opt.duration) || opt.duration <= absl::ZeroDuration()) return bad("invalid --duration");
    } else if (value("--timeout", &v)) {
      if (!absl::ParseDuration(v, &opt.timeout) || opt.timeout <= absl::ZeroDuration()) return bad("invalid --timeout");
    } else if (value("--history", &v)) {
      opt.history = v;
    } else {
      return bad("unknown argument '" + arg + "'");
    }
  }
  if (opt.endpoints.empty()) {
    std::fprintf(stderr, "detcd-load: --endpoints is required\n%s", kUsage);
    return kExitBadArgs;
  }

  SharedHistory history;
  Stats stats;
  std::atomic<int64_t> next_value{1}, next_process{0};
  const auto start = std::chrono::steady_clock::now();
  const auto end = start + absl::ToChronoMilliseconds(opt.duration);
  std::vector<std::thread> threads;
  for (int i = 0; i < opt.clients; ++i) {
    threads.emplace_back(RunClient, i, std::cref(opt), &next_value, &next_process, &history, &stats, end);
  }
  for (std::thread& t : threads) t.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::sort(stats.latencies_ms.begin(), stats.latencies_ms.end());
  auto pct = [&](double p) {
    if (stats.latencies_ms.empty()) return 0.0;
    return stats.latencies_ms[std::min(stats.latencies_ms.size() - 1,
                                       static_cast<size_t>(p * static_cast<double>(stats.latencies_ms.size())))];
  };
  std::printf("requests: %llu ok, %llu failed reads, %llu unknown, %llu refused in %.2f s\n",
              static_cast<unsigned long long>(stats.ok), static_cast<unsigned long long>(stats.failed),
              static_cast<unsigned long long>(stats.unknown), static_cast<unsigned long long>(stats.refused), secs);
  std::printf("throughput: %.0f ok requests/s; latency ms p50 %.2f p90 %.2f p99 %.2f max %.2f\n",
              static_cast<double>(stats.ok) / secs, pct(0.5), pct(0.9), pct(0.99), pct(1.0));
  if (!opt.history.empty()) {
    const detcd::sim::History h = history.Get();
    std::ofstream out(opt.history, std::ios::binary | std::ios::trunc);
    out << detcd::sim::FormatHistory(h);
    out.close();
    if (!out) {
      std::fprintf(stderr, "detcd-load: cannot write history file '%s'\n", opt.history.c_str());
      return 1;
    }
    std::printf("history: %zu operations written to %s\n", h.operations.size(), opt.history.c_str());
  }
  return 0;
}
