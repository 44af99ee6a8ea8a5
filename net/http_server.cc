#include "net/http_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/time/clock.h"

namespace detcd::net {

namespace {

bool WriteAll(int fd, const std::string& bytes) {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = send(fd, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

void ServeHttpConnection(int fd, HttpGateway* gateway, const std::atomic<bool>* stop, absl::Duration idle_timeout,
                         HttpParserLimits limits) {
  HttpParser parser(limits);
  absl::Time last_activity = absl::Now();
  char buf[16 * 1024];
  bool open = true;
  while (open && !(stop != nullptr && stop->load())) {
    pollfd p = {fd, POLLIN, 0};
    const int ready = poll(&p, 1, 100);
    if (ready < 0 && errno != EINTR) break;
    if (ready <= 0) {
      if (absl::Now() - last_activity > idle_timeout) break;
      continue;
    }
    const ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // the client closed the connection (or it broke)
    last_activity = absl::Now();
    parser.Feed(std::string_view(buf, static_cast<size_t>(n)));
    if (parser.TakeContinueExpected() && !WriteAll(fd, "HTTP/1.1 100 Continue\r\n\r\n")) break;
    while (std::optional<HttpRequest> r = parser.Next()) {
      const HttpResponse resp = gateway->Handle(*r);
      if (!WriteAll(fd, SerializeHttpResponse(resp, r->keep_alive)) || !r->keep_alive) {
        open = false;
        break;
      }
    }
    if (open && parser.failed()) {
      (void)WriteAll(fd, SerializeHttpResponse(HttpParseErrorResponse(parser.error_status(), parser.error()),
                                               /*keep_alive=*/false));
      break;
    }
  }
  close(fd);
}

}  // namespace detcd::net
