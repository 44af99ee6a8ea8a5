// EtcdServices end to end: a real single-member MemberRuntime (data directory under TEST_TMPDIR, real time, 10 ms
// ticks so it elects itself at once) behind a grpc::Server on 127.0.0.1, driven through etcd's generated stubs as
// etcdctl would: KV with prefixes, txn compare-and-swap, compaction and etcd's compacted error, watch (live and
// replayed from a past revision), leases with keep-alive, endpoint status, HashKV / Hash / MoveLeader, member list,
// and the unimplemented Auth.
#include "net/grpc_services.h"

#include <grpcpp/grpcpp.h>
#include <openssl/evp.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "gtest/gtest.h"
#include "net/member_runtime.h"
#include "net/test_client_port.h"
#include "net/test_member.h"
#include "storage/bbolt_test_reader.h"

namespace detcd::net {
namespace {

using etcdserverpb::Compare;
using mvccpb::Event;

constexpr char kVersion[] = "3.4.23";

// The key just past every key with this prefix (etcdctl --prefix).
std::string PrefixEnd(std::string prefix) {
  prefix.back() = static_cast<char>(prefix.back() + 1);
  return prefix;
}

// Each test runs twice: against the gRPC server itself (its own listening port), and as a client reaches the member
// in production — through the client port's ClientListener and GrpcFrontEnd (KV and unary Lease served there, the
// rest passed to the same gRPC server in-process), with the member's reply batches written together.
enum class Path { kGrpcServer, kFrontEnd };

class GrpcServicesTest : public testing::TestWithParam<Path> {
 protected:
  bool front_end() const { return GetParam() == Path::kFrontEnd; }

  void SetUp() override {
    runtime_ = StartLeadingSingleMember(CurrentTestName(), [this](MemberRuntimeOptions* o) {
      if (front_end()) TestClientPort::UseFrontEnd(o);
    });
    ASSERT_NE(runtime_, nullptr);

    GrpcServicesOptions so;
    so.version = kVersion;
    so.member_name = "infra1";
    so.peer_urls = {"http://127.0.0.1:2380"};
    so.client_urls = {"http://127.0.0.1:2379"};
    so.request_timeout = EtcdRequestTimeout(SingleMemberOptions("").core);
    services_ = std::make_unique<EtcdServices>(runtime_.get(), so);
    grpc::ServerBuilder builder;
    if (!front_end()) builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    services_->RegisterOn(builder);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    services_->Serve();
    if (front_end()) {
      client_port_ = TestClientPort::Start(runtime_.get(), services_.get(), server_.get());
      ASSERT_NE(client_port_, nullptr);
      port_ = client_port_->port();
    }
    ASSERT_GT(port_, 0);
    channel_ = grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
    kv_ = etcdserverpb::KV::NewStub(channel_);
    watch_ = etcdserverpb::Watch::NewStub(channel_);
    lease_ = etcdserverpb::Lease::NewStub(channel_);
  }

  void TearDown() override {
    if (client_port_ != nullptr) client_port_->Stop();
    if (services_ != nullptr) services_->StopStreams();
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    services_.reset();
    if (runtime_ != nullptr) runtime_->Stop();
  }

  // Every call gets a deadline so a broken server fails the test instead of hanging it.
  static void SetDeadline(grpc::ClientContext* context) {
    context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  }

