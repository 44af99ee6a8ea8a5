// ServeHttpConnection: one client connection that speaks HTTP/1.1 (ClientListener hands it over), served until the
// client closes it, the parser refuses its bytes (answered with the parser's status, then closed), it stays idle
// too long, or `stop` turns true. Requests are answered in order by the HttpGateway (pipelining is allowed); the
// streaming endpoints (HttpGateway::IsStream: /v3/watch, /v3/lease/keepalive) are answered by HttpGateway::ServeStream
// with a chunked body written as the messages come, on this thread (a watch lasts until the client closes the
// connection or `stop` turns true, and the connection closes with it). The socket is closed at the end. Blocking, on
// the caller's thread; it holds no state beyond the connection.
#ifndef DETCD_NET_HTTP_SERVER_H_
#define DETCD_NET_HTTP_SERVER_H_

#include <atomic>
#include <functional>
#include <string>

#include "absl/time/time.h"
#include "net/http_gateway.h"
#include "net/http_parser.h"

namespace detcd::net {

// Which paths a listener serves: a request for another path gets Go's plain "404 page not found". Null: all of them.
using HttpPathFilter = std::function<bool(const std::string& path)>;

void ServeHttpConnection(int fd, HttpGateway* gateway, const std::atomic<bool>* stop,
                         absl::Duration idle_timeout = absl::Minutes(5), HttpParserLimits limits = {},
                         HttpPathFilter serves = nullptr);

}  // namespace detcd::net

#endif  // DETCD_NET_HTTP_SERVER_H_
