#include "load/register_load.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "history/history.h"
#include "load/tally.h"

namespace detcd::load {
namespace {

// One recorder for every client thread: events take positions in the order the threads record them, which is a
// real-time order (an event is recorded before the request is sent, or after its answer arrived).
class SharedHistory {
 public:
  int Invoke(int64_t process, detcd::history::OpFunction f, const std::string& key,
             detcd::history::RegisterValue in = {}, detcd::history::RegisterValue expected = {}) {
    std::lock_guard<std::mutex> l(mu_);
    return rec_.Invoke(process, f, key, std::move(in), std::move(expected));
  }
  void Ok(int id, detcd::history::RegisterValue out = {}) {
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
  detcd::history::History Get() {
    std::lock_guard<std::mutex> l(mu_);
    return rec_.history();
  }

 private:
  std::mutex mu_;
  detcd::history::HistoryRecorder rec_;
};

struct Stats {
  std::mutex mu;
  std::vector<double> latencies_ms;  // of successful requests
  uint64_t ok = 0, failed = 0, unknown = 0, refused = 0;
  std::map<std::string, uint64_t> messages;  // each failure's gRPC code and message, counted
};

// Refused before it could take effect: etcd's "no leader" (nothing was proposed) or no connection at all.
bool NeverHappened(const grpc::Status& s) {
  return (s.error_code() == grpc::StatusCode::UNAVAILABLE &&
          (s.error_message() == "etcdserver: no leader" || absl::StrContains(s.error_message(), "failed to connect") ||
           absl::StrContains(s.error_message(), "Connection refused")));
}

detcd::history::RegisterValue Decode(const std::string& v) {
  int64_t n = 0;
  const std::string digits = v.substr(0, v.find('.'));
  if (absl::SimpleAtoi(digits, &n)) return detcd::history::RegisterValue::Int(n);
  return detcd::history::RegisterValue::String(v);
}

void RunClient(int index, const LoadOptions& opt, std::atomic<int64_t>* next_value, std::atomic<int64_t>* next_process,
               SharedHistory* history, Stats* stats, std::chrono::steady_clock::time_point end) {
  using detcd::history::OpFunction;
  using detcd::history::RegisterValue;
  std::mt19937_64 rng(static_cast<uint64_t>(index) * 7919 + 17);  // which op and key: no need to replay
  int64_t process = (*next_process)++;
  size_t endpoint = static_cast<size_t>(index) % opt.endpoints.size();
  auto stub = etcdserverpb::KV::NewStub(grpc::CreateChannel(opt.endpoints[endpoint], grpc::InsecureChannelCredentials()));
  auto pad = [&](int64_t v) {
    std::string s = absl::StrCat(v);
    if (opt.register_value_bytes > static_cast<int>(s.size()) + 1) s += "." + std::string(opt.register_value_bytes - s.size() - 1, 'x');
    return s;
  };
  while (std::chrono::steady_clock::now() < end) {
    const std::string key = absl::StrCat("load/k", rng() % static_cast<uint64_t>(opt.register_keys));
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
    if (!ok) stats->messages[absl::StrCat("code ", static_cast<int>(s.error_code()), ": ", s.error_message())]++;
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

int RunRegister(const LoadOptions& opt) {
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
  // The same numbers as the benchmark workloads' machine-readable line; every non-ok request counts as failed.
  Tally tally;
  for (double ms : stats.latencies_ms) tally.Ok(ms);
  if (stats.failed > 0) tally.Fail("read failed", stats.failed);
  if (stats.unknown > 0) tally.Fail("outcome unknown (timed out or failed after sending)", stats.unknown);
  if (stats.refused > 0) tally.Fail("refused (no leader or no connection)", stats.refused);
  std::printf("%s\n", tally.ResultLine("register", absl::StrCat("clients=", opt.clients, " conns=", opt.clients), secs)
                          .c_str());
  for (const std::string& line : tally.ErrorLines(5)) std::printf("%s\n", line.c_str());
  for (const auto& [message, n] : stats.messages) std::printf("failure: %llu x %s\n", static_cast<unsigned long long>(n), message.c_str());
  if (!opt.history.empty()) {
    const detcd::history::History h = history.Get();
    std::ofstream out(opt.history, std::ios::binary | std::ios::trunc);
    out << detcd::history::FormatHistory(h);
    out.close();
    if (!out) {
      std::fprintf(stderr, "detcd-load: cannot write history file '%s'\n", opt.history.c_str());
      return 1;
    }
    std::printf("history: %zu operations written to %s\n", h.operations.size(), opt.history.c_str());
  }
  return 0;
}

}  // namespace detcd::load
