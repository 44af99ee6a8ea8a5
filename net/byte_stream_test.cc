// ByteStream over a non-blocking socket pair, plain and TLS: gathered writes arrive whole and in order, "would block"
// says which way the socket must turn, the end of the stream is told from an error, a TLS write left unfinished is
// finished with the same bytes (and refused with others), bytes held inside a TLS session are reported, and the
// stream owns (and closes) its socket.
#include "net/byte_stream.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "gtest/gtest.h"
#include "net/peer_tls.h"
#include "net/test_member.h"
#include "net/tls.h"

namespace detcd::net {
namespace {

void SocketPair(int fds[2]) {
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
}

bool FdOpen(int fd) { return ::fcntl(fd, F_GETFD) != -1; }

// Reads whatever is there now (until "would block"), appending to *out; returns the last step.
StreamStep Drain(ByteStream& s, std::string* out) {
  char buf[8192];
  for (;;) {
    StreamStep r = s.Read(buf, sizeof(buf));
    if (r.kind != StreamStep::kDone) return r;
    out->append(buf, r.bytes);
  }
}

std::string Pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>('a' + (i * 7 + i / 251) % 26);
  return s;
}

TEST(ByteStreamTest, PlainGatheredWriteArrivesInOrderAndTheEndIsTold) {
  int fds[2];
  SocketPair(fds);
  ByteStream a(fds[0], nullptr), b(fds[1], nullptr);
  EXPECT_FALSE(a.tls());
  EXPECT_EQ(a.Handshake().kind, StreamStep::kDone);  // nothing to do
  std::string first = "hello ", second = "world";
  iovec iov[2] = {{first.data(), first.size()}, {second.data(), second.size()}};
  StreamStep w = a.Write(iov, 2);
  ASSERT_EQ(w.kind, StreamStep::kDone);
  EXPECT_EQ(w.bytes, 11u);
  std::string got;
  StreamStep r = Drain(b, &got);
  EXPECT_EQ(got, "hello world");
  EXPECT_EQ(r.kind, StreamStep::kWouldBlock);
  EXPECT_FALSE(r.want_write) << "an empty socket waits to become readable";
  EXPECT_FALSE(b.HasPending());
  a.Close();
  EXPECT_FALSE(a.open());
  EXPECT_EQ(Drain(b, &got).kind, StreamStep::kClosed);
}

TEST(ByteStreamTest, PlainWriteToAFullSocketWaitsForWritable) {
  int fds[2];
  SocketPair(fds);
  ByteStream a(fds[0], nullptr), b(fds[1], nullptr);
  const std::string chunk = Pattern(64 << 10);
  size_t written = 0;
  StreamStep w;
  for (int i = 0; i < 10000; ++i) {
    w = a.Write(chunk.data(), chunk.size());
    if (w.kind != StreamStep::kDone) break;
    written += w.bytes;
  }
  ASSERT_EQ(w.kind, StreamStep::kWouldBlock);
  EXPECT_TRUE(w.want_write);
  std::string got;
  Drain(b, &got);
  EXPECT_EQ(got.size(), written);
}

TEST(ByteStreamTest, StreamOwnsItsSocket) {
  int fds[2];
  SocketPair(fds);
  {
    ByteStream a(fds[0], nullptr);
    ByteStream moved = std::move(a);
    EXPECT_FALSE(a.open());  // NOLINT(bugprone-use-after-move): the moved-from stream is closed, by contract
    EXPECT_EQ(moved.fd(), fds[0]);
    EXPECT_TRUE(FdOpen(fds[0]));
  }
  EXPECT_FALSE(FdOpen(fds[0])) << "the stream closes its socket when destroyed";
  ::close(fds[1]);
}

// A TLS pair over a socket pair, handshaken by stepping both sides until both are done.
struct TlsPair {
  ByteStream client, server;
};
void Handshaken(TlsPair* p) {
  std::shared_ptr<const PeerTls> tls = SelfSignedPeerTls(FreshTestDir("byte-stream-pair"));
  ASSERT_NE(tls, nullptr);
  int fds[2];
  SocketPair(fds);
  p->client = ByteStream(fds[0], tls->Connect(fds[0], "127.0.0.1"));
  p->server = ByteStream(fds[1], tls->Accept(fds[1]));
  ASSERT_TRUE(p->client.tls() && p->server.tls());
  bool client_done = false, server_done = false;
  for (int i = 0; i < 100 && !(client_done && server_done); ++i) {
    if (!client_done) {
      StreamStep s = p->client.Handshake();
      ASSERT_NE(s.kind, StreamStep::kFailed) << s.error;
      client_done = s.kind == StreamStep::kDone;
    }
    if (!server_done) {
      StreamStep s = p->server.Handshake();
      ASSERT_NE(s.kind, StreamStep::kFailed) << s.error;
      server_done = s.kind == StreamStep::kDone;
    }
  }
  ASSERT_TRUE(client_done && server_done);
  EXPECT_FALSE(p->client.handshaking());
}

TEST(ByteStreamTlsTest, UnfinishedWriteIsFinishedWithTheSameBytes) {
  TlsPair p;
  ASSERT_NO_FATAL_FAILURE(Handshaken(&p));
  const std::string data = Pattern(3 << 20);
  size_t written = 0;
  std::string got;
  int would_block = 0;
  while (written < data.size()) {
    // Always "what is not written yet", split in two iovecs to exercise gathering into a batch.
    const size_t rest = data.size() - written;
    const size_t half = rest / 2;
    iovec iov[2] = {{const_cast<char*>(data.data() + written), half},
                    {const_cast<char*>(data.data() + written + half), rest - half}};
    const StreamStep w = p.client.Write(half > 0 ? iov : iov + 1, half > 0 ? 2 : 1);
    ASSERT_NE(w.kind, StreamStep::kFailed) << w.error;
    ASSERT_NE(w.kind, StreamStep::kClosed);
    if (w.kind == StreamStep::kDone) {
      EXPECT_LE(w.bytes, ByteStream::kTlsBatchBytes);
      written += w.bytes;
    } else {
      ++would_block;
      Drain(p.server, &got);  // the socket takes more once the other side reads
    }
  }
  for (int i = 0; i < 100 && got.size() < data.size(); ++i) Drain(p.server, &got);
  EXPECT_GT(would_block, 0) << "3 MiB should fill a socket pair's buffers";
  ASSERT_EQ(got.size(), data.size());
  EXPECT_TRUE(got == data) << "bytes changed or reordered on the way";
}

TEST(ByteStreamTlsTest, BytesInsideTheSessionAreReported) {
  TlsPair p;
  ASSERT_NO_FATAL_FAILURE(Handshaken(&p));
  const std::string data = Pattern(1000);
  ASSERT_EQ(p.client.Write(data.data(), data.size()).kind, StreamStep::kDone);
  char one;
  StreamStep r;
  for (int i = 0; i < 100; ++i) {  // the first reads may only take session tickets
    r = p.server.Read(&one, 1);
    if (r.kind == StreamStep::kDone) break;
  }
  ASSERT_EQ(r.kind, StreamStep::kDone);
  EXPECT_TRUE(p.server.HasPending()) << "the rest of the record waits inside the session";
  p.client.Shutdown();
  p.client.Close();
  std::string rest;
  EXPECT_EQ(Drain(p.server, &rest).kind, StreamStep::kClosed);
  EXPECT_EQ(rest, data.substr(1));
}

TEST(ByteStreamTlsDeathTest, RetryWithOtherBytesIsRefused) {
  TlsPair p;
  ASSERT_NO_FATAL_FAILURE(Handshaken(&p));
  const std::string data = Pattern(8 << 20);
  StreamStep w;
  size_t written = 0;
  for (int i = 0; i < 100000; ++i) {
    w = p.client.Write(data.data() + written, data.size() - written);
    if (w.kind != StreamStep::kDone) break;
    written += w.bytes;
  }
  ASSERT_EQ(w.kind, StreamStep::kWouldBlock);
  const std::string other(1000, 'Z');
  EXPECT_DEATH(p.client.Write(other.data(), other.size()), "other bytes than the batch");
}

}  // namespace
}  // namespace detcd::net
