// LockElectionServices: etcd's Lock and Election services as clientv3/concurrency's Mutex and Election run against
// the member (see lock_election.h). Each handler plays etcd's embedded client: its reads and writes go to the member
// as kvpb::ClientRequests, its waits are watches on a member watch stream of its own.
#include "net/lock_election.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "api/etcdserverpb/rpc.pb.h"
#include "api/kv_request.pb.h"
#include "api/v3electionpb/v3election.grpc.pb.h"
#include "api/v3lockpb/v3lock.grpc.pb.h"
#include "base/check.h"
#include "kv/errors.h"
#include "kv/mvcc_store.h"
#include "net/watch_queue.h"

namespace detcd::net {

namespace {

using etcdserverpb::Compare;
using etcdserverpb::RangeRequest;
using etcdserverpb::ResponseHeader;
using etcdserverpb::TxnRequest;
using etcdserverpb::TxnResponse;
using grpc::ServerContext;
using kvpb::ClientRequest;
using kvpb::ClientResponse;

// concurrency.defaultSessionTTL: the lease a session grants when the caller gave none.
constexpr int64_t kSessionTtlSeconds = 60;

// clientv3/concurrency's and v3election's own errors (plain Go errors: gRPC code UNKNOWN).
absl::Status ErrElectionNotLeader() { return absl::UnknownError("election: not leader"); }
absl::Status ErrElectionNoLeader() { return absl::UnknownError("election: no leader"); }
absl::Status ErrMissingLeaderKey() { return absl::UnknownError("\"leader\" field must be provided"); }
absl::Status ErrSessionExpired() { return absl::UnknownError("mutex: session is expired"); }
absl::Status ErrLostWatcher() { return absl::UnknownError("lost watcher waiting for delete"); }

bool IsStopped(const absl::Status& s) { return s == kv::ErrStopped(); }

// etcd's Lock and Election servers hand on their embedded client's errors, which gRPC-go cannot map back to a code
// (rpctypes.EtcdError has no GRPCStatus): the client sees UNKNOWN with etcd's message. A stopping server is the
// exception worth keeping: etcd's client would see its transport close, and UNAVAILABLE makes it fail over.
grpc::Status ToClientStatus(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  if (IsStopped(s)) return grpc::Status(grpc::StatusCode::UNAVAILABLE, std::string(s.message()));
  return grpc::Status(grpc::StatusCode::UNKNOWN, std::string(s.message()));
}

// fmt's %x of a clientv3.LeaseID (an int64): lower-case hex, no padding, a minus sign for a negative id.
std::string LeaseHex(int64_t lease) {
  if (lease >= 0) return absl::StrCat(absl::Hex(static_cast<uint64_t>(lease)));
  return absl::StrCat("-", absl::Hex(0 - static_cast<uint64_t>(lease)));
}

// clientv3.GetPrefixRangeEnd: the key just past every key with this prefix ("\0", all keys, if there is none).
std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    const auto last = static_cast<unsigned char>(prefix.back());
    if (last < 0xff) {
      prefix.back() = static_cast<char>(last + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');
}

// clientv3.WithFirstCreate / WithLastCreate on a prefix: its oldest (newest) key by create revision.
RangeRequest ByCreate(const std::string& prefix, RangeRequest::SortOrder order) {
  RangeRequest r;
  r.set_key(prefix);
  r.set_range_end(PrefixEnd(prefix));
  r.set_sort_target(RangeRequest::CREATE);
  r.set_sort_order(order);
  r.set_limit(1);
  return r;
}

// A compare on the key's create revision (concurrency's "is it still mine" and "is it absent" tests).
void CompareCreate(const std::string& key, int64_t create_revision, TxnRequest* t) {
  Compare* c = t->add_compare();
  c->set_key(key);
  c->set_target(Compare::CREATE);
  c->set_result(Compare::EQUAL);
  c->set_create_revision(create_revision);
}

// The join a lock waiter and an election candidate both make (concurrency.Mutex / Election): their key in the
// queue, put with the session's lease and the value only if it does not exist yet, else read back.
TxnRequest JoinQueue(const std::string& key, int64_t lease, const std::string& value) {
  TxnRequest t;
  CompareCreate(key, 0, &t);
  etcdserverpb::PutRequest* put = t.add_success()->mutable_request_put();
  put->set_key(key);
  put->set_value(value);
  put->set_lease(lease);
  t.add_failure()->mutable_request_range()->set_key(key);
  return t;
}


}  // namespace

struct LockElectionServices::Shared {
  MemberRuntime* runtime;
  LockElectionOptions options;
  std::atomic<bool> stopping{false};
  std::atomic<int> running_calls{0};

