#include "net/grpc_generic_call.h"

#include <future>
#include <utility>

#include "absl/time/clock.h"
#include "base/check.h"

namespace detcd::net {

namespace {

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

bool FromBuffer(const grpc::ByteBuffer& buffer, std::string* bytes) {
  std::vector<grpc::Slice> slices;
  if (!buffer.Dump(&slices).ok()) return false;
  bytes->clear();
  for (const grpc::Slice& s : slices) bytes->append(reinterpret_cast<const char*>(s.begin()), s.size());
  return true;
}

}  // namespace

grpc::Status GrpcUnaryCall(grpc::GenericStub* stub, const std::string& method, const std::string& request,
                           std::optional<absl::Duration> timeout, std::string* response,
                           const GrpcMetadata& metadata) {
  grpc::ClientContext ctx;
  for (const auto& [k, v] : metadata) ctx.AddMetadata(k, v);
  if (timeout) ctx.set_deadline(absl::ToChronoTime(absl::Now() + *timeout));
  const grpc::ByteBuffer in = ToBuffer(request);
  grpc::ByteBuffer out;
  std::promise<grpc::Status> done;
  stub->UnaryCall(&ctx, method, grpc::StubOptions(), &in, &out, [&done](grpc::Status s) { done.set_value(s); });
  grpc::Status s = done.get_future().get();
  if (s.ok() && !FromBuffer(out, response)) return grpc::Status(grpc::StatusCode::INTERNAL, "unreadable response");
  return s;
}

GrpcStreamCall::GrpcStreamCall(grpc::GenericStub* stub, const std::string& method, std::vector<std::string> requests,
                               const GrpcMetadata& metadata) {
  for (const auto& [k, v] : metadata) ctx_.AddMetadata(k, v);
  for (const std::string& r : requests) requests_.push_back(ToBuffer(r));
  stub->PrepareBidiStreamingCall(&ctx_, method, grpc::StubOptions(), this);
  // Held until the responses end (or this goes away): a read started by Take, after the one before was taken, must
  // never find the call already done.
  AddHold();
  held_ = true;
  reading_ = true;
  StartRead(&in_);
  WriteNext();
  StartCall();
}

GrpcStreamCall::~GrpcStreamCall() {
  ctx_.TryCancel();
  bool release = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    // An outstanding read ends (cancelled) and lets go of the hold itself.
    release = held_ && !reading_;
    if (release) held_ = false;
  }
  if (release) RemoveHold();
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait(l, [this] { return done_; });
}

void GrpcStreamCall::WriteNext() {
  if (written_ < requests_.size()) {
    StartWrite(&requests_[written_]);
  } else {
    StartWritesDone();
  }
}

void GrpcStreamCall::OnWriteDone(bool ok) {
  if (!ok) return;  // the call is over; OnDone says how
  ++written_;
  WriteNext();
}

void GrpcStreamCall::OnReadDone(bool ok) {
  bool release = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    DETCD_CHECK(reading_ && !response_.has_value());
    reading_ = false;
    std::string bytes;
    if (ok && FromBuffer(in_, &bytes)) {
      response_ = std::move(bytes);
    } else {
      release = held_;  // the responses ended: nothing more is read, the call may finish
      held_ = false;
    }
    cv_.notify_all();
  }
  if (release) RemoveHold();
}

void GrpcStreamCall::OnDone(const grpc::Status& status) {
  std::lock_guard<std::mutex> l(mu_);
  done_ = true;
  status_ = status;
  cv_.notify_all();
}

GrpcStreamCall::Next GrpcStreamCall::Take(absl::Duration wait, std::string* bytes) {
  bool read_more = false;
  {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait_for(l, absl::ToChronoMilliseconds(wait), [this] { return response_.has_value() || done_ || !reading_; });
    if (response_.has_value()) {
      *bytes = std::move(*response_);
      response_.reset();
      if (held_) read_more = reading_ = true;  // held: the call cannot be done before this read is started
    } else if (done_ && !reading_) {
      return Next::kOver;
    } else if (!reading_ && !done_) {
      // The last read found the end of the responses: only OnDone is left to come.
      cv_.wait_for(l, absl::ToChronoMilliseconds(wait), [this] { return done_; });
      return done_ ? Next::kOver : Next::kWaiting;
    } else {
      return Next::kWaiting;
    }
  }
  if (read_more) StartRead(&in_);  // the next only once this one was taken
  return Next::kResponse;
}

grpc::Status GrpcStreamCall::status() {
  std::lock_guard<std::mutex> l(mu_);
  DETCD_CHECK_MSG(done_, "a stream call's status before it is over");
  return status_;
}

}  // namespace detcd::net
