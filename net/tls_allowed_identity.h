// etcd's --peer-cert-allowed-cn, --peer-cert-allowed-hostname and --client-cert-allowed-hostname (pkg/transport
// TLSInfo AllowedCN / AllowedHostname): the remote's verified certificate must have exactly that subject common name,
// or be valid for that host name (Go's x509 VerifyHostname: an IP address against the IP SANs, a name against the DNS
// SANs with a leftmost-label wildcard, never the CN). As etcd sets it on tls.Config.VerifyPeerCertificate, the check
// runs inside every handshake of the context, both as a server (on the client's certificate) and as a client (on the
// server's), and a mismatch fails that handshake with a bad_certificate alert and Go's words "client certificate
// authentication failed". A remote whose certificate was not verified (none sent, or verification off) fails it too.
//
// It must never: accept a certificate it could not read (no subject, no CN, malformed SANs: refused), or crash on one.
#ifndef DETCD_NET_TLS_ALLOWED_IDENTITY_H_
#define DETCD_NET_TLS_ALLOWED_IDENTITY_H_

#include <string>

#include "absl/status/status.h"

struct ssl_st;      // OpenSSL's SSL
struct ssl_ctx_st;  // OpenSSL's SSL_CTX
struct x509_st;     // OpenSSL's X509

namespace detcd::net {

// Go's error for a certificate that fails the check (crypto/tls passes etcd's error text through).
inline constexpr char kCertAuthFailed[] = "client certificate authentication failed";

struct AllowedIdentity {
  std::string cn;        // "": any
  std::string hostname;  // "": any (an IP address or a DNS name)
  bool any() const { return !cn.empty() || !hostname.empty(); }
};

// etcd refuses both at once: "AllowedCN and AllowedHostname are mutually exclusive (cn=%q, hostname=%q)".
absl::Status ValidateAllowedIdentity(const AllowedIdentity& id);

// Whether `cert` passes: its last subject CN equals id.cn, or it is valid for id.hostname. Null: false.
bool CertificateAllowed(x509_st* cert, const AllowedIdentity& id);

// Checks every handshake of ctx (requires id.any(); call after SSL_CTX_set_verify, whose mode it keeps). The context
// keeps its own copy of `id`.
absl::Status RequireAllowedIdentity(ssl_ctx_st* ctx, const AllowedIdentity& id);

// After a finished handshake of such a context: OK if the remote's certificate was verified and is allowed, else
// kCertAuthFailed (a session whose verification was off or that got no certificate ends here).
absl::Status CheckAllowedIdentity(ssl_st* ssl, const AllowedIdentity& id);

}  // namespace detcd::net

#endif  // DETCD_NET_TLS_ALLOWED_IDENTITY_H_
