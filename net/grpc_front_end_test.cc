// GrpcFrontEnd as clients meet it on the client port, beyond what GrpcServicesTest runs through it: an oversized
// request refused with gRPC's error and the connection still serving, a connection that breaks HTTP/2 closed alone,
// many concurrent calls on one connection answered in batches, a large snapshot streamed through the in-process
// pass-through to a slow reader, and overload from one connection bounded: a client that asks without ever reading
// is held back at the socket, and one that never grants flow-control windows has its new calls refused; etcd's gRPC
// keepalive: a client that pings too often gets GOAWAY ENHANCE_YOUR_CALM "too_many_pings" and loses its connection,
// one that keeps to --grpc-keepalive-min-time with a call open keeps it, and the server pings a silent client and
// drops it when it does not answer.
#include "net/grpc_front_end.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
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
  explicit GrpcFrontEndTest(const KeepaliveOptions& keepalive = KeepaliveOptions()) : keepalive_(keepalive) {}

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
    client_port_ =
        TestClientPort::Start(runtime_.get(), services_.get(), server_.get(), kMaxMessageBytes, keepalive_);
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

  const KeepaliveOptions keepalive_;
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

// go-grpc-prometheus's grpc_server_* as etcd serves them: every call on the client port counted where it starts, as
// its messages come and go, and where it ends, with its code: KV calls answered by the member (an error's code too:
// a read of a compacted revision is OutOfRange), a Watch stream the client cancels (Canceled), a call passed through
// to the in-process server (Maintenance.Status); every method of etcd's services shown from the start at 0, Lock and
// Election only once used.
TEST_F(GrpcFrontEndTest, CountsEveryCallForPrometheusAsEtcdDoes) {
  const GrpcServerMetrics& metrics = client_port_->front_end().metrics();
  auto text = [&] {
    std::string out;
    metrics.AppendPrometheus(&out);
    return out;
  };
  auto has = [&](const std::string& line) { return text().find("\n" + line + "\n") != std::string::npos; };
  const std::string before = text();
  EXPECT_NE(before.find("# TYPE grpc_server_handled_total counter\n"), std::string::npos);
  EXPECT_TRUE(
      has("grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Put\",grpc_service=\"etcdserverpb.KV\","
          "grpc_type=\"unary\"} 0"))
      << before;
  EXPECT_TRUE(
      has("grpc_server_started_total{grpc_method=\"Watch\",grpc_service=\"etcdserverpb.Watch\","
          "grpc_type=\"bidi_stream\"} 0"));
  EXPECT_TRUE(
      has("grpc_server_handled_total{grpc_code=\"Unauthenticated\",grpc_method=\"UserList\","
          "grpc_service=\"etcdserverpb.Auth\",grpc_type=\"unary\"} 0"));
  EXPECT_EQ(before.find("v3lockpb.Lock"), std::string::npos) << "Lock is shown before it is used";

  etcdserverpb::PutResponse put;
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(Put("k", absl::StrCat("v", i), &put).ok());
  for (int i = 0; i < 2; ++i) {
    etcdserverpb::RangeRequest range;
    range.set_key("k");
    etcdserverpb::RangeResponse got;
    grpc::ClientContext context;
    ASSERT_TRUE(kv_->Range(&context, range, &got).ok());
  }
  {
    etcdserverpb::CompactionRequest compact;
    compact.set_revision(put.header().revision());
    etcdserverpb::CompactionResponse done;
    grpc::ClientContext context;
    ASSERT_TRUE(kv_->Compact(&context, compact, &done).ok());
    etcdserverpb::RangeRequest range;
    range.set_key("k");
    range.set_revision(2);
    etcdserverpb::RangeResponse got;
    grpc::ClientContext read;
    EXPECT_EQ(kv_->Range(&read, range, &got).error_code(), grpc::StatusCode::OUT_OF_RANGE);
  }
  {
    auto maintenance = etcdserverpb::Maintenance::NewStub(channel_);
    etcdserverpb::StatusResponse status;
    grpc::ClientContext context;
    ASSERT_TRUE(maintenance->Status(&context, etcdserverpb::StatusRequest(), &status).ok());
  }
  {
    auto watch = etcdserverpb::Watch::NewStub(channel_);
    grpc::ClientContext context;
    auto stream = watch->Watch(&context);
    etcdserverpb::WatchRequest create;
    create.mutable_create_request()->set_key("k");
    ASSERT_TRUE(stream->Write(create));
    etcdserverpb::WatchResponse created;
    ASSERT_TRUE(stream->Read(&created));
    EXPECT_TRUE(created.created());
    context.TryCancel();
  }
  const std::string kv = "grpc_service=\"etcdserverpb.KV\",grpc_type=\"unary\"}";
  for (const std::string& line : {
           "grpc_server_started_total{grpc_method=\"Put\"," + kv + " 3",
           "grpc_server_msg_received_total{grpc_method=\"Put\"," + kv + " 3",
           "grpc_server_msg_sent_total{grpc_method=\"Put\"," + kv + " 3",
           "grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Put\"," + kv + " 3",
           "grpc_server_started_total{grpc_method=\"Range\"," + kv + " 3",
           "grpc_server_msg_received_total{grpc_method=\"Range\"," + kv + " 3",
           "grpc_server_msg_sent_total{grpc_method=\"Range\"," + kv + " 2",  // an error sends no message
           "grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Range\"," + kv + " 2",
           "grpc_server_handled_total{grpc_code=\"OutOfRange\",grpc_method=\"Range\"," + kv + " 1",
           "grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Compact\"," + kv + " 1",
           std::string("grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Status\",grpc_service=\""
                       "etcdserverpb.Maintenance\",grpc_type=\"unary\"} 1"),
           std::string("grpc_server_started_total{grpc_method=\"Watch\",grpc_service=\"etcdserverpb.Watch\","
                       "grpc_type=\"bidi_stream\"} 1"),
           std::string("grpc_server_msg_received_total{grpc_method=\"Watch\",grpc_service=\"etcdserverpb.Watch\","
                       "grpc_type=\"bidi_stream\"} 1"),
       }) {
    EXPECT_TRUE(has(line)) << line << "\n" << text();
  }
  // The cancelled watch ends once the front end has read the client's RST_STREAM.
  const std::string cancelled =
      "grpc_server_handled_total{grpc_code=\"Canceled\",grpc_method=\"Watch\",grpc_service=\"etcdserverpb.Watch\","
      "grpc_type=\"bidi_stream\"} 1";
  for (int i = 0; i < 500 && !has(cancelled); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_TRUE(has(cancelled)) << text();
  EXPECT_FALSE(
      has("grpc_server_handled_total{grpc_code=\"OK\",grpc_method=\"Watch\",grpc_service=\""
          "etcdserverpb.Watch\",grpc_type=\"bidi_stream\"} 1"));
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

// A raw HTTP/2 client (nghttp2) that pipelines unary Range calls on one connection. With `grant_windows`, its windows
// are so large that flow control never holds an answer back (only the socket can); without, it grants the server no
// more than HTTP/2's initial 64 KiB windows, ever.
class PipeliningClient {
 public:
  PipeliningClient(int port, bool grant_windows) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    const int small = 64 * 1024;  // small buffers: the kernel holds little of what is in flight
    setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
    setsockopt(fd_, SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_header_callback(cbs, OnHeader);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, OnStreamClose);
    // As if the server's settings (no limit on streams) were read already: this client never reads before it asks.
    nghttp2_option* option = nullptr;
    nghttp2_option_new(&option);
    nghttp2_option_set_peer_max_concurrent_streams(option, 1u << 30);
    if (!grant_windows) nghttp2_option_set_no_auto_window_update(option, 1);
    nghttp2_session_client_new2(&session_, cbs, this, option);
    nghttp2_option_del(option);
    nghttp2_session_callbacks_del(cbs);
    if (grant_windows) {
      const nghttp2_settings_entry settings[] = {{NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, (1u << 31) - 1}};
      nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 1);
      nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0, (1 << 30));
    } else {
      nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
    }
  }
  ~PipeliningClient() {
    nghttp2_session_del(session_);
    close(fd_);
  }
  bool connected() const { return connected_; }

  // Sends the preface and reads what the server says first (its settings and window), as a client does before it
  // starts asking.
  void Greet() {
    (void)Push(std::chrono::milliseconds(1000));
    pollfd p{fd_, POLLIN, 0};
    char buf[4096];
    if (poll(&p, 1, 1000) <= 0) return;
    const ssize_t n = read(fd_, buf, sizeof(buf));
    if (n > 0) (void)nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(buf), static_cast<size_t>(n));
  }

  // Queues n more Range calls of `key`.
  void Ask(int n, const std::string& key) {
    etcdserverpb::RangeRequest range;
    range.set_key(key);
    const std::string message = range.SerializeAsString();
    body_.assign(5, '\0');
    body_[4] = static_cast<char>(message.size());  // small: one length byte
    body_ += message;
    static const std::string kPath = "/etcdserverpb.KV/Range";
    for (int i = 0; i < n; ++i) {
      const nghttp2_nv headers[] = {Nv(":method", "POST"), Nv(":scheme", "http"), Nv(":path", kPath),
                                    Nv(":authority", "x"), Nv("content-type", "application/grpc"), Nv("te", "trailers")};
      nghttp2_data_provider data;
      data.source.ptr = this;
      data.read_callback = ReadBody;
      if (nghttp2_submit_request(session_, nullptr, headers, 6, &data, nullptr) > 0) ++asked_;
    }
  }
  // Writes what the session has for the socket; false once the socket takes nothing for `stall`.
  bool Push(std::chrono::milliseconds stall) {
    for (;;) {
      if (pending_.empty()) {
        const uint8_t* data = nullptr;
        const ssize_t n = nghttp2_session_mem_send(session_, &data);
        if (n <= 0) return true;
        pending_.assign(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
      }
      const ssize_t n = send(fd_, pending_.data(), pending_.size(), MSG_NOSIGNAL);
      if (n > 0) {
        pending_.erase(0, static_cast<size_t>(n));
        continue;
      }
      pollfd p{fd_, POLLOUT, 0};
      if (poll(&p, 1, static_cast<int>(stall.count())) == 0) return false;
    }
  }
  // Reads and answers (window updates, if it grants them) until every call asked has ended or `limit` passes.
  void ReadAll(std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    char buf[64 * 1024];
    while (ended_ < asked_ && std::chrono::steady_clock::now() < until) {
      (void)Push(std::chrono::milliseconds(0));
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      const ssize_t n = read(fd_, buf, sizeof(buf));
      if (n <= 0) break;
      if (nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(buf), static_cast<size_t>(n)) < 0) break;
    }
  }
  int asked() const { return asked_; }
  int ended() const { return ended_; }
  int ok() const { return ok_; }
  int too_many() const { return too_many_; }
  const std::string& other() const { return other_; }

 private:
  // `value` must outlive the nghttp2 call the header goes to (a literal, or a string that lives on).
  static nghttp2_nv Nv(const char* name, absl::string_view value) {
    return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name)),
                      reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), strlen(name), value.size(),
                      NGHTTP2_NV_FLAG_NONE};
  }
  static ssize_t ReadBody(nghttp2_session*, int32_t stream, uint8_t* buf, size_t length, uint32_t* flags,
                          nghttp2_data_source* source, void*) {
    auto* c = static_cast<PipeliningClient*>(source->ptr);
    size_t& offset = c->body_offsets_[stream];
    const size_t n = std::min(length, c->body_.size() - offset);
    memcpy(buf, c->body_.data() + offset, n);
    offset += n;
    if (offset == c->body_.size()) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      c->body_offsets_.erase(stream);
    }
    return static_cast<ssize_t>(n);
  }
  static int OnHeader(nghttp2_session*, const nghttp2_frame*, const uint8_t* name, size_t namelen,
                      const uint8_t* value, size_t valuelen, uint8_t, void* user) {
    auto* c = static_cast<PipeliningClient*>(user);
    if (std::string(reinterpret_cast<const char*>(name), namelen) != "grpc-status") return 0;
    const std::string v(reinterpret_cast<const char*>(value), valuelen);
    if (v == "0") {
      ++c->ok_;
    } else if (v == "8") {
      ++c->too_many_;
    } else {
      c->other_ = v;
    }
    return 0;
  }
  static int OnStreamClose(nghttp2_session*, int32_t, uint32_t, void* user) {
    ++static_cast<PipeliningClient*>(user)->ended_;
    return 0;
  }

  int fd_ = -1;
  bool connected_ = false;
  nghttp2_session* session_ = nullptr;
  std::string body_;
  std::map<int32_t, size_t> body_offsets_;  // of body_, per stream still sending it
  std::string pending_;
  int asked_ = 0, ended_ = 0, ok_ = 0, too_many_ = 0;
  std::string other_;  // the last other grpc-status seen
};

