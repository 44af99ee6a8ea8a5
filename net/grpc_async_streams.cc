// Watch and LeaseKeepAlive on gRPC's asynchronous API (see grpc_async_streams.h).
//
// A stream is owned by itself from the moment it asks for a call until every operation it started on the queue has
// completed (ops_ counts them: the request, a read, a write, the finish, and — once the call came — the notice that
// the call is done), and until no thread is about to start one: a thread that takes the turn to write or finish
// (under the stream's lock, often not the queue's thread) reserves its operation in the count there and then, so the
// count cannot reach zero between the decision and the start. The member's callbacks hold the stream too, so a late
// one finds it ending and does nothing. Every operation starts through the queue's gate (none once the queue is
// stopped; a reservation then lapses). The rule both keep: Finish is called
// once, by whoever holds the stream's "turn" — no write and (keep-alive) no member request of its own in flight; an
// end asked for while something is in flight (a cancel, StopStreams, the member stopping) is remembered and carried
// out when that thing completes.
#include "net/grpc_async_streams.h"

#include <atomic>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "base/check.h"
#include "net/grpc_services_shared.h"

namespace detcd::net {

namespace {

using etcdserverpb::LeaseKeepAliveRequest;
using etcdserverpb::LeaseKeepAliveResponse;
using etcdserverpb::WatchRequest;
using etcdserverpb::WatchResponse;

grpc::Status Cancelled() { return grpc::Status(grpc::StatusCode::CANCELLED, "context canceled"); }

// What both streams share: the call, its operations on the queue and its lifetime.
template <typename Req, typename Resp>
class StreamCall : public std::enable_shared_from_this<StreamCall<Req, Resp>> {
 public:
  virtual ~StreamCall() = default;
  StreamCall(const StreamCall&) = delete;
  StreamCall& operator=(const StreamCall&) = delete;

 protected:
  enum class Op { kRequest, kRead, kWrite, kFinish, kDone };

  class OpTag final : public CqServer::Tag {
   public:
    OpTag(StreamCall* call, Op op) : call_(call), op_(op) {}
    void Proceed(bool ok) override { call_->Completed(op_, ok); }

   private:
    StreamCall* const call_;
    const Op op_;
  };

  StreamCall(EtcdServices::Shared* shared, CqServer* server)
      : shared_(shared), server_(server), gate_(server->gate()), stream_(&ctx_) {}

  // Takes ownership of a new call and asks gRPC for it with `request` (which starts the request on the queue).
  template <typename Call, typename RequestFn>
  static void Ask(std::shared_ptr<Call> call, RequestFn request) {
    call->self_ = call;
    call->ctx_.AsyncNotifyWhenDone(&call->done_tag_);
    call->Reserve();
    call->StartReserved([&] { request(&call->ctx_, &call->stream_, &call->request_tag_); });
  }

  // ---- on the queue's thread ----
  virtual void RequestNext() = 0;           // asks for the method's next call
  virtual void OnStarted() = 0;             // this call came
  virtual void OnRead(bool ok) = 0;         // a read completed (false: half-closed, or the call is over)
  virtual void OnWritten(bool ok) = 0;      // a write completed (false: the client is gone)
  virtual void OnDone(bool cancelled) = 0;  // the call is over
  virtual void OnReleased() = 0;            // nothing of this call is on the queue any more: let go of the member

  // Only on the queue's thread, inside a completion (which keeps the count above zero meanwhile).
  void StartRead(Req* request) {
    gate_->Start([&] {
      ops_.fetch_add(1, std::memory_order_relaxed);  // before the start: its completion may come at once
      stream_.Read(request, &read_tag_);
    });
  }

  // ---- any thread ----
  // Counts an operation about to be started (call it where the turn to start it is taken, under the stream's lock).
  void Reserve() { ops_.fetch_add(1, std::memory_order_relaxed); }
  // Start a reserved operation (or let the reservation lapse if the queue is stopped).
  void StartWrite(const Resp& response) {
    StartReserved([&] { stream_.Write(response, &write_tag_); });
  }
  void StartFinish(const grpc::Status& status) {
    StartReserved([&] { stream_.Finish(status, &finish_tag_); });
  }

