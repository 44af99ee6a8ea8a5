#include "net/reply_cork.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "base/check.h"

namespace detcd::net {

namespace {

// The inode of fd's socket; 0 if fd is not an open socket.
ino_t SocketInode(int fd) {
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISSOCK(st.st_mode)) return 0;
  return st.st_ino;
}

}  // namespace

void ReplyCork::Add(int fd) {
  const ino_t inode = SocketInode(fd);
  if (inode == 0) return;
  std::lock_guard<std::mutex> l(mu_);
  // A number seen before belongs to a connection gRPC has closed since.
  for (Connection& c : connections_) {
    if (c.fd == fd) {
      c.inode = inode;
      return;
    }
  }
  connections_.push_back(Connection{fd, inode});
}

void ReplyCork::Begin() {
  std::lock_guard<std::mutex> l(mu_);
  DETCD_CHECK_MSG(!in_batch_, "ReplyCork::Begin twice");
  in_batch_ = true;
  DETCD_CHECK(corked_.empty());
  size_t live = 0;
  for (size_t i = 0; i < connections_.size(); ++i) {
    if (SocketInode(connections_[i].fd) != connections_[i].inode) continue;  // closed (and maybe reused): forget
    connections_[live++] = connections_[i];
  }
  connections_.resize(live);
  if (connections_.size() > kMaxCorked) return;
  const int on = 1;
  for (const Connection& c : connections_) {
    if (setsockopt(c.fd, IPPROTO_TCP, TCP_CORK, &on, sizeof(on)) == 0) corked_.push_back(c.fd);
  }
}

void ReplyCork::End() {
  std::lock_guard<std::mutex> l(mu_);
  DETCD_CHECK_MSG(in_batch_, "ReplyCork::End without Begin");
  in_batch_ = false;
  const int off = 0;
  // Each was one of ours at Begin; gRPC may have closed it meanwhile, and uncorking whatever now has its number is
  // harmless.
  for (int fd : corked_) setsockopt(fd, IPPROTO_TCP, TCP_CORK, &off, sizeof(off));
  corked_.clear();
}

size_t ReplyCork::connections() const {
  std::lock_guard<std::mutex> l(mu_);
  return connections_.size();
}

}  // namespace detcd::net