TEST_F(GrpcFrontEndTest, AClientThatNeverReadsIsHeldBackAtTheSocketNotBufferedWithoutEnd) {
  etcdserverpb::PutResponse r;
  ASSERT_TRUE(Put("big", std::string(1024, 'v'), &r).ok());  // each answer carries ~1 KiB
  PipeliningClient client(client_port_->port(), /*grant_windows=*/true);
  ASSERT_TRUE(client.connected());
  client.Greet();
  // Ask without reading, until the server stops taking requests (the client's writes stall for a second) or far
  // more have gone than any buffer should hold: answered into memory, they would be hundreds of megabytes.
  constexpr int kAskedMax = 400'000;
  bool stalled = false;
  while (!stalled && client.asked() < kAskedMax) {
    client.Ask(1000, "big");
    stalled = !client.Push(std::chrono::milliseconds(1000));
  }
  EXPECT_TRUE(stalled) << "the server took " << client.asked() << " requests from a client that reads nothing";
  RecordProperty("asked_before_the_server_stopped_reading", client.asked());
  // Once the client reads, every call it made ends, each answered or refused with etcd's overload error.
  client.ReadAll(std::chrono::seconds(40));
  EXPECT_EQ(client.ended(), client.asked());
  EXPECT_EQ(client.ok() + client.too_many(), client.asked()) << "another grpc-status: " << client.other();
  EXPECT_GT(client.ok(), 0);
  // And the server still serves others.
  ASSERT_TRUE(Put("after", "v", &r).ok());
}