  // Why a waiting handler must give up now, if it must: StopWaits or a stopped member ("etcdserver: server stopped"),
  // or its client's cancellation or deadline (Go's context errors). `ctx` null: a cleanup on behalf of a client that
  // went away (etcd runs those on its client's own context, which has no deadline).
  absl::Status Interruption(const ServerContext* ctx) const {
    if (stopping.load() || !runtime->running()) return kv::ErrStopped();
    if (ctx == nullptr) return absl::OkStatus();
    const auto deadline = ctx->deadline();
    if (deadline != std::chrono::system_clock::time_point::max() && deadline <= std::chrono::system_clock::now()) {
      return absl::DeadlineExceededError("context deadline exceeded");
    }
    if (ctx->IsCancelled()) return absl::CancelledError("context canceled");
    return absl::OkStatus();
  }

  // The request timeout, shortened to the client's deadline if it has one.
  absl::Duration Timeout(const ServerContext* ctx) const {
    absl::Duration timeout = options.request_timeout;
    if (ctx == nullptr) return timeout;
    const auto deadline = ctx->deadline();
    if (deadline != std::chrono::system_clock::time_point::max()) {
      timeout = std::min(timeout, absl::FromChrono(deadline - std::chrono::system_clock::now()));
    }
    return std::max(timeout, absl::ZeroDuration());
  }

  // One request through the member, as etcd's embedded client sends it (a client already gone gets its context's
  // error without asking).
  // `as`: the credentials to send (a cleanup's, whose ctx is null); else ctx's.
  absl::StatusOr<ClientResponse> Call(const ServerContext* ctx, const ClientRequest& request,
                                      const kvpb::RequestAuth* as = nullptr) {
    if (absl::Status s = Interruption(ctx); !s.ok() && !IsStopped(s)) return s;
    const kvpb::RequestAuth auth = as != nullptr ? *as : CredentialsOf(ctx);
    kv::ClientReply reply;
    if (auth.ByteSizeLong() == 0) {
      reply = runtime->Call(request, Timeout(ctx));
    } else {  // the request with its caller's credentials
      ClientRequest with = request;
      *with.mutable_auth() = auth;
      reply = runtime->Call(with, Timeout(ctx));
    }
    if (!reply.status.ok()) return reply.status;
    if (static_cast<int>(reply.response.response_case()) != static_cast<int>(request.request_case())) {
      return absl::InternalError("detcd: the member answered with a response of another kind");
    }
    return std::move(reply.response);
  }

  // A call's credentials (none without options.auth).
  kvpb::RequestAuth CredentialsOf(const ServerContext* ctx) const {
    if (ctx == nullptr || options.auth == nullptr) return kvpb::RequestAuth();
    return options.auth->ForCall(AuthCredentials::AuthMetadata(ctx->client_metadata()));
  }

  absl::StatusOr<TxnResponse> Txn(const ServerContext* ctx, const TxnRequest& t,
                                  const kvpb::RequestAuth* as = nullptr) {
    ClientRequest r;
    *r.mutable_txn() = t;
    absl::StatusOr<ClientResponse> out = Call(ctx, r, as);
    if (!out.ok()) return out.status();
    return std::move(*out->mutable_txn());
  }

