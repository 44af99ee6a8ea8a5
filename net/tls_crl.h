// A certificate revocation list file (etcd's --client-crl-file / --peer-crl-file) and etcd's check of a connection
// against it (pkg/transport listener_tls.go checkCRL): once the TLS handshake is done, the serial numbers of the
// certificates the remote presented are looked up among the CRL's revoked serials, and a match refuses the connection
// with "transport: certificate serial <hex> revoked". As etcd: serials are compared by their magnitude bytes alone (not
// the issuer; the CRL's signature is not checked), the file may be PEM ("X509 CRL") or DER, and it is read again when
// it changes, so that a revocation applies to new connections without a restart (etcd reads it on every connection;
// here it is re-read when its size, modification time or inode changed).
//
// It must never: crash or accept a connection on a malformed, missing or unreadable file (the connection is refused
// with the reason), block longer than reading one small file, or keep more than one parsed list.
#ifndef DETCD_NET_TLS_CRL_H_
#define DETCD_NET_TLS_CRL_H_

#include <sys/types.h>

#include <ctime>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct ssl_st;  // OpenSSL's SSL

namespace detcd::net {

// The revoked serial numbers of a CRL, each as its big-endian magnitude bytes (Go's big.Int.Bytes()).
using RevokedSerials = std::set<std::string>;

// Parses a CRL given as PEM ("-----BEGIN X509 CRL-----") or DER. Error if it is neither.
absl::StatusOr<RevokedSerials> ParseCrl(const std::string& data);

// Go's %x of a serial's magnitude bytes: lower-case hex, two digits a byte ("1002" for serial 0x1002).
std::string SerialHex(const std::string& magnitude_bytes);

class CrlFile {
 public:
  // Reads and parses `path`; errors read as Go's ("open <path>: no such file or directory") or name the file.
  static absl::StatusOr<std::shared_ptr<CrlFile>> Load(const std::string& path);
  CrlFile(const CrlFile&) = delete;
  CrlFile& operator=(const CrlFile&) = delete;

  const std::string& path() const { return path_; }

  // OK if none of `serials` (magnitude bytes) is revoked; else etcd's "transport: certificate serial <hex> revoked".
  // A file that became unreadable or malformed refuses with its error (etcd does the same: the error is the reason).
  absl::Status Check(const std::vector<std::string>& serials);
  // The same for the certificates the remote presented on a finished handshake (leaf and any it sent along). A
  // remote without a certificate passes (etcd checks only presented certificates).
  absl::Status CheckSession(ssl_st* ssl);

 private:
  explicit CrlFile(std::string path) : path_(std::move(path)) {}
  absl::Status Refresh();  // mu_ held

  const std::string path_;
  std::mutex mu_;  // the client port checks from its handshake threads
  RevokedSerials revoked_;
  bool loaded_ = false;
  dev_t dev_ = 0;
  ino_t ino_ = 0;
  off_t size_ = -1;
  timespec mtime_ = {0, 0};
};

// The magnitude bytes of each certificate's serial the remote presented on `ssl` (leaf first).
std::vector<std::string> PresentedSerials(ssl_st* ssl);

}  // namespace detcd::net

#endif  // DETCD_NET_TLS_CRL_H_
