// etcd's --cipher-suites: Go's cipher suite names (pkg/tlsutil GetCipherSuite: crypto/tls CipherSuites() and
// InsecureCipherSuites() of Go 1.19, which Debian's etcd 3.4.23 is built with, and the two short ChaCha20 aliases)
// mapped to OpenSSL's names, and applied to a TLS context as Go applies tls.Config.CipherSuites: they restrict TLS 1.2
// only. TLS 1.3 suites are not configurable in Go (its three suites are always on): a TLS 1.3 name is accepted and has
// no effect, and TLS 1.3 keeps OpenSSL's default suites (the same three). A list of TLS 1.3 names only leaves TLS 1.2
// without a suite: the context then speaks TLS 1.3 only (Go would fail every TLS 1.2 handshake; etcd 3.4.23 itself
// crashes at start-up with such a list).
//
// It must never accept a name etcd refuses, nor silently widen the list: a Go name OpenSSL cannot do (RC4) is
// reported to the caller, not replaced.
#ifndef DETCD_NET_TLS_CIPHER_SUITES_H_
#define DETCD_NET_TLS_CIPHER_SUITES_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

struct ssl_ctx_st;  // OpenSSL's SSL_CTX

namespace detcd::net {

struct TlsCipherSuites {
  std::vector<std::string> go_names;       // as given, in order (empty: OpenSSL's defaults, no restriction)
  std::vector<std::string> tls12_openssl;  // OpenSSL names of the TLS 1.2 suites among them, in order
  std::vector<std::string> tls13_go;       // the TLS 1.3 names among them (no effect: Go does not configure them)

  bool restricted() const { return !go_names.empty(); }
};

// OpenSSL's name for a Go cipher suite name; "" if etcd does not know the name. TLS 1.3 names map to themselves
// (OpenSSL uses the IANA names for those).
std::string OpenSslCipherName(const std::string& go_name);
bool IsTls13CipherName(const std::string& go_name);

// etcd's tlsutil.GetCipherSuites: every name must be known, else `unexpected TLS cipher suite "<name>"` (etcd's
// text, Go's %q), the empty name included.
absl::StatusOr<TlsCipherSuites> ParseTlsCipherSuites(const std::vector<std::string>& go_names);

// Restricts ctx's TLS 1.2 suites to `suites` (nothing if !restricted()). Error if OpenSSL can do none of the TLS 1.2
// suites given (for example only RC4, which OpenSSL 3 lacks), naming them. `unavailable` (may be null) gets the Go
// names OpenSSL cannot do, which the list keeps out.
absl::Status ApplyTlsCipherSuites(ssl_ctx_st* ctx, const TlsCipherSuites& suites,
                                  std::vector<std::string>* unavailable);

// ApplyTlsCipherSuites on a throwaway context: whether the suites can be served, before anything starts.
absl::Status CheckTlsCipherSuites(const TlsCipherSuites& suites, std::vector<std::string>* unavailable);

}  // namespace detcd::net

#endif  // DETCD_NET_TLS_CIPHER_SUITES_H_