  etcdserverpb::LeaseGrantResponse Grant(int64_t ttl) {
    etcdserverpb::LeaseGrantRequest request;
    request.set_ttl(ttl);
    etcdserverpb::LeaseGrantResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status s = lease_->LeaseGrant(&context, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_code() << ": " << s.error_message();
    return response;
  }

  etcdserverpb::PutResponse Put(const std::string& key, const std::string& value, int64_t lease = 0) {
    etcdserverpb::PutRequest request;
    request.set_key(key);
    request.set_value(value);
    request.set_lease(lease);
    etcdserverpb::PutResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status s = kv_->Put(&context, request, &response);
    EXPECT_TRUE(s.ok()) << s.error_code() << ": " << s.error_message();
    return response;
  }

  grpc::Status Range(const etcdserverpb::RangeRequest& request, etcdserverpb::RangeResponse* response) {
    grpc::ClientContext context;
    SetDeadline(&context);
    return kv_->Range(&context, request, response);
  }

  etcdserverpb::RangeResponse Get(const std::string& key, const std::string& range_end = "") {
    etcdserverpb::RangeRequest request;
    request.set_key(key);
    request.set_range_end(range_end);
    etcdserverpb::RangeResponse response;
    grpc::Status s = Range(request, &response);
    EXPECT_TRUE(s.ok()) << s.error_code() << ": " << s.error_message();
    return response;
  }

  std::unique_ptr<MemberRuntime> runtime_;
  std::unique_ptr<EtcdServices> services_;
  int port_ = 0;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<TestClientPort> client_port_;  // kFrontEnd only
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<etcdserverpb::KV::Stub> kv_;
  std::unique_ptr<etcdserverpb::Watch::Stub> watch_;
  std::unique_ptr<etcdserverpb::Lease::Stub> lease_;
};

TEST_P(GrpcServicesTest, PutGetDeleteWithPrefixes) {
  const int64_t start = Get("a/").header().revision();
  etcdserverpb::PutResponse put = Put("a/1", "x");
  EXPECT_EQ(put.header().revision(), start + 1);
  EXPECT_EQ(put.header().member_id(), 1u);
  EXPECT_EQ(put.header().cluster_id(), 0xc1u);
  EXPECT_GT(put.header().raft_term(), 0u);
  Put("a/2", "y");
  Put("b/1", "z");

  etcdserverpb::RangeResponse got = Get("a/", PrefixEnd("a/"));
  EXPECT_EQ(got.count(), 2);
  ASSERT_EQ(got.kvs_size(), 2);
  EXPECT_EQ(got.kvs(0).key(), "a/1");
  EXPECT_EQ(got.kvs(1).value(), "y");
  EXPECT_EQ(got.header().revision(), start + 3);

  etcdserverpb::DeleteRangeRequest del;
  del.set_key("a/");
  del.set_range_end(PrefixEnd("a/"));
  del.set_prev_kv(true);
  etcdserverpb::DeleteRangeResponse deleted;
  grpc::ClientContext context;
  SetDeadline(&context);
  ASSERT_TRUE(kv_->DeleteRange(&context, del, &deleted).ok());
  EXPECT_EQ(deleted.deleted(), 2);
  EXPECT_EQ(deleted.prev_kvs_size(), 2);
  EXPECT_EQ(Get("a/", PrefixEnd("a/")).count(), 0);
  EXPECT_EQ(Get("b/1").count(), 1);
}

TEST_P(GrpcServicesTest, EmptyKeyIsEtcdsError) {
  etcdserverpb::PutRequest request;
  request.set_value("v");
  etcdserverpb::PutResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  grpc::Status s = kv_->Put(&context, request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "etcdserver: key is not provided");
}

TEST_P(GrpcServicesTest, TxnCompareAndSwap) {
  const int64_t rev = Put("k", "v1").header().revision();
  auto cas = [&](const std::string& expected, const std::string& next) {
    etcdserverpb::TxnRequest txn;
    Compare* c = txn.add_compare();
    c->set_key("k");
    c->set_target(Compare::VALUE);
    c->set_result(Compare::EQUAL);
    c->set_value(expected);
    etcdserverpb::PutRequest* put = txn.add_success()->mutable_request_put();
    put->set_key("k");
    put->set_value(next);
    txn.add_failure()->mutable_request_range()->set_key("k");
    etcdserverpb::TxnResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status s = kv_->Txn(&context, txn, &response);
    EXPECT_TRUE(s.ok()) << s.error_message();
    return response;
  };

  etcdserverpb::TxnResponse first = cas("v1", "v2");
  EXPECT_TRUE(first.succeeded());
  EXPECT_EQ(first.header().revision(), rev + 1);
  etcdserverpb::TxnResponse second = cas("v1", "v3");
  EXPECT_FALSE(second.succeeded());
  ASSERT_EQ(second.responses_size(), 1);
  ASSERT_EQ(second.responses(0).response_range().kvs_size(), 1);
  EXPECT_EQ(second.responses(0).response_range().kvs(0).value(), "v2");
}

TEST_P(GrpcServicesTest, ReadAtACompactedRevisionIsOutOfRange) {
  Put("k", "1");
  const int64_t rev = Put("k", "2").header().revision();
  Put("k", "3");

  etcdserverpb::CompactionRequest compact;
  compact.set_revision(rev);
  etcdserverpb::CompactionResponse compacted;
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status s = kv_->Compact(&context, compact, &compacted);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_EQ(compacted.header().revision(), rev + 1);

  etcdserverpb::RangeRequest old;
  old.set_key("k");
  old.set_revision(rev - 1);
  etcdserverpb::RangeResponse response;
  grpc::Status s = Range(old, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_EQ(s.error_message(), "etcdserver: mvcc: required revision has been compacted");

  old.set_revision(rev);
  ASSERT_TRUE(Range(old, &response).ok());
  ASSERT_EQ(response.kvs_size(), 1);
  EXPECT_EQ(response.kvs(0).value(), "2");
}

// Reads responses until `events` events have arrived (or the stream fails: the context's deadline ends it).
std::vector<Event> ReadEvents(grpc::ClientReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>* stream,
                              int events) {
  std::vector<Event> got;
  etcdserverpb::WatchResponse response;
  while (static_cast<int>(got.size()) < events && stream->Read(&response)) {
    for (const Event& e : response.events()) got.push_back(e);
  }
  return got;
}

etcdserverpb::WatchRequest CreateWatch(const std::string& key, const std::string& range_end, int64_t start) {
  etcdserverpb::WatchRequest request;
  etcdserverpb::WatchCreateRequest* create = request.mutable_create_request();
  create->set_key(key);
  create->set_range_end(range_end);
  create->set_start_revision(start);
  return request;
}

TEST_P(GrpcServicesTest, WatchSeesPutsAndDeletes) {
  grpc::ClientContext context;
  SetDeadline(&context);
  auto stream = watch_->Watch(&context);
  ASSERT_TRUE(stream->Write(CreateWatch("w/", PrefixEnd("w/"), 0)));
  etcdserverpb::WatchResponse created;
  ASSERT_TRUE(stream->Read(&created));
  EXPECT_TRUE(created.created());
  EXPECT_EQ(created.header().member_id(), 1u);

  const int64_t put_rev = Put("w/a", "1").header().revision();
  Put("other", "x");
  {
    etcdserverpb::DeleteRangeRequest del;
    del.set_key("w/a");
    etcdserverpb::DeleteRangeResponse response;
    grpc::ClientContext c;
    SetDeadline(&c);
    ASSERT_TRUE(kv_->DeleteRange(&c, del, &response).ok());
  }

  std::vector<Event> events = ReadEvents(stream.get(), 2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type(), Event::PUT);
  EXPECT_EQ(events[0].kv().key(), "w/a");
  EXPECT_EQ(events[0].kv().value(), "1");
  EXPECT_EQ(events[1].type(), Event::DELETE);
  EXPECT_EQ(events[1].kv().key(), "w/a");
  EXPECT_EQ(events[0].kv().mod_revision(), put_rev);
  EXPECT_EQ(events[1].kv().mod_revision(), put_rev + 2);

  // The client hangs up: the server ends the stream.
  context.TryCancel();
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
}

TEST_P(GrpcServicesTest, WatchFromAPastRevisionReplays) {
  Put("r", "1");
  const int64_t rev = Put("r", "2").header().revision();
  Put("r", "3");

  grpc::ClientContext context;
  SetDeadline(&context);
  auto stream = watch_->Watch(&context);
  ASSERT_TRUE(stream->Write(CreateWatch("r", "", rev)));
  std::vector<Event> events = ReadEvents(stream.get(), 2);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kv().value(), "2");
  EXPECT_EQ(events[0].kv().mod_revision(), rev);
  EXPECT_EQ(events[1].kv().value(), "3");
  context.TryCancel();
  stream->Finish();
}

// A watcher that falls behind (its client reads nothing for a while) gets every event, in order, in fewer, larger
// responses than one per revision — as etcd sends a watcher catching up.
TEST_P(GrpcServicesTest, LaggingWatcherGetsEveryEventInFewerResponses) {
  // A client with a small, fixed receive window: what it does not read soon holds the server's writes up.
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_HTTP2_BDP_PROBE, 0);
  args.SetInt(GRPC_ARG_HTTP2_STREAM_LOOKAHEAD_BYTES, 16 * 1024);
  auto slow = etcdserverpb::Watch::NewStub(
      grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials(), args));
  grpc::ClientContext context;
  SetDeadline(&context);
  auto stream = slow->Watch(&context);
  ASSERT_TRUE(stream->Write(CreateWatch("lag/", PrefixEnd("lag/"), 0)));
  etcdserverpb::WatchResponse created;
  ASSERT_TRUE(stream->Read(&created));
  constexpr int kPuts = 300;
  const std::string value(1024, 'v');  // 300 KB: well past the client's window while it does not read
  int64_t first_rev = 0;
  for (int i = 0; i < kPuts; ++i) {
    const int64_t rev = Put(absl::StrCat("lag/", i), value).header().revision();
    if (i == 0) first_rev = rev;
  }
  int responses = 0;
  std::vector<Event> events;
  while (static_cast<int>(events.size()) < kPuts) {
    etcdserverpb::WatchResponse r;
    ASSERT_TRUE(stream->Read(&r)) << "after " << events.size() << " events";
    ++responses;
    for (const Event& e : r.events()) events.push_back(e);
    if (r.events_size() > 0) {
      EXPECT_EQ(r.header().revision(), r.events(r.events_size() - 1).kv().mod_revision());
    }
  }
  ASSERT_EQ(static_cast<int>(events.size()), kPuts);
  for (int i = 0; i < kPuts; ++i) {
    ASSERT_EQ(events[i].kv().key(), absl::StrCat("lag/", i));
    ASSERT_EQ(events[i].kv().mod_revision(), first_rev + i) << "every event once, in revision order";
  }
  EXPECT_LT(responses, kPuts) << "a lagging watcher's events were not merged";
  context.TryCancel();
  stream->Finish();
}

// A watch stream the client keeps open does not hold up the server's shutdown.
TEST_P(GrpcServicesTest, StopStreamsEndsAnOpenWatch) {
  grpc::ClientContext context;
  SetDeadline(&context);
  auto stream = watch_->Watch(&context);
  ASSERT_TRUE(stream->Write(CreateWatch("s", "", 0)));
  etcdserverpb::WatchResponse created;
  ASSERT_TRUE(stream->Read(&created));

  const absl::Time start = absl::Now();
  services_->StopStreams();
  server_->Shutdown();  // no deadline: it returns only once every handler has returned
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  etcdserverpb::WatchResponse more;
  EXPECT_FALSE(stream->Read(&more));
  EXPECT_NE(stream->Finish().error_code(), grpc::StatusCode::OK);
}

// A member that stops (a disk error, or shut down) ends its open watch streams with etcd's "server stopped", and the
// calls still waiting for it are answered the same way, not left hanging (they hold no thread).
TEST_P(GrpcServicesTest, MemberStoppingEndsOpenStreamsAndCalls) {
  grpc::ClientContext context;
  SetDeadline(&context);
  auto stream = watch_->Watch(&context);
  ASSERT_TRUE(stream->Write(CreateWatch("s", "", 0)));
  etcdserverpb::WatchResponse created;
  ASSERT_TRUE(stream->Read(&created));
  ASSERT_TRUE(created.created());

  runtime_->Stop();
  etcdserverpb::WatchResponse more;
  EXPECT_FALSE(stream->Read(&more));
  const grpc::Status ended = stream->Finish();
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ended.error_message(), "etcdserver: server stopped");

