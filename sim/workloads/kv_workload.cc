#include "sim/workloads/kv_workload.h"

#include <algorithm>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace detcd::sim {

namespace {

// A member's refusal that proves the request never took effect: refused connections, and proposals Raft dropped
// before appending them anywhere ("etcdserver: no leader").
bool NeverHappened(const absl::Status& s) {
  return s.message() == "connection refused" || s.message() == "etcdserver: no leader";
}

const etcdserverpb::ResponseHeader* HeaderOf(const kvpb::ClientResponse& r) {
  switch (r.response_case()) {
    case kvpb::ClientResponse::kRange:
      return &r.range().header();
    case kvpb::ClientResponse::kPut:
      return &r.put().header();
    case kvpb::ClientResponse::kDeleteRange:
      return &r.delete_range().header();
    case kvpb::ClientResponse::kTxn:
      return &r.txn().header();
    case kvpb::ClientResponse::kCompaction:
      return &r.compaction().header();
    default:
      return nullptr;
  }
}

// The register's value as stored: a decimal integer; anything else is a value no client wrote.
history::RegisterValue Decode(const std::string& bytes) {
  int64_t v = 0;
  if (absl::SimpleAtoi(bytes, &v)) return history::RegisterValue::Int(v);
  return history::RegisterValue::String(bytes);
}

const std::string kAllKeys(1, '\0');

}  // namespace

KvWorkload::KvWorkload(const KvWorkloadOptions& options, KvCluster* cluster, EventLoop* loop, Prng* prng, Trace* trace,
                       WatchChecker* watch_checker)
    : options_(options), cluster_(cluster), loop_(loop), prng_(prng), trace_(trace), watch_checker_(watch_checker) {
  recorder_.set_clock([loop] { return loop->Now(); });
  for (uint64_t host = 1; host <= static_cast<uint64_t>(cluster_->size()); ++host) {
    if (cluster_->member(host) != 0) endpoints_.push_back(host);
  }
  const int extra = options_.writes_only ? 0 : options_.leases ? 2 : 1;
  for (int i = 0; i < options_.clients + extra; ++i) {
    Client c;
    c.index = i;
    c.churn = i == options_.clients;
    c.leases = i == options_.clients + 1;
    c.process = next_process_++;
    clients_.push_back(c);
  }
  for (int i = 0; i < options_.watchers; ++i) {
    Watcher w;
    w.index = i;
    w.slow = i < options_.slow_watchers;
    watchers_.push_back(w);
  }
}

int64_t KvWorkload::ClientLatency() {
  return static_cast<int64_t>(prng_->Range(static_cast<uint64_t>(options_.client_latency_min_us),
                                           static_cast<uint64_t>(options_.client_latency_max_us)));
}

std::string KvWorkload::Encode(int64_t value) const {
  std::string digits = absl::StrCat(value);
  if (static_cast<int>(digits.size()) < options_.value_bytes)
    digits.insert(0, options_.value_bytes - digits.size(), '0');
  return digits;
}

void KvWorkload::SetEndpoints(std::vector<uint64_t> hosts) {
  DETCD_CHECK_MSG(!hosts.empty(), "clients need at least one endpoint");
  std::sort(hosts.begin(), hosts.end());
  hosts.erase(std::unique(hosts.begin(), hosts.end()), hosts.end());
  endpoints_ = std::move(hosts);
  std::string list;
  for (uint64_t h : endpoints_) absl::StrAppend(&list, list.empty() ? "" : " ", h);
  trace_->Record(loop_->Now(), absl::StrCat("clients' endpoints: hosts ", list));
}

uint64_t KvWorkload::PickMember(uint64_t not_this) {
  const uint64_t n = endpoints_.size();
  DETCD_CHECK(n >= 1);
  if (n == 1) return endpoints_[0];
  // Positions 1..n; the draw skips not_this's position when it is an endpoint.
  const auto it = std::find(endpoints_.begin(), endpoints_.end(), not_this);
  const uint64_t skip = it == endpoints_.end() ? 0 : static_cast<uint64_t>(it - endpoints_.begin()) + 1;
  uint64_t m = prng_->Range(1, n - 1);
  if (m >= skip && skip != 0) ++m;
  return endpoints_[m - 1];
}

uint64_t KvWorkload::NextEndpoint(uint64_t host) const {
  DETCD_CHECK(!endpoints_.empty());
  const auto it = std::upper_bound(endpoints_.begin(), endpoints_.end(), host);
  return it == endpoints_.end() ? endpoints_[0] : *it;
}