  template <typename Derived>
  std::shared_ptr<Derived> SharedAs() {
    return std::static_pointer_cast<Derived>(this->shared_from_this());
  }

  EtcdServices::Shared* const shared_;
  CqServer* const server_;
  // The call's context (its metadata: the client's credentials), for a derived call once it started.
  const grpc::ServerContext& context() const { return ctx_; }

 private:
  template <typename F>
  void StartReserved(F&& start) {
    if (!gate_->Start(start)) Unreserve();
  }

  void Unreserve() {
    if (ops_.fetch_sub(1, std::memory_order_acq_rel) == 1) Release();
  }

  void Release() {
    OnReleased();
    std::shared_ptr<StreamCall> me = std::move(self_);  // may be the last owner: this goes with it
  }

  void Completed(Op op, bool ok) {
    switch (op) {
      case Op::kRequest:
        if (ok) {
          ops_.fetch_add(1, std::memory_order_relaxed);  // the done notice, now on the queue with the call
          RequestNext();
          OnStarted();
        }
        break;
      case Op::kRead:
        OnRead(ok);
        break;
      case Op::kWrite:
        OnWritten(ok);
        break;
      case Op::kFinish:
        break;
      case Op::kDone:
        OnDone(ctx_.IsCancelled());
        break;
    }
    Unreserve();
  }

  const std::shared_ptr<CqServer::Gate> gate_;
  grpc::ServerContext ctx_;
  grpc::ServerAsyncReaderWriter<Resp, Req> stream_;
  OpTag request_tag_{this, Op::kRequest};
  OpTag read_tag_{this, Op::kRead};
  OpTag write_tag_{this, Op::kWrite};
  OpTag finish_tag_{this, Op::kFinish};
  OpTag done_tag_{this, Op::kDone};
  std::atomic<int> ops_{0};
  std::shared_ptr<StreamCall> self_;  // held while an operation is on the queue
};

// ---- Watch ----

// Like etcd, the stream outlives the client's half-close (responses keep coming) and ends when the client cancels, a
// write fails, the member stops or StopStreams is called.
class WatchStream final : public StreamCall<WatchRequest, WatchResponse> {
 public:
  // Responses queued beyond this make the member pause the stream (its watch hub keeps the rest, bounded, and
  // catches the watchers up from history once ResumeWatch says there is room again).
  static constexpr size_t kCapacity = 256;
  // A response that waits behind others takes the events of the next one (MergeWatchResponse).

  static void Request(EtcdServices::Shared* shared, etcdserverpb::Watch::AsyncService* service, CqServer* server) {
    std::shared_ptr<WatchStream> call(new WatchStream(shared, service, server));
    Ask(call,
        [service, server](grpc::ServerContext* ctx, grpc::ServerAsyncReaderWriter<WatchResponse, WatchRequest>* s,
                          CqServer::Tag* tag) { service->RequestWatch(ctx, s, server->cq(), server->cq(), tag); });
  }

 private:
  WatchStream(EtcdServices::Shared* shared, etcdserverpb::Watch::AsyncService* service, CqServer* server)
      : StreamCall(shared, server), service_(service) {}

  void RequestNext() override { Request(shared_, service_, server_); }

  void OnStarted() override {
    registration_.emplace(shared_, [this] { End(Stopped()); });
    if (!registration_->ok() || !shared_->runtime->running()) {
      End(Stopped());
      return;
    }
    std::shared_ptr<WatchStream> self = SharedAs<WatchStream>();
    stream_id_ = shared_->runtime->OpenWatch([self](const WatchResponse& r) { return self->Push(r); },
                                             [self] { self->End(Stopped()); });
    auth_ = shared_->CredentialsOf(&context());
    StartRead(&request_);
  }

  void OnRead(bool ok) override {
    if (!ok) return;  // half-closed by the client, or the call is over: responses go on until it ends
    shared_->runtime->Watch(stream_id_, request_, auth_);
    StartRead(&request_);
  }