  absl::StatusOr<etcdserverpb::RangeResponse> Range(const ServerContext* ctx, const RangeRequest& range) {
    ClientRequest r;
    *r.mutable_range() = range;
    absl::StatusOr<ClientResponse> out = Call(ctx, r);
    if (!out.ok()) return out.status();
    return std::move(*out->mutable_range());
  }

  absl::StatusOr<etcdserverpb::DeleteRangeResponse> Delete(const ServerContext* ctx, const std::string& key,
                                                           const kvpb::RequestAuth* as = nullptr) {
    ClientRequest r;
    r.mutable_delete_range()->set_key(key);
    absl::StatusOr<ClientResponse> out = Call(ctx, r, as);
    if (!out.ok()) return out.status();
    return std::move(*out->mutable_delete_range());
  }

  // concurrency.NewSession(WithLease(lease)): the caller's lease, or a fresh one of the default TTL if it gave none
  // (etcd orphans the session at once, so that lease is left to expire). A lease that does not exist is not an error
  // here: the first put with it is.
  absl::StatusOr<int64_t> SessionLease(const ServerContext* ctx, int64_t lease) {
    if (lease != 0) return lease;
    ClientRequest r;
    r.mutable_lease_grant()->set_ttl(kSessionTtlSeconds);
    absl::StatusOr<ClientResponse> out = Call(ctx, r);
    if (!out.ok()) return out.status();
    return out->lease_grant().id();
  }

  // concurrency's waitDeletes: until no key under `prefix` created at or below `max_create_revision` is left,
  // watches the deletion of the newest of them. Returns the header of the read that found none.
  absl::StatusOr<ResponseHeader> WaitDeletes(const ServerContext* ctx, const std::string& prefix,
                                             int64_t max_create_revision);
  absl::Status WaitDelete(const ServerContext* ctx, const std::string& key, int64_t start_revision);

  // Election.Proclaim from a known leader key: puts the value if the key still has its create revision.
  absl::StatusOr<ResponseHeader> Proclaim(const ServerContext* ctx, const v3electionpb::LeaderKey& leader,
                                          int64_t lease, const std::string& value) {
    TxnRequest t;
    CompareCreate(leader.key(), leader.rev(), &t);
    etcdserverpb::PutRequest* put = t.add_success()->mutable_request_put();
    put->set_key(leader.key());
    put->set_value(value);
    put->set_lease(lease);
    absl::StatusOr<TxnResponse> txn = Txn(ctx, t);
    if (!txn.ok()) return txn.status();
    if (!txn->succeeded()) return ErrElectionNotLeader();
    return txn->header();
  }

  // Election.Resign from a known leader key: deletes it if it still has its create revision.
  absl::StatusOr<ResponseHeader> Resign(const ServerContext* ctx, const std::string& key, int64_t rev,
                                        const kvpb::RequestAuth* as = nullptr) {
    TxnRequest t;
    CompareCreate(key, rev, &t);
    t.add_success()->mutable_request_delete_range()->set_key(key);
    absl::StatusOr<TxnResponse> txn = Txn(ctx, t, as);
    if (!txn.ok()) return txn.status();
    return txn->header();
  }
};

namespace {

// Counts a running handler, so that destroying the services under one fails loudly.
class RunningCall {
 public:
  explicit RunningCall(LockElectionServices::Shared* shared) : shared_(shared) { ++shared_->running_calls; }
  ~RunningCall() { --shared_->running_calls; }
  RunningCall(const RunningCall&) = delete;
  RunningCall& operator=(const RunningCall&) = delete;

