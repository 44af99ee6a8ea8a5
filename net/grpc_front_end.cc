#include "net/grpc_front_end.h"

#include <pthread.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "api/kv_request.pb.h"
#include "base/check.h"
#include "net/grpc_services_shared.h"

namespace detcd::net {

namespace {

constexpr int kInternal = 13;
constexpr int kUnavailable = 14;
constexpr char kNoLeader[] = "etcdserver: no leader";  // etcd's ErrGRPCNoLeader
// etcd's maxNoLeaderCnt: election timeouts in a row without a leader before require-leader streams are ended.
constexpr int kChecksWithoutLeaderMax = 3;

// The methods served here: kvpb::ClientRequest's field for each (kvpb::ClientResponse's has the same number), by
// the method's slot (the connection found the method once per call; no lookup by path here).
int NativeField(const GrpcMethod* method) {
  static const std::vector<int> kNative = [] {
    const std::map<std::string, int> by_path = {
        {"/etcdserverpb.KV/Range", kvpb::ClientRequest::kRange},
        {"/etcdserverpb.KV/Put", kvpb::ClientRequest::kPut},
        {"/etcdserverpb.KV/DeleteRange", kvpb::ClientRequest::kDeleteRange},
        {"/etcdserverpb.KV/Txn", kvpb::ClientRequest::kTxn},
        {"/etcdserverpb.KV/Compact", kvpb::ClientRequest::kCompaction},
        {"/etcdserverpb.Lease/LeaseGrant", kvpb::ClientRequest::kLeaseGrant},
        {"/etcdserverpb.Lease/LeaseRevoke", kvpb::ClientRequest::kLeaseRevoke},
        {"/etcdserverpb.Lease/LeaseTimeToLive", kvpb::ClientRequest::kLeaseTimeToLive},
        {"/etcdserverpb.Lease/LeaseLeases", kvpb::ClientRequest::kLeaseLeases},
    };
    std::vector<int> fields(static_cast<size_t>(GrpcMethodCount()), 0);
    for (const auto& [path, field] : by_path) {
      const GrpcMethod* m = FindGrpcMethod(path);
      DETCD_CHECK_MSG(m != nullptr, "a native method missing from etcd's services");
      fields[static_cast<size_t>(m->index)] = field;
    }
    return fields;
  }();
  return method == nullptr ? 0 : kNative[static_cast<size_t>(method->index)];
}

// The keepalive's timer: a few ticks per the shorter of interval and timeout, so a ping or a close is late by at most
// a quarter of it; at least every second (etcd's defaults: a tick a second), at most every 10 ms.
absl::Duration KeepaliveTick(const KeepaliveOptions& k) {
  return std::clamp(std::min(k.interval, k.timeout) / 4, absl::Milliseconds(10), absl::Seconds(1));
}

// A timerfd firing every `every`, watched by `epoll_fd`.
bool StartPeriodicTimer(int epoll_fd, int timer_fd, absl::Duration every) {
  const int64_t every_ns = absl::ToInt64Nanoseconds(every);
  itimerspec period{};
  period.it_interval.tv_sec = every_ns / 1'000'000'000;
  period.it_interval.tv_nsec = every_ns % 1'000'000'000;
  period.it_value = period.it_interval;
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = timer_fd;
  return timerfd_settime(timer_fd, 0, &period, nullptr) == 0 && epoll_ctl(epoll_fd, EPOLL_CTL_ADD, timer_fd, &ev) == 0;
}

// How long the loop polls for more after a busy round before it sleeps.
constexpr int64_t kSpinUs = 50;

// kvpb::ClientRequest's and kvpb::ClientResponse's fields of a native method, looked up once (not per request).
struct NativeFields {
  const google::protobuf::FieldDescriptor* request = nullptr;
  const google::protobuf::FieldDescriptor* response = nullptr;
};
const NativeFields& FieldsOf(int field) {
  static const std::map<int, NativeFields> kFields = [] {
    std::map<int, NativeFields> m;
    const google::protobuf::Descriptor* request = kvpb::ClientRequest::descriptor();
    for (int i = 0; i < request->field_count(); ++i) {
      const int number = request->field(i)->number();
      m[number] = NativeFields{request->field(i), kvpb::ClientResponse::descriptor()->FindFieldByNumber(number)};
    }
    return m;
  }();
  auto it = kFields.find(field);
  DETCD_CHECK_MSG(
      it != kFields.end() && it->second.request->message_type() != nullptr && it->second.response != nullptr,
      "a native method without its request and response fields");
  return it->second;
}

uint32_t Interest(bool read, bool write) { return (read ? EPOLLIN | EPOLLRDHUP : 0u) | (write ? EPOLLOUT : 0u); }

// etcd's streaming methods (the ones its stream interceptor watches for a lost leader).
bool IsStreaming(const std::string& path) {
  return path == "/etcdserverpb.Watch/Watch" || path == "/etcdserverpb.Lease/LeaseKeepAlive" ||
         path == "/etcdserverpb.Maintenance/Snapshot" || path == "/v3electionpb.Election/Observe";
}

}  // namespace

bool RequiresLeader(const std::vector<std::pair<std::string, std::string>>& metadata) {
  // etcd's rpctypes.MetadataRequireLeaderKey and MetadataHasLeader; the first value is the one etcd reads.
  for (const auto& [key, value] : metadata) {
    if (key == "hasleader") return value == "true";
  }
  return false;
}

absl::StatusOr<std::unique_ptr<GrpcFrontEnd>> GrpcFrontEnd::Start(GrpcFrontEndOptions options) {
  DETCD_CHECK(options.runtime != nullptr && options.fallback != nullptr);
  const KeepaliveOptions& k = options.keepalive;
  if (k.min_time < absl::ZeroDuration() || k.interval <= absl::ZeroDuration() || k.timeout <= absl::ZeroDuration()) {
    return absl::InvalidArgumentError("gRPC front end: keepalive interval and timeout must be positive");
  }
  std::unique_ptr<GrpcFrontEnd> f(new GrpcFrontEnd(std::move(options)));
  f->epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  f->wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (f->epoll_fd_ < 0 || f->wake_fd_ < 0) return absl::InternalError("gRPC front end: epoll or eventfd failed");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = f->wake_fd_;
  if (epoll_ctl(f->epoll_fd_, EPOLL_CTL_ADD, f->wake_fd_, &ev) != 0) {
    return absl::InternalError("gRPC front end: epoll_ctl failed");
  }
  f->leader_timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  f->keepalive_timer_fd_ = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  if (f->leader_timer_fd_ < 0 || f->keepalive_timer_fd_ < 0) {
    return absl::InternalError("gRPC front end: timerfd_create failed");
  }
  const int64_t every_us = std::max<int64_t>(f->options_.runtime->election_timeout_us(), 1000);
  if (!StartPeriodicTimer(f->epoll_fd_, f->leader_timer_fd_, absl::Microseconds(every_us))) {
    return absl::InternalError("gRPC front end: the leader check's timer failed");
  }
  if (!StartPeriodicTimer(f->epoll_fd_, f->keepalive_timer_fd_, KeepaliveTick(f->options_.keepalive))) {
    return absl::InternalError("gRPC front end: the keepalive timer failed");
  }
  f->ended_->wake_fd = f->wake_fd_;
  f->stub_ = std::make_unique<grpc::GenericStub>(f->options_.fallback);
  f->thread_ = std::thread([p = f.get()] {
    pthread_setname_np(pthread_self(), "detcd-h2");
    p->Loop();
  });
  return f;
}

GrpcFrontEnd::GrpcFrontEnd(GrpcFrontEndOptions options) : options_(std::move(options)) {}

GrpcFrontEnd::~GrpcFrontEnd() {
  Stop();
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
  if (leader_timer_fd_ >= 0) close(leader_timer_fd_);
  if (keepalive_timer_fd_ >= 0) close(keepalive_timer_fd_);
}

void GrpcFrontEnd::Adopt(int fd, const std::string& verified_common_name) {
  GrpcH2Connection::Options o;
  o.peer_common_name = verified_common_name;
  o.max_message_bytes = options_.max_message_bytes;
  o.max_concurrent_streams = options_.max_concurrent_streams;
  o.keepalive = options_.keepalive;
  o.metrics = metrics_;
  const int epoll_fd = epoll_fd_;
  o.interest = [epoll_fd](int socket, bool read, bool write) {
    epoll_event ev{};
    ev.events = Interest(read, write);
    ev.data.fd = socket;
    (void)epoll_ctl(epoll_fd, EPOLL_CTL_MOD, socket, &ev);  // fails harmlessly once the loop let go of it
  };
  std::lock_guard<std::mutex> l(mu_);
  if (stopped_) {
    close(fd);
    return;
  }
  std::shared_ptr<GrpcH2Connection> c = GrpcH2Connection::Create(fd, std::move(o));
  connections_[fd] = c;
  epoll_event ev{};
  ev.events = Interest(true, false);
  ev.data.fd = fd;
  DETCD_CHECK_MSG(epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &ev) == 0, "epoll_ctl ADD of a new connection failed");
}

