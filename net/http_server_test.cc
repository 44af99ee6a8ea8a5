// ServeHttpConnection over a socketpair against a real single-member MemberRuntime (TEST_TMPDIR, real time): the
// test is the client on the other end and reads the bytes on the wire. Keep-alive and pipelining, a malformed
// request (400, then closed), POST /v3/watch as a chunked stream of {"result":…} lines that lasts until the client
// closes, the lease keep-alive stream, and `stop` ending idle and streaming connections.
#include "net/http_server.h"
#include "net/test_grpc_services.h"
#include "net/test_member.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace detcd::net {
namespace {

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

std::string Post(const std::string& path, const std::string& body, const std::string& extra_headers = "") {
  return absl::StrCat("POST ", path, " HTTP/1.1\r\nHost: localhost\r\n", extra_headers, "Content-Length: ", body.size(),
                      "\r\n\r\n", body);
}

// The client's end of the connection: reads with a deadline, so a server that hangs fails the test instead of it.
class Client {
 public:
  explicit Client(int fd) : fd_(fd) {}
  ~Client() { Close(); }

  void Close() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }

  bool Send(const std::string& bytes) {
    return send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(bytes.size());
  }

  // A response head (status line and headers, without the blank line); nullopt on timeout or EOF.
  std::optional<std::string> ReadHead() {
    size_t end;
    while ((end = buf_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    std::string head = buf_.substr(0, end);
    buf_.erase(0, end + 4);
    return head;
  }

  std::optional<std::string> ReadBytes(size_t n) {
    while (buf_.size() < n) {
      if (!Fill()) return std::nullopt;
    }
    std::string out = buf_.substr(0, n);
    buf_.erase(0, n);
    return out;
  }

  // A whole response with a Content-Length: head + "\r\n\r\n" + body.
  std::optional<std::string> ReadResponse() {
    std::optional<std::string> head = ReadHead();
    if (!head) return std::nullopt;
    const size_t at = head->find("Content-Length: ");
    if (at == std::string::npos) return std::nullopt;
    size_t length = 0;
    if (!absl::SimpleAtoi(head->substr(at + 16, head->find("\r\n", at) - at - 16), &length)) return std::nullopt;
    std::optional<std::string> body = ReadBytes(length);
    if (!body) return std::nullopt;
    return absl::StrCat(*head, "\r\n\r\n", *body);
  }

  // One chunk of a chunked body; "" for the last chunk (its trailer section read too).
  std::optional<std::string> ReadChunk() {
    size_t eol;
    while ((eol = buf_.find("\r\n")) == std::string::npos) {
      if (!Fill()) return std::nullopt;
    }
    size_t size = 0;
    if (!absl::SimpleHexAtoi(buf_.substr(0, eol), &size)) return std::nullopt;
    buf_.erase(0, eol + 2);
    std::optional<std::string> data = ReadBytes(size + 2);
    if (!data || data->substr(size) != "\r\n") return std::nullopt;
    return data->substr(0, size);
  }

  // True when the server closes the connection without sending anything more.
  bool ReadEof() {
    while (buf_.empty()) {
      if (!Fill()) return eof_ && buf_.empty();
    }
    return false;
  }

 private:
  // More bytes within 10 s; false on timeout or EOF.
  bool Fill() {
    pollfd p = {fd_, POLLIN, 0};
    if (poll(&p, 1, 10'000) <= 0) return false;
    char b[4096];
    const ssize_t n = recv(fd_, b, sizeof b, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    buf_.append(b, static_cast<size_t>(n));
    return true;
  }

  int fd_;
  std::string buf_;
  bool eof_ = false;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<MemberRuntime>> rt =
        MemberRuntime::Start(SingleMemberOptions(FreshTestDir(CurrentTestName())));
    ASSERT_TRUE(rt.ok()) << rt.status();
    runtime_ = std::move(*rt);
    GrpcServicesOptions so;
    so.member_name = "default";
    services_ = TestGrpcServices::Start(runtime_.get(), so);
    ASSERT_NE(services_, nullptr);
    HttpGatewayOptions g;
    g.stream_poll_interval = absl::Milliseconds(20);
    g.grpc_channel = services_->channel();
    gateway_ = std::make_unique<HttpGateway>(runtime_.get(), g);
    // The first requests may find no leader yet: retry for a while, as a client does.
    for (int i = 0; i < 200; ++i) {
      kvpb::ClientRequest r;
      r.mutable_range()->set_key("probe");
      if (runtime_->Call(r, absl::Seconds(1)).status.ok()) break;
      absl::SleepFor(absl::Milliseconds(20));
    }
    int fds[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
    client_ = std::make_unique<Client>(fds[1]);
    server_ = std::thread([this, fd = fds[0]] {
      ServeHttpConnection(fd, gateway_.get(), &stop_);
      served_ = true;
    });
  }

  void TearDown() override {
    stop_ = true;
    if (server_.joinable()) server_.join();
    if (services_ != nullptr) services_->Stop();
  }

  // Whether ServeHttpConnection returned within `timeout`.
  bool ServerEnded(absl::Duration timeout = absl::Seconds(5)) {
    const absl::Time deadline = absl::Now() + timeout;
    while (!served_ && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(5));
    return served_;
  }

  void Put(const std::string& key, const std::string& value) {
    kvpb::ClientRequest r;
    r.mutable_put()->set_key(key);
    r.mutable_put()->set_value(value);
    ASSERT_TRUE(runtime_->Call(r, absl::Seconds(5)).status.ok());
  }

  std::unique_ptr<MemberRuntime> runtime_;
  std::unique_ptr<TestGrpcServices> services_;
  std::unique_ptr<HttpGateway> gateway_;
  std::unique_ptr<Client> client_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> served_{false};
  std::thread server_;
};

TEST_F(HttpServerTest, KeepAliveAndPipelining) {
  // Two requests in one write: answered in order on the same connection.
  ASSERT_TRUE(client_->Send(Post("/v3/kv/put", R"({"key":"Zm9v","value":"YmFy"})") +
                            Post("/v3/kv/range", R"({"key":"Zm9v"})")));
  std::optional<std::string> put = client_->ReadResponse();
  ASSERT_TRUE(put.has_value());
  EXPECT_EQ(put->rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << *put;
  EXPECT_FALSE(Contains(*put, "Connection: close")) << *put;
  EXPECT_TRUE(Contains(*put, R"("revision":"2")")) << *put;
  std::optional<std::string> range = client_->ReadResponse();
  ASSERT_TRUE(range.has_value());
  EXPECT_TRUE(Contains(*range, R"("kvs":[{"key":"Zm9v")")) << *range;

  // The connection stays open for more; "Connection: close" ends it after the response.
  ASSERT_TRUE(client_->Send("GET /version HTTP/1.1\r\nHost: x\r\n\r\n"));
  std::optional<std::string> version = client_->ReadResponse();
  ASSERT_TRUE(version.has_value());
  EXPECT_TRUE(Contains(*version, R"({"etcdserver":")")) << *version;
  ASSERT_TRUE(client_->Send("GET /health HTTP/1.1\r\nConnection: close\r\n\r\n"));
  std::optional<std::string> health = client_->ReadResponse();
  ASSERT_TRUE(health.has_value());
  EXPECT_TRUE(Contains(*health, "Connection: close\r\n")) << *health;
  EXPECT_TRUE(client_->ReadEof());
  EXPECT_TRUE(ServerEnded());
}

TEST_F(HttpServerTest, MalformedRequestIsAnswered400AndClosed) {
  ASSERT_TRUE(client_->Send("GET /version HTTP/1.1\r\n\r\nNOT A REQUEST\r\n\r\n"));
  std::optional<std::string> ok = client_->ReadResponse();
  ASSERT_TRUE(ok.has_value());
  EXPECT_EQ(ok->rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << *ok;
  std::optional<std::string> bad = client_->ReadResponse();
  ASSERT_TRUE(bad.has_value());
  EXPECT_EQ(bad->rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u) << *bad;
  EXPECT_TRUE(Contains(*bad, "Connection: close\r\n")) << *bad;
  EXPECT_TRUE(client_->ReadEof());
  EXPECT_TRUE(ServerEnded());
}

TEST_F(HttpServerTest, WatchStreamsChunkedResultsUntilTheClientCloses) {
  // Two requests in the body, one JSON value after the other, as grpc-gateway decodes them.
  ASSERT_TRUE(client_->Send(
      Post("/v3/watch", R"({"create_request": {"key":"Zm9v"} } {"create_request":{"key":"YmF6","prev_kv":true}})")));
  std::optional<std::string> head = client_->ReadHead();
  ASSERT_TRUE(head.has_value());
  EXPECT_EQ(head->rfind("HTTP/1.1 200 OK\r\n", 0), 0u) << *head;
  EXPECT_TRUE(Contains(*head, "Transfer-Encoding: chunked")) << *head;
  EXPECT_TRUE(Contains(*head, "Content-Type: application/json")) << *head;
  EXPECT_FALSE(Contains(*head, "Content-Length")) << *head;

  std::optional<std::string> created = client_->ReadChunk();
  ASSERT_TRUE(created.has_value());
  EXPECT_EQ(created->rfind(R"({"result":{"header":{"cluster_id":"193","member_id":"1","revision":"1",)", 0), 0u)
      << *created;
  EXPECT_TRUE(Contains(*created, R"(,"created":true}})"
                                 "\n"))
      << *created;
  std::optional<std::string> created2 = client_->ReadChunk();
  ASSERT_TRUE(created2.has_value());
  EXPECT_TRUE(Contains(*created2, R"("watch_id":"1","created":true}})"
                                  "\n"))
      << *created2;

  Put("foo", "bar");
  std::optional<std::string> event = client_->ReadChunk();
  ASSERT_TRUE(event.has_value());
  EXPECT_TRUE(Contains(*event, R"("events":[{"kv":{"key":"Zm9v","create_revision":"2","mod_revision":"2",)"
                               R"("version":"1","value":"YmFy"}}]}})"
                               "\n"))
      << *event;
  EXPECT_FALSE(Contains(*event, "watch_id")) << *event;  // watch 0: a default, omitted

  Put("baz", "one");
  Put("baz", "two");
  std::string events;
  while (!Contains(events, "dHdv")) {  // "two"; the two events may come in one response or two
    std::optional<std::string> more = client_->ReadChunk();
    ASSERT_TRUE(more.has_value()) << events;
    ASSERT_EQ(more->rfind(R"({"result":{"header":)", 0), 0u) << *more;
    EXPECT_TRUE(Contains(*more, R"("watch_id":"1")")) << *more;
    events += *more;
  }
  EXPECT_TRUE(Contains(events, R"("prev_kv":{"key":"YmF6")")) << events;

  // The stream outlives the request body; it ends when the client closes its end.
  EXPECT_FALSE(served_);
  client_->Close();
  EXPECT_TRUE(ServerEnded());
}

TEST_F(HttpServerTest, BytesSentDuringAWatchAreBoundedAndTheCloseStillSeen) {
  ASSERT_TRUE(client_->Send(Post("/v3/watch", R"({"create_request":{"key":"Zm9v"}})")));
  ASSERT_TRUE(client_->ReadHead().has_value());
  ASSERT_TRUE(client_->ReadChunk().has_value());
  // Pipelined requests behind a stream that never ends: the server reads about a MiB of them, then no more (the rest
  // stays in the socket buffer), and still notices the close.
  std::string flood;
  while (flood.size() < (1 << 20) + (64 << 10)) flood += "GET /version HTTP/1.1\r\n\r\n";
  ASSERT_TRUE(client_->Send(flood));
  Put("foo", "bar");
  std::optional<std::string> event = client_->ReadChunk();
  ASSERT_TRUE(event.has_value());
  EXPECT_TRUE(Contains(*event, R"("events":[{"kv":{"key":"Zm9v")")) << *event;
  client_->Close();
  EXPECT_TRUE(ServerEnded());
}

TEST_F(HttpServerTest, StopEndsAWatchStreamAndAnIdleConnection) {
  ASSERT_TRUE(client_->Send(Post("/v3beta/watch", R"({"create_request":{"key":"Zm9v"}})")));
  ASSERT_TRUE(client_->ReadHead().has_value());
  std::optional<std::string> created = client_->ReadChunk();
  ASSERT_TRUE(created.has_value());
  EXPECT_TRUE(Contains(*created, R"("created":true)")) << *created;
  stop_ = true;
  EXPECT_EQ(client_->ReadChunk(), std::optional<std::string>(""));  // the body ends
  EXPECT_TRUE(client_->ReadEof());
  EXPECT_TRUE(ServerEnded());
}

TEST_F(HttpServerTest, StopEndsAnIdleConnection) {
  absl::SleepFor(absl::Milliseconds(150));
  EXPECT_FALSE(served_);
  stop_ = true;
  EXPECT_TRUE(client_->ReadEof());
  EXPECT_TRUE(ServerEnded(absl::Seconds(1)));
}

TEST_F(HttpServerTest, BadFirstWatchRequestIsAnErrorResponse) {
  ASSERT_TRUE(client_->Send(Post("/v3/watch", R"({"create_request": )")));
  std::optional<std::string> bad = client_->ReadResponse();
  ASSERT_TRUE(bad.has_value());
  // grpc-gateway passes the decoder's error on as it is: codes.Unknown, HTTP 500.
  EXPECT_EQ(bad->rfind("HTTP/1.1 500 Internal Server Error\r\n", 0), 0u) << *bad;
  EXPECT_TRUE(Contains(*bad, R"("code":2)")) << *bad;
  // The connection carries on.
  ASSERT_TRUE(client_->Send("GET /version HTTP/1.1\r\n\r\n"));
  EXPECT_TRUE(client_->ReadResponse().has_value());
}

TEST_F(HttpServerTest, LeaseKeepAliveStreamsOneResultPerRequest) {
  kvpb::ClientRequest grant;
  grant.mutable_lease_grant()->set_id(1234);
  grant.mutable_lease_grant()->set_ttl(60);
  ASSERT_TRUE(runtime_->Call(grant, absl::Seconds(5)).status.ok());

  ASSERT_TRUE(client_->Send(Post("/v3/lease/keepalive", R"({"ID":"1234"}{"ID":"1234"} {"ID":"99"})") +
                            "GET /version HTTP/1.1\r\n\r\n"));
  std::optional<std::string> head = client_->ReadHead();
  ASSERT_TRUE(head.has_value());
  EXPECT_TRUE(Contains(*head, "Transfer-Encoding: chunked")) << *head;
  for (int i = 0; i < 2; ++i) {
    std::optional<std::string> chunk = client_->ReadChunk();
    ASSERT_TRUE(chunk.has_value());
    EXPECT_EQ(chunk->rfind(R"({"result":{"header":)", 0), 0u) << *chunk;
    EXPECT_TRUE(Contains(*chunk, R"("ID":"1234","TTL":"60"}})"
                                 "\n"))
        << *chunk;
  }
  // An unknown lease is answered TTL 0 (omitted), as etcd does.
  std::optional<std::string> unknown = client_->ReadChunk();
  ASSERT_TRUE(unknown.has_value());
  EXPECT_TRUE(Contains(*unknown, R"("ID":"99"}})"
                                 "\n"))
      << *unknown;
  // The stream ends with the body, and the pipelined request after it is answered.
  EXPECT_EQ(client_->ReadChunk(), std::optional<std::string>(""));
  std::optional<std::string> version = client_->ReadResponse();
  ASSERT_TRUE(version.has_value());
  EXPECT_TRUE(Contains(*version, "etcdserver")) << *version;
}

}  // namespace
}  // namespace detcd::net
