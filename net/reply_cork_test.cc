// ReplyCork on real loopback connections: a batch's writes are held back and arrive whole once it ends; a
// connection that was closed — and whose descriptor number now belongs to another socket — is forgotten, not corked.
#include "net/reply_cork.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <utility>

#include "gtest/gtest.h"

namespace detcd::net {
namespace {

// A connected pair of loopback TCP sockets: {accepted (the server's end), client}.
std::pair<int, int> TcpPair() {
  const int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  EXPECT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  EXPECT_EQ(listen(listener, 1), 0);
  socklen_t len = sizeof(a);
  getsockname(listener, reinterpret_cast<sockaddr*>(&a), &len);
  const int client = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_EQ(connect(client, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  const int server = accept(listener, nullptr, nullptr);
  close(listener);
  const int one = 1;
  setsockopt(server, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));  // as the listener sets it
  return {server, client};
}

int Corked(int fd) {
  int v = -1;
  socklen_t len = sizeof(v);
  if (getsockopt(fd, IPPROTO_TCP, TCP_CORK, &v, &len) != 0) return -1;
  return v;
}

bool Readable(int fd, int timeout_ms) {
  pollfd p{fd, POLLIN, 0};
  return poll(&p, 1, timeout_ms) == 1;
}

TEST(ReplyCorkTest, ABatchIsHeldBackUntilItEnds) {
  auto [server, client] = TcpPair();
  ReplyCork cork;
  cork.Add(server);
  cork.Begin();
  EXPECT_EQ(Corked(server), 1);
  ASSERT_EQ(write(server, "abc", 3), 3);
  ASSERT_EQ(write(server, "def", 3), 3);
  EXPECT_FALSE(Readable(client, 50)) << "a partial segment left while corked";
  cork.End();
  EXPECT_EQ(Corked(server), 0);
  ASSERT_TRUE(Readable(client, 1000));
  char buf[16];
  std::string got;
  while (got.size() < 6 && Readable(client, 1000)) got.append(buf, read(client, buf, sizeof(buf)));
  EXPECT_EQ(got, "abcdef");
  close(server);
  close(client);
}

TEST(ReplyCorkTest, AClosedConnectionsNumberReusedIsNotTouched) {
  auto [server, client] = TcpPair();
  ReplyCork cork;
  cork.Add(server);
  const int number = server;
  close(server);  // gRPC closed the connection, telling nobody
  auto [other_server, other_client] = TcpPair();
  ASSERT_EQ(dup2(other_server, number), number);  // another socket now has that number
  cork.Begin();
  EXPECT_EQ(Corked(number), 0) << "corked a socket that is not one of gRPC's";
  cork.End();
  EXPECT_EQ(cork.connections(), 0u);
  close(number);
  close(client);
  close(other_server);
  close(other_client);
}

TEST(ReplyCorkTest, ANonSocketIsNeverAdded) {
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  ReplyCork cork;
  cork.Add(p[0]);
  EXPECT_EQ(cork.connections(), 0u);
  close(p[0]);
  close(p[1]);
}

}  // namespace
}  // namespace detcd::net