  etcdserverpb::PutRequest put;
  put.set_key("k");
  etcdserverpb::PutResponse response;
  grpc::ClientContext put_context;
  SetDeadline(&put_context);
  const grpc::Status refused = kv_->Put(&put_context, put, &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(refused.error_message(), "etcdserver: server stopped");
}

// Many watch and keep-alive streams at once, each served: a stream holds no thread (with a thread or two per stream,
// as before, this many streams would mean hundreds of threads).
TEST_P(GrpcServicesTest, ManyStreamsAtOnceAreAllServed) {
  constexpr int kStreams = 200;
  std::vector<std::unique_ptr<grpc::ClientContext>> contexts;
  std::vector<std::unique_ptr<grpc::ClientReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>>>
      streams;
  for (int i = 0; i < kStreams; ++i) {
    contexts.push_back(std::make_unique<grpc::ClientContext>());
    SetDeadline(contexts.back().get());
    streams.push_back(watch_->Watch(contexts.back().get()));
    ASSERT_TRUE(streams.back()->Write(CreateWatch("many", "", 0)));
    etcdserverpb::WatchResponse created;
    ASSERT_TRUE(streams.back()->Read(&created));
    ASSERT_TRUE(created.created()) << "stream " << i;
  }
  Put("many", "v");
  for (int i = 0; i < kStreams; ++i) {
    etcdserverpb::WatchResponse event;
    ASSERT_TRUE(streams[i]->Read(&event)) << "stream " << i;
    ASSERT_EQ(event.events_size(), 1) << "stream " << i;
    EXPECT_EQ(event.events(0).kv().value(), "v");
  }
  int threads = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
    (void)e;
    ++threads;
  }
  // Client and server share this process: 200 streams, and still a few dozen threads at most.
  EXPECT_LT(threads, 100) << "a thread per stream?";
  for (auto& s : streams) {
    s->WritesDone();
  }
  for (auto& c : contexts) c->TryCancel();
}