void KvWorkload::Start(int64_t stop_us) {
  stop_us_ = stop_us;
  for (Client& c : clients_) {
    c.member = PickMember(0);
    ScheduleNext(c.index);
  }
  for (Watcher& w : watchers_) {
    Connect(w.index);
    if (w.slow) {
      const int idx = w.index;
      loop_->ScheduleAfter(static_cast<int64_t>(prng_->Range(300'000, 1'500'000)), [this, idx] { ToggleSlow(idx); });
    }
  }
  if (options_.compact_every_us > 0) loop_->ScheduleAfter(options_.compact_every_us, [this] { Compact(); });
  if (options_.rewatch_every_us > 0) {
    for (Watcher& w : watchers_) {
      const int idx = w.index;
      loop_->ScheduleAfter(static_cast<int64_t>(prng_->Range(1, 2 * static_cast<uint64_t>(options_.rewatch_every_us))),
                           [this, idx] { Rewatch(idx); });
    }
  }
}

void KvWorkload::ScheduleNext(int c) {
  // Each client thinks for an exponential-ish time: the mean spreads ops_per_sec over the clients.
  const double per_client = options_.ops_per_sec / static_cast<double>(clients_.size());
  const int64_t mean_us = per_client > 0 ? static_cast<int64_t>(1e6 / per_client) : 1'000'000;
  const int64_t delay = static_cast<int64_t>(prng_->Range(1, static_cast<uint64_t>(2 * mean_us)));
  if (loop_->Now() + delay >= stop_us_) return;
  loop_->ScheduleAfter(delay, [this, c] { Issue(c); });
}

void KvWorkload::NewProcess(Client& cl) {
  // The old request may still take effect: a new process, so that histories keep one operation per process.
  cl.process = next_process_++;
}

void KvWorkload::Send(int c, const kvpb::ClientRequest& req, std::function<void(const kv::ClientReply&)> done,
                      std::function<void()> unknown) {
  Client& cl = clients_[static_cast<size_t>(c)];
  const uint64_t attempt = ++cl.attempt;
  // Round robin over the members, one request each.
  cl.member = NextEndpoint(cl.member);
  const uint64_t member = cl.member;
  ++stats_.requests;
  ++in_flight_;
  auto finish = [this, c, attempt](std::function<void()> fn) {
    Client& me = clients_[static_cast<size_t>(c)];
    if (me.attempt != attempt) return;  // answered or given up already
    ++me.attempt;
    --in_flight_;
    fn();
    ScheduleNext(c);
  };
  const int64_t process = cl.process;
  loop_->ScheduleAfter(ClientLatency(), [this, member, req, done, unknown, finish, c, process] {
    // The trace hashes the request's bytes; its text (costly: a tenth of a run) only if a line is shown.
    const std::string to = absl::StrCat("client ", c, " process ", process, " -> node ", member, ": ");
    trace_->RecordLazy(loop_->Now(), absl::StrCat(to, req.SerializeAsString()),
                       [&] { return absl::StrCat(to, req.ShortDebugString()); });
    const bool sent =
        cluster_->Submit(member, req, [this, done, finish, c, process, member](const kv::ClientReply& reply) {
          const std::string from = absl::StrCat("client ", c, " process ", process, " <- node ", member, ": ");
          trace_->RecordLazy(
              loop_->Now(),
              absl::StrCat(from, reply.status.ok() ? "ok " : "error ",
                           reply.status.ok() ? reply.response.SerializeAsString() : reply.status.message()),
              [&] {
                return absl::StrCat(from, reply.status.ok() ? reply.response.ShortDebugString()
                                                            : std::string(reply.status.message()));
              });
          loop_->ScheduleAfter(ClientLatency(), [done, finish, reply] { finish([&] { done(reply); }); });
        });
    if (!sent) {
      // Connection refused: the member is down. The request never left the client.
      kv::ClientReply refused;
      refused.status = absl::UnavailableError("connection refused");
      finish([&] { done(refused); });
    }
  });
  loop_->ScheduleAfter(options_.request_timeout_us, [this, c, finish, unknown] {
    finish([&] {
      NewProcess(clients_[static_cast<size_t>(c)]);
      unknown();
    });
  });
}

void KvWorkload::Issue(int c) {
  Client& cl = clients_[static_cast<size_t>(c)];
  kvpb::ClientRequest req;
  if (cl.leases) return IssueLease(c);
  if (cl.churn) {
    // Puts and deletes on keys nobody checks as registers: watchers see both kinds of event.
    const std::string key = absl::StrCat("c/", prng_->Range(0, 3));
    if (churn_compact_at_ > 0) {
      req.mutable_compaction()->set_revision(std::exchange(churn_compact_at_, 0));
      ++stats_.compactions;
    } else if (prng_->Range(0, 1) == 0) {
      req.mutable_put()->set_key(key);
      req.mutable_put()->set_value(absl::StrCat("v", next_value_++));
    } else {
      req.mutable_delete_range()->set_key(key);
    }
    Send(
        c, req,
        [this](const kv::ClientReply& r) {
          if (r.status.ok()) {
            ++stats_.ok;
            if (const auto* h = HeaderOf(r.response)) newest_rev_ = std::max(newest_rev_, h->revision());
            if (options_.compact_behind == 0 && r.response.has_delete_range() &&
                r.response.delete_range().deleted() > 0) {
              churn_compact_at_ = r.response.delete_range().header().revision();
            }
          } else {
            ++stats_.unknown;
          }
        },
        [this] { ++stats_.unknown; });
    return;
  }

  const std::string key = absl::StrCat("k", prng_->Range(0, static_cast<uint64_t>(options_.keys - 1)));
  const uint64_t roll = options_.writes_only ? 50 : prng_->Range(0, 99);  // 40..74: a put
  const int64_t process = cl.process;
  if (roll < 40) {
    req.mutable_range()->set_key(key);
    const int op = recorder_.Invoke(process, history::OpFunction::kRead, key);
    Send(
        c, req,
        [this, op](const kv::ClientReply& r) {
          if (!r.status.ok()) {
            ++stats_.failed;
            recorder_.Fail(op);  // a read that failed changed nothing
            return;
          }
          ++stats_.ok;
          newest_rev_ = std::max(newest_rev_, r.response.range().header().revision());
          const auto& kvs = r.response.range().kvs();
          recorder_.Ok(op, kvs.empty() ? history::RegisterValue::Absent() : Decode(kvs[0].value()));
        },
        [this, op] {
          ++stats_.unknown;
          recorder_.Info(op);
        });
    return;
  }
  const int64_t value = next_value_++;
  if (roll < 75) {
    req.mutable_put()->set_key(key);
    req.mutable_put()->set_value(Encode(value));
    const int op = recorder_.Invoke(process, history::OpFunction::kWrite, key, history::RegisterValue::Int(value));
    Send(
        c, req,
        [this, op, key, value](const kv::ClientReply& r) {
          if (r.status.ok()) {
            ++stats_.ok;
            const int64_t rev = r.response.put().header().revision();
            newest_rev_ = std::max(newest_rev_, rev);
            acked_puts_.push_back(AckedPut{key, Encode(value), rev});
            recorder_.Ok(op);
          } else if (NeverHappened(r.status)) {
            ++stats_.failed;
            recorder_.Withdraw(op);
          } else {
            ++stats_.unknown;
            recorder_.Info(op);  // a member's error may come after the proposal was appended somewhere
          }
        },
        [this, op] {
          ++stats_.unknown;
          recorder_.Info(op);
        });
    return;
  }
  // Compare-and-swap: expect absent now and then, otherwise a value some client wrote lately.
  history::RegisterValue expected;
  if (prng_->Range(0, 9) > 0 && next_value_ > 2) {
    const int64_t lo = std::max<int64_t>(1, next_value_ - 1 - 3 * static_cast<int64_t>(clients_.size()));
    expected = history::RegisterValue::Int(
        static_cast<int64_t>(prng_->Range(static_cast<uint64_t>(lo), static_cast<uint64_t>(next_value_ - 2))));
  }
  etcdserverpb::TxnRequest* txn = req.mutable_txn();
  etcdserverpb::Compare* cmp = txn->add_compare();
  cmp->set_key(key);
  cmp->set_result(etcdserverpb::Compare::EQUAL);
  if (expected.absent()) {
    cmp->set_target(etcdserverpb::Compare::CREATE);
    cmp->set_create_revision(0);
  } else {
    cmp->set_target(etcdserverpb::Compare::VALUE);
    cmp->set_value(Encode(expected.int_value()));
  }
  etcdserverpb::PutRequest* put = txn->add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(Encode(value));
  const int op =
      recorder_.Invoke(process, history::OpFunction::kCas, key, history::RegisterValue::Int(value), expected);
  Send(
      c, req,
      [this, op](const kv::ClientReply& r) {
        if (NeverHappened(r.status)) {
          ++stats_.failed;
          recorder_.Withdraw(op);  // "fail" would claim the compare was evaluated and did not hold
          return;
        }
        if (!r.status.ok()) {
          ++stats_.unknown;
          recorder_.Info(op);
          return;
        }
        newest_rev_ = std::max(newest_rev_, r.response.txn().header().revision());
        if (r.response.txn().succeeded()) {
          ++stats_.ok;
          recorder_.Ok(op);
        } else {
          ++stats_.failed;
          recorder_.Fail(op);
        }
      },
      [this, op] {
        ++stats_.unknown;
        recorder_.Info(op);
      });
}

void KvWorkload::IssueLease(int c) {
  kvpb::ClientRequest req;
  auto no_reply = [this] { ++stats_.unknown; };
  if (lease_ == 0) {
    req.mutable_lease_grant()->set_ttl(options_.lease_ttl_s);
    Send(
        c, req,
        [this](const kv::ClientReply& r) {
          if (!r.status.ok()) return;
          ++stats_.ok;
          ++stats_.leases_granted;
          lease_ = r.response.lease_grant().id();
        },
        no_reply);
    return;
  }
  const int64_t lease = lease_;
  // A lease not found means it expired (or its revocation went through unseen): start over with a new one.
  auto gone = [this, lease](const absl::Status& s) {
    if (s.message() == "etcdserver: requested lease not found" && lease_ == lease) lease_ = 0;
  };
  const uint64_t roll = prng_->Range(0, 99);
  if (roll < 45) {
    etcdserverpb::PutRequest* put = req.mutable_put();
    put->set_key(absl::StrCat("l/", prng_->Range(0, 3)));
    put->set_value(absl::StrCat("v", next_value_++));
    put->set_lease(lease);
    Send(
        c, req, [this, gone](const kv::ClientReply& r) { r.status.ok() ? void(++stats_.ok) : gone(r.status); },
        no_reply);
  } else if (roll < 80) {
    req.mutable_lease_keep_alive()->set_id(lease);
    Send(
        c, req,
        [this, lease](const kv::ClientReply& r) {
          if (!r.status.ok()) return;  // not the leader: the next member in turn
          ++stats_.ok;
          if (r.response.lease_keep_alive().ttl() <= 0 && lease_ == lease) lease_ = 0;  // expired
        },
        no_reply);
  } else if (roll < 92) {
    req.mutable_lease_revoke()->set_id(lease);
    Send(
        c, req,
        [this, lease, gone](const kv::ClientReply& r) {
          if (!r.status.ok()) return gone(r.status);
          ++stats_.ok;
          ++stats_.leases_revoked;
          revoked_leases_.insert(lease);
          if (lease_ == lease) lease_ = 0;
        },
        no_reply);
  } else {
    lease_ = 0;  // abandoned: it must expire by itself
    ScheduleNext(c);
  }
}

void KvWorkload::Connect(int w) {
  Watcher& wa = watchers_[static_cast<size_t>(w)];
  wa.member = PickMember(wa.member);
  if (wa.member == options_.watchers_avoid) {
    for (uint64_t e : endpoints_) {
      if (e != options_.watchers_avoid) {
        wa.member = e;
        break;
      }
    }
  }
  const uint64_t generation = ++wa.generation;
  wa.stream = cluster_->OpenWatch(
      wa.member,
      [this, w, generation](const etcdserverpb::WatchResponse& r) {
        // The response travels to the client over the stream's connection: in order.
        Watcher& me = watchers_[static_cast<size_t>(w)];
        me.arrival_us = std::max(me.arrival_us, loop_->Now() + ClientLatency());
        loop_->Schedule(me.arrival_us, [this, w, generation, r] { OnWatchResponse(w, generation, r); });
      },
      [this, w, generation] {
        Watcher& me = watchers_[static_cast<size_t>(w)];
        if (me.generation != generation) return;
        me.stream = 0;
        ++me.generation;
        ++stats_.watch_reconnects;
        loop_->ScheduleAfter(static_cast<int64_t>(prng_->Range(100'000, 500'000)), [this, w] { Connect(w); });
      });
  if (wa.stream == 0) {
    loop_->ScheduleAfter(static_cast<int64_t>(prng_->Range(100'000, 500'000)), [this, w] { Connect(w); });
    return;
  }
  trace_->Record(loop_->Now(), absl::StrCat("watcher ", w, " -> node ", wa.member, " from revision ", wa.next_rev));
  if (wa.slow && slow_allowed_ && prng_->Range(0, 1) == 0) cluster_->SetWatchReading(wa.stream, false);
  WatchSpec spec;
  spec.key = kAllKeys;
  spec.range_end = kAllKeys;
  spec.start_revision = wa.next_rev;
  spec.prev_kv = w % 2 == 1;
  wa.checker_id = watch_checker_->AddWatcher(spec);
  etcdserverpb::WatchRequest req;
  etcdserverpb::WatchCreateRequest* c = req.mutable_create_request();
  c->set_key(spec.key);
  c->set_range_end(spec.range_end);
  c->set_start_revision(spec.start_revision);
  c->set_prev_kv(spec.prev_kv);
  c->set_progress_notify(true);
  cluster_->WatchRequest(wa.stream, req);
}

void KvWorkload::OnWatchResponse(int w, uint64_t generation, const etcdserverpb::WatchResponse& r) {
  Watcher& wa = watchers_[static_cast<size_t>(w)];
  if (wa.generation != generation) return;  // a stream this watcher has given up
  watch_checker_->OnResponse(wa.checker_id, r);
  stats_.watch_events += static_cast<uint64_t>(r.events_size());
  if (r.canceled()) {
    // Compacted past where this watcher stood (or refused): start again from the oldest revision still there.
    trace_->Record(loop_->Now(), absl::StrCat("watcher ", w, " cancelled, compact revision ", r.compact_revision()));
    cluster_->CloseWatch(wa.stream);
    wa.stream = 0;
    ++wa.generation;
    wa.next_rev = r.compact_revision();
    wa.seen_rev = std::max(wa.seen_rev, r.compact_revision() - 1);
    loop_->ScheduleAfter(ClientLatency(), [this, w] { Connect(w); });
    return;
  }
  if (r.created()) {
    if (wa.next_rev == 0) {
      wa.seen_rev = std::max(wa.seen_rev, r.header().revision());
      wa.next_rev = r.header().revision() + 1;
    }
    return;
  }
  if (r.events_size() > 0) {
    const int64_t last = r.events(r.events_size() - 1).kv().mod_revision();
    // A fragment leaves its revision unfinished: resume from it, not after it.
    wa.next_rev = std::max(wa.next_rev, r.fragment() ? last : last + 1);
    if (!r.fragment()) wa.seen_rev = std::max(wa.seen_rev, last);
  } else {
    // Progress: everything up to the header's revision was sent.
    wa.seen_rev = std::max(wa.seen_rev, r.header().revision());
    wa.next_rev = std::max(wa.next_rev, r.header().revision() + 1);
  }
}

void KvWorkload::ToggleSlow(int w) {
  if (!slow_allowed_) return;
  Watcher& wa = watchers_[static_cast<size_t>(w)];
  if (wa.stream != 0) cluster_->SetWatchReading(wa.stream, prng_->Range(0, 1) == 0);
  loop_->ScheduleAfter(static_cast<int64_t>(prng_->Range(300'000, 1'500'000)), [this, w] { ToggleSlow(w); });
}

void KvWorkload::Rewatch(int w) {
  if (loop_->Now() >= stop_us_) return;
  loop_->ScheduleAfter(static_cast<int64_t>(prng_->Range(1, 2 * static_cast<uint64_t>(options_.rewatch_every_us))),
                       [this, w] { Rewatch(w); });
  Watcher& wa = watchers_[static_cast<size_t>(w)];
  if (wa.stream == 0) return;  // reconnecting already
  cluster_->CloseWatch(wa.stream);
  wa.stream = 0;
  ++wa.generation;
  Connect(w);
}

void KvWorkload::StopBeingSlow() {
  slow_allowed_ = false;
  for (Watcher& wa : watchers_) {
    if (wa.stream != 0) cluster_->SetWatchReading(wa.stream, true);
  }
}

int KvWorkload::WatchersBehind(int64_t revision) const {
  int behind = 0;
  for (const Watcher& wa : watchers_) {
    if (wa.stream == 0 || wa.seen_rev < revision) ++behind;
  }
  return behind;
}

void KvWorkload::Compact() {
  if (loop_->Now() >= stop_us_) return;
  loop_->ScheduleAfter(options_.compact_every_us, [this] { Compact(); });
  const int64_t rev = newest_rev_ - options_.compact_behind;
  if (rev < 1) return;
  kvpb::ClientRequest req;
  req.mutable_compaction()->set_revision(rev);
  const uint64_t member = PickMember(0);
  ++stats_.compactions;
  loop_->ScheduleAfter(ClientLatency(), [this, member, req] {
    cluster_->Submit(member, req, [](const kv::ClientReply&) {});  // compacted already, or lost: either is fine
  });
}

}  // namespace detcd::sim
