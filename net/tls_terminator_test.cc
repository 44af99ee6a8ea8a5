// TLS on a client port, through the ClientListener as detcd runs it: HTTP/1.1 and gRPC (h2 by ALPN) over one TLS
// port, client-cert-auth refusals logged in etcd's words, plain bytes and idle handshakes refused without holding the
// listener, either side closing mid-stream, and large bodies both ways at once. Certificates are made at test time
// with the openssl CLI; no private key is checked in.
#include "net/tls_terminator.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "gtest/gtest.h"
#include "net/client_listener.h"
#include "net/peer_tls.h"
#include "net/test_member.h"
#include "net/tls.h"
#include "net/tls_session.h"

namespace detcd::net {
namespace {

constexpr absl::Duration kWait = absl::Seconds(10);

// Made once per test binary: a CA; a server certificate for 127.0.0.1 and localhost and a client certificate, both
// signed by it; another CA and a "rogue" client certificate signed by that one.
const std::string& PkiDir() {
  static const std::string* dir = [] {
    const char* tmp = std::getenv("TEST_TMPDIR");
    const std::string script = R"(set -e
for ca in ca other-ca; do
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $ca-key.pem -out $ca.pem -days 2 \
    -subj "/CN=detcd test $ca" 2>/dev/null
done
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >server.ext
printf 'extendedKeyUsage=clientAuth\n' >client.ext
for who in server:ca client:ca rogue:other-ca; do
  name=${who%%:*}
  ca=${who##*:}
  ext=$name.ext
  [ "$name" = rogue ] && ext=client.ext
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $name-key.pem -out $name.csr \
    -subj "/CN=$name" 2>/dev/null
  openssl x509 -req -in $name.csr -CA $ca.pem -CAkey $ca-key.pem -CAcreateserial -out $name.pem -days 2 \
    -extfile $ext 2>/dev/null
done)";
    return new std::string(RunScriptIn(std::string(tmp != nullptr ? tmp : "/tmp") + "/client-pki", script,
                                       "making certificates with the openssl CLI"));
  }();
  return *dir;
}

std::string PkiFile(const std::string& name) { return TestFileText(PkiDir() + "/" + name); }

// What the terminator logged.
class Logs {
 public:
  std::function<void(const std::string&)> Sink() {
    return [this](const std::string& line) {
      {
        std::lock_guard<std::mutex> l(mu_);
        lines_.push_back(line);
      }
      cv_.notify_all();
    };
  }
  bool WaitFor(const std::string& part) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, absl::ToChronoNanoseconds(kWait), [&] {
      for (const std::string& line : lines_) {
        if (absl::StrContains(line, part)) return true;
      }
      return false;
    });
  }
  std::string all() {
    std::lock_guard<std::mutex> l(mu_);
    std::string out;
    for (const std::string& line : lines_) out += line + "\n";
    return out;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> lines_;
};

std::shared_ptr<const TlsTerminator> Terminator(Logs* logs, bool client_cert_auth,
                                                absl::Duration handshake_timeout = absl::Seconds(10)) {
  TlsTerminatorOptions o;
  o.cert_pem = PkiFile("server.pem");
  o.key_pem = PkiFile("server-key.pem");
  o.trusted_ca_pem = PkiFile("ca.pem");
  o.client_cert_auth = client_cert_auth;
  o.handshake_timeout = handshake_timeout;
  o.log = logs->Sink();
  absl::StatusOr<std::shared_ptr<const TlsTerminator>> t = TlsTerminator::Create(std::move(o));
  EXPECT_TRUE(t.ok()) << t.status();
  return t.ok() ? *t : nullptr;
}

int Dial(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  return fd;
}

// Everything until the server closes (or 10 s pass).
std::string ReadToEnd(int fd) {
  std::string out;
  char buf[4096];
  const absl::Time deadline = absl::Now() + kWait;
  while (absl::Now() < deadline) {
    pollfd p = {fd, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// A TLS client over a blocking socket: the test's side of the connection, with the client certificate `who` ("" for
// none), verifying the server as 127.0.0.1 against the test CA, offering `alpn`.
class TlsClient {
 public:
  TlsClient(int port, const std::string& who, const std::vector<std::string>& alpn = {"h2", "http/1.1"}) {
    PeerTlsPem pem;
    pem.trusted_ca_pem = PkiFile("ca.pem");
    if (!who.empty()) {
      pem.cert_pem = PkiFile(who + ".pem");
      pem.key_pem = PkiFile(who + "-key.pem");
    }
    absl::StatusOr<std::shared_ptr<const PeerTls>> tls = PeerTls::Create(pem);
    EXPECT_TRUE(tls.ok()) << tls.status();
    fd_ = Dial(port);
    ssl_ = (*tls)->Connect(fd_, "127.0.0.1");
    std::string wire;
    for (const std::string& p : alpn) wire += static_cast<char>(p.size()) + p;
    SSL_set_alpn_protos(ssl_.get(), reinterpret_cast<const unsigned char*>(wire.data()),
                        static_cast<unsigned int>(wire.size()));
    handshake_ = TlsHandshake(ssl_.get());
  }
  ~TlsClient() {
    ssl_.reset();
    if (fd_ >= 0) close(fd_);
  }

  bool handshaken() const { return handshake_.kind == TlsStep::kDone; }
  std::string alpn() { return TlsAlpnProtocol(ssl_.get()); }
  ssl_st* ssl() { return ssl_.get(); }
  int fd() const { return fd_; }

  bool Write(const std::string& bytes) {
    for (size_t done = 0; done < bytes.size();) {
      const TlsStep s = TlsWrite(ssl_.get(), bytes.data() + done, bytes.size() - done);
      if (s.kind != TlsStep::kDone) return false;
      done += s.bytes;
    }
    return true;
  }
  // Until the server ends the connection; `how` says how it ended (kClosed, or kFailed with the error).
  std::string ReadToEnd(TlsStep* how = nullptr) {
    std::string out;
    char buf[16 * 1024];
    for (;;) {
      const TlsStep s = TlsRead(ssl_.get(), buf, sizeof(buf));
      if (s.kind != TlsStep::kDone) {
        if (how != nullptr) *how = s;
        return out;
      }
      out.append(buf, s.bytes);
    }
  }
  // Closes the socket without close_notify.
  void Abort() {
    close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
  TlsSession ssl_;
  TlsStep handshake_;
};

// An HTTP/1.1 handler that answers one request (whatever came before the blank line) and closes.
ClientListener::Http1Handler AnswerOnce(std::atomic<int>* calls) {
  return [calls](int fd) {
    ++*calls;
    std::string request;
    char buf[1024];
    while (request.find("\r\n\r\n") == std::string::npos) {
      const ssize_t n = recv(fd, buf, sizeof(buf), 0);
      if (n <= 0) break;
      request.append(buf, static_cast<size_t>(n));
    }
    const std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    (void)send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
    close(fd);
  };
}

void WaitForNoConnections(const TlsTerminator& t) {
  const absl::Time deadline = absl::Now() + kWait;
  while (t.active_connections() > 0 && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(t.active_connections(), 0) << "a pump outlived both ends of its connection";
}

class OneKeyKV final : public etcdserverpb::KV::Service {
  grpc::Status Range(grpc::ServerContext*, const etcdserverpb::RangeRequest*,
                     etcdserverpb::RangeResponse* response) override {
    response->add_kvs()->set_key("k");
    return grpc::Status::OK;
  }
};

grpc::Status CallRange(int port, const std::string& client_cert) {
  grpc::SslCredentialsOptions o;
  o.pem_root_certs = PkiFile("ca.pem");
  if (!client_cert.empty()) {
    o.pem_cert_chain = PkiFile(client_cert + ".pem");
    o.pem_private_key = PkiFile(client_cert + "-key.pem");
  }
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("localhost");
  auto stub = etcdserverpb::KV::NewStub(
      grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(port), grpc::SslCredentials(o), args));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
  etcdserverpb::RangeResponse resp;
  grpc::Status s = stub->Range(&ctx, etcdserverpb::RangeRequest(), &resp);
  if (s.ok() && (resp.kvs_size() != 1 || resp.kvs(0).key() != "k"))
    return grpc::Status(grpc::StatusCode::DATA_LOSS, "");
  return s;
}

TEST(TlsTerminatorTest, OneTlsPortServesHttp1AndGrpc) {
  Logs logs;
  std::shared_ptr<const TlsTerminator> tls = Terminator(&logs, /*client_cert_auth=*/false);
  OneKeyKV kv;
  grpc::ServerBuilder builder;
  builder.RegisterService(&kv);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  std::atomic<int> http1{0};
  auto l = ClientListener::Start("127.0.0.1", 0, server.get(), AnswerOnce(&http1), tls);
  ASSERT_TRUE(l.ok()) << l.status();
  const int port = (*l)->port();

  {  // curl's way: ALPN offers h2 and http/1.1; the gateway speaks HTTP/1.1, so that is chosen.
    TlsClient c(port, "");
    ASSERT_TRUE(c.handshaken());
    EXPECT_EQ(c.alpn(), "http/1.1");
    ASSERT_TRUE(c.Write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
    TlsStep end;
    const std::string reply = c.ReadToEnd(&end);
    EXPECT_TRUE(absl::StartsWith(reply, "HTTP/1.1 200 OK")) << reply;
    EXPECT_TRUE(absl::EndsWith(reply, "\r\n\r\nok")) << reply;
    EXPECT_EQ(end.kind, TlsStep::kClosed) << "the server ends with close_notify: " << end.error;
  }
  {  // No ALPN at all: still HTTP/1.1.
    TlsClient c(port, "", {});
    ASSERT_TRUE(c.handshaken());
    EXPECT_EQ(c.alpn(), "");
    ASSERT_TRUE(c.Write("GET /version HTTP/1.1\r\nHost: x\r\n\r\n"));
    EXPECT_TRUE(absl::EndsWith(c.ReadToEnd(), "ok"));
  }
  {  // A gRPC client's offer: h2 only, and h2 it gets.
    TlsClient c(port, "", {"h2"});
    ASSERT_TRUE(c.handshaken());
    EXPECT_EQ(c.alpn(), "h2");
  }
  // grpc-core refuses a server that does not choose h2: these calls reach the gRPC server through the terminator.
  for (int i = 0; i < 3; ++i) {
    grpc::Status s = CallRange(port, "");
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  EXPECT_EQ(http1.load(), 2) << "gRPC never reaches the HTTP/1.1 handler, HTTP/1.1 always does";
  EXPECT_EQ(logs.all(), "") << "nothing was rejected";

  (*l)->Stop();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  WaitForNoConnections(*tls);
}

TEST(TlsTerminatorTest, ClientCertAuthRefusesMissingAndUntrustedCertificates) {
  Logs logs;
  std::shared_ptr<const TlsTerminator> tls = Terminator(&logs, /*client_cert_auth=*/true);
  OneKeyKV kv;
  grpc::ServerBuilder builder;
  builder.RegisterService(&kv);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  std::atomic<int> http1{0};
  auto l = ClientListener::Start("127.0.0.1", 0, server.get(), AnswerOnce(&http1), tls);
  ASSERT_TRUE(l.ok()) << l.status();
  const int port = (*l)->port();

  for (const std::string who : {"", "rogue"}) {
    TlsClient c(port, who);
    // With TLS 1.3 the client finishes first and hears of its refusal on its first read.
    if (c.handshaken()) {
      (void)c.Write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n");
      EXPECT_EQ(c.ReadToEnd(), "") << who;
    }
  }
  EXPECT_TRUE(logs.WaitFor(R"((error "tls: client didn't provide a certificate", ServerName ""))")) << logs.all();
  EXPECT_TRUE(logs.WaitFor(R"((error "tls: failed to verify client's certificate: x509: certificate signed by )"
                           R"(unknown authority", ServerName ""))"))
      << logs.all();
  EXPECT_TRUE(absl::StartsWith(logs.all(), "rejected connection from \"127.0.0.1:")) << logs.all();
  EXPECT_FALSE(CallRange(port, "").ok()) << "gRPC without a client certificate";
  EXPECT_FALSE(CallRange(port, "rogue").ok()) << "gRPC with an untrusted client certificate";
  EXPECT_EQ(http1.load(), 0) << "a refused connection reaches no handler";

  TlsClient c(port, "client");
  ASSERT_TRUE(c.handshaken());
  ASSERT_TRUE(c.Write("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
  EXPECT_TRUE(absl::EndsWith(c.ReadToEnd(), "ok"));
  grpc::Status s = CallRange(port, "client");
  EXPECT_TRUE(s.ok()) << s.error_message();

  (*l)->Stop();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  WaitForNoConnections(*tls);
}

TEST(TlsTerminatorTest, PlainBytesAndIdleHandshakesAreRefusedWithoutHoldingTheListener) {
  Logs logs;
  std::shared_ptr<const TlsTerminator> tls = Terminator(&logs, false, absl::Milliseconds(300));
  std::atomic<int> http1{0};
  // No gRPC server: a metrics URL's listener, every connection to HTTP/1.1 once TLS is off it.
  auto l = ClientListener::Start("127.0.0.1", 0, nullptr, AnswerOnce(&http1), tls);
  ASSERT_TRUE(l.ok()) << l.status();
  const int port = (*l)->port();

  const int idle = Dial(port);  // says nothing
  const int plain = Dial(port);
  const std::string request = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  ASSERT_EQ(send(plain, request.data(), request.size(), MSG_NOSIGNAL), static_cast<ssize_t>(request.size()));
  EXPECT_FALSE(absl::StrContains(ReadToEnd(plain), "HTTP/")) << "plain HTTP is not answered on a TLS port";
  close(plain);
  EXPECT_TRUE(logs.WaitFor(R"((error "tls: first record does not look like a TLS handshake", ServerName ""))"))
      << logs.all();

  {  // Meanwhile a TLS client is served.
    TlsClient c(port, "");
    ASSERT_TRUE(c.handshaken());
    ASSERT_TRUE(c.Write(request));
    EXPECT_TRUE(absl::EndsWith(c.ReadToEnd(), "ok"));
  }
  EXPECT_EQ(ReadToEnd(idle), "") << "the idle connection is closed at its handshake deadline";
  close(idle);
  EXPECT_TRUE(logs.WaitFor(": i/o timeout\", ServerName \"\")")) << logs.all();
  close(Dial(port));  // a client that hangs up at once
  EXPECT_TRUE(logs.WaitFor("(error \"EOF\", ServerName \"\")")) << logs.all();
  EXPECT_EQ(http1.load(), 1);
  (*l)->Stop();
  WaitForNoConnections(*tls);
}

TEST(TlsTerminatorTest, EitherSideClosingMidStreamEndsTheConnection) {
  Logs logs;
  std::shared_ptr<const TlsTerminator> tls = Terminator(&logs, false);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::string> received;  // what each connection's handler read before its end
  auto l = ClientListener::Start(
      "127.0.0.1", 0, nullptr,
      [&](int fd) {
        std::string got;
        char buf[4096];
        if (recv(fd, buf, 1, MSG_PEEK) > 0 && buf[0] == 'w') {  // "write": the handler speaks and hangs up
          const std::string reply = "half a resp";
          (void)send(fd, reply.data(), reply.size(), MSG_NOSIGNAL);
          close(fd);
          return;
        }
        for (ssize_t n; (n = recv(fd, buf, sizeof(buf), 0)) > 0;) got.append(buf, static_cast<size_t>(n));
        close(fd);
        {
          std::lock_guard<std::mutex> g(mu);
          received.push_back(got);
        }
        cv.notify_all();
      },
      tls);
  ASSERT_TRUE(l.ok()) << l.status();
  const int port = (*l)->port();

  auto handler_got = [&](size_t n) {
    std::unique_lock<std::mutex> g(mu);
    EXPECT_TRUE(cv.wait_for(g, absl::ToChronoNanoseconds(kWait), [&] { return received.size() >= n; }));
    return received.size() >= n ? received[n - 1] : "(nothing)";
  };
  const std::string partial = "POST /v3/kv/put HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"ke";
  {  // The client stops mid-request with close_notify: the handler reads what it sent, then the end.
    TlsClient c(port, "");
    ASSERT_TRUE(c.handshaken());
    ASSERT_TRUE(c.Write(partial));
    TlsShutdown(c.ssl());
    shutdown(c.fd(), SHUT_WR);
    EXPECT_EQ(handler_got(1), partial);
  }
  {  // The same without close_notify (a bare end of stream).
    TlsClient c(port, "");
    ASSERT_TRUE(c.handshaken());
    ASSERT_TRUE(c.Write(partial));
    shutdown(c.fd(), SHUT_WR);
    EXPECT_EQ(handler_got(2), partial);
  }
  {  // The client resets the connection: the handler sees an end (after what arrived before the reset, if any).
    TlsClient c(port, "");
    ASSERT_TRUE(c.handshaken());
    ASSERT_TRUE(c.Write(partial));
    const linger reset = {1, 0};
    setsockopt(c.fd(), SOL_SOCKET, SO_LINGER, &reset, sizeof(reset));
    c.Abort();
    EXPECT_TRUE(absl::StartsWith(partial, handler_got(3)));
  }
  {  // The handler hangs up mid-response: the client gets what was written, then close_notify.
    TlsClient c(port, "");
    ASSERT_TRUE(c.handshaken());
    ASSERT_TRUE(c.Write("write"));
    TlsStep end;
    EXPECT_EQ(c.ReadToEnd(&end), "half a resp");
    EXPECT_EQ(end.kind, TlsStep::kClosed) << end.error;
  }
  (*l)->Stop();
  WaitForNoConnections(*tls);
}

// The byte at offset i of a body: a pattern that a lost, repeated or reordered chunk breaks.
char PatternByte(uint64_t i, int seed) { return static_cast<char>((i * 131 + i / 4093 + seed) % 251); }

TEST(TlsTerminatorTest, LargeBodiesBothWaysAtOnce) {
  constexpr size_t kBodyBytes = 8 << 20;  // far beyond every buffer on the way, in both directions at once
  Logs logs;
  std::shared_ptr<const TlsTerminator> tls = Terminator(&logs, false);
  std::atomic<bool> handler_got_all{false};
  // The handler writes its body while it reads the client's, each on a thread of its own.
  auto l = ClientListener::Start(
      "127.0.0.1", 0, nullptr,
      [&](int fd) {
        std::thread writer([fd] {
          std::string chunk(64 * 1024, '\0');
          for (size_t off = 0; off < kBodyBytes; off += chunk.size()) {
            for (size_t i = 0; i < chunk.size(); ++i) chunk[i] = PatternByte(off + i, 2);
            for (size_t done = 0; done < chunk.size();) {
              const ssize_t n = send(fd, chunk.data() + done, chunk.size() - done, MSG_NOSIGNAL);
              if (n <= 0) return;
              done += static_cast<size_t>(n);
            }
          }
        });
        size_t got = 0;
        bool intact = true;
        char buf[32 * 1024];
        for (ssize_t n; got < kBodyBytes && (n = recv(fd, buf, sizeof(buf), 0)) > 0;) {
          for (ssize_t i = 0; i < n; ++i) intact = intact && buf[i] == PatternByte(got + i, 1);
          got += static_cast<size_t>(n);
        }
        writer.join();
        handler_got_all = intact && got == kBodyBytes;
        close(fd);
      },
      tls);
  ASSERT_TRUE(l.ok()) << l.status();

  TlsClient c((*l)->port(), "");
  ASSERT_TRUE(c.handshaken());
  ASSERT_EQ(fcntl(c.fd(), F_SETFL, fcntl(c.fd(), F_GETFL) | O_NONBLOCK), 0);
  // One thread, both directions: write what the socket takes, read what came, until both bodies are through.
  std::string out(kBodyBytes, '\0');
  for (size_t i = 0; i < kBodyBytes; ++i) out[i] = PatternByte(i, 1);
  size_t sent = 0;
  size_t got = 0;
  size_t pending_write = 0;  // a write to repeat with the same length
  bool intact = true;
  bool ended = false;
  char buf[32 * 1024];
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (!ended && absl::Now() < deadline) {
    bool want_out = false;
    bool want_in = true;
    if (sent < kBodyBytes) {
      const size_t len = pending_write > 0 ? pending_write : kBodyBytes - sent;
      const TlsStep s = TlsWrite(c.ssl(), out.data() + sent, len);
      if (s.kind == TlsStep::kDone) {
        sent += s.bytes;
        pending_write = 0;
      } else {
        ASSERT_TRUE(s.kind == TlsStep::kWantWrite || s.kind == TlsStep::kWantRead) << s.error;
        pending_write = len;
        want_out = s.kind == TlsStep::kWantWrite;
      }
    }
    for (;;) {
      const TlsStep s = TlsRead(c.ssl(), buf, sizeof(buf));
      if (s.kind == TlsStep::kDone) {
        for (size_t i = 0; i < s.bytes; ++i) intact = intact && buf[i] == PatternByte(got + i, 2);
        got += s.bytes;
        continue;
      }
      if (s.kind == TlsStep::kClosed || s.kind == TlsStep::kFailed) ended = true;
      want_out = want_out || s.kind == TlsStep::kWantWrite;
      want_in = s.kind == TlsStep::kWantRead;
      break;
    }
    if (ended || (sent < kBodyBytes && !want_out && pending_write == 0)) continue;
    pollfd p = {c.fd(), static_cast<short>((want_in ? POLLIN : 0) | (want_out ? POLLOUT : 0)), 0};
    (void)poll(&p, 1, 100);
  }
  EXPECT_EQ(sent, kBodyBytes);
  EXPECT_EQ(got, kBodyBytes);
  EXPECT_TRUE(intact) << "the handler's body arrived changed";
  EXPECT_TRUE(ended) << "the connection ends once the handler closes";
  EXPECT_TRUE(handler_got_all.load()) << "the client's body arrived short or changed";
  (*l)->Stop();
  WaitForNoConnections(*tls);
}

TEST(TlsTerminatorTest, RefusesAKeyOfAnotherCertificate) {
  TlsTerminatorOptions o;
  o.cert_pem = PkiFile("server.pem");
  o.key_pem = PkiFile("client-key.pem");
  absl::StatusOr<std::shared_ptr<const TlsTerminator>> t = TlsTerminator::Create(std::move(o));
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().message(), "tls: private key does not match public key");
}

}  // namespace
}  // namespace detcd::net
