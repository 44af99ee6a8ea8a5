// Watch and LeaseKeepAlive on gRPC's callback API (see grpc_stream_reactors.h).
//
// The rule both reactors keep: Finish is called once, by whoever holds the stream's "turn" — no write and no member
// request of the reactor's own in flight. An end asked for while something is in flight (a cancel, StopStreams, the
// member stopping) is remembered and carried out when that thing completes. gRPC runs OnDone only after Finish and
// after every operation started has completed, so a reactor deleted in OnDone is never touched afterwards by its own
// callbacks; the member's callbacks hold only shared state that outlives it.
#include "net/grpc_stream_reactors.h"

#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <utility>

#include "net/grpc_services_shared.h"
#include "raft/check.h"

namespace detcd::net {

namespace {

using etcdserverpb::LeaseKeepAliveRequest;
using etcdserverpb::LeaseKeepAliveResponse;
using etcdserverpb::WatchRequest;
using etcdserverpb::WatchResponse;

grpc::Status Cancelled() { return grpc::Status(grpc::StatusCode::CANCELLED, "context canceled"); }

// ---- Watch ----

// The responses of one watch stream on their way from the member's core thread to the client, and who may write
// or finish. Shared by the reactor and the member's callbacks (which may outlive the reactor).
class WatchOutbox {
 public:
  // Responses queued beyond this make the member pause the stream (its watch hub keeps the rest, bounded, and
  // catches the watchers up from history once ResumeWatch says there is room again).
  static constexpr size_t kCapacity = 256;

  explicit WatchOutbox(grpc::ServerBidiReactor<WatchRequest, WatchResponse>* reactor) : reactor_(reactor) {}

  // A response that waits behind others takes the events of the next one for the same watcher, up to this size: a
  // watcher that falls behind gets fewer, larger responses (events of several revisions in one, as etcd sends a
  // watcher catching up), instead of one write per revision.
  static constexpr size_t kMergedBytesMax = 64 * 1024;

  // The thread holding the core: a response for the client. False: the outbox is full, the member should pause the
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
      if (pending_.size() > settled && Mergeable(pending_.back(), response) && back_bytes_ + bytes <= kMergedBytesMax) {
        WatchResponse& last = pending_.back();
        DETCD_CHECK_MSG(last.header().revision() <= response.header().revision(), "watch responses out of order");
        last.mutable_events()->MergeFrom(response.events());
        *last.mutable_header() = response.header();
        back_bytes_ += bytes;
        return true;
      }
      pending_.push_back(response);
      back_bytes_ = bytes;
      if (pending_.size() >= kCapacity) full_ = room = false;
      if (!writing_) {
        writing_ = true;
        start = &pending_.front();
      }
    }
    if (start != nullptr) reactor_->StartWrite(start);
    return room;
  }

  // Two responses may be one if both only carry events for the same watcher (no created, canceled, compacted,
  // progress or fragmented response is merged); the caller bounds the size.
  static bool Mergeable(const WatchResponse& a, const WatchResponse& b) {
    auto events_only = [](const WatchResponse& r) {
      return r.events_size() > 0 && !r.created() && !r.canceled() && r.compact_revision() == 0 && !r.fragment();
    };
    return events_only(a) && events_only(b) && a.watch_id() == b.watch_id();
  }

  // Asks for the call to end with `status` (the first end asked for wins). Finishes now unless a write is in flight.
  void End(const grpc::Status& status) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (ending_) return;
      ending_ = true;
      end_status_ = status;
      if (writing_) return;  // WriteDone finishes
      writing_ = true;       // the turn is taken for good: nothing is written after Finish
    }
    reactor_->Finish(status);
  }

  // A write completed. Returns true if the stream drained a queue that had been full: the member may resume it.
  bool WriteDone(bool ok) {
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
      } else if (!pending_.empty()) {
        next = &pending_.front();
      } else {
        writing_ = false;
        resume = std::exchange(full_, false);
      }
    }
    if (finish) reactor_->Finish(*finish);
    if (next != nullptr) reactor_->StartWrite(next);
    return resume;
  }

 private:
  grpc::ServerBidiReactor<WatchRequest, WatchResponse>* const reactor_;  // used only while !ending_ or by the turn
  std::mutex mu_;
  std::deque<WatchResponse> pending_;  // guarded by mu_; the front is being written while writing_
  size_t back_bytes_ = 0;              // guarded by mu_: the serialized size of pending_.back()
  bool writing_ = false;               // guarded by mu_: the turn (a write in flight, or Finish called)
  bool full_ = false;                  // guarded by mu_: Push said full since the queue last drained
  bool ending_ = false;                // guarded by mu_: an end was asked for; nothing more is queued
  grpc::Status end_status_;            // guarded by mu_
};

