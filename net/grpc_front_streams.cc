#include "net/grpc_front_streams.h"

#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include "api/etcdserverpb/rpc.pb.h"
#include "base/check.h"
#include "net/grpc_services_shared.h"

namespace detcd::net {

namespace {

using etcdserverpb::LeaseKeepAliveRequest;
using etcdserverpb::WatchRequest;
using etcdserverpb::WatchResponse;

// A watch stream is paused in the member once this much of it waits for the client, and resumed once it is all taken.
constexpr size_t kWatchQueuedBytesMax = 256 * 1024;

// What both streams share: the connection's stream, the registration StopStreams ends, the one end.
class StreamBase : public FrontStream {
 public:
  StreamBase(EtcdServices::Shared* shared, std::shared_ptr<GrpcH2Connection> c, int32_t stream,
             std::function<void()> ended)
      : shared_(shared), c_(std::move(c)), stream_(stream), ended_(std::move(ended)) {}

  void Abort(const grpc::Status& status) override { End(status); }

 protected:
  ~StreamBase() override { Unregister(); }

  // Registers `stop` to be called by StopStreams (it must not let go of the stream's last owner). False if the
  // services are stopping already.
  bool Register(std::function<void()> stop) {
    std::lock_guard<std::mutex> lock(shared_->mu);
    if (shared_->stopping) return false;
    registration_ = shared_->next_stream++;
    shared_->streams.emplace(registration_.load(), std::move(stop));
    return true;
  }

  // Ends the stream once: the status to the client unless it went away (cancelled), then OnEnded and the front end's
  // `ended`. Any thread.
  void End(const grpc::Status& status, bool cancelled = false) {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (over_) return;
      over_ = true;
    }
    if (!cancelled) c_->Finish(stream_, static_cast<int>(status.error_code()), status.error_message());
    Unregister();
    OnEnded();
    ended_();
  }

  // Leaves StopStreams' list — unless this is StopStreams itself ending the stream (it holds the lock, walks the
  // list, and forgets every stream afterwards).
  void Unregister() {
    if (registration_.load() == 0 || shared_->stopping_thread.load() == std::this_thread::get_id()) return;
    std::lock_guard<std::mutex> lock(shared_->mu);
    shared_->streams.erase(registration_.exchange(0));
  }
  bool over() {
    std::lock_guard<std::mutex> l(mu_);
    return over_;
  }
  bool over_locked() const { return over_; }  // with mu_ held
  virtual void OnEnded() {}

  EtcdServices::Shared* const shared_;
  const std::shared_ptr<GrpcH2Connection> c_;
  const int32_t stream_;
  std::mutex mu_;

 private:
  const std::function<void()> ended_;
  std::atomic<uint64_t> registration_{0};  // in shared_->streams (0: none)
  bool over_ = false;                      // guarded by mu_
};

class WatchH2 final : public StreamBase, public std::enable_shared_from_this<WatchH2> {
 public:
  using StreamBase::StreamBase;

  void Begin(kvpb::RequestAuth auth) {
    auth_ = std::move(auth);
    std::weak_ptr<WatchH2> weak = shared_from_this();
    if (!Register([weak] {
          if (auto s = weak.lock()) s->End(Stopped());
        }) ||
        !shared_->runtime->running()) {
      End(Stopped());
      return;
    }
    std::shared_ptr<WatchH2> self = shared_from_this();
    id_ = shared_->runtime->OpenWatch([self](const WatchResponse& r) { return self->Push(r); },
                                      [self] { self->End(Stopped()); });
  }

  void Message(const std::string& bytes) override {
    WatchRequest request;
    if (!request.ParseFromString(bytes)) {
      End(UnmarshalError());
      return;
    }
    if (!over()) shared_->runtime->Watch(id_, request, auth_);
  }
  void HalfClose() override {}  // as etcd: responses keep coming until the client cancels or the server stops
  void Cancel() override { End(grpc::Status::CANCELLED, /*cancelled=*/true); }

 private:
  kvpb::RequestAuth auth_;  // set before the first message
  void OnEnded() override { shared_->runtime->CloseWatch(id_); }

  // The thread holding the core: a response for the client. False: the member pauses the stream until the client
  // has taken what waits. While the client has not taken what was sent, responses that only carry events for the
  // same watcher are merged into one (MergeWatchResponse): a lagging watcher gets fewer, larger responses.
  bool Push(const WatchResponse& response) {
    bool room = true;
    {
      std::lock_guard<std::mutex> l(mu_);  // before the connection's lock: sends stay in order across threads
      if (over_locked()) return true;      // dropped: the stream is over
      const size_t bytes = response.ByteSizeLong();
      if (pending_) {
        if (MergeWatchResponse(&*pending_, &pending_bytes_, response, bytes)) return true;
        SendLocked(*pending_);  // the one before goes; this one waits in its place
        pending_ = response;
        pending_bytes_ = bytes;
      } else if (c_->Queued(stream_) > 0) {
        pending_ = response;
        pending_bytes_ = bytes;
      } else {
        SendLocked(response);
      }
      if (c_->Queued(stream_) > kWatchQueuedBytesMax) room = !(paused_ = true);
    }
    Arm();
    return room;
  }

