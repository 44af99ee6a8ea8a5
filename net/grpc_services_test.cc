// EtcdServices end to end (the fixture: net/grpc_services_test_fixture.h), as etcdctl would drive it: KV with
// prefixes, txn compare-and-swap, compaction and etcd's compacted error, watch (live, replayed from a past revision,
// lagging), and the streams' ends (the member stopping, many at once, streams ending while the member answers).
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
#include "net/grpc_services.h"
#include "net/grpc_services_test_fixture.h"
#include "net/member_runtime.h"
#include "net/test_member.h"
#include "storage/bbolt_test_reader.h"

namespace detcd::net {
namespace {

using etcdserverpb::Compare;
using mvccpb::Event;

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

DETCD_GRPC_SERVICES_TEST_ON_BOTH_PATHS();

}  // namespace
}  // namespace detcd::net
