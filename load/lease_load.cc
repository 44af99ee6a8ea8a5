#include "load/lease_load.h"

#include <atomic>
#include <chrono>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "base/check.h"
#include "load/connections.h"
#include "load/countdown.h"
#include "load/request_budget.h"
#include "load/value_stamp.h"

namespace detcd::load {
namespace {

constexpr int64_t kLeaseTtlSeconds = 60;
constexpr auto kBackoff = std::chrono::milliseconds(10);
constexpr char kTimedOut[] = "keep-alive: no answer within --timeout";

class KeepAliveClient {
 public:
  KeepAliveClient(etcdserverpb::Lease::Stub* stub, grpc::CompletionQueue* cq, int64_t lease, RequestBudget* budget,
                  Countdown* finished)
      : stub_(stub), cq_(cq), lease_(lease), budget_(budget), finished_(finished) {}

  void Open() {
    {
      std::lock_guard<std::mutex> l(ctx_mu_);
      ctx_ = std::make_unique<grpc::ClientContext>();
      stream_ = stub_->PrepareAsyncLeaseKeepAlive(ctx_.get(), cq_);
    }
    stream_->StartCall(&started_tag_);
  }

  // From the main thread: cancels the round trip in flight if it has lasted longer than `timeout_ns`.
  void CancelIfLate(int64_t now_ns, int64_t timeout_ns) {
    const int64_t since = sent_ns_.load();
    if (since == 0 || now_ns - since <= timeout_ns) return;
    std::lock_guard<std::mutex> l(ctx_mu_);
    timed_out_ = true;
    ctx_->TryCancel();
  }

  const Tally& tally() const { return tally_; }

 private:
  void OnStarted(bool ok) {
    if (!ok) return Finish();
    Send();
  }
  void Send() {
    if (!budget_->Take()) {
      stopping_ = true;
      {
        std::lock_guard<std::mutex> l(ctx_mu_);
        ctx_->TryCancel();
      }
      return Finish();
    }
    request_.set_id(lease_);
    start_ = std::chrono::steady_clock::now();
    sent_ns_ = SteadyNowNs();
    stream_->Write(request_, &wrote_tag_);
  }
  void OnWrote(bool ok) {
    if (!ok) return Finish();
    stream_->Read(&response_, &read_tag_);
  }
  void OnRead(bool ok) {
    sent_ns_ = 0;
    if (!ok) return Finish();
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
    if (response_.ttl() > 0) {
      tally_.Ok(ms);
    } else {
      tally_.Fail("keep-alive: lease not found (TTL 0)");
    }
    Send();
  }
  void Finish() {
    sent_ns_ = 0;
    stream_->Finish(&status_, &finished_tag_);
  }
  void OnFinished(bool) {
    if (stopping_) {
      finished_->Done();
      return;
    }
    bool timed_out;
    {
      std::lock_guard<std::mutex> l(ctx_mu_);
      timed_out = timed_out_;
      timed_out_ = false;
    }
    tally_.Fail(timed_out ? std::string(kTimedOut) : absl::StrCat("keep-alive stream: ", ErrorText(status_)));
    backoff_ = std::make_unique<grpc::Alarm>();
    backoff_->Set(cq_, std::chrono::system_clock::now() + kBackoff, &reopen_tag_);
  }
  void OnBackoff(bool) { Open(); }

  etcdserverpb::Lease::Stub* stub_;
  grpc::CompletionQueue* cq_;
  const int64_t lease_;
  RequestBudget* budget_;
  Countdown* finished_;
  std::mutex ctx_mu_;  // ctx_ is replaced on the queue's thread and cancelled from the main thread
  std::unique_ptr<grpc::ClientContext> ctx_;
  bool timed_out_ = false;  // guarded by ctx_mu_
  std::unique_ptr<grpc::ClientAsyncReaderWriter<etcdserverpb::LeaseKeepAliveRequest,
                                                etcdserverpb::LeaseKeepAliveResponse>>
      stream_;
  etcdserverpb::LeaseKeepAliveRequest request_;
  etcdserverpb::LeaseKeepAliveResponse response_;
  grpc::Status status_;
  bool stopping_ = false;
  std::atomic<int64_t> sent_ns_{0};  // when the round trip in flight started; 0: none
  std::chrono::steady_clock::time_point start_;
  std::unique_ptr<grpc::Alarm> backoff_;
  Tally tally_;
  MemberTag<KeepAliveClient> started_tag_{this, &KeepAliveClient::OnStarted};
  MemberTag<KeepAliveClient> wrote_tag_{this, &KeepAliveClient::OnWrote};
  MemberTag<KeepAliveClient> read_tag_{this, &KeepAliveClient::OnRead};
  MemberTag<KeepAliveClient> finished_tag_{this, &KeepAliveClient::OnFinished};
  MemberTag<KeepAliveClient> reopen_tag_{this, &KeepAliveClient::OnBackoff};
};

}  // namespace

LeaseOutcome RunLeaseKeepalive(const LoadOptions& opt, const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                               CompletionThreads* threads) {
  std::vector<std::unique_ptr<etcdserverpb::Lease::Stub>> stubs;
  for (const auto& channel : channels) stubs.push_back(etcdserverpb::Lease::NewStub(channel));
  LeaseOutcome out;
  std::vector<int64_t> leases;
  for (int i = 0; i < opt.clients; ++i) {  // untimed set-up
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(opt.timeout));
    etcdserverpb::LeaseGrantRequest req;
    req.set_ttl(kLeaseTtlSeconds);
    etcdserverpb::LeaseGrantResponse resp;
    const grpc::Status s = stubs[i % stubs.size()]->LeaseGrant(&ctx, req, &resp);
    if (s.ok()) {
      leases.push_back(resp.id());
    } else {
      out.tally.Fail(absl::StrCat("lease grant: ", ErrorText(s)));
    }
  }
  if (leases.empty()) return out;

  const auto start = std::chrono::steady_clock::now();
  const auto deadline = (opt.total == 0 || opt.duration_set) ? start + absl::ToChronoNanoseconds(opt.duration)
                                                             : std::chrono::steady_clock::time_point::max();
  RequestBudget budget(opt.total, deadline);
  Countdown finished(static_cast<int>(leases.size()));
  std::vector<std::unique_ptr<KeepAliveClient>> clients;
  for (size_t i = 0; i < leases.size(); ++i) {
    clients.push_back(std::make_unique<KeepAliveClient>(stubs[i % stubs.size()].get(),
                                                        threads->queue(static_cast<int>(i)), leases[i], &budget,
                                                        &finished));
  }
  for (auto& c : clients) c->Open();
  const int64_t timeout_ns = absl::ToInt64Nanoseconds(opt.timeout);
  while (!finished.WaitFor(std::chrono::milliseconds(20))) {
    const int64_t now_ns = SteadyNowNs();
    for (auto& c : clients) c->CancelIfLate(now_ns, timeout_ns);
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const auto& c : clients) out.tally.Merge(c->tally());
  return out;
}

}  // namespace detcd::load
