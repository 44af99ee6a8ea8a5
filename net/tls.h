// TLS material for the client and peer ports: reading PEM files with Go's error wording, checking that a key belongs
// to its certificate, and etcd's --auto-tls / --peer-auto-tls self-signed certificate (pkg/transport SelfCert: a fresh
// key and a one-year certificate whose SANs are the listen hosts, written once into a directory and reused from then
// on).
//
// This unit only handles files and OpenSSL (libcrypto) objects: it never listens, never logs and holds no state. The
// caller hands the PEM text it returns to gRPC's SslServerCredentials (client port) or net::PeerTls (peer port).
#ifndef DETCD_NET_TLS_H_
#define DETCD_NET_TLS_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace detcd::net {

struct CertKeyFiles {
  std::string cert_file;
  std::string key_file;
};

// The whole file. Errors read as Go's os.PathError, which etcd prints as they are: "open <path>: no such file or
// directory", "open <path>: permission denied", "read <path>: is a directory".
absl::StatusOr<std::string> ReadFile(const std::string& path);

// etcd's SelfCert: if <dir>/cert.pem and <dir>/key.pem both exist they are reused as they are; otherwise <dir> is
// created (0700, with its parents) and a new ECDSA P-256 key (key.pem, 0600, "EC PRIVATE KEY") and a self-signed
// certificate (cert.pem: organization "etcd", 128-bit random serial, valid from now for 365 days, key usages digital
// signature + key encipherment, extended key usage server auth) are written. Each of `hosts` (bare hosts, no port)
// becomes an IP SAN if it parses as an IPv4/IPv6 address, else a DNS SAN; empty and repeated hosts are skipped.
absl::StatusOr<CertKeyFiles> SelfSignedCert(const std::vector<std::string>& hosts, const std::string& dir);

// OK if cert_pem holds a certificate and key_pem a private key whose public half is the certificate's, with Go's
// tls.X509KeyPair wording otherwise ("tls: failed to find any PEM data in certificate input", "tls: private key
// does not match public key", ...). gRPC would refuse the same files later with a less helpful message.
absl::Status CheckKeyPair(const std::string& cert_pem, const std::string& key_pem);

// The subject alternative names of the first certificate in cert_pem, in order, as "IP:127.0.0.1", "IP:::1",
// "DNS:localhost".
absl::StatusOr<std::vector<std::string>> CertificateSans(const std::string& cert_pem);

}  // namespace detcd::net

#endif  // DETCD_NET_TLS_H_