  void OnWritten(bool ok) override {
    const WatchResponse* next = nullptr;
    bool resume = false;
    std::optional<grpc::Status> finish;
    {
      std::lock_guard<std::mutex> lock(mu_);
      DETCD_CHECK_MSG(writing_ && !pending_.empty(), "a watch write completed that was never started");
      pending_.pop_front();
      if (!ok && !ending_) {
        ending_ = true;  // the client is gone
        end_status_ = Cancelled();
      }
      if (ending_) {
        finish = end_status_;
        Reserve();
      } else if (!pending_.empty()) {
        next = &pending_.front();
        Reserve();
      } else {
        writing_ = false;
        resume = std::exchange(full_, false);
      }
    }
    if (finish) StartFinish(*finish);
    if (next != nullptr) StartWrite(*next);
    if (resume) shared_->runtime->ResumeWatch(stream_id_);
  }

  void OnDone(bool cancelled) override {
    if (cancelled) End(Cancelled());
  }

  void OnReleased() override {
    if (stream_id_ != 0) shared_->runtime->CloseWatch(stream_id_);
    registration_.reset();
  }

  // The thread holding the core: a response for the client. False: the queue is full, the member should pause the
  // stream.
  bool Push(const WatchResponse& response) {
    const WatchResponse* start = nullptr;
    bool room = true;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (ending_) return true;  // dropped: the call is over or ending
      // The front is being written while writing_: only a response behind it may still change.
      const size_t settled = writing_ ? 1 : 0;
      const size_t bytes = response.ByteSizeLong();
      if (pending_.size() > settled && MergeWatchResponse(&pending_.back(), &back_bytes_, response, bytes)) return true;
      pending_.push_back(response);
      back_bytes_ = bytes;
      if (pending_.size() >= kCapacity) full_ = room = false;
      if (!writing_) {
        writing_ = true;
        start = &pending_.front();  // a deque's elements stay where they are as others are added behind them
        Reserve();
      }
    }
    if (start != nullptr) StartWrite(*start);
    return room;
  }

  // Asks for the call to end with `status` (the first end asked for wins). Finishes now unless a write is in flight.
  void End(const grpc::Status& status) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (ending_) return;
      ending_ = true;
      end_status_ = status;
      if (writing_) return;  // OnWritten finishes
      writing_ = true;       // the turn is taken for good: nothing is written after Finish
      Reserve();
    }
    StartFinish(status);
  }

  etcdserverpb::Watch::AsyncService* const service_;
  std::optional<StreamRegistration> registration_;
  uint64_t stream_id_ = 0;  // the member's id for this stream (0: never opened)
  WatchRequest request_;    // the read in flight
  kvpb::RequestAuth auth_;  // the call's credentials (its create requests are checked against them)

  std::mutex mu_;
  std::deque<WatchResponse> pending_;  // guarded by mu_; the front is being written while writing_
  size_t back_bytes_ = 0;              // guarded by mu_: the serialized size of pending_.back()
  bool writing_ = false;               // guarded by mu_: the turn (a write in flight, or Finish called)
  bool full_ = false;                  // guarded by mu_: Push said full since the queue last drained
  bool ending_ = false;                // guarded by mu_: an end was asked for; nothing more is queued
  grpc::Status end_status_;            // guarded by mu_
};

// ---- LeaseKeepAlive ----

// etcd's leaseKeepAlive: read a request, renew through the member, write the answer, read the next. An unknown lease
// is answered TTL 0 (the member does that); any other error ends the stream with that error; the client's
// half-close ends it with OK ("server stopped" once StopStreams was called).
class KeepAliveStream final : public StreamCall<LeaseKeepAliveRequest, LeaseKeepAliveResponse> {
 public:
  static void Request(EtcdServices::Shared* shared, etcdserverpb::Lease::AsyncService* service, CqServer* server) {
    std::shared_ptr<KeepAliveStream> call(new KeepAliveStream(shared, service, server));
    Ask(call,
        [service, server](
            grpc::ServerContext* ctx, grpc::ServerAsyncReaderWriter<LeaseKeepAliveResponse, LeaseKeepAliveRequest>* s,
            CqServer::Tag* tag) { service->RequestLeaseKeepAlive(ctx, s, server->cq(), server->cq(), tag); });
  }