// KV, Lease and Watch run on one completion queue thread of their own: no thread of gRPC's callback API (its
// "nexting" threads pass the poller role back and forth, a futex wake-up per request) and no thread per call.
TEST_P(GrpcServicesTest, HotServicesRunOnOneGrpcThread) {
  Put("t", "v");
  grpc::ClientContext watch_context;
  SetDeadline(&watch_context);
  auto watch = watch_->Watch(&watch_context);
  ASSERT_TRUE(watch->Write(CreateWatch("t", "", 0)));
  etcdserverpb::WatchResponse created;
  ASSERT_TRUE(watch->Read(&created));
  grpc::ClientContext lease_context;
  SetDeadline(&lease_context);
  auto keep_alive = lease_->LeaseKeepAlive(&lease_context);
  etcdserverpb::LeaseKeepAliveRequest request;
  request.set_id(12345);
  ASSERT_TRUE(keep_alive->Write(request));
  etcdserverpb::LeaseKeepAliveResponse renewed;
  ASSERT_TRUE(keep_alive->Read(&renewed));
  EXPECT_EQ(renewed.ttl(), 0);  // no such lease

  int grpc_threads = 0, nexting_threads = 0;
  for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(e.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name == "detcd-grpc") ++grpc_threads;
    if (name == "nexting_thread") ++nexting_threads;
  }
  EXPECT_EQ(grpc_threads, 1);
  if (front_end()) {
    // KV and unary Lease never reach gRPC's server; Watch and LeaseKeepAlive reach it in-process through gRPC's
    // callback API (its client side), whose threads are allowed here. (A thread gRPC starts from the front end's
    // takes its name until it names itself: at least one.)
    int front_end_threads = 0;
    for (const auto& e : std::filesystem::directory_iterator("/proc/self/task")) {
      std::ifstream comm(e.path() / "comm");
      std::string name;
      std::getline(comm, name);
      if (name == "detcd-h2") ++front_end_threads;
    }
    EXPECT_GE(front_end_threads, 1);
  } else {
    EXPECT_EQ(nexting_threads, 0);
  }
  watch_context.TryCancel();
  lease_context.TryCancel();
}

