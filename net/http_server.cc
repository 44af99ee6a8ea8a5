#include "net/http_server.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
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

// Bytes a client may send while a stream is being served, kept for the requests after it; beyond them nothing more is
// read until the stream ends (a watch stream never does), so a client cannot grow the parser's queue without bound.
constexpr size_t kBytesDuringStreamMax = 1 << 20;

// Reads what has arrived without waiting, into the parser (pipelined requests wait there until the stream ends).
// False once the client has closed the connection (Go's server cancels the request then too) or it broke.
bool PeerStillThere(int fd, HttpParser* parser, size_t* bytes_read) {
  char buf[16 * 1024];
  for (;;) {
    const bool full = *bytes_read >= kBytesDuringStreamMax;
    pollfd p = {fd, static_cast<short>(full ? POLLRDHUP : POLLIN | POLLRDHUP), 0};
    const int ready = poll(&p, 1, 0);
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) return false;
    if (ready == 0) return true;
    if (full) return (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) == 0;
    const ssize_t n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)) return true;
    if (n <= 0) return false;
    *bytes_read += static_cast<size_t>(n);
    parser->Feed(std::string_view(buf, static_cast<size_t>(n)));
  }
}

// Serves one streaming request (HttpGateway::IsStream). The body goes out chunked, as Go's net/http does for
// grpc-gateway's "Transfer-Encoding: chunked"; an HTTP/1.0 client gets the bytes as they come and the connection
// closed at the end. Returns whether the connection may carry on with the next request.
bool ServeStream(int fd, HttpGateway* gateway, const HttpRequest& request, const std::atomic<bool>* stop,
                 HttpParser* parser) {
  const bool chunked = request.version_minor >= 1;
  const bool keep_alive = request.keep_alive && chunked;
  bool responded = false;  // a whole response went out instead of a stream
  bool head_sent = false;
  bool broken = false;  // a write failed or the client went away
  size_t bytes_read = 0;
  HttpStreamIo io;
  io.respond = [&](const HttpResponse& response) {
    if (head_sent || responded) return false;
    responded = true;
    broken = broken || !WriteAll(fd, SerializeHttpResponse(response, request.keep_alive));
    return !broken;
  };
  io.write = [&](int status, const std::string& bytes) {
    if (responded || broken) return false;
    std::string out;
    if (!head_sent) {
      head_sent = true;
      out = absl::StrCat("HTTP/1.1 ", status, " ", HttpStatusText(status), "\r\nContent-Type: application/json\r\n",
                         chunked ? "Transfer-Encoding: chunked\r\n" : "", keep_alive ? "" : "Connection: close\r\n",
                         "\r\n");
    }
    if (!bytes.empty()) {  // an empty chunk would end the body
      absl::StrAppend(&out, chunked ? absl::StrFormat("%x\r\n", bytes.size()) : "", bytes, chunked ? "\r\n" : "");
    }
    broken = !WriteAll(fd, out);
    return !broken;
  };
  io.cancelled = [&] {
    if (!broken && !PeerStillThere(fd, parser, &bytes_read)) broken = true;
    return broken || (stop != nullptr && stop->load());
  };
  gateway->ServeStream(request, io);
  if (responded) return request.keep_alive && !broken;
  if (!head_sent) (void)io.write(200, "");  // a stream without messages: an empty body
  if (broken) return false;
  if (chunked && !WriteAll(fd, "0\r\n\r\n")) return false;
  return keep_alive && !(stop != nullptr && stop->load());
}

}  // namespace

void ServeHttpConnection(int fd, HttpGateway* gateway, const std::atomic<bool>* stop, absl::Duration idle_timeout,
                         HttpParserLimits limits, HttpPathFilter serves) {
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
      if (serves && !serves(r->path)) {
        HttpResponse not_found;
        not_found.status = 404;
        not_found.content_type = "text/plain; charset=utf-8";
        not_found.headers.emplace_back("X-Content-Type-Options", "nosniff");
        not_found.body = "404 page not found\n";
        open = WriteAll(fd, SerializeHttpResponse(not_found, r->keep_alive)) && r->keep_alive;
      } else if (HttpGateway::IsStream(*r)) {
        open = ServeStream(fd, gateway, *r, stop, &parser);
        last_activity = absl::Now();
      } else {
        const HttpResponse resp = gateway->Handle(*r);
        open = WriteAll(fd, SerializeHttpResponse(resp, r->keep_alive)) && r->keep_alive;
      }
      if (!open) break;
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