TEST_F(GrpcFrontEndTest, AClientThatNeverGrantsWindowsHasItsNewCallsRefusedAsTooManyRequests) {
  etcdserverpb::PutResponse r;
  ASSERT_TRUE(Put("big", std::string(1024, 'v'), &r).ok());
  PipeliningClient client(client_port_->port(), /*grant_windows=*/false);
  ASSERT_TRUE(client.connected());
  client.Greet();
  // The client reads everything but never lets the server send more than 64 KiB: the answers wait in the server
  // until they reach its bound, after which new calls end at once with etcd's overload error.
  constexpr int kAskedMax = 200'000;
  while (client.too_many() == 0 && client.asked() < kAskedMax) {
    client.Ask(1000, "big");
    (void)client.Push(std::chrono::milliseconds(1000));
    client.ReadAll(std::chrono::milliseconds(20));
  }
  EXPECT_GT(client.too_many(), 0) << client.asked() << " calls answered into memory, none refused";
  EXPECT_GT(client.ok(), 0);
  RecordProperty("asked_before_the_first_refusal", client.asked());
  // The server still serves others.
  ASSERT_TRUE(Put("after", "v", &r).ok());
}

// ---- etcd's gRPC keepalive ----

// A raw HTTP/2 client (nghttp2) that pings when told, opens calls that send nothing, and notes what the server says
// about pings: its own PINGs, the ACKs of the client's, a GOAWAY, the connection's end. While it answers (the
// default), nghttp2 acknowledges the server's pings and settings; once told not to, it sends nothing more.
class KeepaliveClient {
 public:
  explicit KeepaliveClient(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof(a)) == 0;
    fcntl(fd_, F_SETFL, fcntl(fd_, F_GETFL) | O_NONBLOCK);
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, OnFrameRecv);
    nghttp2_session_client_new(&session_, cbs, this);
    nghttp2_session_callbacks_del(cbs);
    nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, nullptr, 0);
    Send();
  }
  ~KeepaliveClient() {
    nghttp2_session_del(session_);
    close(fd_);
  }
  bool connected() const { return connected_; }

  void Ping() {
    nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr);
    Send();
  }
  // A call that stays open and says nothing (HEADERS without END_STREAM, no message): nothing for the server to
  // answer, so the pings that follow are checked against the min-time.
  void OpenSilentCall(absl::string_view path) {
    const nghttp2_nv headers[] = {Nv(":method", "POST"), Nv(":scheme", "http"), Nv(":path", path),
                                  Nv(":authority", "x"), Nv("content-type", "application/grpc"), Nv("te", "trailers")};
    nghttp2_submit_headers(session_, NGHTTP2_FLAG_NONE, -1, nullptr, headers, 6, nullptr);
    Send();
  }
  // From now on nothing is sent: the server's pings go unanswered.
  void StopAnswering() { answering_ = false; }

  // Reads what the server sends for `d`, or until it closes the connection.
  void Pump(std::chrono::milliseconds d) {
    const auto until = std::chrono::steady_clock::now() + d;
    char buf[16 * 1024];
    while (!closed_ && std::chrono::steady_clock::now() < until) {
      Send();
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 5) <= 0) continue;
      const ssize_t n = read(fd_, buf, sizeof(buf));
      if (n < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (n <= 0) {
        closed_ = true;  // the end, or a reset after it
        break;
      }
      (void)nghttp2_session_mem_recv(session_, reinterpret_cast<const uint8_t*>(buf), static_cast<size_t>(n));
    }
  }
  // Pumps until the server closes the connection or `limit` passes.
  void PumpUntilClosed(std::chrono::milliseconds limit) {
    const auto until = std::chrono::steady_clock::now() + limit;
    while (!closed_ && std::chrono::steady_clock::now() < until) Pump(std::chrono::milliseconds(50));
  }

  bool closed() const { return closed_; }
  int server_pings() const { return server_pings_; }
  int ping_acks() const { return ping_acks_; }
  bool goaway() const { return goaway_; }
  uint32_t goaway_code() const { return goaway_code_; }
  const std::string& goaway_debug() const { return goaway_debug_; }

 private:
  // `value` must outlive the nghttp2 call the header goes to (a literal, or a string that lives on).
  static nghttp2_nv Nv(const char* name, absl::string_view value) {
    return nghttp2_nv{reinterpret_cast<uint8_t*>(const_cast<char*>(name)),
                      reinterpret_cast<uint8_t*>(const_cast<char*>(value.data())), strlen(name), value.size(),
                      NGHTTP2_NV_FLAG_NONE};
  }
  static int OnFrameRecv(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto* c = static_cast<KeepaliveClient*>(user);
    if (frame->hd.type == NGHTTP2_PING) {
      ++((frame->hd.flags & NGHTTP2_FLAG_ACK) ? c->ping_acks_ : c->server_pings_);
    } else if (frame->hd.type == NGHTTP2_GOAWAY) {
      c->goaway_ = true;
      c->goaway_code_ = frame->goaway.error_code;
      c->goaway_debug_.assign(reinterpret_cast<const char*>(frame->goaway.opaque_data), frame->goaway.opaque_data_len);
    }
    return 0;
  }
  // Writes what the session has (little: pings, acks, headers).
  void Send() {
    while (answering_ && !closed_) {
      if (pending_.empty()) {
        const uint8_t* data = nullptr;
        const ssize_t n = nghttp2_session_mem_send(session_, &data);
        if (n <= 0) return;
        pending_.assign(reinterpret_cast<const char*>(data), static_cast<size_t>(n));
      }
      const ssize_t n = send(fd_, pending_.data(), pending_.size(), MSG_NOSIGNAL);
      if (n > 0) {
        pending_.erase(0, static_cast<size_t>(n));
      } else if (n < 0 && errno == EAGAIN) {
        pollfd p{fd_, POLLOUT, 0};
        if (poll(&p, 1, 1000) <= 0) return;
      } else {
        closed_ = true;
        return;
      }
    }
  }

  int fd_ = -1;
  bool connected_ = false;
  nghttp2_session* session_ = nullptr;
  std::string pending_;
  bool answering_ = true;
  bool closed_ = false;
  int server_pings_ = 0, ping_acks_ = 0;
  bool goaway_ = false;
  uint32_t goaway_code_ = 0;
  std::string goaway_debug_;
};

