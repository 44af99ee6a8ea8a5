// A socket address as Go's net.Addr prints it ("127.0.0.1:2379", "[::1]:2379"), for the log lines that name a remote
// end the way etcd's do. Formatting only: it never touches a socket.
#ifndef DETCD_NET_SOCKET_ADDRESS_H_
#define DETCD_NET_SOCKET_ADDRESS_H_

#include <sys/socket.h>

#include <string>

namespace detcd::net {

// "?" for a family other than IPv4 and IPv6.
std::string SocketAddressString(const sockaddr_storage& sa);

}  // namespace detcd::net

#endif  // DETCD_NET_SOCKET_ADDRESS_H_