// Streams that end every way at once — the client cancels while the member answers, half-closes, or leaves them open
// to StopStreams at teardown — while writes keep the watchers busy: each stream ends once, nothing is touched after it
// is released (a stream's lifetime is counted in its operations; the member's threads take turns to write and finish).
TEST_P(GrpcServicesTest, StreamsEndingWhileTheMemberAnswersEndCleanly) {
  std::atomic<bool> stop{false};
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; !stop.load(); ++i) Put(absl::StrCat("busy/", w, "/", i % 8), std::string(100, 'x'));
    });
  }
  const etcdserverpb::LeaseGrantResponse granted = Grant(30);
  ASSERT_GT(granted.id(), 0);
  std::vector<std::unique_ptr<grpc::ClientContext>> open_contexts;
  std::vector<std::unique_ptr<grpc::ClientReaderWriter<etcdserverpb::WatchRequest, etcdserverpb::WatchResponse>>> open;
  for (int i = 0; i < 150; ++i) {
    grpc::ClientContext watch_context;
    SetDeadline(&watch_context);
    auto watch = watch_->Watch(&watch_context);
    ASSERT_TRUE(watch->Write(CreateWatch("busy/", PrefixEnd("busy/"), 0)));
    grpc::ClientContext lease_context;
    SetDeadline(&lease_context);
    auto keep_alive = lease_->LeaseKeepAlive(&lease_context);
    etcdserverpb::LeaseKeepAliveRequest request;
    request.set_id(granted.id());
    ASSERT_TRUE(keep_alive->Write(request));
    switch (i % 3) {
      case 0: {  // cancel once events flow, whatever is in flight
        etcdserverpb::WatchResponse r;
        EXPECT_TRUE(watch->Read(&r));
        EXPECT_TRUE(watch->Read(&r));
        watch_context.TryCancel();
        lease_context.TryCancel();
        break;
      }
      case 1: {  // read a little, then half-close the keep-alive (it ends OK) and cancel the watch
        etcdserverpb::WatchResponse r;
        EXPECT_TRUE(watch->Read(&r));
        etcdserverpb::LeaseKeepAliveResponse k;
        EXPECT_TRUE(keep_alive->Read(&k));
        EXPECT_EQ(k.ttl(), 30);
        keep_alive->WritesDone();
        while (keep_alive->Read(&k)) {
        }
        EXPECT_TRUE(keep_alive->Finish().ok());
        watch_context.TryCancel();
        break;
      }
      default: {  // a watch left open for StopStreams
        auto context = std::make_unique<grpc::ClientContext>();
        SetDeadline(context.get());
        auto kept = watch_->Watch(context.get());
        EXPECT_TRUE(kept->Write(CreateWatch("busy/", PrefixEnd("busy/"), 0)));
        open_contexts.push_back(std::move(context));
        open.push_back(std::move(kept));
        lease_context.TryCancel();
        watch_context.TryCancel();
        break;
      }
    }
  }
  for (int i = 0; i < 200; ++i) {
    auto context = std::make_unique<grpc::ClientContext>();
    SetDeadline(context.get());
    auto kept = watch_->Watch(context.get());
    EXPECT_TRUE(kept->Write(CreateWatch("busy/", PrefixEnd("busy/"), 0)));
    open_contexts.push_back(std::move(context));
    open.push_back(std::move(kept));
  }
  stop = true;
  for (std::thread& t : writers) t.join();
  // The client cancels every other open stream while StopStreams ends them all.
  std::thread canceller([&] {
    for (size_t i = 0; i < open_contexts.size(); i += 2) open_contexts[i]->TryCancel();
  });
  services_->StopStreams();
  canceller.join();
  for (size_t i = 0; i < open.size(); ++i) {
    etcdserverpb::WatchResponse r;
    while (open[i]->Read(&r)) {
    }
    const grpc::Status ended = open[i]->Finish();
    if (i % 2 == 1) {
      EXPECT_EQ(ended.error_message(), "etcdserver: server stopped");
    }
  }
}

// etcdctl lease list on a member with no lease: an empty answer (it once failed a check and took the member down).
TEST_P(GrpcServicesTest, LeaseLeasesWithNoLeaseIsEmpty) {
  etcdserverpb::LeaseLeasesResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  ASSERT_TRUE(lease_->LeaseLeases(&context, etcdserverpb::LeaseLeasesRequest(), &response).ok());
  EXPECT_EQ(response.leases_size(), 0);
  EXPECT_EQ(response.header().cluster_id(), 0xc1u);
}

