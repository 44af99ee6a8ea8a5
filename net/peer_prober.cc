#include "net/peer_prober.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "net/cluster_ids.h"
#include "net/peer_query.h"

namespace detcd::net {

std::unique_ptr<PeerProber> PeerProber::Start(PeerProberOptions options) {
  std::unique_ptr<PeerProber> p(new PeerProber(std::move(options)));
  p->thread_ = std::thread([p = p.get()] {
    for (;;) {
      {
        std::unique_lock<std::mutex> l(p->mu_);
        if (p->cv_.wait_for(l, absl::ToChronoMicroseconds(p->options_.interval), [p] { return p->stopping_; })) {
          return;
        }
      }
      p->ProbeOnce();
    }
  });
  return p;
}

PeerProber::~PeerProber() { Stop(); }

void PeerProber::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PeerProber::ProbeOnce() {
  for (const auto& [id, address] : options_.peers()) {
    absl::StatusOr<absl::Duration> rtt = ProbePeer(address, options_.timeout, options_.tls.get());
    if (!rtt.ok()) {
      if (unhealthy_.insert(id).second && options_.warn) {
        options_.warn(
            absl::StrCat("prober detected unhealthy status (round-tripper-name ROUND_TRIPPER_RAFT_MESSAGE, "
                         "remote-peer-id ",
                         IdHex(id), ", error ", rtt.status().message(), ")"));
      }
      continue;
    }
    unhealthy_.erase(id);
    std::lock_guard<std::mutex> l(mu_);
    auto it = rtt_.try_emplace(id, 0.0001, 16).first;  // etcd's ExponentialBuckets(0.0001, 2, 16)
    it->second.Observe(absl::ToDoubleSeconds(*rtt));
  }
}

void PeerProber::AppendPrometheus(std::string* out) const {
  std::lock_guard<std::mutex> l(mu_);
  if (rtt_.empty()) return;
  AppendMetricHeader(kMetric, "histogram", "Round-Trip-Time histogram between peers", out);
  for (const auto& [id, h] : rtt_) h.AppendSeries(kMetric, absl::StrCat("To=\"", IdHex(id), "\""), out);
}

}  // namespace detcd::net