void GrpcFrontEnd::Stop() {
  std::vector<std::shared_ptr<GrpcH2Connection>> open;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopped_) return;
    stopped_ = true;
    for (auto& [fd, c] : connections_) open.push_back(c);
  }
  // Every connection closes; the loop sees each go and cancels its calls, passed-through ones included.
  for (const std::shared_ptr<GrpcH2Connection>& c : open) c->Shutdown();
  {
    std::unique_lock<std::mutex> l(proxies_mu_);
    proxies_cv_.wait(l, [this] { return proxies_ == 0; });
  }
  stopping_ = true;
  const uint64_t one = 1;
  (void)!write(wake_fd_, &one, sizeof(one));
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard<std::mutex> l(ended_->mu);
    ended_->open = false;  // a stream ending later (the member stopping after this) has nobody to tell
  }
  std::map<CallKey, Call> calls;
  std::map<int, std::shared_ptr<GrpcH2Connection>> connections;
  {
    std::lock_guard<std::mutex> l(mu_);
    calls.swap(calls_);
    connections.swap(connections_);
  }
}

void GrpcFrontEnd::Loop() {
  epoll_event events[64];
  bool busy = false;
  while (!stopping_.load()) {
    int n = 0;
    if (busy) {
      // After a busy round, poll a little before sleeping: under load the next requests come within microseconds,
      // and a request that finds this thread asleep costs a wake-up — paid by the client's send, and by this
      // thread's context switch. Measured (1 member, 256 clients, put): 1.2x the requests for less CPU on both sides.
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(kSpinUs);
      while ((n = epoll_wait(epoll_fd_, events, 64, 0)) == 0 && std::chrono::steady_clock::now() < until) {
      }
    }
    if (n == 0) n = epoll_wait(epoll_fd_, events, 64, -1);
    busy = n > 0;
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == leader_timer_fd_) {
        uint64_t expirations;
        (void)!read(leader_timer_fd_, &expirations, sizeof(expirations));
        CheckLeader();
        continue;
      }
      if (fd == keepalive_timer_fd_) {
        uint64_t expirations;
        (void)!read(keepalive_timer_fd_, &expirations, sizeof(expirations));
        CheckKeepalive();
        continue;
      }
      if (fd == wake_fd_) {
        uint64_t v;
        (void)!read(wake_fd_, &v, sizeof(v));
        // Streams and passed-through calls that ended let go here, on the loop's thread (never inside their own end,
        // which StopStreams may be running).
        std::vector<CallKey> keys;
        {
          std::lock_guard<std::mutex> l(ended_->mu);
          keys.swap(ended_->keys);
        }
        std::vector<Call> gone;
        std::lock_guard<std::mutex> l(mu_);
        for (const CallKey& key : keys) {
          auto it = calls_.find(key);
          if (it == calls_.end()) continue;
          gone.push_back(std::move(it->second));
          calls_.erase(it);
        }
        continue;
      }
      std::shared_ptr<GrpcH2Connection> c;
      {
        std::lock_guard<std::mutex> l(mu_);
        auto it = connections_.find(fd);
        if (it == connections_.end()) continue;
        c = it->second;
      }
      if (events[i].events & EPOLLOUT) c->OnWritable();
      if (!(events[i].events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))) continue;
      bool closed = false;
      std::vector<GrpcH2Connection::Event> got = c->Read(&closed);
      {
        // What the member answers at once (a serializable read run here) leaves with one write per connection.
        GrpcH2Connection::Batch batch;
        for (GrpcH2Connection::Event& e : got) Handle(c, e);
      }
      if (closed) {
        (void)epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
        std::lock_guard<std::mutex> l(mu_);
        connections_.erase(fd);
        // Its calls all had their cancel among the events above.
      }
    }
  }
}

