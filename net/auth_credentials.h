// AuthCredentials: the driver's half of etcd's auth — what a member does with a client's credentials before its core
// checks them. A request's token (gRPC metadata "token", or "authorization" from the gateway) becomes the
// kvpb::RequestAuth the core resolves and checks: a simple token is passed on for the core's token table; a JWT is
// verified here (signature, method, expiry) and passed on as its user and revision. It also makes what the core must
// never make: bcrypt hashes (random salts, and slow), password checks, simple-token prefixes (random) and signed
// JWTs. It holds no auth state (users, roles and tokens are the core's); thread-safe.
#ifndef DETCD_NET_AUTH_CREDENTIALS_H_
#define DETCD_NET_AUTH_CREDENTIALS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "api/kv_request.pb.h"
#include "net/auth_token_config.h"
#include "net/jwt_token.h"

namespace detcd::net {

// The metadata key by which the client front end tells the member's gRPC server (in-process, reached only through the
// front end and the gateway, which both drop it from what clients send) the common name of a call's verified TLS
// client certificate, when --client-cert-auth makes it the call's user.
inline constexpr char kClientCnMetadata[] = "detcd-client-cn";

struct AuthCredentialsOptions {
  AuthTokenConfig token;  // --auth-token
  int bcrypt_cost = 10;   // --bcrypt-cost
};

class AuthCredentials {
 public:
  // Loads the JWT keys if the tokens are JWTs. Errors: etcd's for unreadable or mismatched keys.
  static absl::StatusOr<std::unique_ptr<AuthCredentials>> Create(const AuthCredentialsOptions& options);

  // The credentials a call's metadata carries (lower-case keys): none (an empty RequestAuth), a simple token for
  // the core, or a verified JWT's user and revision. A JWT that does not verify is etcd's ErrInvalidAuthToken.
  absl::StatusOr<kvpb::RequestAuth> FromMetadata(
      const std::vector<std::pair<std::string, std::string>>& metadata) const;
  absl::StatusOr<kvpb::RequestAuth> FromToken(std::string_view token) const;
  // A call served by the member's gRPC server: its token, else the certificate name the front end passed
  // (kClientCnMetadata); a token that does not verify is marked for the core to refuse (every request refused, a
  // watch canceled, in etcd's words).
  kvpb::RequestAuth ForCall(const std::vector<std::pair<std::string, std::string>>& metadata) const;
  // The entries of a gRPC call's client metadata (a multimap of string_ref-like keys and values) that ForCall reads.
  template <typename Multimap>
  static std::vector<std::pair<std::string, std::string>> AuthMetadata(const Multimap& client_metadata) {
    std::vector<std::pair<std::string, std::string>> md;
    for (const auto& [k, v] : client_metadata) {
      if (k == "token" || k == "authorization" || k == kClientCnMetadata) {
        md.emplace_back(std::string(k.data(), k.size()), std::string(v.data(), v.size()));
      }
    }
    return md;
  }

  // Authenticate's parts: the simple-token prefix to propose (16 random letters; empty for JWTs, which the core
  // does not keep), and the token for the client once the authentication applied at `revision`.
  std::string SimpleTokenPrefix() const;
  absl::StatusOr<std::string> TokenFor(const std::string& username, uint64_t revision,
                                       const std::string& simple_token) const;
  bool issues_tokens() const { return options_.token.kind != AuthTokenConfig::kNop; }

  // A bcrypt hash of the password at --bcrypt-cost with a random salt; a password against a stored hash.
  absl::StatusOr<std::string> Hash(std::string_view password) const;
  static bool Check(std::string_view hash, std::string_view password);

 private:
  explicit AuthCredentials(AuthCredentialsOptions options) : options_(std::move(options)) {}
  AuthCredentialsOptions options_;
  std::unique_ptr<JwtTokenProvider> jwt_;
};

}  // namespace detcd::net

#endif  // DETCD_NET_AUTH_CREDENTIALS_H_