  void SendLocked(const WatchResponse& response) {
    std::string bytes;
    response.SerializeToString(&bytes);
    c_->Send(stream_, bytes);
  }

  // Once the client has taken everything sent: what was merged meanwhile goes, and a paused stream resumes. Called
  // without mu_ (the callback may run at once, here).
  void Arm() {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (armed_ || over_locked() || (!pending_ && !paused_)) return;
      armed_ = true;
    }
    std::shared_ptr<WatchH2> self = shared_from_this();
    c_->OnDrained(stream_, 0, [self] { self->ClientTookAll(); });
  }

  void ClientTookAll() {
    bool resume = false;
    {
      std::lock_guard<std::mutex> l(mu_);
      armed_ = false;
      if (over_locked()) return;
      if (pending_) {
        SendLocked(*pending_);
        pending_.reset();
      }
      if (paused_ && c_->Queued(stream_) <= kWatchQueuedBytesMax) {
        paused_ = false;
        resume = true;
      }
    }
    Arm();
    if (resume) shared_->runtime->ResumeWatch(id_);
  }

  std::optional<WatchResponse> pending_;  // guarded by mu_: waiting for the client to take what was sent
  size_t pending_bytes_ = 0;              // guarded by mu_
  bool armed_ = false;                    // guarded by mu_: an OnDrained callback is registered
  bool paused_ = false;                   // guarded by mu_: Push told the member to pause
  uint64_t id_ = 0;                       // the member's id for this stream
};

class KeepAliveH2 final : public StreamBase, public std::enable_shared_from_this<KeepAliveH2> {
 public:
  using StreamBase::StreamBase;

  void Begin() {
    std::weak_ptr<KeepAliveH2> weak = shared_from_this();
    if (!Register([weak] {
          if (auto s = weak.lock()) s->End(Stopped());
        })) {
      End(Stopped());
    }
  }

  void Message(const std::string& bytes) override {
    LeaseKeepAliveRequest request;
    if (!request.ParseFromString(bytes)) {
      End(UnmarshalError());
      return;
    }
    {
      std::lock_guard<std::mutex> l(mu_);
      if (renewing_) {
        waiting_.push_back(std::move(request));
        return;
      }
      renewing_ = true;
    }
    Renew(request);
  }

  void HalfClose() override {
    bool end_now = false;
    {
      std::lock_guard<std::mutex> l(mu_);
      half_closed_ = true;
      end_now = !renewing_;
    }
    if (end_now) EndAfterHalfClose();
  }

  void Cancel() override { End(grpc::Status::CANCELLED, /*cancelled=*/true); }

 private:
  void Renew(const LeaseKeepAliveRequest& request) {
    kvpb::ClientRequest r;
    *r.mutable_lease_keep_alive() = request;
    std::shared_ptr<KeepAliveH2> self = shared_from_this();
    shared_->runtime->Submit(std::move(r), [self](kv::ClientReply reply) { self->Renewed(std::move(reply)); });
  }

  // The member's answer (on the thread holding the core).
  void Renewed(kv::ClientReply reply) {
    kvpb::ClientResponse out;
    const grpc::Status s = EtcdServices::Shared::Accept(kvpb::ClientRequest::kLeaseKeepAlive, reply, &out);
    if (!s.ok()) {
      End(s);
      return;
    }
    std::string bytes;
    out.lease_keep_alive().SerializeToString(&bytes);
    c_->Send(stream_, bytes);
    std::optional<LeaseKeepAliveRequest> next;
    bool end_now = false;
    {
      std::lock_guard<std::mutex> l(mu_);
      if (!waiting_.empty()) {
        next = std::move(waiting_.front());
        waiting_.pop_front();
      } else {
        renewing_ = false;
        end_now = half_closed_;
      }
    }
    if (next) Renew(*next);
    if (end_now) EndAfterHalfClose();
  }

  // etcd ends a keep-alive stream the client half-closed with OK ("server stopped" once the server is stopping).
  void EndAfterHalfClose() {
    bool stopping = false;
    {
      std::lock_guard<std::mutex> lock(shared_->mu);
      stopping = shared_->stopping;
    }
    End(stopping ? Stopped() : grpc::Status::OK);
  }

  std::deque<LeaseKeepAliveRequest> waiting_;  // guarded by mu_: come while a renewal was with the member
  bool renewing_ = false;                      // guarded by mu_
  bool half_closed_ = false;                   // guarded by mu_
};

}  // namespace

std::shared_ptr<FrontStream> StartWatchStream(EtcdServices::Shared* shared, std::shared_ptr<GrpcH2Connection> c,
                                              int32_t stream, std::function<void()> ended, kvpb::RequestAuth auth) {
  auto s = std::make_shared<WatchH2>(shared, std::move(c), stream, std::move(ended));
  s->Begin(std::move(auth));
  return s;
}

std::shared_ptr<FrontStream> StartKeepAliveStream(EtcdServices::Shared* shared, std::shared_ptr<GrpcH2Connection> c,
                                                  int32_t stream, std::function<void()> ended) {
  auto s = std::make_shared<KeepAliveH2>(shared, std::move(c), stream, std::move(ended));
  s->Begin();
  return s;
}

}  // namespace detcd::net