void GrpcFrontEnd::CheckLeader() {
  checks_without_leader_ = options_.runtime->leader() == 0 ? checks_without_leader_ + 1 : 0;
  if (checks_without_leader_ < kChecksWithoutLeaderMax) return;
  std::vector<Call> open;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [key, call] : calls_) {
      if (call.require_leader) open.push_back(call);
    }
  }
  // Ended outside the lock: each then queues itself to be erased by this loop.
  for (Call& call : open) {
    if (call.stream != nullptr) call.stream->Abort(grpc::Status(grpc::StatusCode::UNAVAILABLE, kNoLeader));
    if (call.proxy != nullptr) call.proxy->Abort(kUnavailable, kNoLeader);
  }
}

void GrpcFrontEnd::CheckKeepalive() {
  std::vector<std::shared_ptr<GrpcH2Connection>> open;
  {
    std::lock_guard<std::mutex> l(mu_);
    open.reserve(connections_.size());
    for (auto& [fd, c] : connections_) open.push_back(c);
  }
  // Outside the lock: a connection's drained callbacks may run (a ping's flush) and take it.
  for (const std::shared_ptr<GrpcH2Connection>& c : open) c->Keepalive();
}

void GrpcFrontEnd::StartCall(const std::shared_ptr<GrpcH2Connection>& c, const GrpcH2Connection::Event& e) {
  const CallKey key(c->serial(), e.stream);
  {
    std::lock_guard<std::mutex> l(mu_);
    DETCD_CHECK_MSG(calls_.count(key) == 0, "a stream id used twice on one connection");
  }
  const bool require_leader = RequiresLeader(e.metadata);
  if (require_leader && options_.runtime->leader() == 0) {
    // Refused before it starts (what the client sends on it after this is dropped: no call is known by its key).
    c->Finish(e.stream, kUnavailable, kNoLeader);
    return;
  }
  if (const int field = NativeField(e.method); field != 0) {
    kvpb::RequestAuth auth = Credentials(*c, e.metadata);
    std::lock_guard<std::mutex> l(mu_);
    Call& call = calls_[key];
    call.field = field;
    call.auth = std::move(auth);
    return;
  }
  // A stream or a passed-through call ends on its own (any thread): the loop erases it then.
  auto ended = [queue = ended_, key] {
    std::lock_guard<std::mutex> l(queue->mu);
    if (!queue->open) return;
    queue->keys.push_back(key);
    const uint64_t one = 1;
    (void)!write(queue->wake_fd, &one, sizeof(one));
  };
  Call call;
  call.require_leader = require_leader && IsStreaming(e.path);
  if (options_.services != nullptr && e.path == "/etcdserverpb.Watch/Watch") {
    call.stream = StartWatchStream(options_.services, c, e.stream, ended, Credentials(*c, e.metadata));
  } else if (options_.services != nullptr && e.path == "/etcdserverpb.Lease/LeaseKeepAlive") {
    call.stream = StartKeepAliveStream(options_.services, c, e.stream, ended);
  } else {
    {
      std::lock_guard<std::mutex> l(proxies_mu_);
      ++proxies_;
    }
    // The member's gRPC server learns of a verified certificate's common name from metadata only this front end
    // writes (a client's own "detcd-client-cn" is dropped).
    GrpcH2Connection::Event passed = e;
    passed.metadata.erase(std::remove_if(passed.metadata.begin(), passed.metadata.end(),
                                         [](const auto& kv) { return kv.first == kClientCnMetadata; }),
                          passed.metadata.end());
    if (options_.client_cert_auth && !c->peer_common_name().empty()) {
      passed.metadata.emplace_back(kClientCnMetadata, c->peer_common_name());
    }
    call.proxy = GrpcProxyCall::Start(stub_.get(), c, passed, [this, ended] {
      ended();
      std::lock_guard<std::mutex> l(proxies_mu_);
      if (--proxies_ == 0) proxies_cv_.notify_all();
    });
  }
  std::lock_guard<std::mutex> l(mu_);
  calls_[key] = std::move(call);  // erased by the loop after `ended` (which queues, so it comes after this)
}

