#include "net/grpc_cq_server.h"

#include <pthread.h>

#include <utility>

namespace detcd::net {

CqServer::CqServer(std::unique_ptr<grpc::ServerCompletionQueue> cq) : cq_(std::move(cq)) {}

CqServer::~CqServer() { Stop(); }

void CqServer::Start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "detcd-grpc");
    Loop();
  });
}

void CqServer::Loop() {
  void* tag = nullptr;
  bool ok = false;
  while (cq_->Next(&tag, &ok)) static_cast<Tag*>(tag)->Proceed(ok);
}

void CqServer::Stop() {
  {
    std::lock_guard<std::mutex> l(gate_->mu);
    if (gate_->closed) return;
    gate_->closed = true;
  }
  cq_->Shutdown();
  if (thread_.joinable()) {
    thread_.join();
  } else {
    // Never started: the queue still has to be drained before it is destroyed.
    Loop();
  }
}

}  // namespace detcd::net