 private:
  LockElectionServices::Shared* shared_;
};

// One watcher on a member watch stream of its own, from `start_revision` on, for a handler that waits on it.
class MemberWatch {
 public:
  // With the handler's client's credentials (a watch needs read permission on its range).
  MemberWatch(LockElectionServices::Shared* shared, const ServerContext* ctx, const std::string& key,
              const std::string& range_end, int64_t start_revision)
      : shared_(shared), queue_(std::make_shared<WatchQueue>()) {
    // The callback may still run after CloseWatch is posted: it holds the queue, not this object.
    stream_ = shared_->runtime->OpenWatch(
        [queue = queue_](const etcdserverpb::WatchResponse& r) { return queue->Push(r); });
    etcdserverpb::WatchRequest request;
    etcdserverpb::WatchCreateRequest* create = request.mutable_create_request();
    create->set_key(key);
    create->set_range_end(range_end);
    create->set_start_revision(start_revision);
    shared_->runtime->Watch(stream_, request, shared_->CredentialsOf(ctx));
  }
  ~MemberWatch() { shared_->runtime->CloseWatch(stream_); }
  MemberWatch(const MemberWatch&) = delete;
  MemberWatch& operator=(const MemberWatch&) = delete;

  // The next response with events. Errors: the watcher was cancelled (compacted: etcd's compacted error; otherwise
  // its reason, or "lost watcher waiting for delete"), or Shared::Interruption.
  absl::Status Next(const ServerContext* ctx, etcdserverpb::WatchResponse* out) {
    for (;;) {
      while (!pending_.empty()) {
        etcdserverpb::WatchResponse r = std::move(pending_.front());
        pending_.pop_front();
        if (r.canceled()) {
          if (r.compact_revision() != 0) return absl::UnknownError(kv::ErrCompacted().message());
          if (!r.cancel_reason().empty()) return absl::UnknownError(r.cancel_reason());
          return ErrLostWatcher();
        }
        if (r.events_size() > 0) {
          *out = std::move(r);
          return absl::OkStatus();
        }
      }
      if (absl::Status s = shared_->Interruption(ctx); !s.ok()) return s;
      bool resume = false;
      queue_->Take(shared_->options.poll_interval, &pending_, &resume);
      if (resume) shared_->runtime->ResumeWatch(stream_);
    }
  }

 private:
  LockElectionServices::Shared* shared_;
  std::shared_ptr<WatchQueue> queue_;
  uint64_t stream_ = 0;
  std::deque<etcdserverpb::WatchResponse> pending_;
};

}  // namespace

absl::Status LockElectionServices::Shared::WaitDelete(const ServerContext* ctx, const std::string& key,
                                                      int64_t start_revision) {
  MemberWatch watch(this, ctx, key, "", start_revision);
  etcdserverpb::WatchResponse r;
  for (;;) {
    if (absl::Status s = watch.Next(ctx, &r); !s.ok()) return s;
    for (const mvccpb::Event& ev : r.events()) {
      if (ev.type() == mvccpb::Event::DELETE) return absl::OkStatus();
    }
  }
}

absl::StatusOr<ResponseHeader> LockElectionServices::Shared::WaitDeletes(const ServerContext* ctx,
                                                                         const std::string& prefix,
                                                                         int64_t max_create_revision) {
  DETCD_CHECK(max_create_revision > 0);  // 0 would mean "no limit": the waiter's own key has revision >= 2
  RangeRequest newest = ByCreate(prefix, RangeRequest::DESCEND);
  newest.set_max_create_revision(max_create_revision);
  for (;;) {
    absl::StatusOr<etcdserverpb::RangeResponse> got = Range(ctx, newest);
    if (!got.ok()) return got.status();
    if (got->kvs_size() == 0) return got->header();
    // From the read's revision on: a deletion after the read is seen, and the key exists at that revision.
    if (absl::Status s = WaitDelete(ctx, got->kvs(0).key(), got->header().revision()); !s.ok()) return s;
  }
}

namespace {

// ---- Lock (etcdserver/api/v3lock over concurrency.Mutex) ----

class LockService final : public v3lockpb::Lock::Service {
 public:
  explicit LockService(LockElectionServices::Shared* shared) : shared_(shared) {}

  grpc::Status Lock(ServerContext* ctx, const v3lockpb::LockRequest* request,
                    v3lockpb::LockResponse* response) override {
    RunningCall running(shared_);
    return ToClientStatus(Acquire(ctx, *request, response));
  }

