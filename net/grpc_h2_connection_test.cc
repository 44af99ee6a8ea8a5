// GrpcH2Connection's first words to a client: the settings it announces (the stream window, and the limit on
// concurrent streams etcd's --max-concurrent-streams sets — none announced by default, as etcd's math.MaxUint32).
#include "net/grpc_h2_connection.h"

#include <nghttp2/nghttp2.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "gtest/gtest.h"

namespace detcd::net {
namespace {

// The server's SETTINGS as a client sees them after reading what a fresh connection wrote.
uint32_t AnnouncedMaxStreams(GrpcH2Connection::Options options) {
  int fds[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds), 0);
  std::shared_ptr<GrpcH2Connection> c = GrpcH2Connection::Create(fds[0], std::move(options));
  char buf[4096];
  const ssize_t n = ::read(fds[1], buf, sizeof(buf));
  EXPECT_GT(n, 0) << "the connection says nothing first";
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session* client = nullptr;
  nghttp2_session_client_new(&client, cbs, nullptr);
  nghttp2_session_callbacks_del(cbs);
  EXPECT_EQ(nghttp2_session_mem_recv(client, reinterpret_cast<const uint8_t*>(buf), static_cast<size_t>(n)), n);
  const uint32_t got = nghttp2_session_get_remote_settings(client, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  EXPECT_GT(nghttp2_session_get_remote_settings(client, NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE), 65535u);
  nghttp2_session_del(client);
  ::close(fds[1]);
  return got;
}

TEST(GrpcH2ConnectionTest, AnnouncesTheConcurrentStreamLimitOnlyWhenOneIsSet) {
  GrpcH2Connection::Options limited;
  limited.max_concurrent_streams = 7;
  EXPECT_EQ(AnnouncedMaxStreams(limited), 7u);
  EXPECT_EQ(AnnouncedMaxStreams(GrpcH2Connection::Options()), 0xffffffffu);  // nghttp2: no limit heard
}

}  // namespace
}  // namespace detcd::net
