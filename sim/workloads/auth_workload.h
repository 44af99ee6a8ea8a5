// AuthWorkload: etcd clients of a KvCluster with auth on, as etcd 3.4's clients and an administrator use it.
// First an administrator sets auth up, each request retried until it took effect: the root user with the root role,
// a few roles with permissions over the workload's keys (one key, a range of keys, the keys' prefix, every key from
// one on; READ, WRITE or READWRITE), a few users with roles, then auth enable. Then, at random (seeded) times, the
// administrator, logged in as root, grants and revokes permissions, grants and revokes roles, and now and then sets a
// user's password again (which drops that user's tokens). Clients, each logged in as one of the users, read (both
// linearizable and serializable, one key or a range), put, delete and run txns on the keys — many of which their
// permissions forbid — each with its simple token. Logging in is what etcd's driver does for Authenticate: look the
// user up (hash and auth revision), check the password against the hash (here a deterministic "sim:" + password, never
// bcrypt), propose the authentication at that revision with a token prefix from the seeded Prng; "revision of auth
// store is old" means check again. A client logs in again when its token is refused as invalid (a restarted member
// forgot it, a password was set; but not when the token is newer than the member's apply may be) and every so often by itself (token rotation). Requests go round robin over the
// members; one request per actor at a time; no answer within the request timeout leaves the outcome unknown. Every KV
// operation is recorded (AuthOp) for the AuthChecker, with the member's auth revision at the instant it admitted the
// request (seen through KvCluster::Submit, as only the simulator can).
// Every choice comes from the simulation's Prng; it touches members only through requests.
#ifndef DETCD_SIM_WORKLOADS_AUTH_WORKLOAD_H_
#define DETCD_SIM_WORKLOADS_AUTH_WORKLOAD_H_

#include <cstdint>
#include <functional>
#include <set>
#include <tuple>
#include <string>
#include <utility>
#include <vector>

#include "api/kv_request.pb.h"
#include "base/prng.h"
#include "sim/checkers/auth_checker.h"
#include "sim/world/event_loop.h"
#include "sim/world/kv_cluster.h"
#include "sim/world/trace.h"

namespace detcd::sim {

struct AuthWorkloadOptions {
  int clients = 3;  // client i logs in as user i % users
  int users = 3;
  int roles = 3;
  int keys = 6;  // "auth/k00".."auth/kNN"; at most 99
  double ops_per_sec = 40;
  int64_t change_every_us = 300'000;    // mean pause between two of the administrator's changes
  int64_t relogin_every_us = 2'000'000; // a client drops its token and logs in again about this often (0: never)
  int64_t request_timeout_us = 2'000'000;
  int64_t client_latency_min_us = 50;   // client <-> member, one way
  int64_t client_latency_max_us = 500;
};

struct AuthWorkloadStats {
  uint64_t requests = 0;
  uint64_t ok = 0;
  uint64_t denied = 0;
  uint64_t old_revision = 0;
  uint64_t invalid_token = 0;
  uint64_t unknown = 0;  // timeouts
  uint64_t logins = 0;   // tokens obtained
  uint64_t changes = 0;  // the administrator's changes acknowledged
};

class AuthWorkload {
 public:
  AuthWorkload(const AuthWorkloadOptions& options, KvCluster* cluster, EventLoop* loop, Prng* prng, Trace* trace);

  // Sets auth up now, then starts the administrator and the clients; nothing new starts after stop_us but the set-up,
  // which goes on until done.
  void Start(int64_t stop_us);
  // Requests waiting for an answer or a timeout, and a set-up not finished: the liveness phase waits for both.
  size_t in_flight() const { return in_flight_; }
  bool set_up() const { return set_up_; }
  const std::vector<AuthOp>& ops() const { return ops_; }
  const AuthWorkloadStats& stats() const { return stats_; }

 private:
  struct Actor {
    int index = 0;         // clients 0..n-1; the administrator is n
    std::string user;
    uint64_t member = 0;   // the host last sent to
    uint64_t attempt = 0;  // bumped per request: a late reply or timeout of an earlier one is ignored
    std::string token;     // empty: must log in
    int64_t login_us = 0;  // when it got the token
    int64_t relogin_at_us = 0;
  };
  using ReplyFn = std::function<void(const kv::ClientReply&)>;

  Actor& admin() { return actors_.back(); }
  static std::string Key(int i);
  static std::string Password(const std::string& user) { return "pw-" + user; }
  // The driver's stand-in for bcrypt: deterministic, and not the password itself.
  static std::string Hash(const std::string& password) { return "sim:" + password; }
  // Sends req for the actor to `host` (0: the next member in turn); done gets the reply, or a timeout's
  // "request timed out" (its outcome unknown). admitted sees the member take it.
  void Send(Actor& a, uint64_t host, kvpb::ClientRequest req, ReplyFn done,
            KvCluster::AdmitFn admitted = nullptr);
  void After(int64_t delay_us, std::function<void()> fn);
  int64_t Think(double per_sec_mean);
  int64_t Latency();

  // Sends the set-up's request `step`, retried until done; after the last, the run starts.
  void SetUpStep(size_t step);
  std::vector<kvpb::ClientRequest> SetUpRequests();
  // Logs the actor in (lookup, password check, authenticate), then runs `then`; retries until it has a token.
  void Login(int actor, std::function<void()> then);
  void ScheduleClient(int c);
  void ClientStep(int c);
  kvpb::ClientRequest RandomOp();
  void ScheduleChange();
  void Change();
  kvpb::ClientRequest RandomChange();
  authpb::Permission RandomPermission();

  AuthWorkloadOptions options_;
  KvCluster* cluster_;
  EventLoop* loop_;
  Prng* prng_;
  Trace* trace_;
  std::vector<uint64_t> endpoints_;
  std::vector<Actor> actors_;
  std::vector<std::string> roles_;
  std::vector<std::string> users_;
  // What the administrator believes it granted (role, key, range_end) and (user, role): what it may revoke.
  std::set<std::tuple<std::string, std::string, std::string>> granted_;
  std::set<std::pair<std::string, std::string>> user_roles_;
  std::vector<kvpb::ClientRequest> setup_;
  std::vector<AuthOp> ops_;
  int64_t stop_us_ = 0;
  int64_t next_value_ = 1;
  size_t in_flight_ = 0;
  bool set_up_ = false;
  AuthWorkloadStats stats_;
};

}  // namespace detcd::sim

#endif  // DETCD_SIM_WORKLOADS_AUTH_WORKLOAD_H_
