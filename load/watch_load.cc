#include "load/watch_load.h"

#include <atomic>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "base/check.h"
#include "load/connections.h"
#include "load/countdown.h"
#include "load/unary_load.h"
#include "load/value_stamp.h"

namespace detcd::load {
namespace {

// One Watch stream on ["0", ":"): writes the create request, then reads until stopped. Its Tally holds the
// latency of every event it received.
class Watcher {
 public:
  Watcher(etcdserverpb::Watch::Stub* stub, grpc::CompletionQueue* cq, Countdown* created, Countdown* finished,
          std::atomic<uint64_t>* events)
      : stub_(stub), cq_(cq), created_(created), finished_(finished), events_(events) {}

  void Start() {
    stream_ = stub_->PrepareAsyncWatch(&ctx_, cq_);
    stream_->StartCall(&started_tag_);
  }
  // From the main thread: end the stream; the watcher counts `finished` down once it has.
  void Stop() {
    stopping_ = true;
    ctx_.TryCancel();
  }
  const Tally& tally() const { return tally_; }

 private:
  void OnStarted(bool ok) {
    if (!ok) return Finish();
    etcdserverpb::WatchCreateRequest* create = request_.mutable_create_request();
    create->set_key(KeySpace::kRangeBegin);
    create->set_range_end(KeySpace::kRangeEnd);
    write_pending_ = true;
    stream_->Write(request_, &wrote_tag_);
    stream_->Read(&response_, &read_tag_);
  }
  void OnWrote(bool) {
    write_pending_ = false;
    if (read_ended_) Finish();
  }
  void OnRead(bool ok) {
    if (!ok) {
      read_ended_ = true;
      if (!write_pending_) Finish();
      return;
    }
    if (response_.created() && !created_seen_) {
      created_seen_ = true;
      created_->Done();
    }
    if (response_.canceled()) tally_.Fail(absl::StrCat("watch canceled: ", response_.cancel_reason()));
    const int64_t now_ns = SteadyNowNs();
    for (const auto& event : response_.events()) {
      int64_t sent_ns = 0;
      if (!ReadStamp(event.kv().value(), &sent_ns)) continue;  // not one of this run's puts
      tally_.Ok(static_cast<double>(now_ns - sent_ns) / 1e6);
      events_->fetch_add(1, std::memory_order_relaxed);
    }
    stream_->Read(&response_, &read_tag_);
  }
  void Finish() { stream_->Finish(&status_, &finished_tag_); }
  void OnFinished(bool) {
    if (!stopping_) tally_.Fail(absl::StrCat("watch stream ended: ", ErrorText(status_)));
    if (!created_seen_) created_->Done();  // never created: do not keep the run waiting for it
    finished_->Done();
  }

  etcdserverpb::Watch::Stub* stub_;
  grpc::CompletionQueue* cq_;
  Countdown* created_;
  Countdown* finished_;
  std::atomic<uint64_t>* events_;
  grpc::ClientContext ctx_;
  std::unique_ptr<grpc::ClientAsyncReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>> stream_;
  etcdserverpb::WatchRequest request_;
  etcdserverpb::WatchResponse response_;
  grpc::Status status_;
  std::atomic<bool> stopping_{false};
  bool created_seen_ = false;
  bool write_pending_ = false;
  bool read_ended_ = false;
  Tally tally_;
  MemberTag<Watcher> started_tag_{this, &Watcher::OnStarted};
  MemberTag<Watcher> wrote_tag_{this, &Watcher::OnWrote};
  MemberTag<Watcher> read_tag_{this, &Watcher::OnRead};
  MemberTag<Watcher> finished_tag_{this, &Watcher::OnFinished};
};

}  // namespace

WatchOutcome RunWatch(const LoadOptions& opt, const std::vector<std::shared_ptr<grpc::Channel>>& channels,
                      CompletionThreads* threads, KeySpace* keys) {
  DETCD_CHECK(opt.watchers >= 1);
  std::vector<std::unique_ptr<etcdserverpb::Watch::Stub>> stubs;
  for (const auto& channel : channels) stubs.push_back(etcdserverpb::Watch::NewStub(channel));
  Countdown created(opt.watchers), finished(opt.watchers);
  std::atomic<uint64_t> events{0};
  std::vector<std::unique_ptr<Watcher>> watchers;
  for (int i = 0; i < opt.watchers; ++i) {
    watchers.push_back(
        std::make_unique<Watcher>(stubs[i % stubs.size()].get(), threads->queue(i), &created, &finished, &events));
  }
  for (auto& w : watchers) w->Start();
  WatchOutcome out;
  if (!created.WaitFor(absl::ToChronoNanoseconds(opt.timeout) + std::chrono::seconds(5))) {
    out.events.Fail("watch not created in time");
  }

  UnaryPlan writers;
  writers.workload = Workload::kPut;
  writers.clients = opt.clients;
  writers.total = opt.total;
  writers.duration = (opt.total == 0 || opt.duration_set) ? opt.duration : absl::InfiniteDuration();
  writers.stamp_values = true;
  const auto start = std::chrono::steady_clock::now();
  UnaryOutcome puts = RunUnary(opt, writers, channels, threads, keys);
  out.puts = puts.tally.ok();
  const uint64_t expected = out.puts * static_cast<uint64_t>(opt.watchers);
  const auto wait_end = std::chrono::steady_clock::now() + absl::ToChronoNanoseconds(opt.timeout);
  while (events.load() < expected && std::chrono::steady_clock::now() < wait_end) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (auto& w : watchers) w->Stop();
  finished.Wait();

  for (const auto& w : watchers) out.events.Merge(w->tally());
  out.events.MergeFailures(puts.tally);
  const uint64_t received = events.load();
  if (received < expected) out.events.Fail("event not received within --timeout of the last put", expected - received);
  return out;
}

}  // namespace detcd::load
