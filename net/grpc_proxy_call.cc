#include "net/grpc_proxy_call.h"

#include <chrono>
#include <utility>

#include "absl/time/clock.h"
#include "base/check.h"

namespace detcd::net {

std::shared_ptr<GrpcProxyCall> GrpcProxyCall::Start(grpc::GenericStub* stub,
                                                    std::shared_ptr<GrpcH2Connection> connection,
                                                    const GrpcH2Connection::Event& call, std::function<void()> done) {
  DETCD_CHECK(call.kind == GrpcH2Connection::Event::Kind::kCall);
  std::shared_ptr<GrpcProxyCall> p(new GrpcProxyCall(std::move(connection), call.stream, std::move(done)));
  for (const auto& [key, value] : call.metadata) p->ctx_.AddMetadata(key, value);
  if (call.timeout) p->ctx_.set_deadline(absl::ToChronoTime(absl::Now() + *call.timeout));
  p->self_ = p;
  stub->PrepareBidiStreamingCall(&p->ctx_, call.path, grpc::StubOptions(), p.get());
  // Held while the client may still send (Message, HalfClose come from outside gRPC's reactions): no OnDone before.
  p->AddHold();
  p->StartRead(&p->in_);
  p->StartCall();
  return p;
}

// gRPC may run a reaction inline on the thread that starts an operation: none is started under mu_.

void GrpcProxyCall::Message(const std::string& bytes) {
  grpc::ByteBuffer* start = nullptr;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (client_done_ || half_closed_) return;
    grpc::Slice slice(bytes);
    to_write_.emplace_back(&slice, 1);
    if (!writing_) {
      writing_ = true;
      start = &to_write_.front();  // a deque's elements stay where they are as others are added behind them
    }
  }
  if (start != nullptr) StartWrite(start);
}

void GrpcProxyCall::HalfClose() {
  bool writes_done = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (client_done_ || half_closed_) return;
    half_closed_ = true;
    if (!writing_) writes_done = client_done_ = true;
  }
  if (writes_done) {
    StartWritesDone();
    RemoveHold();
  }
}

void GrpcProxyCall::Cancel() {
  ctx_.TryCancel();
  bool release = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    release = !std::exchange(client_done_, true);
  }
  if (release) RemoveHold();
}

void GrpcProxyCall::Abort(int code, std::string message) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!abort_) abort_.emplace(code, std::move(message));
  }
  Cancel();
}

void GrpcProxyCall::OnWriteDone(bool ok) {
  grpc::ByteBuffer* next = nullptr;
  bool writes_done = false;
  bool release = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    DETCD_CHECK(writing_ && !to_write_.empty());
    to_write_.pop_front();
    if (!ok || client_done_ || server_done_) {
      writing_ = false;  // the call is over, cancelled or finished by the server: nothing more goes to it
      release = !std::exchange(client_done_, true);
    } else if (!to_write_.empty()) {
      next = &to_write_.front();
    } else {
      writing_ = false;
      if (half_closed_) writes_done = release = client_done_ = true;
    }
  }
  if (next != nullptr) StartWrite(next);
  if (writes_done) StartWritesDone();
  if (release) RemoveHold();
}

void GrpcProxyCall::OnReadDone(bool ok) {
  if (!ok) {
    // The server finished the call (its status follows in OnDone): the client's side is over too, unless a write is
    // in flight (its completion lets go then).
    bool release = false;
    {
      std::lock_guard<std::mutex> l(mu_);
      server_done_ = true;
      release = !writing_ && !std::exchange(client_done_, true);
    }
    if (release) RemoveHold();
    return;
  }
  std::vector<grpc::Slice> slices;
  std::string bytes;
  if (in_.Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices) bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
  }
  if (connection_->Send(stream_, bytes) > 0) {
    // The client has not taken all that was sent (its window is full): the next message waits in the server, which
    // then sends a lagging watcher fewer, larger responses and holds a large stream (a snapshot) to what is read.
    AddHold();
    GrpcProxyCall* self = this;
    connection_->OnDrained(stream_, 0, [self] {
      self->StartRead(&self->in_);
      self->RemoveHold();
    });
    return;
  }
  StartRead(&in_);
}

void GrpcProxyCall::OnDone(const grpc::Status& status) {
  std::shared_ptr<GrpcProxyCall> me;
  std::optional<std::pair<int, std::string>> abort;
  {
    std::lock_guard<std::mutex> l(mu_);
    me = std::move(self_);
    abort = abort_;
  }
  if (abort) {
    connection_->Finish(stream_, abort->first, abort->second);
  } else {
    connection_->Finish(stream_, static_cast<int>(status.error_code()), status.error_message());
  }
  done_fn_();
}

}  // namespace detcd::net