constexpr char kWatch[] = "/etcdserverpb.Watch/Watch";

KeepaliveOptions MinTime(absl::Duration min_time) {
  KeepaliveOptions k;
  k.min_time = min_time;
  return k;
}

class GrpcFrontEndPingFloodTest : public GrpcFrontEndTest {
 protected:
  GrpcFrontEndPingFloodTest() : GrpcFrontEndTest(MinTime(absl::Seconds(1))) {}
};

TEST_F(GrpcFrontEndPingFloodTest, AClientPingingEvery100msGetsTooManyPingsAndLosesItsConnection) {
  for (const bool with_call : {false, true}) {
    SCOPED_TRACE(with_call ? "with a call open" : "without a call");
    KeepaliveClient client(client_port_->port());
    ASSERT_TRUE(client.connected());
    if (with_call) client.OpenSilentCall(kWatch);
    client.Pump(std::chrono::milliseconds(50));
    for (int i = 0; i < 30 && !client.closed(); ++i) {  // the third strike comes at the fourth ping
      client.Ping();
      client.Pump(std::chrono::milliseconds(100));
    }
    client.PumpUntilClosed(std::chrono::seconds(2));
    EXPECT_TRUE(client.goaway());
    EXPECT_EQ(client.goaway_code(), static_cast<uint32_t>(NGHTTP2_ENHANCE_YOUR_CALM));
    EXPECT_EQ(client.goaway_debug(), "too_many_pings");
    EXPECT_TRUE(client.closed()) << "the connection was left open after the GOAWAY";
    EXPECT_GE(client.ping_acks(), 3) << "pings are answered until the strikes run out";
  }
  // The server serves on.
  etcdserverpb::PutResponse r;
  EXPECT_TRUE(Put("after", "v", &r).ok());
}