TEST_P(GrpcServicesTest, LeaseRevokeDeletesItsKeys) {
  etcdserverpb::LeaseGrantRequest grant;
  grant.set_ttl(60);
  etcdserverpb::LeaseGrantResponse granted;
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    ASSERT_TRUE(lease_->LeaseGrant(&context, grant, &granted).ok());
  }
  ASSERT_NE(granted.id(), 0);
  EXPECT_EQ(granted.ttl(), 60);
  Put("leased", "v", granted.id());
  EXPECT_EQ(Get("leased").kvs(0).lease(), granted.id());

  {
    etcdserverpb::LeaseTimeToLiveRequest request;
    request.set_id(granted.id());
    request.set_keys(true);
    etcdserverpb::LeaseTimeToLiveResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    ASSERT_TRUE(lease_->LeaseTimeToLive(&context, request, &response).ok());
    EXPECT_EQ(response.grantedttl(), 60);
    ASSERT_EQ(response.keys_size(), 1);
    EXPECT_EQ(response.keys(0), "leased");
  }
  {
    etcdserverpb::LeaseLeasesResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    ASSERT_TRUE(lease_->LeaseLeases(&context, etcdserverpb::LeaseLeasesRequest(), &response).ok());
    ASSERT_EQ(response.leases_size(), 1);
    EXPECT_EQ(response.leases(0).id(), granted.id());
  }

  etcdserverpb::LeaseRevokeRequest revoke;
  revoke.set_id(granted.id());
  etcdserverpb::LeaseRevokeResponse revoked;
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    ASSERT_TRUE(lease_->LeaseRevoke(&context, revoke, &revoked).ok());
  }
  EXPECT_EQ(Get("leased").count(), 0);
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status again = lease_->LeaseRevoke(&context, revoke, &revoked);
    EXPECT_EQ(again.error_code(), grpc::StatusCode::NOT_FOUND);
    EXPECT_EQ(again.error_message(), "etcdserver: requested lease not found");
  }
}

TEST_P(GrpcServicesTest, KeepAliveStreamRenewsAndAnswersTtlZeroForAnUnknownLease) {
  const etcdserverpb::LeaseGrantResponse granted = Grant(30);
  ASSERT_GT(granted.id(), 0);

  grpc::ClientContext context;
  SetDeadline(&context);
  auto stream = lease_->LeaseKeepAlive(&context);
  etcdserverpb::LeaseKeepAliveRequest request;
  etcdserverpb::LeaseKeepAliveResponse response;
  for (int i = 0; i < 2; ++i) {
    request.set_id(granted.id());
    ASSERT_TRUE(stream->Write(request));
    ASSERT_TRUE(stream->Read(&response));
    EXPECT_EQ(response.id(), granted.id());
    EXPECT_EQ(response.ttl(), 30);
    EXPECT_EQ(response.header().member_id(), 1u);
  }
  request.set_id(granted.id() + 1);
  ASSERT_TRUE(stream->Write(request));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.id(), granted.id() + 1);
  EXPECT_EQ(response.ttl(), 0);

  // Like etcd, the client's half-close ends the stream cleanly.
  ASSERT_TRUE(stream->WritesDone());
  EXPECT_FALSE(stream->Read(&response));
  grpc::Status s = stream->Finish();
  EXPECT_TRUE(s.ok()) << s.error_code() << ": " << s.error_message();
}

