// The TLS a detcd process serves with, resolved from etcd's flags before anything is written to disk: client TLS
// (https client and metrics URLs, --cert-file/--key-file/--trusted-ca-file/--client-cert-auth, or --auto-tls's
// self-signed pair under <data-dir>/fixtures/client) and peer TLS (https peer URLs, the --peer-* files, or
// --peer-auto-tls's pair under <data-dir>/fixtures/peer). Files are read and checked here with the errors etcd prints
// for them (Go's "open <path>: no such file or directory", "tls: private key does not match public key").
// The hardening etcd's TLSInfo adds is resolved here too: --cipher-suites (both sides), --client-crl-file and
// --client-cert-allowed-hostname (client TLS from files), --peer-crl-file, --peer-cert-allowed-cn and
// --peer-cert-allowed-hostname (peer TLS from files). As etcd, an auto TLS side keeps only the cipher suites: its
// self-signed TLSInfo replaces the one those flags were set on. A CRL file that cannot be read or parsed refuses the
// start (etcd would start and refuse every connection with a certificate).
#ifndef DETCD_CMD_DETCD_TLS_H_
#define DETCD_CMD_DETCD_TLS_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cmd/detcd_flags.h"
#include "net/peer_tls.h"
#include "net/tls_allowed_identity.h"
#include "net/tls_cipher_suites.h"
#include "net/tls_crl.h"

namespace detcd {

bool Https(const DetcdUrl& u);

// The client TLS material, as PEM text for the client ports' TLS terminator.
struct ClientTlsPem {
  std::string cert_pem;
  std::string key_pem;
  std::string trusted_ca_pem;  // "" without --trusted-ca-file
};

struct DetcdTls {
  bool client_https = false;  // some client or metrics URL is https
  bool auto_tls = false;      // --auto-tls in force (no files given)
  std::string client_cert_file, client_key_file;  // what the client TLS was read from (for the log)
  ClientTlsPem client;                            // set if client_https
  net::TlsCipherSuites cipher_suites;             // --cipher-suites, for both sides
  std::vector<std::string> unavailable_cipher_suites;  // named, but not in this OpenSSL (RC4): to warn about
  std::shared_ptr<net::CrlFile> client_crl;       // --client-crl-file (null: none, or auto TLS)
  net::AllowedIdentity client_allowed;            // --client-cert-allowed-hostname (none with auto TLS)
  bool peer_files = false;     // --peer-cert-file/--peer-key-file given
  bool peer_auto_tls = false;  // --peer-auto-tls in force (no files given)
  std::shared_ptr<const net::PeerTls> peer;  // null: no peer TLS needed
};

// Checks the TLS flags and reads the given files (nothing is written). Errors carry etcd's wording.
absl::StatusOr<DetcdTls> ResolveTls(const DetcdConfig& cfg);
// --auto-tls / --peer-auto-tls in force: makes (or reuses) their self-signed pairs under the data directory and reads
// them into `tls`. Writes to disk: call once the bootstrap checks passed.
absl::Status MakeAutoTls(const DetcdConfig& cfg, DetcdTls* tls);

}  // namespace detcd

#endif  // DETCD_CMD_DETCD_TLS_H_
