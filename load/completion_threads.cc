#include "load/completion_threads.h"

#include "base/check.h"

namespace detcd::load {

CompletionThreads::CompletionThreads(int threads) {
  DETCD_CHECK(threads >= 1);
  for (int i = 0; i < threads; ++i) queues_.push_back(std::make_unique<grpc::CompletionQueue>());
  for (int i = 0; i < threads; ++i) {
    grpc::CompletionQueue* cq = queues_[i].get();
    threads_.emplace_back([cq] {
      void* tag = nullptr;
      bool ok = false;
      while (cq->Next(&tag, &ok)) static_cast<Pending*>(tag)->Complete(ok);
    });
  }
}

CompletionThreads::~CompletionThreads() {
  for (auto& cq : queues_) cq->Shutdown();
  for (std::thread& t : threads_) t.join();
}

}  // namespace detcd::load