  grpc::Status Unlock(ServerContext* ctx, const v3lockpb::UnlockRequest* request,
                      v3lockpb::UnlockResponse* response) override {
    RunningCall running(shared_);
    absl::StatusOr<etcdserverpb::DeleteRangeResponse> deleted = shared_->Delete(ctx, request->key());
    if (!deleted.ok()) return ToClientStatus(deleted.status());
    *response->mutable_header() = deleted->header();
    return grpc::Status::OK;
  }

 private:
  // concurrency.Mutex.Lock: joins the queue of `name/` with its key (or finds it already there), then waits for every
  // older key to go. A wait that fails takes the key out of the queue.
  absl::Status Acquire(const ServerContext* ctx, const v3lockpb::LockRequest& request,
                       v3lockpb::LockResponse* response) {
    absl::StatusOr<int64_t> lease = shared_->SessionLease(ctx, request.lease());
    if (!lease.ok()) return lease.status();
    const std::string prefix = absl::StrCat(request.name(), "/");
    const std::string key = absl::StrCat(prefix, LeaseHex(*lease));

    // Also read who holds the lock, in the same revision.
    TxnRequest t = JoinQueue(key, *lease, "");
    *t.add_success()->mutable_request_range() = ByCreate(prefix, RangeRequest::ASCEND);
    *t.add_failure()->mutable_request_range() = ByCreate(prefix, RangeRequest::ASCEND);
    absl::StatusOr<TxnResponse> txn = shared_->Txn(ctx, t);
    if (!txn.ok()) return txn.status();
    DETCD_CHECK(txn->responses_size() == 2);

    int64_t my_rev = txn->header().revision();
    if (!txn->succeeded()) {
      // The compare failed because the key exists, in the same revision the range read.
      DETCD_CHECK(txn->responses(0).response_range().kvs_size() == 1);
      my_rev = txn->responses(0).response_range().kvs(0).create_revision();
    }
    response->set_key(key);
    const etcdserverpb::RangeResponse& owner = txn->responses(1).response_range();
    if (owner.kvs_size() == 0 || owner.kvs(0).create_revision() == my_rev) {
      *response->mutable_header() = txn->header();
      return absl::OkStatus();
    }

    absl::StatusOr<ResponseHeader> waited = shared_->WaitDeletes(ctx, prefix, my_rev - 1);
    if (!waited.ok()) {
      // Mutex.Unlock on the client's own context: the cleanup outlives the caller's cancellation.
      const kvpb::RequestAuth as = shared_->CredentialsOf(ctx);
      (void)shared_->Delete(nullptr, key, &as);
      if (absl::Status s = shared_->Interruption(ctx); !s.ok()) return s;
    }
    // The key may have gone with its lease while waiting: then the lock is not held.
    RangeRequest get_mine;
    get_mine.set_key(key);
    absl::StatusOr<etcdserverpb::RangeResponse> mine = shared_->Range(ctx, get_mine);
    if (!mine.ok()) {
      const kvpb::RequestAuth as = shared_->CredentialsOf(ctx);
      (void)shared_->Delete(nullptr, key, &as);
      return mine.status();
    }
    if (mine->kvs_size() == 0) return ErrSessionExpired();
    *response->mutable_header() = mine->header();
    return absl::OkStatus();
  }

  LockElectionServices::Shared* shared_;
};

// ---- Election (etcdserver/api/v3election over concurrency.Election) ----

class ElectionService final : public v3electionpb::Election::Service {
 public:
  explicit ElectionService(LockElectionServices::Shared* shared) : shared_(shared) {}

  grpc::Status Campaign(ServerContext* ctx, const v3electionpb::CampaignRequest* request,
                        v3electionpb::CampaignResponse* response) override {
    RunningCall running(shared_);
    return ToClientStatus(Run(ctx, *request, response));
  }

