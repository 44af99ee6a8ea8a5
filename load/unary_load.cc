#include "load/unary_load.h"

#include <chrono>

#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "base/check.h"
#include "base/prng.h"
#include "load/connections.h"
#include "load/countdown.h"
#include "load/request_budget.h"
#include "load/value_stamp.h"

namespace detcd::load {
namespace {

// A failed request is followed by this pause, so a client facing a refused connection does not spin.
constexpr auto kBackoff = std::chrono::milliseconds(10);

struct Shared {
  const LoadOptions* opt;
  const UnaryPlan* plan;
  KeySpace* keys;
  RequestBudget* budget;
  Countdown* finished;
};

// One client: sends a request, on its answer records it and sends the next, until the budget says stop.
class UnaryClient final : public Pending {
 public:
  UnaryClient(const Shared* shared, etcdserverpb::KV::Stub* stub, grpc::CompletionQueue* cq, uint64_t seed)
      : shared_(shared), stub_(stub), cq_(cq), prng_(seed) {
    value_.resize(shared->opt->val_size);
    for (char& c : value_) c = static_cast<char>('a' + prng_.Uniform(26));
  }

  void Send() {
    if (!shared_->budget->Take()) {
      shared_->finished->Done();
      return;
    }
    ctx_ = std::make_unique<grpc::ClientContext>();
    ctx_->set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(shared_->opt->timeout));
    AddToken(ctx_.get(), shared_->opt->token);
    status_ = grpc::Status();
    const std::string key = shared_->keys->Pick(&prng_);
    start_ = std::chrono::steady_clock::now();
    switch (shared_->plan->workload) {
      case Workload::kPut:
        put_.set_key(key);
        put_.set_value(shared_->plan->stamp_values ? StampedValue(SteadyNowNs(), shared_->opt->val_size) : value_);
        put_call_ = stub_->PrepareAsyncPut(ctx_.get(), put_, cq_);
        put_call_->StartCall();
        put_call_->Finish(&put_resp_, &status_, this);
        break;
      case Workload::kRange:
      case Workload::kRangeSerializable:
        range_.set_key(key);
        range_.set_serializable(shared_->plan->workload == Workload::kRangeSerializable);
        range_call_ = stub_->PrepareAsyncRange(ctx_.get(), range_, cq_);
        range_call_->StartCall();
        range_call_->Finish(&range_resp_, &status_, this);
        break;
      case Workload::kTxnPut: {
        txn_.Clear();
        etcdserverpb::PutRequest* put = txn_.add_success()->mutable_request_put();
        put->set_key(key);
        put->set_value(value_);
        txn_call_ = stub_->PrepareAsyncTxn(ctx_.get(), txn_, cq_);
        txn_call_->StartCall();
        txn_call_->Finish(&txn_resp_, &status_, this);
        break;
      }
      default:
        DETCD_CHECK_MSG(false, "not a unary workload");
    }
    // Nothing may touch this client after Finish: its completion may already be running on the queue's thread.
  }

  void Complete(bool ok) override {
    DETCD_CHECK(ok);  // unary Finish and alarms that fire always complete with ok
    if (backoff_) {
      backoff_.reset();
      Send();
      return;
    }
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start_).count();
    if (status_.ok()) {
      tally_.Ok(ms);
      Send();
      return;
    }
    tally_.Fail(ErrorText(status_));
    backoff_ = std::make_unique<grpc::Alarm>();
    backoff_->Set(cq_, std::chrono::system_clock::now() + kBackoff, this);
  }

  const Tally& tally() const { return tally_; }

 private:
  const Shared* shared_;
  etcdserverpb::KV::Stub* stub_;
  grpc::CompletionQueue* cq_;
  Prng prng_;
  std::string value_;
  std::unique_ptr<grpc::ClientContext> ctx_;
  grpc::Status status_;
  std::chrono::steady_clock::time_point start_;
  std::unique_ptr<grpc::Alarm> backoff_;
  Tally tally_;
  etcdserverpb::PutRequest put_;
  etcdserverpb::PutResponse put_resp_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<etcdserverpb::PutResponse>> put_call_;
  etcdserverpb::RangeRequest range_;
  etcdserverpb::RangeResponse range_resp_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<etcdserverpb::RangeResponse>> range_call_;
  etcdserverpb::TxnRequest txn_;
  etcdserverpb::TxnResponse txn_resp_;
  std::unique_ptr<grpc::ClientAsyncResponseReader<etcdserverpb::TxnResponse>> txn_call_;
};

}  // namespace

UnaryOutcome RunUnary(const LoadOptions& opt, const UnaryPlan& plan,
                      const std::vector<std::shared_ptr<grpc::Channel>>& channels, CompletionThreads* threads,
                      KeySpace* keys) {
  DETCD_CHECK(plan.clients >= 1);
  DETCD_CHECK(!channels.empty());
  std::vector<std::unique_ptr<etcdserverpb::KV::Stub>> stubs;
  for (const auto& channel : channels) stubs.push_back(etcdserverpb::KV::NewStub(channel));
  const auto start = std::chrono::steady_clock::now();
  const auto deadline = plan.duration == absl::InfiniteDuration()
                            ? std::chrono::steady_clock::time_point::max()
                            : start + absl::ToChronoNanoseconds(plan.duration);
  RequestBudget budget(plan.total, deadline);
  Countdown finished(plan.clients);
  const Shared shared{&opt, &plan, keys, &budget, &finished};
  std::vector<std::unique_ptr<UnaryClient>> clients;
  for (int i = 0; i < plan.clients; ++i) {
    clients.push_back(std::make_unique<UnaryClient>(&shared, stubs[i % stubs.size()].get(), threads->queue(i),
                                                    0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(i + 1)));
  }
  for (auto& client : clients) client->Send();
  finished.Wait();
  UnaryOutcome out;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const auto& client : clients) out.tally.Merge(client->tally());
  return out;
}

}  // namespace detcd::load
