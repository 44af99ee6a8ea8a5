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

namespace detcd::load {

std::vector<std::shared_ptr<grpc::Channel>> OpenConnections(const std::vector<std::string>& endpoints, int conns);

// The gRPC status as one line for grouping failures: the server's message, or the code's number if it has none.
std::string ErrorText(const grpc::Status& status);

}  // namespace detcd::load

#endif  // DETCD_LOAD_CONNECTIONS_H_
