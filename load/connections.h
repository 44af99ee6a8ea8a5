// Connections: the M HTTP/2 connections a run's clients share, spread round-robin over the endpoints. Each channel
// gets its own subchannel pool and a distinct channel argument, so gRPC opens M TCP connections rather than
// sharing one per endpoint; clients are then spread round-robin over the channels (many streams per connection,
// as clientv3 and etcd's benchmark do).
#ifndef DETCD_LOAD_CONNECTIONS_H_
#define DETCD_LOAD_CONNECTIONS_H_

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace detcd::load {

std::vector<std::shared_ptr<grpc::Channel>> OpenConnections(const std::vector<std::string>& endpoints, int conns);

// etcd's Auth.Authenticate over channel: the token for user and password, or the server's error.
absl::StatusOr<std::string> Authenticate(const std::shared_ptr<grpc::Channel>& channel, const std::string& user,
                                         const std::string& password, absl::Duration timeout);
// A call carries the token (metadata "token", as clientv3 sends it) if there is one.
void AddToken(grpc::ClientContext* ctx, const std::string& token);

// The gRPC status as one line for grouping failures: the server's message, or the code's number if it has none.
std::string ErrorText(const grpc::Status& status);

}  // namespace detcd::load

#endif  // DETCD_LOAD_CONNECTIONS_H_
