// ClientListener: one client URL's listening socket, shared by gRPC and HTTP/1.1 as etcd shares its client port
// (etcd's cmux): each accepted connection is sniffed — a connection that opens with the HTTP/2 client preface goes to
// the gRPC server (grpc::AddInsecureChannelFromFd), anything else to the HTTP/1.1 handler (the JSON gateway, /health,
// /version, /metrics). A connection that sends nothing for a while is closed. One accept thread; the sniffing of each
// connection happens on a short-lived thread of its own so a slow client cannot hold up the others. Without a gRPC
// server (etcd's --listen-metrics-urls: /metrics and /health only) nothing is sniffed: every connection goes to the
// HTTP/1.1 handler, which answers an HTTP/2 preface as the garbage it is there. On an https URL each connection is
// first given to a TlsTerminator (on the connection's own thread: a slow handshake holds up no one else), and its
// plaintext end is routed as above, so one TLS port serves gRPC and HTTP/1.1 as a plain one does. It holds no KV or
// Raft state.
#ifndef DETCD_NET_CLIENT_LISTENER_H_
#define DETCD_NET_CLIENT_LISTENER_H_

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "net/tls_terminator.h"

namespace grpc {
class Server;
}

namespace detcd::net {

class ClientListener {
 public:
  // http1 takes over a connected socket (and must close it). It is called on a thread of its own.
  using Http1Handler = std::function<void(int fd)>;
  // http2 takes over a connection that opened with the HTTP/2 preface (non-blocking, the preface still unread), with
  // the common name of its verified TLS client certificate ("" if none).
  using Http2Handler = std::function<void(int fd, const std::string& verified_common_name)>;

  // Binds host:port (port 0: any free port; host "" or "0.0.0.0": every address) and starts accepting. grpc null:
  // HTTP/1.1 only, every connection goes to http1 at once. tls non-null: an https port, every connection is TLS.
  static absl::StatusOr<std::unique_ptr<ClientListener>> Start(const std::string& host, int port, grpc::Server* grpc,
                                                               Http1Handler http1,
                                                               std::shared_ptr<const TlsTerminator> tls = nullptr,
                                                               Http2Handler http2 = nullptr);
  ~ClientListener();  // Stop()

  int port() const { return port_; }
  // Stops accepting; connections already handed over are their owners' to close.
  void Stop();

 private:
  ClientListener() = default;
  void AcceptLoop();
  void Route(int fd);
  void ToHttp1(int fd);

  int listen_fd_ = -1;
  int wake_fd_ = -1;  // an eventfd that wakes the accept loop to stop
  int port_ = 0;
  grpc::Server* grpc_ = nullptr;
  Http1Handler http1_;
  std::shared_ptr<const TlsTerminator> tls_;
  Http2Handler http2_;  // if set, HTTP/2 connections go to it rather than to grpc_
  std::atomic<bool> stopping_{false};
  std::atomic<int> routing_{0};  // connections still being terminated or sniffed
  std::thread thread_;
};

}  // namespace detcd::net

#endif  // DETCD_NET_CLIENT_LISTENER_H_
