// PeerTransport streaming a MSG_SNAP's snapshot file: the sender reads the file a chunk at a time as the socket
// drains (a slow receiver never makes it read ahead by more than socket buffers and a chunk), messages sent after it
// arrive after it, the receiver's sink gets the bytes in order and the message comes once they all came; over TLS
// too. A snapshot frame that is malformed, too large, refused by its sink or cut short by the connection's end is
// refused with a log line, never a crash, and the member goes on serving.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <iostream>
#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "net/peer_tls.h"
#include "net/peer_transport.h"
#include "net/test_member.h"
#include "net/tls.h"

namespace detcd::net {
namespace {

constexpr uint64_t kCluster = 0xcdf818194e3a8c32;
constexpr absl::Duration kWait = absl::Seconds(20);

// A snapshot file in memory that records how far the transport read it ahead of what the receiver took.
class TestFile final : public storage::ReadableFile {
 public:
  TestFile(std::string bytes, const std::atomic<uint64_t>* received) : bytes_(std::move(bytes)), received_(received) {}
  uint64_t size() const override { return bytes_.size(); }
  absl::Status ReadAt(uint64_t offset, size_t n, std::string* out) override {
    if (fail_at_ > 0 && offset + n > fail_at_) return absl::InternalError("test: the file cannot be read");
    out->append(bytes_, offset, n);
    read_max_ = std::max<uint64_t>(read_max_, n);
    const uint64_t ahead = offset + n - received_->load();
    ahead_max_ = std::max(ahead_max_.load(), ahead);
    ++reads_;
    return absl::OkStatus();
  }
  uint64_t read_max() const { return read_max_; }
  uint64_t ahead_max() const { return ahead_max_; }
  int reads() const { return reads_; }
  void FailAt(uint64_t offset) { fail_at_ = offset; }

 private:
  std::string bytes_;
  const std::atomic<uint64_t>* received_;
  std::atomic<uint64_t> read_max_{0};
  std::atomic<uint64_t> ahead_max_{0};
  std::atomic<int> reads_{0};
  uint64_t fail_at_ = 0;
};

// One member's transport; snapshots it receives go to memory, slowly if asked.
class Member {
 public:
  explicit Member(uint64_t id, std::shared_ptr<const PeerTls> tls = nullptr) : id_(id) {
    PeerTransportOptions o;
    o.member_id = id;
    o.cluster_id = kCluster;
    o.listen = {"127.0.0.1", 0, tls != nullptr};
    o.tls = std::move(tls);
    o.snapshot_bytes_max = 64u << 20;
    o.deliver = [this](raftpb::Message m) { Record([&] { got_.push_back(std::move(m)); }); };
    o.deliver_snapshot = [this](raftpb::Message m, std::string where) {
      Record([&] {
        EXPECT_EQ(where, "memory:" + std::to_string(m.snapshot().metadata().index()));
        got_.push_back(std::move(m));
      });
    };
    o.open_snapshot_sink = [this](const raftpb::Message& header,
                                  uint64_t bytes) -> absl::StatusOr<std::unique_ptr<SnapshotSink>> {
      if (refuse_sinks_) return absl::ResourceExhaustedError("test: no room for it");
      return std::unique_ptr<SnapshotSink>(new Sink(this, header.snapshot().metadata().index(), bytes));
    };
    o.report_snapshot = [this](uint64_t peer, bool failed) {
      Record([&] { (failed ? snap_failed_ : snap_sent_)[peer]++; });
    };
    o.log = [this](const std::string& line) { Record([&] { logs_.push_back(line); }); };
    auto started = PeerTransport::Start(std::move(o));
    EXPECT_TRUE(started.ok()) << started.status();
    transport_ = std::move(started).value();
  }

  PeerTransport& t() { return *transport_; }
  uint16_t port() const { return transport_->port(); }
  void Knows(const Member& other, bool tls = false) { transport_->AddPeer(other.id_, {"127.0.0.1", other.port(), tls}); }
  // A slow disk: each sink takes this long per MiB it is given.
  void set_sink_us_per_mib(int64_t us) { sink_us_per_mib_ = us; }
  void set_refuse_sinks(bool on) { refuse_sinks_ = on; }
  // Bytes every sink has taken so far.
  const std::atomic<uint64_t>& received() const { return received_; }