void GrpcFrontEnd::Handle(const std::shared_ptr<GrpcH2Connection>& c, GrpcH2Connection::Event& e) {
  using Kind = GrpcH2Connection::Event::Kind;
  if (e.kind == Kind::kCall) return StartCall(c, e);
  const CallKey key(c->serial(), e.stream);
  std::shared_ptr<FrontStream> stream;
  std::shared_ptr<GrpcProxyCall> proxy;
  int field = 0;
  std::string message;
  kvpb::RequestAuth auth;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto it = calls_.find(key);
    if (it == calls_.end()) return;  // a unary call already with the member, or a call that ended
    Call& call = it->second;
    stream = call.stream;
    proxy = call.proxy;
    if (stream == nullptr && proxy == nullptr) {  // a native unary call, being read
      switch (e.kind) {
        case Kind::kMessage:
          if (call.has_message) {
            calls_.erase(it);
            c->Finish(e.stream, kInternal, "grpc: too many request messages for a unary call");
            return;
          }
          call.has_message = true;
          call.message = std::move(e.message);
          return;
        case Kind::kHalfClose:
          if (!call.has_message) {
            calls_.erase(it);
            c->Finish(e.stream, kInternal, "grpc: a unary call without its request message");
            return;
          }
          field = call.field;
          message = std::move(call.message);
          auth = std::move(call.auth);
          calls_.erase(it);
          break;
        case Kind::kCancel:
          calls_.erase(it);
          return;
        case Kind::kCall:
          return;
      }
    }
  }
  if (field != 0) return SubmitUnary(c, e.stream, field, message, std::move(auth));
  switch (e.kind) {
    case Kind::kMessage:
      if (stream != nullptr) stream->Message(e.message);
      if (proxy != nullptr) proxy->Message(e.message);
      return;
    case Kind::kHalfClose:
      if (stream != nullptr) stream->HalfClose();
      if (proxy != nullptr) proxy->HalfClose();
      return;
    case Kind::kCancel:
      if (stream != nullptr) stream->Cancel();
      if (proxy != nullptr) proxy->Cancel();
      return;
    case Kind::kCall:
      return;
  }
}