// Like etcd, the stream outlives the client's half-close (responses keep coming) and ends when the client cancels, a
// write fails, the member stops or StopStreams is called.
class WatchReactor final : public grpc::ServerBidiReactor<WatchRequest, WatchResponse> {
 public:
  explicit WatchReactor(EtcdServices::Shared* shared)
      : runtime_(shared->runtime), outbox_(std::make_shared<WatchOutbox>(this)) {
    std::shared_ptr<WatchOutbox> outbox = outbox_;
    registration_.emplace(shared, [outbox] { outbox->End(Stopped()); });
    if (!registration_->ok() || !runtime_->running()) {
      outbox_->End(Stopped());
      return;
    }
    stream_ = runtime_->OpenWatch([outbox](const WatchResponse& r) { return outbox->Push(r); },
                                  [outbox] { outbox->End(Stopped()); });
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // half-closed by the client, or the call is over: responses go on until it ends
    runtime_->Watch(stream_, request_);
    StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    if (outbox_->WriteDone(ok)) runtime_->ResumeWatch(stream_);
  }

  void OnCancel() override { outbox_->End(Cancelled()); }

  void OnDone() override {
    if (stream_ != 0) runtime_->CloseWatch(stream_);
    registration_.reset();  // before anything else goes: StopStreams may be calling into the outbox right now
    delete this;
  }

 private:
  MemberRuntime* const runtime_;
  const std::shared_ptr<WatchOutbox> outbox_;
  std::optional<StreamRegistration> registration_;
  uint64_t stream_ = 0;  // the member's id for this stream (0: never opened)
  WatchRequest request_;
};

// ---- LeaseKeepAlive ----

// etcd's leaseKeepAlive: read a request, renew through the member, write the answer, read the next. An unknown lease
// is answered TTL 0 (the member does that); any other error ends the stream with that error; the client's
// half-close ends it with OK ("server stopped" once StopStreams was called).
class KeepAliveReactor final : public grpc::ServerBidiReactor<LeaseKeepAliveRequest, LeaseKeepAliveResponse> {
 public:
  explicit KeepAliveReactor(EtcdServices::Shared* shared) : shared_(shared) {
    registration_.emplace(shared, [this] { End(Stopped()); });
    if (!registration_->ok()) {
      End(Stopped());
      return;
    }
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      std::unique_lock<std::mutex> lock(shared_->mu);
      const bool stopping = shared_->stopping;
      lock.unlock();
      return End(stopping ? Stopped() : grpc::Status::OK);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (ending_) return;
      DETCD_CHECK_MSG(!renewing_, "a keep-alive read completed while a renewal was in flight");
      renewing_ = true;
    }
    kvpb::ClientRequest r;
    *r.mutable_lease_keep_alive() = request_;
    shared_->runtime->Submit(std::move(r), [this](kv::ClientReply reply) { Renewed(std::move(reply)); });
  }

  void OnWriteDone(bool ok) override {
    if (!ok) return End(Cancelled());
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (ending_) return;  // finished meanwhile (no renewal was in flight)
    }
    StartRead(&request_);
  }

  void OnCancel() override { End(Cancelled()); }

  void OnDone() override {
    registration_.reset();  // before anything else goes: StopStreams may be calling End right now
    delete this;
  }

 private:
  // The member's answer (on its core thread).
  void Renewed(kv::ClientReply reply) {
    kvpb::ClientResponse out;
    grpc::Status s = EtcdServices::Shared::Accept(kvpb::ClientRequest::kLeaseKeepAlive, reply, &out);
    std::optional<grpc::Status> finish;
    {
      std::lock_guard<std::mutex> lock(mu_);
      DETCD_CHECK(renewing_);
      renewing_ = false;
      if (ending_) {
        finish = end_status_;  // an end asked for while the renewal was in flight
      } else if (!s.ok()) {
        ending_ = true;
        finish = s;
      } else {
        response_ = std::move(*out.mutable_lease_keep_alive());
      }
    }
    if (finish) return Finish(*finish);
    StartWrite(&response_);
  }

  void End(const grpc::Status& status) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (ending_) return;
      ending_ = true;
      end_status_ = status;
      if (renewing_) return;  // Renewed finishes
    }
    Finish(status);
  }

  EtcdServices::Shared* const shared_;
  std::optional<StreamRegistration> registration_;
  LeaseKeepAliveRequest request_;
  LeaseKeepAliveResponse response_;
  std::mutex mu_;
  bool renewing_ = false;    // guarded by mu_: a renewal is with the member
  bool ending_ = false;      // guarded by mu_: Finish called, or asked for while renewing_
  grpc::Status end_status_;  // guarded by mu_
};

}  // namespace

grpc::ServerBidiReactor<WatchRequest, WatchResponse>* NewWatchReactor(EtcdServices::Shared* shared) {
  return new WatchReactor(shared);
}

grpc::ServerBidiReactor<LeaseKeepAliveRequest, LeaseKeepAliveResponse>* NewKeepAliveReactor(
    EtcdServices::Shared* shared) {
  return new KeepAliveReactor(shared);
}

}  // namespace detcd::net
