#include "cmd/detcd_corruption.h"

#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "api/kv_request.pb.h"
#include "kv/corruption_check.h"
#include "net/peer_query.h"

namespace detcd {

namespace {

kv::HashKVAnswer AnswerOf(const kv::HashKVResult& h) {
  return kv::HashKVAnswer{h.hash, h.header.revision(), h.compact_revision};
}

// Every peer's HashKV at `revision`, asked one after another (each bounded by the timeout).
std::vector<kv::PeerHashKV> AskPeers(const CorruptionCheckOptions& o, int64_t revision) {
  std::vector<kv::PeerHashKV> out;
  for (const auto& [id, address] : o.peers()) {
    if (id == o.self) continue;
    kv::PeerHashKV p;
    p.member_id = id;
    absl::StatusOr<etcdserverpb::HashKVResponse> r = net::FetchPeerHashKV(address, revision, o.timeout, o.tls.get());
    if (r.ok()) {
      p.answer = kv::HashKVAnswer{r->hash(), r->header().revision(), r->compact_revision()};
    } else {
      p.error = r.status();
    }
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace

absl::Status CheckInitialHashKV(const CorruptionCheckOptions& o) {
  o.info(absl::StrCat(absl::Hex(o.self), " starting initial corruption check with timeout ",
                      absl::FormatDuration(o.timeout), "..."));
  // etcd's store is on disk at start; this member's is rebuilt from its snapshot and log: hash it once it has applied
  // what its log says is committed.
  const absl::Time until = absl::Now() + o.timeout;
  for (net::MemberStatus s = o.runtime->Status(); s.applied_index < s.raft_index && absl::Now() < until;
       s = o.runtime->Status()) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  absl::StatusOr<kv::HashKVResult> local = o.runtime->HashKV(0, o.timeout);
  if (!local.ok()) {
    return absl::UnavailableError(
        absl::StrCat(absl::Hex(o.self), " failed to fetch hash (", local.status().message(), ")"));
  }
  const kv::HashKVAnswer mine = AnswerOf(*local);
  const kv::CorruptionVerdict v = kv::JudgeInitialHashes(o.self, mine, AskPeers(o, mine.revision));
  for (const std::string& line : v.log) (v.inconsistent ? o.warn : o.info)(line);
  if (v.inconsistent) return kv::InconsistentWithPeers(o.self);
  return absl::OkStatus();
}

std::unique_ptr<PeriodicCorruptionCheck> PeriodicCorruptionCheck::Start(CorruptionCheckOptions options,
                                                                        absl::Duration period) {
  std::unique_ptr<PeriodicCorruptionCheck> c(new PeriodicCorruptionCheck(std::move(options), period));
  c->options_.info(absl::StrCat("enabled corruption checking with ", absl::FormatDuration(period), " interval"));
  c->thread_ = std::thread([p = c.get()] {
    for (;;) {
      {
        std::unique_lock<std::mutex> l(p->mu_);
        if (p->cv_.wait_for(l, absl::ToChronoMicroseconds(p->period_), [p] { return p->stopping_; })) return;
      }
      p->CheckOnce();
    }
  });
  return c;
}

PeriodicCorruptionCheck::~PeriodicCorruptionCheck() { Stop(); }

void PeriodicCorruptionCheck::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PeriodicCorruptionCheck::CheckOnce() {
  const CorruptionCheckOptions& o = options_;
  if (!o.runtime->running() || o.runtime->leader() != o.self) return;  // etcd: only the leader checks
  absl::StatusOr<kv::HashKVResult> before = o.runtime->HashKV(0, o.timeout);
  if (!before.ok()) return o.warn(absl::StrCat("failed to hash kv store: ", before.status().message()));
  std::vector<kv::PeerHashKV> peers = AskPeers(o, before->header.revision());
  // A linearizable read: whatever the followers answered about is applied here too before the second hash.
  kvpb::ClientRequest barrier;
  barrier.mutable_range()->set_key("\0", 1);
  barrier.mutable_range()->set_count_only(true);
  if (kv::ClientReply r = o.runtime->Call(barrier, o.timeout); !r.status.ok()) {
    return o.warn(absl::StrCat("failed to get read index: ", r.status.message()));
  }
  absl::StatusOr<kv::HashKVResult> after = o.runtime->HashKV(0, o.timeout);
  if (!after.ok()) return o.warn(absl::StrCat("failed to hash kv store: ", after.status().message()));
  const kv::CorruptionVerdict v = kv::JudgeLeaderHashes(o.self, AnswerOf(*before), AnswerOf(*after), peers);
  for (const std::string& line : v.log) o.warn(line);
  if (v.alarm_member == 0) return;
  kvpb::ClientRequest alarm;
  alarm.mutable_alarm()->set_action(etcdserverpb::AlarmRequest::ACTIVATE);
  alarm.mutable_alarm()->set_memberid(v.alarm_member);
  alarm.mutable_alarm()->set_alarm(etcdserverpb::CORRUPT);
  if (kv::ClientReply r = o.runtime->Call(alarm, o.timeout); !r.status.ok()) {
    o.warn(absl::StrCat("failed to raise the CORRUPT alarm for ", absl::Hex(v.alarm_member), ": ",
                        r.status.message()));
  }
}

}  // namespace detcd