class GrpcFrontEndPingMinTimeTest : public GrpcFrontEndTest {
 protected:
  GrpcFrontEndPingMinTimeTest() : GrpcFrontEndTest(MinTime(absl::Milliseconds(200))) {}
};

TEST_F(GrpcFrontEndPingMinTimeTest, PingsSlowerThanMinTimeAreFineWithACallOpenButNotWithout) {
  // etcd's clientv3 with DialKeepAliveTime holding an idle watch: pings no more often than the min-time, a call open.
  KeepaliveClient watching(client_port_->port());
  KeepaliveClient idle(client_port_->port());  // the same pings without a call: grpc-go wants none for two hours
  ASSERT_TRUE(watching.connected());
  ASSERT_TRUE(idle.connected());
  watching.OpenSilentCall(kWatch);
  watching.Pump(std::chrono::milliseconds(50));
  constexpr int kPings = 5;
  for (int i = 0; i < kPings; ++i) {
    watching.Ping();
    idle.Ping();
    watching.Pump(std::chrono::milliseconds(300));  // 600 ms a round: well past the 200 ms min-time
    idle.Pump(std::chrono::milliseconds(300));
  }
  watching.Pump(std::chrono::milliseconds(100));
  EXPECT_FALSE(watching.goaway());
  EXPECT_FALSE(watching.closed());
  EXPECT_EQ(watching.ping_acks(), kPings);
  idle.PumpUntilClosed(std::chrono::seconds(2));
  EXPECT_TRUE(idle.goaway());
  EXPECT_EQ(idle.goaway_debug(), "too_many_pings");
  EXPECT_TRUE(idle.closed());
}

