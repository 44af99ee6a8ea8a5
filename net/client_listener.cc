#include "net/client_listener.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <grpcpp/server.h>
#include <grpcpp/server_posix.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"

namespace detcd::net {

namespace {

// The client preface every HTTP/2 connection starts with (RFC 7540 §3.5); gRPC speaks HTTP/2.
constexpr char kHttp2Preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
constexpr size_t kPrefaceLen = sizeof(kHttp2Preface) - 1;
// A connection that says nothing for this long is closed before anyone else sees it.
constexpr int kSniffTimeoutMs = 10'000;

absl::Status Errno(const std::string& what) {
  return absl::UnavailableError(absl::StrCat(what, ": ", std::strerror(errno)));
}

}  // namespace

absl::StatusOr<std::unique_ptr<ClientListener>> ClientListener::Start(const std::string& host, int port,
                                                                      grpc::Server* grpc, Http1Handler http1,
                                                                      std::shared_ptr<const TlsTerminator> tls,
                                                                      Http2Handler http2) {
  std::unique_ptr<ClientListener> l(new ClientListener());
  l->grpc_ = grpc;
  l->http2_ = std::move(http2);
  l->http1_ = std::move(http1);
  l->tls_ = std::move(tls);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  const std::string service = absl::StrCat(port);
  const char* node = host.empty() || host == "0.0.0.0" ? nullptr : host.c_str();
  if (int rc = getaddrinfo(node, service.c_str(), &hints, &res); rc != 0) {
    return absl::InvalidArgumentError(absl::StrCat("cannot resolve ", host, ": ", gai_strerror(rc)));
  }
  absl::Status last = absl::UnavailableError(absl::StrCat("no address for ", host));
  for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
    const int fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last = Errno("socket");
      continue;
    }
    const int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, a->ai_addr, a->ai_addrlen) != 0 || listen(fd, 1024) != 0) {
      last = Errno(absl::StrCat("listen tcp ", host, ":", port));
      close(fd);
      continue;
    }
    l->listen_fd_ = fd;
    break;
  }
  freeaddrinfo(res);
  if (l->listen_fd_ < 0) return last;
  sockaddr_storage bound{};
  socklen_t len = sizeof(bound);
  getsockname(l->listen_fd_, reinterpret_cast<sockaddr*>(&bound), &len);
  l->port_ = bound.ss_family == AF_INET6 ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                                         : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  l->wake_fd_ = eventfd(0, EFD_CLOEXEC);
  if (l->wake_fd_ < 0) return Errno("eventfd");
  l->thread_ = std::thread([p = l.get()] {
    pthread_setname_np(pthread_self(), "detcd-accept");  // for top -H and perf
    p->AcceptLoop();
  });
  return l;
}

ClientListener::~ClientListener() { Stop(); }

void ClientListener::Stop() {
  if (stopping_.exchange(true)) return;
  if (wake_fd_ >= 0) {
    const uint64_t one = 1;
    (void)!write(wake_fd_, &one, sizeof(one));
  }
  if (thread_.joinable()) thread_.join();
  // Terminating and sniffing threads hold `this`; wait for them (a handshake gives up within 100 ms of stopping_, a
  // sniff within kSniffTimeoutMs).
  while (routing_.load() > 0) usleep(1000);
  if (listen_fd_ >= 0) close(listen_fd_);
  if (wake_fd_ >= 0) close(wake_fd_);
  listen_fd_ = wake_fd_ = -1;
}

void ClientListener::AcceptLoop() {
  pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  while (!stopping_.load()) {
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents != 0 || stopping_.load()) return;
    if ((fds[0].revents & POLLIN) == 0) continue;
    const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;  // the client went away, or we are out of descriptors for a moment
    const int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ++routing_;
    std::thread([this, fd] {
      Route(fd);
      --routing_;
    }).detach();
  }
}

void ClientListener::Route(int fd) {
  std::string common_name;
  if (tls_ != nullptr) {
    fd = tls_->Terminate(fd, &stopping_, &common_name);  // from here on, the plaintext end of the TLS connection
    if (fd < 0) return;
  }
  if (grpc_ == nullptr && !http2_) return ToHttp1(fd);  // HTTP/1.1 only: nothing to tell apart
  // Peek until the first bytes say which protocol this is: the preface, or anything that cannot be its start.
  char buf[kPrefaceLen];
  size_t seen = 0;
  for (;;) {
    pollfd p = {fd, POLLIN, 0};
    const int ready = poll(&p, 1, kSniffTimeoutMs);
    if (ready <= 0 || stopping_.load()) {
      close(fd);
      return;
    }
    const ssize_t n = recv(fd, buf, sizeof(buf), MSG_PEEK);
    if (n <= 0) {
      close(fd);
      return;
    }
    seen = static_cast<size_t>(n);
    if (std::memcmp(buf, kHttp2Preface, seen) != 0) break;  // not HTTP/2
    if (seen == kPrefaceLen) {
      fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
      if (http2_) {
        http2_(fd, common_name);  // the front end owns the socket now
        return;
      }
      grpc::AddInsecureChannelFromFd(grpc_, fd);  // gRPC owns the socket now
      return;
    }
    usleep(1000);  // a partial preface: wait for the rest
  }
  ToHttp1(fd);
}

void ClientListener::ToHttp1(int fd) {
  if (http1_) {
    http1_(fd);
  } else {
    close(fd);
  }
}

}  // namespace detcd::net