kvpb::RequestAuth GrpcFrontEnd::Credentials(const GrpcH2Connection& c,
                                            const std::vector<std::pair<std::string, std::string>>& metadata) const {
  // Only the token keys: a client's own kClientCnMetadata is never taken (that key is this front end's to write).
  std::vector<std::pair<std::string, std::string>> tokens;
  for (const auto& kv : metadata) {
    if (kv.first == "token" || kv.first == "authorization") tokens.push_back(kv);
  }
  if (!tokens.empty() && options_.services != nullptr) return options_.services->CredentialsOf(tokens);
  kvpb::RequestAuth auth;
  if (options_.client_cert_auth && !c.peer_common_name().empty()) {
    auth.set_username(c.peer_common_name());
    auth.set_certificate(true);
  }
  return auth;
}

void GrpcFrontEnd::SubmitUnary(const std::shared_ptr<GrpcH2Connection>& c, int32_t stream, int field,
                               const std::string& message, kvpb::RequestAuth auth) {
  const NativeFields& fields = FieldsOf(field);
  kvpb::ClientRequest r;
  if (auth.ByteSizeLong() > 0) *r.mutable_auth() = std::move(auth);
  if (!r.GetReflection()->MutableMessage(&r, fields.request)->ParseFromString(message)) {
    const grpc::Status s = UnmarshalError();
    c->Finish(stream, static_cast<int>(s.error_code()), s.error_message());
    return;
  }
  const auto asked = static_cast<kvpb::ClientRequest::RequestCase>(field);
  options_.runtime->Submit(std::move(r), [c, stream, out = fields.response, asked](kv::ClientReply reply) {
    kvpb::ClientResponse answer;
    const grpc::Status s = EtcdServices::Shared::Accept(asked, reply, &answer);
    if (!s.ok()) {
      c->Finish(stream, static_cast<int>(s.error_code()), s.error_message());
      return;
    }
    DETCD_CHECK_MSG(answer.GetReflection()->HasField(answer, out),
                    "the member answered with a response of another kind");
    std::string bytes;
    answer.GetReflection()->GetMessage(answer, out).SerializeToString(&bytes);
    c->Send(stream, bytes);
    c->Finish(stream, 0, "");
  });
}

}  // namespace detcd::net