TEST_P(GrpcServicesTest, EndpointStatusAlarmsAndDefragment) {
  const int64_t rev = Put("k", "v").header().revision();
  auto maintenance = etcdserverpb::Maintenance::NewStub(channel_);
  etcdserverpb::StatusResponse status;
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    ASSERT_TRUE(maintenance->Status(&context, etcdserverpb::StatusRequest(), &status).ok());
  }
  EXPECT_EQ(status.version(), kVersion);
  EXPECT_EQ(status.leader(), 1u);
  EXPECT_GT(status.raftindex(), 0u);
  EXPECT_GT(status.raftappliedindex(), 0u);
  EXPECT_GT(status.raftterm(), 0u);
  EXPECT_GT(status.dbsize(), 0);
  EXPECT_TRUE(status.errors().empty());
  EXPECT_EQ(status.header().member_id(), 1u);
  EXPECT_EQ(status.header().cluster_id(), 0xc1u);
  EXPECT_EQ(status.header().revision(), rev);

  etcdserverpb::AlarmRequest get;
  get.set_action(etcdserverpb::AlarmRequest::GET);
  etcdserverpb::AlarmResponse alarms;
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status s = maintenance->Alarm(&context, get, &alarms);
    ASSERT_TRUE(s.ok()) << s.error_code() << ": " << s.error_message();
  }
  EXPECT_EQ(alarms.alarms_size(), 0);
  EXPECT_EQ(alarms.header().member_id(), 1u);

  etcdserverpb::DefragmentResponse defragmented;
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    ASSERT_TRUE(maintenance->Defragment(&context, etcdserverpb::DefragmentRequest(), &defragmented).ok());
  }
  EXPECT_EQ(defragmented.header().revision(), rev);

  etcdserverpb::SnapshotResponse chunk;
  grpc::ClientContext context;
  SetDeadline(&context);
  auto snapshot = maintenance->Snapshot(&context, etcdserverpb::SnapshotRequest());
  // The state in pieces, each saying what is still to come, ending with a SHA-256 of what came before (as etcd's).
  std::string bytes;
  uint64_t last_remaining = UINT64_MAX;
  while (snapshot->Read(&chunk)) {
    EXPECT_LT(chunk.remaining_bytes(), last_remaining);
    last_remaining = chunk.remaining_bytes();
    EXPECT_EQ(chunk.header().revision(), rev);
    bytes += chunk.blob();
  }
  ASSERT_TRUE(snapshot->Finish().ok());
  EXPECT_EQ(last_remaining, 0u);
  ASSERT_GT(bytes.size(), 32u);
  unsigned char digest[32];
  unsigned int len = 0;
  ASSERT_EQ(EVP_Digest(bytes.data(), bytes.size() - 32, digest, &len, EVP_sha256(), nullptr), 1);
  EXPECT_EQ(bytes.substr(bytes.size() - 32), std::string(reinterpret_cast<char*>(digest), 32));
  EXPECT_EQ((bytes.size() - 32) % 512, 0u) << "whole 512-byte pages before the hash, as etcdctl checks";
  // Before the hash: etcd 3.4's backend database (bbolt), whose "key" bucket ends with the put's revision.
  absl::StatusOr<storage::BboltContents> db = storage::ReadBboltFile(bytes.substr(0, bytes.size() - 32));
  ASSERT_TRUE(db.ok()) << db.status();
  const auto& key = db->buckets["key"];
  ASSERT_EQ(key.size(), 1u);
  ASSERT_LT(rev, 256);
  EXPECT_EQ(key[0].first.substr(0, 8), std::string("\0\0\0\0\0\0\0", 7) + static_cast<char>(rev));
  mvccpb::KeyValue kv;
  ASSERT_TRUE(kv.ParseFromString(key[0].second));
  EXPECT_EQ(kv.key(), "k");
  EXPECT_EQ(kv.value(), "v");
  EXPECT_EQ(kv.mod_revision(), rev);
  ASSERT_EQ(db->buckets["meta"].size(), 1u);
  EXPECT_EQ(db->buckets["meta"][0].first, "consistent_index");
  EXPECT_EQ(db->buckets["members"].size(), 1u);
}

grpc::Status HashKV(etcdserverpb::Maintenance::Stub* maintenance, int64_t revision,
                    etcdserverpb::HashKVResponse* response) {
  etcdserverpb::HashKVRequest request;
  request.set_revision(revision);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  return maintenance->HashKV(&context, request, response);
}

TEST_P(GrpcServicesTest, HashKVIsStableAtARevisionAndRefusesCompactedAndFutureOnes) {
  auto maintenance = etcdserverpb::Maintenance::NewStub(channel_);
  Put("a", "1");
  const int64_t rev = Put("b", "2").header().revision();
  etcdserverpb::HashKVResponse first, again, current;
  ASSERT_TRUE(HashKV(maintenance.get(), rev, &first).ok());
  ASSERT_TRUE(HashKV(maintenance.get(), rev, &again).ok());
  ASSERT_TRUE(HashKV(maintenance.get(), 0, &current).ok());
  EXPECT_EQ(first.hash(), again.hash());
  EXPECT_EQ(first.hash(), current.hash()) << "revision 0 is the current revision";
  EXPECT_EQ(first.compact_revision(), -1) << "as etcd: never compacted";
  EXPECT_EQ(first.header().revision(), rev);
  EXPECT_EQ(first.header().member_id(), 1u);
  EXPECT_EQ(first.header().cluster_id(), 0xc1u);
  EXPECT_GT(first.header().raft_term(), 0u);

  // A write changes the current hash, not the one at the earlier revision.
  Put("a", "3");
  etcdserverpb::HashKVResponse after, at_rev;
  ASSERT_TRUE(HashKV(maintenance.get(), 0, &after).ok());
  ASSERT_TRUE(HashKV(maintenance.get(), rev, &at_rev).ok());
  EXPECT_NE(after.hash(), first.hash());
  EXPECT_EQ(at_rev.hash(), first.hash());
  EXPECT_EQ(at_rev.header().revision(), rev + 1) << "the header carries the current revision";

  etcdserverpb::HashKVResponse refused;
  grpc::Status s = HashKV(maintenance.get(), rev + 5, &refused);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE);
  EXPECT_EQ(s.error_message(), "etcdserver: mvcc: required revision is a future revision");

  etcdserverpb::CompactionRequest compact;
  compact.set_revision(rev);
  etcdserverpb::CompactionResponse compacted;
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    ASSERT_TRUE(kv_->Compact(&context, compact, &compacted).ok());
  }
  // As etcd's HashByRev: the compaction revision itself is refused too.
  for (int64_t r : {rev - 1, rev}) {
    s = HashKV(maintenance.get(), r, &refused);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE) << r;
    EXPECT_EQ(s.error_message(), "etcdserver: mvcc: required revision has been compacted") << r;
  }
  etcdserverpb::HashKVResponse latest;
  ASSERT_TRUE(HashKV(maintenance.get(), rev + 1, &latest).ok());
  EXPECT_EQ(latest.compact_revision(), rev);
}

