#include "net/test_client_port.h"

#include <unistd.h>

#include <utility>

#include "gtest/gtest.h"

namespace detcd::net {

void TestClientPort::UseFrontEnd(MemberRuntimeOptions* options) {
  options->reply_batch_begin = &GrpcFrontEnd::BeginReplyBatch;
  options->reply_batch_end = &GrpcFrontEnd::EndReplyBatch;
}

std::unique_ptr<TestClientPort> TestClientPort::Start(MemberRuntime* runtime, EtcdServices* services,
                                                      grpc::Server* server, size_t max_message_bytes,
                                                      const KeepaliveOptions& keepalive) {
  auto p = std::make_unique<TestClientPort>();
  p->services_ = services;
  GrpcFrontEndOptions fo;
  fo.runtime = runtime;
  fo.services = services->shared();
  fo.fallback = server->InProcessChannel(grpc::ChannelArguments());
  fo.max_message_bytes = max_message_bytes;
  fo.keepalive = keepalive;
  absl::StatusOr<std::unique_ptr<GrpcFrontEnd>> f = GrpcFrontEnd::Start(fo);
  EXPECT_TRUE(f.ok()) << f.status();
  if (!f.ok()) return nullptr;
  p->front_end_ = std::move(*f);
  GrpcFrontEnd* adopt = p->front_end_.get();
  absl::StatusOr<std::unique_ptr<ClientListener>> l = ClientListener::Start(
      "127.0.0.1", 0, server, [](int fd) { close(fd); }, nullptr, [adopt](int fd, const std::string&) { adopt->Adopt(fd); });
  EXPECT_TRUE(l.ok()) << l.status();
  if (!l.ok()) return nullptr;
  p->listener_ = std::move(*l);
  return p;
}

void TestClientPort::Stop() {
  listener_->Stop();
  services_->StopStreams();
  front_end_->Stop();
}

}  // namespace detcd::net
