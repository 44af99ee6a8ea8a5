// LoadOptions: what one detcd-load run does — the workload, how many clients over how many connections, how long,
// and the shape of keys and values. Filled by cmd/detcd-load's flag parsing; read (never changed) by the workloads.
#ifndef DETCD_LOAD_LOAD_OPTIONS_H_
#define DETCD_LOAD_LOAD_OPTIONS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace detcd::load {

enum class Workload {
  kRegister,           // get/put/cas on a few keys, thread per client, optional history for detcd-check
  kPut,                // Put of one key
  kRange,              // linearizable Range of one key
  kRangeSerializable,  // serializable Range of one key
  kTxnPut,             // Txn with no compare and one put in success (etcd's `benchmark txn-put`)
  kWatch,              // writers put; watchers on the whole key space receive the events
  kLeaseKeepalive,     // one lease per client, keep-alive round trips on keep-alive streams
};

// The workload's flag spelling ("put", "range-serializable", ...).
absl::string_view WorkloadName(Workload w);
std::optional<Workload> ParseWorkload(absl::string_view name);

struct LoadOptions {
  std::vector<std::string> endpoints;  // HOST:PORT
  Workload workload = Workload::kRegister;
  int clients = 8;  // each with one request in flight
  int conns = 1;    // HTTP/2 connections the clients share, round-robin
  int threads = 1;  // threads driving the completion queues
  int64_t total = 0;                             // requests to send; 0: until duration
  absl::Duration duration = absl::Seconds(5);    // used when total == 0, or as an upper bound when set explicitly
  bool duration_set = false;
  absl::Duration timeout = absl::Seconds(2);     // per request
  int key_size = 8;
  int val_size = 256;
  int64_t key_space = 1000;
  bool sequential_keys = false;
  int watchers = 16;
  bool skip_fill = false;  // range workloads: the key space was filled already (by a put run with --sequential-keys)
  // Unary workloads with auth on: --user's name and password; the token Authenticate gave for them (every request
  // carries it, as clientv3's do).
  std::string user;
  std::string password;
  std::string token;
  // Register workload only.
  int register_keys = 10;
  int register_value_bytes = 0;
  std::string history;
};

}  // namespace detcd::load

#endif  // DETCD_LOAD_LOAD_OPTIONS_H_