  grpc::Status Proclaim(ServerContext* ctx, const v3electionpb::ProclaimRequest* request,
                        v3electionpb::ProclaimResponse* response) override {
    RunningCall running(shared_);
    if (!request->has_leader()) return ToClientStatus(ErrMissingLeaderKey());
    absl::StatusOr<int64_t> lease = shared_->SessionLease(ctx, request->leader().lease());
    if (!lease.ok()) return ToClientStatus(lease.status());
    absl::StatusOr<ResponseHeader> header = shared_->Proclaim(ctx, request->leader(), *lease, request->value());
    if (!header.ok()) return ToClientStatus(header.status());
    *response->mutable_header() = *header;
    return grpc::Status::OK;
  }

  grpc::Status Leader(ServerContext* ctx, const v3electionpb::LeaderRequest* request,
                      v3electionpb::LeaderResponse* response) override {
    RunningCall running(shared_);
    absl::StatusOr<etcdserverpb::RangeResponse> got =
        shared_->Range(ctx, ByCreate(absl::StrCat(request->name(), "/"), RangeRequest::ASCEND));
    if (!got.ok()) return ToClientStatus(got.status());
    if (got->kvs_size() == 0) return ToClientStatus(ErrElectionNoLeader());
    *response->mutable_header() = got->header();
    *response->mutable_kv() = got->kvs(0);
    return grpc::Status::OK;
  }

  // concurrency.Election.Observe: the current leader's value, then every later value of that leader key until it is
  // deleted, then the next leader's, and so on, until the client cancels. Like etcd, a failed read or a lost watch
  // ends the stream with OK.
  grpc::Status Observe(ServerContext* ctx, const v3electionpb::LeaderRequest* request,
                       grpc::ServerWriter<v3electionpb::LeaderResponse>* writer) override {
    RunningCall running(shared_);
    const std::string prefix = absl::StrCat(request->name(), "/");
    // Why the stream ends after a failure: the client or the server is going away, or nothing more to say.
    const auto end = [&] { return ToClientStatus(shared_->Interruption(ctx)); };
    for (;;) {
      absl::StatusOr<etcdserverpb::RangeResponse> got = shared_->Range(ctx, ByCreate(prefix, RangeRequest::ASCEND));
      if (!got.ok()) return end();
      v3electionpb::LeaderResponse leader;
      if (got->kvs_size() > 0) {
        *leader.mutable_header() = got->header();
        *leader.mutable_kv() = got->kvs(0);
      } else {
        // No leader yet: the first key put under the prefix is the next one.
        MemberWatch watch(shared_, ctx, prefix, PrefixEnd(prefix), got->header().revision());
        while (!leader.has_kv()) {
          etcdserverpb::WatchResponse r;
          if (!watch.Next(ctx, &r).ok()) return end();
          for (const mvccpb::Event& ev : r.events()) {
            if (ev.type() != mvccpb::Event::PUT) continue;
            *leader.mutable_header() = r.header();
            // The response may hold several revisions: the header says the put's own.
            leader.mutable_header()->set_revision(ev.kv().mod_revision());
            *leader.mutable_kv() = ev.kv();
            break;
          }
        }
      }
      if (!writer->Write(leader)) return grpc::Status(grpc::StatusCode::CANCELLED, "context canceled");

      // Every change of this leader key until it is deleted.
      MemberWatch watch(shared_, ctx, leader.kv().key(), "", leader.header().revision() + 1);
      for (bool deleted = false; !deleted;) {
        etcdserverpb::WatchResponse r;
        if (!watch.Next(ctx, &r).ok()) return end();
        for (const mvccpb::Event& ev : r.events()) {
          if (ev.type() == mvccpb::Event::DELETE) {
            deleted = true;
            break;
          }
          v3electionpb::LeaderResponse change;
          *change.mutable_header() = r.header();
          *change.mutable_kv() = ev.kv();
          if (!writer->Write(change)) return grpc::Status(grpc::StatusCode::CANCELLED, "context canceled");
        }
      }
    }
  }

