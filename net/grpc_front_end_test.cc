// GrpcFrontEnd as clients meet it on the client port, beyond what GrpcServicesTest runs through it: an oversized
// request refused with gRPC's error and the connection still serving, a connection that breaks HTTP/2 closed alone,
// many concurrent calls on one connection answered in batches, and a large snapshot streamed through the in-process
// pass-through to a slow reader.
#include "net/grpc_front_end.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "gtest/gtest.h"
#include "net/grpc_services.h"
#include "net/test_client_port.h"
#include "net/test_member.h"

namespace detcd::net {
namespace {

constexpr size_t kMaxMessageBytes = 64 * 1024;

class GrpcFrontEndTest : public testing::Test {
 protected:
  void SetUp() override {
    runtime_ = StartLeadingSingleMember(CurrentTestName(), TestClientPort::UseFrontEnd);
    ASSERT_NE(runtime_, nullptr);
    GrpcServicesOptions so;
    so.version = "3.4.23";
    so.member_name = "default";
    so.request_timeout = absl::Seconds(5);
    services_ = std::make_unique<EtcdServices>(runtime_.get(), so);
    grpc::ServerBuilder builder;
    services_->RegisterOn(builder);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    services_->Serve();
    client_port_ = TestClientPort::Start(runtime_.get(), services_.get(), server_.get(), kMaxMessageBytes);
    ASSERT_NE(client_port_, nullptr);
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", client_port_->port()), grpc::InsecureChannelCredentials());
    kv_ = etcdserverpb::KV::NewStub(channel_);
  }

  void TearDown() override {
    if (client_port_ != nullptr) client_port_->Stop();
    if (server_ != nullptr) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    services_.reset();
    if (runtime_ != nullptr) runtime_->Stop();
  }

  grpc::Status Put(const std::string& key, const std::string& value, etcdserverpb::PutResponse* response) {
    etcdserverpb::PutRequest request;
    request.set_key(key);
    request.set_value(value);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return kv_->Put(&context, request, response);
  }

  std::unique_ptr<MemberRuntime> runtime_;
  std::unique_ptr<EtcdServices> services_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<TestClientPort> client_port_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<etcdserverpb::KV::Stub> kv_;
};

TEST_F(GrpcFrontEndTest, AnOversizedRequestIsRefusedAndTheConnectionServesOn) {
  etcdserverpb::PutResponse response;
  // The client's own limit is gRPC's default (4 MiB): the front end's smaller one is what refuses this.
  const grpc::Status refused = Put("big", std::string(kMaxMessageBytes + 1, 'x'), &response);
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(refused.error_message().find("larger than max"), std::string::npos) << refused.error_message();
  const grpc::Status ok = Put("small", "v", &response);
  EXPECT_TRUE(ok.ok()) << ok.error_message();
  EXPECT_GT(response.header().revision(), 1);
}

TEST_F(GrpcFrontEndTest, AConnectionThatBreaksHttp2IsClosedAlone) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(client_port_->port()));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  // The client preface, then a frame header that claims a 16 MiB HEADERS frame on stream 1, then junk.
  std::string bytes = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
  bytes += std::string("\xff\xff\xff\x01\x05\x00\x00\x00\x01", 9);
  bytes += std::string(64, 'j');
  ASSERT_EQ(write(fd, bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
  // The server answers with its settings and a GOAWAY, then closes: read until the end (bounded).
  char buf[4096];
  bool closed = false;
  for (int i = 0; i < 100 && !closed; ++i) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = read(fd, buf, sizeof(buf));
    closed = n <= 0;
  }
  close(fd);
  EXPECT_TRUE(closed) << "the broken connection was left open";
  etcdserverpb::PutResponse response;
  const grpc::Status ok = Put("after", "v", &response);
  EXPECT_TRUE(ok.ok()) << ok.error_message();
}

TEST_F(GrpcFrontEndTest, ManyCallsAtOnceOnOneConnectionAreAllAnswered) {
  constexpr int kThreads = 16;
  constexpr int kPuts = 100;
  etcdserverpb::PutResponse first;
  ASSERT_TRUE(Put("first", "v", &first).ok());
  std::vector<std::thread> threads;
  std::atomic<int> failed{0};
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPuts; ++i) {
        etcdserverpb::PutResponse r;
        if (!Put(absl::StrCat("k/", t, "/", i), "v", &r).ok()) ++failed;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failed.load(), 0);
  etcdserverpb::RangeRequest range;
  range.set_key("k/");
  range.set_range_end("k0");
  range.set_count_only(true);
  etcdserverpb::RangeResponse counted;
  grpc::ClientContext context;
  ASSERT_TRUE(kv_->Range(&context, range, &counted).ok());
  EXPECT_EQ(counted.count(), kThreads * kPuts);
  EXPECT_EQ(counted.header().revision(), first.header().revision() + kThreads * kPuts);
}

TEST_F(GrpcFrontEndTest, ASnapshotStreamsThroughToASlowReader) {
  etcdserverpb::PutResponse r;
  for (int i = 0; i < 1500; ++i) ASSERT_TRUE(Put(absl::StrCat("s/", i), std::string(1024, 'v'), &r).ok());
  auto maintenance = etcdserverpb::Maintenance::NewStub(channel_);
  grpc::ClientContext context;
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  auto stream = maintenance->Snapshot(&context, etcdserverpb::SnapshotRequest());
  etcdserverpb::SnapshotResponse chunk;
  size_t bytes = 0;
  int chunks = 0;
  while (stream->Read(&chunk)) {
    bytes += chunk.blob().size();
    if (++chunks <= 10) std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a reader that lags at first
  }
  const grpc::Status s = stream->Finish();
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_GT(bytes, 1500u * 1024u) << "the snapshot holds every value";
  EXPECT_GT(chunks, 1);
}

}  // namespace
}  // namespace detcd::net
