// HttpParser: an incremental HTTP/1.1 request parser (RFC 9112) for the client port's JSON gateway. Bytes are fed
// as they arrive, in pieces of any size; complete requests come out in order (pipelining), each with its method,
// target, headers (looked up case-insensitively) and body (Content-Length or chunked). Pure: no IO, no clock, no
// threads. It must never crash, allocate without bound or read past what it was given, whatever the bytes: limits
// bound the header section and the body, and the first malformed byte puts it in a final error state carrying the
// HTTP status to answer with (400, 413, 431, 501, 505) before the connection is closed.
#ifndef DETCD_NET_HTTP_PARSER_H_
#define DETCD_NET_HTTP_PARSER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace detcd::net {

struct HttpRequest {
  std::string method;     // as sent (methods are case-sensitive): "GET", "POST"…
  std::string target;     // the request-target as sent: "/v3/kv/range?x=1" (absolute-form kept as sent)
  std::string path;       // the target's path: "/v3/kv/range" ("*" for OPTIONS *)
  std::string query;      // after '?', without it; empty if none
  int version_minor = 1;  // HTTP/1.<minor>
  std::vector<std::pair<std::string, std::string>> headers;  // in order; names as sent, values trimmed
  std::string body;                                          // de-chunked
  // Whether the connection stays open after this request's response (HTTP/1.1: unless "Connection: close";
  // HTTP/1.0: only with "Connection: keep-alive").
  bool keep_alive = true;

  // The first header of that name (case-insensitive), or null.
  const std::string* Header(std::string_view name) const;
};

struct HttpParserLimits {
  size_t header_bytes_max = 64 << 10;  // request line + headers (and chunked trailers); more: 431
  size_t body_bytes_max = 4 << 20;     // more: 413 (etcd 3.4: --max-request-bytes 1.5 MiB + gRPC overhead)
};

class HttpParser {
 public:
  explicit HttpParser(HttpParserLimits limits = {});

  // Appends bytes from the connection and parses as far as they go. Bytes after an error, or after a request that
  // ends the connection (keep_alive false), are ignored.
  void Feed(std::string_view bytes);

  // The next complete request, oldest first.
  std::optional<HttpRequest> Next();

  // True once per request whose head says "Expect: 100-continue" and whose body has not fully arrived: the server
  // should send "HTTP/1.1 100 Continue" (curl waits a second for it before sending a body over 1 KiB).
  bool TakeContinueExpected();

  // Failed: the connection must be answered with error_status() and closed. Requests completed before the error
  // are still returned by Next().
  bool failed() const { return error_status_ != 0; }
  int error_status() const { return error_status_; }
  const std::string& error() const { return error_; }

  // No partial request is buffered (a clean place for the peer to close the connection).
  bool idle() const;

 private:
  enum class State { kHead, kBody, kChunkSize, kChunkData, kChunkDataEnd, kTrailer, kDone, kError };

  void Parse();
  bool ParseHead();  // false: need more bytes (or failed)
  bool ParseBody();
  bool ParseChunkSize();
  bool ParseChunkData();
  bool ParseChunkDataEnd();
  bool ParseTrailer();
  // The index just past the first '\n' at or after `from`; npos if the line has not all arrived.
  size_t LineEnd(size_t from) const;
  bool Fail(int status, std::string message);
  void Complete();

  HttpParserLimits limits_;
  std::string buf_;
  size_t pos_ = 0;   // first unparsed byte of buf_
  size_t scan_ = 0;  // kHead: where to resume looking for the blank line
  State state_ = State::kHead;
  HttpRequest current_;
  uint64_t remaining_ = 0;  // kBody / kChunkData: bytes still to come
  size_t trailer_bytes_ = 0;
  bool continue_pending_ = false;
  std::deque<HttpRequest> ready_;
  int error_status_ = 0;
  std::string error_;
};

}  // namespace detcd::net

#endif  // DETCD_NET_HTTP_PARSER_H_