class GrpcFrontEndServerPingTest : public GrpcFrontEndTest {
 protected:
  static KeepaliveOptions Options() {
    KeepaliveOptions k;
    k.interval = absl::Milliseconds(200);
    k.timeout = absl::Milliseconds(400);
    return k;
  }
  GrpcFrontEndServerPingTest() : GrpcFrontEndTest(Options()) {}
};

TEST_F(GrpcFrontEndServerPingTest, AClientThatNeverAnswersIsDisconnectedAndOneThatAnswersIsNot) {
  KeepaliveClient silent(client_port_->port());
  KeepaliveClient answering(client_port_->port());
  ASSERT_TRUE(silent.connected());
  ASSERT_TRUE(answering.connected());
  silent.Pump(std::chrono::milliseconds(20));  // the greeting and the settings' ACK, then nothing
  silent.StopAnswering();
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(1500)) {
    answering.Pump(std::chrono::milliseconds(10));
    silent.Pump(std::chrono::milliseconds(10));
  }
  EXPECT_FALSE(answering.closed());
  EXPECT_GE(answering.server_pings(), 2) << "the server pings a client silent for the interval, again after answers";
  silent.PumpUntilClosed(std::chrono::seconds(5));
  EXPECT_GE(silent.server_pings(), 1);
  EXPECT_TRUE(silent.closed()) << "a client that never answers the server's ping keeps its connection";
  EXPECT_FALSE(silent.goaway());  // grpc-go closes it without one
  answering.Pump(std::chrono::milliseconds(100));
  EXPECT_FALSE(answering.closed());
}

}  // namespace
}  // namespace detcd::net