 private:
  KeepAliveStream(EtcdServices::Shared* shared, etcdserverpb::Lease::AsyncService* service, CqServer* server)
      : StreamCall(shared, server), service_(service) {}

  void RequestNext() override { Request(shared_, service_, server_); }

  void OnStarted() override {
    registration_.emplace(shared_, [this] { End(Stopped()); });
    if (!registration_->ok()) {
      End(Stopped());
      return;
    }
    StartRead(&request_);
  }

  void OnRead(bool ok) override {
    if (!ok) {
      std::unique_lock<std::mutex> lock(shared_->mu);
      const bool stopping = shared_->stopping;
      lock.unlock();
      return End(stopping ? Stopped() : grpc::Status::OK);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (ending_) return;
      DETCD_CHECK_MSG(!renewing_ && !writing_, "a keep-alive read completed while a renewal was in flight");
      renewing_ = true;
      Reserve();  // for what Renewed starts: the answer's write, or the finish
    }
    kvpb::ClientRequest r;
    *r.mutable_lease_keep_alive() = request_;
    std::shared_ptr<KeepAliveStream> self = SharedAs<KeepAliveStream>();
    shared_->runtime->Submit(std::move(r), [self](kv::ClientReply reply) { self->Renewed(std::move(reply)); });
  }

  void OnWritten(bool ok) override {
    std::optional<grpc::Status> finish;
    {
      std::lock_guard<std::mutex> lock(mu_);
      DETCD_CHECK(writing_);
      writing_ = false;
      if (!ok && !ending_) {
        ending_ = true;
        end_status_ = Cancelled();
      }
      if (ending_) {
        finish = end_status_;  // an end asked for while the write was in flight
        Reserve();
      }
    }
    if (finish) {
      StartFinish(*finish);
    } else {
      StartRead(&request_);
    }
  }

  void OnDone(bool cancelled) override {
    if (cancelled) End(Cancelled());
  }

  void OnReleased() override { registration_.reset(); }

  // The member's answer (on the thread holding the core).
  void Renewed(kv::ClientReply reply) {
    kvpb::ClientResponse out;
    grpc::Status s = EtcdServices::Shared::Accept(kvpb::ClientRequest::kLeaseKeepAlive, reply, &out);
    std::optional<grpc::Status> finish;
    {
      std::lock_guard<std::mutex> lock(mu_);
      DETCD_CHECK(renewing_ && !writing_);
      renewing_ = false;
      if (ending_) {
        finish = end_status_;  // an end asked for while the renewal was in flight
      } else if (!s.ok()) {
        ending_ = true;
        finish = s;
      } else {
        response_ = std::move(*out.mutable_lease_keep_alive());
        writing_ = true;
      }
    }
    if (finish) {
      StartFinish(*finish);
    } else {
      StartWrite(response_);
    }
  }

  // Finishes now unless a renewal or a write is in flight (whose completion then finishes).
  void End(const grpc::Status& status) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (ending_) return;
      ending_ = true;
      end_status_ = status;
      if (renewing_ || writing_) return;
      Reserve();
    }
    StartFinish(status);
  }

  etcdserverpb::Lease::AsyncService* const service_;
  std::optional<StreamRegistration> registration_;
  LeaseKeepAliveRequest request_;    // the read in flight
  LeaseKeepAliveResponse response_;  // the write in flight

  std::mutex mu_;
  bool renewing_ = false;    // guarded by mu_: a renewal is with the member
  bool writing_ = false;     // guarded by mu_: its answer is being written
  bool ending_ = false;      // guarded by mu_: Finish called, or asked for while renewing_ or writing_
  grpc::Status end_status_;  // guarded by mu_
};

}  // namespace

void RequestWatchStream(EtcdServices::Shared* shared, etcdserverpb::Watch::AsyncService* service, CqServer* server) {
  WatchStream::Request(shared, service, server);
}

void RequestKeepAliveStream(EtcdServices::Shared* shared, etcdserverpb::Lease::AsyncService* service,
                            CqServer* server) {
  KeepAliveStream::Request(shared, service, server);
}

}  // namespace detcd::net