  grpc::Status Resign(ServerContext* ctx, const v3electionpb::ResignRequest* request,
                      v3electionpb::ResignResponse* response) override {
    RunningCall running(shared_);
    if (!request->has_leader()) return ToClientStatus(ErrMissingLeaderKey());
    // etcd opens a session here too: a request without a lease grants one that nothing uses.
    absl::StatusOr<int64_t> lease = shared_->SessionLease(ctx, request->leader().lease());
    if (!lease.ok()) return ToClientStatus(lease.status());
    absl::StatusOr<ResponseHeader> header = shared_->Resign(ctx, request->leader().key(), request->leader().rev());
    if (!header.ok()) return ToClientStatus(header.status());
    *response->mutable_header() = *header;
    return grpc::Status::OK;
  }

 private:
  // concurrency.Election.Campaign: joins the candidates of `name/` with its value (or finds its key there and
  // proclaims the new value), then waits for every older candidate to go. The header is the join's.
  absl::Status Run(const ServerContext* ctx, const v3electionpb::CampaignRequest& request,
                   v3electionpb::CampaignResponse* response) {
    absl::StatusOr<int64_t> lease = shared_->SessionLease(ctx, request.lease());
    if (!lease.ok()) return lease.status();
    const std::string prefix = absl::StrCat(request.name(), "/");
    const std::string key = absl::StrCat(prefix, LeaseHex(*lease));

    absl::StatusOr<TxnResponse> txn = shared_->Txn(ctx, JoinQueue(key, *lease, request.value()));
    if (!txn.ok()) return txn.status();

    v3electionpb::LeaderKey leader;
    leader.set_name(request.name());
    leader.set_key(key);
    leader.set_rev(txn->header().revision());
    leader.set_lease(*lease);
    if (!txn->succeeded()) {
      DETCD_CHECK(txn->responses_size() == 1 && txn->responses(0).response_range().kvs_size() == 1);
      const mvccpb::KeyValue& kv = txn->responses(0).response_range().kvs(0);
      leader.set_rev(kv.create_revision());
      if (kv.value() != request.value()) {
        if (absl::StatusOr<ResponseHeader> p = shared_->Proclaim(ctx, leader, *lease, request.value()); !p.ok()) {
          (void)shared_->Resign(ctx, key, leader.rev());
          return p.status();
        }
      }
    }

    absl::StatusOr<ResponseHeader> waited = shared_->WaitDeletes(ctx, prefix, leader.rev() - 1);
    if (!waited.ok()) {
      // Only a client that went away withdraws its candidacy (on the client's own context); otherwise the key stays
      // for a retry to find.
      const absl::Status why = shared_->Interruption(ctx);
      if (!why.ok() && !IsStopped(why)) {
        const kvpb::RequestAuth as = shared_->CredentialsOf(ctx);
        (void)shared_->Resign(nullptr, key, leader.rev(), &as);
      }
      return waited.status();
    }
    *response->mutable_header() = txn->header();
    *response->mutable_leader() = std::move(leader);
    return absl::OkStatus();
  }

  LockElectionServices::Shared* shared_;
};

}  // namespace

LockElectionServices::LockElectionServices(MemberRuntime* runtime, LockElectionOptions options)
    : shared_(new Shared{runtime, std::move(options)}) {
  DETCD_CHECK(runtime != nullptr);
  DETCD_CHECK(shared_->options.poll_interval > absl::ZeroDuration());
  lock_ = std::make_unique<LockService>(shared_.get());
  election_ = std::make_unique<ElectionService>(shared_.get());
}

LockElectionServices::~LockElectionServices() {
  // A handler still running would use freed services: the server must have been shut down first.
  DETCD_CHECK_MSG(shared_->running_calls.load() == 0, "LockElectionServices destroyed while calls still run");
}

void LockElectionServices::RegisterOn(grpc::ServerBuilder& builder) {
  builder.RegisterService(lock_.get());
  builder.RegisterService(election_.get());
}

void LockElectionServices::StopWaits() { shared_->stopping.store(true); }

}  // namespace detcd::net
