// One client port for gRPC and HTTP/1.1, as etcd's: a gRPC stub reaches the gRPC server through the listener, a plain
// HTTP/1.1 request and garbage go to the HTTP handler, and a client that hangs up early costs nothing. Without a gRPC
// server (a metrics URL) every connection, an HTTP/2 preface too, goes to the HTTP handler.
#include "net/client_listener.h"

#include <arpa/inet.h>
#include <grpcpp/grpcpp.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <string>

#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "gtest/gtest.h"

namespace detcd::net {
namespace {

class OneKeyKV final : public etcdserverpb::KV::Service {
  grpc::Status Range(grpc::ServerContext*, const etcdserverpb::RangeRequest*,
                     etcdserverpb::RangeResponse* response) override {
    response->add_kvs()->set_key("k");
    return grpc::Status::OK;
  }
};

int Connect(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  return fd;
}

std::string Exchange(int port, const std::string& request) {
  const int fd = Connect(port);
  EXPECT_EQ(write(fd, request.data(), request.size()), static_cast<ssize_t>(request.size()));
  std::string out;
  char buf[256];
  for (ssize_t n; (n = read(fd, buf, sizeof(buf))) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fd);
  return out;
}

TEST(ClientListenerTest, GrpcAndHttp1ShareOnePort) {
  OneKeyKV kv;
  grpc::ServerBuilder builder;  // no listening port of its own: the listener hands it connections
  builder.RegisterService(&kv);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  ASSERT_NE(server, nullptr);
  std::atomic<int> http1{0};
  absl::StatusOr<std::unique_ptr<ClientListener>> l =
      ClientListener::Start("127.0.0.1", 0, server.get(), [&](int fd) {
        ++http1;
        const std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
        (void)!write(fd, reply.data(), reply.size());
        close(fd);
      });
  ASSERT_TRUE(l.ok()) << l.status();
  const int port = (*l)->port();
  ASSERT_GT(port, 0);

  auto stub = etcdserverpb::KV::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  for (int i = 0; i < 3; ++i) {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    etcdserverpb::RangeRequest req;
    etcdserverpb::RangeResponse resp;
    grpc::Status s = stub->Range(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(resp.kvs(0).key(), "k");
  }
  EXPECT_EQ(http1.load(), 0) << "gRPC connections never reach the HTTP handler";

  EXPECT_NE(Exchange(port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n").find("200 OK"), std::string::npos);
  EXPECT_NE(Exchange(port, "\x01\x02garbage\r\n\r\n").find("200 OK"), std::string::npos) << "garbage is HTTP's to refuse";
  EXPECT_NE(Exchange(port, "PRI * HTTP/1.1\r\n\r\n").find("200 OK"), std::string::npos) << "not the HTTP/2 preface";
  EXPECT_EQ(http1.load(), 3);
  close(Connect(port));  // a client that hangs up at once

  (*l)->Stop();
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
}

TEST(ClientListenerTest, WithoutGrpcEveryConnectionGoesToHttp1) {
  std::atomic<int> http1{0};
  absl::StatusOr<std::unique_ptr<ClientListener>> l = ClientListener::Start("127.0.0.1", 0, nullptr, [&](int fd) {
    ++http1;
    const std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";
    (void)!write(fd, reply.data(), reply.size());
    close(fd);
  });
  ASSERT_TRUE(l.ok()) << l.status();
  const int port = (*l)->port();
  ASSERT_GT(port, 0);
  EXPECT_NE(Exchange(port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n").find("200 OK"), std::string::npos);
  EXPECT_NE(Exchange(port, "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n").find("200 OK"), std::string::npos)
      << "no gRPC server to hand the HTTP/2 preface to: HTTP's to refuse";
  EXPECT_EQ(http1.load(), 2);

  // A gRPC client gets no gRPC: its call fails instead of reaching a null server.
  auto stub = etcdserverpb::KV::NewStub(
      grpc::CreateChannel("127.0.0.1:" + std::to_string(port), grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
  etcdserverpb::RangeResponse resp;
  EXPECT_FALSE(stub->Range(&ctx, etcdserverpb::RangeRequest(), &resp).ok());

  close(Connect(port));  // a client that hangs up at once
  (*l)->Stop();
}

}  // namespace
}  // namespace detcd::net