  bool WaitFor(const std::function<bool()>& done) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, absl::ToChronoNanoseconds(kWait), done);
  }
  bool WaitForLog(const std::string& part) {
    return WaitFor([&] {
      for (const auto& line : logs_) {
        if (absl::StrContains(line, part)) return true;
      }
      return false;
    });
  }
  // Under the lock.
  size_t got_count_locked() const { return got_.size(); }
  int snap_sent_locked(uint64_t peer) { return snap_sent_[peer]; }
  int snap_failed_locked(uint64_t peer) { return snap_failed_[peer]; }
  int aborted_locked() const { return aborted_; }
  std::vector<raftpb::Message> got() {
    std::lock_guard<std::mutex> l(mu_);
    return got_;
  }
  std::string snapshot(uint64_t index) {
    std::lock_guard<std::mutex> l(mu_);
    return snapshots_[index];
  }
  size_t append_max() {
    std::lock_guard<std::mutex> l(mu_);
    return append_max_;
  }
  std::string logs() {
    std::lock_guard<std::mutex> l(mu_);
    std::string all;
    for (const auto& line : logs_) all += line + "\n";
    return all;
  }

 private:
  class Sink final : public SnapshotSink {
   public:
    Sink(Member* m, uint64_t index, uint64_t bytes) : m_(m), index_(index), want_(bytes) {}
    ~Sink() override {
      if (!finished_) m_->Record([&] { ++m_->aborted_; });
    }
    absl::Status Append(absl::string_view bytes) override {
      if (m_->sink_us_per_mib_ > 0) {
        absl::SleepFor(absl::Microseconds(m_->sink_us_per_mib_ * static_cast<int64_t>(bytes.size()) / (1 << 20)));
      }
      bytes_.append(bytes.data(), bytes.size());
      m_->received_ += bytes.size();
      m_->Record([&] { m_->append_max_ = std::max(m_->append_max_, bytes.size()); });
      if (absl::StartsWith(bytes_, "corrupt")) return absl::DataLossError("test: corrupt from the start");
      return absl::OkStatus();
    }
    absl::StatusOr<std::string> Finish() override {
      finished_ = true;
      EXPECT_EQ(bytes_.size(), want_);
      if (absl::EndsWith(bytes_, "bad end")) return absl::DataLossError("test: crc mismatch");
      m_->Record([&] { m_->snapshots_[index_] = bytes_; });
      return "memory:" + std::to_string(index_);
    }

   private:
    Member* m_;
    uint64_t index_;
    uint64_t want_;
    std::string bytes_;
    bool finished_ = false;
  };

  void Record(const std::function<void()>& change) {
    {
      std::lock_guard<std::mutex> l(mu_);
      change();
    }
    cv_.notify_all();
  }

  const uint64_t id_;
  std::atomic<int64_t> sink_us_per_mib_{0};
  std::atomic<bool> refuse_sinks_{false};
  std::atomic<uint64_t> received_{0};
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<raftpb::Message> got_;
  std::map<uint64_t, std::string> snapshots_;
  std::map<uint64_t, int> snap_sent_, snap_failed_;
  int aborted_ = 0;
  size_t append_max_ = 0;
  std::vector<std::string> logs_;
  std::unique_ptr<PeerTransport> transport_;  // last: stopped before the rest goes away
};

raftpb::Message App(uint64_t from, uint64_t to, uint64_t index) {
  raftpb::Message m;
  m.set_type(raftpb::MSG_APP);
  m.set_from(from);
  m.set_to(to);
  m.set_term(3);
  m.set_index(index);
  return m;
}

raftpb::Message Snap(uint64_t from, uint64_t to, uint64_t index) {
  raftpb::Message m;
  m.set_type(raftpb::MSG_SNAP);
  m.set_from(from);
  m.set_to(to);
  m.set_term(3);
  m.mutable_snapshot()->mutable_metadata()->set_index(index);
  m.mutable_snapshot()->mutable_metadata()->set_term(3);
  return m;
}

std::string Pattern(size_t n, uint32_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>(((i + seed) * 2654435761u) >> 13);
  return s;
}