TEST_P(GrpcServicesTest, HashCoversTheMembersStateWithAHeader) {
  auto maintenance = etcdserverpb::Maintenance::NewStub(channel_);
  const int64_t rev = Put("k", "v").header().revision();
  auto hash = [&] {
    etcdserverpb::HashResponse response;
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status s = maintenance->Hash(&context, etcdserverpb::HashRequest(), &response);
    EXPECT_TRUE(s.ok()) << s.error_code() << ": " << s.error_message();
    return response;
  };
  const etcdserverpb::HashResponse before = hash();
  EXPECT_EQ(hash().hash(), before.hash());
  EXPECT_EQ(before.header().revision(), rev);
  EXPECT_EQ(before.header().member_id(), 1u);
  Put("k", "w");
  EXPECT_NE(hash().hash(), before.hash());
}

TEST_P(GrpcServicesTest, MoveLeaderRefusesAnUnknownTransferee) {
  auto maintenance = etcdserverpb::Maintenance::NewStub(channel_);
  etcdserverpb::MoveLeaderRequest request;
  request.set_targetid(0xbad);
  etcdserverpb::MoveLeaderResponse response;
  {
    grpc::ClientContext context;
    SetDeadline(&context);
    grpc::Status s = maintenance->MoveLeader(&context, request, &response);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::FAILED_PRECONDITION);
    EXPECT_EQ(s.error_message(), "etcdserver: bad leader transferee");
  }
  // To itself: it already leads, so etcd answers at once.
  request.set_targetid(1);
  grpc::ClientContext context;
  SetDeadline(&context);
  grpc::Status s = maintenance->MoveLeader(&context, request, &response);
  ASSERT_TRUE(s.ok()) << s.error_code() << ": " << s.error_message();
  EXPECT_EQ(response.header().member_id(), 1u);
  EXPECT_GT(response.header().raft_term(), 0u);
  EXPECT_EQ(runtime_->Status().leader, 1u);
}

TEST_P(GrpcServicesTest, MemberListShowsTheSingleMember) {
  // What detcd publishes through Raft once it runs: the name and client URLs.
  kvpb::ClientRequest publish;
  publish.mutable_member_attributes()->set_id(1);
  publish.mutable_member_attributes()->set_name("infra1");
  publish.mutable_member_attributes()->add_client_urls("http://127.0.0.1:2379");
  ASSERT_TRUE(runtime_->Call(publish, absl::Seconds(5)).status.ok());
  auto cluster = etcdserverpb::Cluster::NewStub(channel_);
  etcdserverpb::MemberListResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  ASSERT_TRUE(cluster->MemberList(&context, etcdserverpb::MemberListRequest(), &response).ok());
  EXPECT_EQ(response.header().cluster_id(), 0xc1u);
  ASSERT_EQ(response.members_size(), 1);
  const etcdserverpb::Member& m = response.members(0);
  EXPECT_EQ(m.id(), 1u);
  EXPECT_EQ(m.name(), "infra1");
  ASSERT_EQ(m.peerurls_size(), 1);
  EXPECT_EQ(m.peerurls(0), "http://localhost:2380");
  ASSERT_EQ(m.clienturls_size(), 1);
  EXPECT_EQ(m.clienturls(0), "http://127.0.0.1:2379");
  EXPECT_FALSE(m.islearner());

  // A member add without peer URLs: etcd's InvalidArgument.
  etcdserverpb::MemberAddResponse added;
  grpc::ClientContext add_context;
  SetDeadline(&add_context);
  grpc::Status s = cluster->MemberAdd(&add_context, etcdserverpb::MemberAddRequest(), &added);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(s.error_message(), "etcdserver: given member URLs are invalid");
}

TEST_P(GrpcServicesTest, AuthIsUnimplemented) {
  auto auth = etcdserverpb::Auth::NewStub(channel_);
  etcdserverpb::AuthenticateRequest request;
  request.set_name("root");
  request.set_password("secret");
  etcdserverpb::AuthenticateResponse response;
  grpc::ClientContext context;
  SetDeadline(&context);
  grpc::Status s = auth->Authenticate(&context, request, &response);
  EXPECT_EQ(s.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_EQ(s.error_message(), "detcd: authentication is not implemented");
}

TEST(EtcdRequestTimeoutTest, IsFiveSecondsPlusTwoElectionTimeouts) {
  kv::NodeCoreConfig core;
  core.election_ticks = 10;
  core.tick_us = 100'000;
  EXPECT_EQ(EtcdRequestTimeout(core), absl::Seconds(7));
}

INSTANTIATE_TEST_SUITE_P(BothPaths, GrpcServicesTest, testing::Values(Path::kGrpcServer, Path::kFrontEnd),
                         [](const testing::TestParamInfo<Path>& p) {
                           return p.param == Path::kGrpcServer ? std::string("GrpcServer") : std::string("FrontEnd");
                         });

}  // namespace
}  // namespace detcd::net