// a sends b a MSG_SNAP with a file of `bytes`, between two appends; b's sink is slow. Checks what b got.
void StreamToSlowReader(Member& a, Member& b, size_t bytes) {
  const std::string data = Pattern(bytes, 7);
  auto file = std::make_shared<TestFile>(data, &b.received());
  b.set_sink_us_per_mib(10'000);  // a slow disk: 100 MiB a second
  a.t().Send(App(1, 2, 1));
  a.t().Send(Snap(1, 2, 77), file);
  a.t().Send(App(1, 2, 2));
  ASSERT_TRUE(b.WaitFor([&] { return b.got_count_locked() == 3; })) << b.logs();
  std::vector<raftpb::Message> got = b.got();
  EXPECT_EQ(got[0].index(), 1u);
  ASSERT_EQ(got[1].type(), raftpb::MSG_SNAP);
  EXPECT_EQ(got[1].snapshot().metadata().index(), 77u);
  EXPECT_TRUE(got[1].snapshot().data().empty()) << "the bytes went to the sink, not into the message";
  EXPECT_EQ(got[2].index(), 2u) << "what was sent after the snapshot arrives after it";
  EXPECT_TRUE(b.snapshot(77) == data) << "the sink's bytes differ from the file's";
  ASSERT_TRUE(a.WaitFor([&] { return a.snap_sent_locked(2) == 1; }));
  EXPECT_LE(file->read_max(), PeerTransport::kSnapshotChunkBytes) << "read a chunk at a time";
  EXPECT_GE(file->reads(), static_cast<int>(bytes / PeerTransport::kSnapshotChunkBytes));
  // Read as the socket drains: never more ahead of the slow receiver than the socket buffers, the receiver's
  // per-event read and a chunk (a few MiB on loopback), far less than the file.
  EXPECT_LT(file->ahead_max(), bytes / 2) << "the sender read ahead of the receiver";
  std::cerr << "read ahead of the receiver at most " << file->ahead_max() << " of " << bytes << " bytes\n";
  EXPECT_LE(b.append_max(), 5u << 20) << "the receiver hands its sink bounded pieces (about a read per event)";
}

TEST(PeerTransportSnapshotTest, FileStreamsInChunksToASlowReader) {
  Member a(1), b(2);
  a.Knows(b);
  StreamToSlowReader(a, b, 48u << 20);
}

TEST(PeerTransportSnapshotTest, FileStreamsOverTls) {
  Member a(1, SelfSignedPeerTls(FreshTestDir("snap-tls-a"))), b(2, SelfSignedPeerTls(FreshTestDir("snap-tls-b")));
  a.Knows(b, /*tls=*/true);
  StreamToSlowReader(a, b, 48u << 20);
}

TEST(PeerTransportSnapshotTest, UnreadableFileFailsTheSendAndTheReceiverDropsWhatCame) {
  Member a(1), b(2);
  a.Knows(b);
  auto file = std::make_shared<TestFile>(Pattern(8u << 20, 3), &b.received());
  file->FailAt(5u << 20);
  a.t().Send(Snap(1, 2, 9), file);
  ASSERT_TRUE(a.WaitFor([&] { return a.snap_failed_locked(2) == 1; })) << a.logs();
  ASSERT_TRUE(b.WaitFor([&] { return b.aborted_locked() == 1; })) << b.logs();
  EXPECT_TRUE(b.WaitForLog("was cut short")) << b.logs();
  EXPECT_TRUE(b.got().empty());
  // The next connection works.
  a.t().Send(App(1, 2, 5));
  ASSERT_TRUE(b.WaitFor([&] { return b.got_count_locked() == 1; })) << a.logs();
}

// --- bytes a real peer never sends ---

int Dial(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  return fd;
}
std::string U64(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}
std::string U32(uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>(v >> (8 * i));
  return s;
}
// Sends a handshake from member 9 to member 2 and then `bytes`; half-closes; true once the member closed it.
bool SendRaw(uint16_t port, const std::string& bytes) {
  const int fd = Dial(port);
  const std::string all = "detcd-peer-1" + U64(kCluster) + U64(9) + U64(2) + bytes;
  if (::send(fd, all.data(), all.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(all.size())) return false;
  ::shutdown(fd, SHUT_WR);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  char buf[256];
  bool closed = false;
  for (;;) {
    const ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n == 0 || (n < 0 && errno == ECONNRESET)) closed = true;
    if (n <= 0) break;
  }
  ::close(fd);
  return closed;
}
std::string SnapshotFrame(const raftpb::Message& header, uint64_t file_bytes) {
  const std::string h = header.SerializeAsString();
  return U32(static_cast<uint32_t>(h.size()) | (1u << 31)) + h + U64(file_bytes);
}

TEST(PeerTransportSnapshotTest, BadSnapshotFramesAreRefusedAndServingGoesOn) {
  Member a(1), b(2);
  a.Knows(b);
  a.t().Send(App(1, 2, 1));
  ASSERT_TRUE(b.WaitFor([&] { return b.got_count_locked() == 1; }));
  // A header that does not parse.
  EXPECT_TRUE(SendRaw(b.port(), U32(5 | (1u << 31)) + std::string(5, '\0') + U64(10)));
  EXPECT_TRUE(b.WaitForLog("is not a raft message")) << b.logs();
  // A header that is not a MSG_SNAP, or carries data of its own.
  EXPECT_TRUE(SendRaw(b.port(), SnapshotFrame(App(9, 2, 1), 10) + std::string(10, 'x')));
  raftpb::Message with_data = Snap(9, 2, 4);
  with_data.mutable_snapshot()->set_data("inline");
  EXPECT_TRUE(SendRaw(b.port(), SnapshotFrame(with_data, 10) + std::string(10, 'x')));
  EXPECT_TRUE(b.WaitForLog("not a MSG_SNAP without data")) << b.logs();
  // From someone else than the connection's sender.
  EXPECT_TRUE(SendRaw(b.port(), SnapshotFrame(Snap(8, 2, 4), 10) + std::string(10, 'x')));
  EXPECT_TRUE(b.WaitForLog("a snapshot from 8 to 2")) << b.logs();
  // Larger than the maximum (nothing is allocated for it).
  EXPECT_TRUE(SendRaw(b.port(), SnapshotFrame(Snap(9, 2, 4), uint64_t{1} << 62)));
  EXPECT_TRUE(b.WaitForLog("exceeds the maximum")) << b.logs();
  // Cut short by the connection's end: the sink drops what came.
  EXPECT_TRUE(SendRaw(b.port(), SnapshotFrame(Snap(9, 2, 5), 1000) + std::string(600, 'y')));
  EXPECT_TRUE(b.WaitForLog("was cut short (400 bytes missing)")) << b.logs();
  // Refused by its sink on the way, at the end, or before it begins.
  EXPECT_TRUE(SendRaw(b.port(), SnapshotFrame(Snap(9, 2, 6), 100) + "corrupt" + std::string(93, 'z')));
  EXPECT_TRUE(b.WaitForLog("corrupt from the start")) << b.logs();
  EXPECT_TRUE(SendRaw(b.port(), SnapshotFrame(Snap(9, 2, 7), 100) + std::string(93, 'z') + "bad end"));
  EXPECT_TRUE(b.WaitForLog("crc mismatch")) << b.logs();
  b.set_refuse_sinks(true);
  EXPECT_TRUE(SendRaw(b.port(), SnapshotFrame(Snap(9, 2, 8), 100) + std::string(100, 'z')));
  EXPECT_TRUE(b.WaitForLog("no room for it")) << b.logs();
  b.set_refuse_sinks(false);
  EXPECT_TRUE(b.WaitFor([&] { return b.aborted_locked() == 2; })) << "every unfinished sink dropped";
  // A sound one on a raw connection, followed by a message: both arrive.
  EXPECT_TRUE(SendRaw(b.port(), SnapshotFrame(Snap(9, 2, 10), 50) + std::string(50, 'w') +
                                    U32(App(9, 2, 11).ByteSizeLong()) + App(9, 2, 11).SerializeAsString()));
  ASSERT_TRUE(b.WaitFor([&] { return b.got_count_locked() == 3; })) << b.logs();
  EXPECT_EQ(b.snapshot(10), std::string(50, 'w'));
  // And the good peer's connection still serves.
  a.t().Send(App(1, 2, 2));
  ASSERT_TRUE(b.WaitFor([&] { return b.got_count_locked() == 4; })) << b.logs();
  EXPECT_EQ(b.got()[3].index(), 2u);
}

}  // namespace
}  // namespace detcd::net
