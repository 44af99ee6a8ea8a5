// etcd 3.4's JWT auth tokens (auth/jwt.go with golang-jwt v4): a member that has the private key signs
// {"exp":<now+ttl>,"revision":<auth revision>,"username":<name>} with the configured method, and every member checks
// tokens it is handed against the configured method and key. Keys are PEM files named by --auth-token (see
// net/auth_token_config.h): RS*/PS* take RSA keys, ES* EC keys (P-256/P-384/P-521 for ES256/ES384/ES512), HS* use
// the priv-key file's bytes as the HMAC secret. A member given only pub-key verifies but cannot sign.
//
// It must never: accept a token whose header names another algorithm than the configured one ("none" included),
// whose signature does not verify, that has expired or lacks its username or revision; read a clock (the caller
// passes now); prompt for a key's passphrase; or hold state that changes after Create (Sign and Verify may run on
// many threads at once).
//
// Any Verify error means etcd's ErrInvalidAuthToken to a client ("etcdserver: invalid auth token"); its message is
// only for the log, as etcd logs golang-jwt's reason.
#ifndef DETCD_NET_JWT_TOKEN_H_
#define DETCD_NET_JWT_TOKEN_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "net/auth_token_config.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace detcd::net {

struct JwtMethod;  // one signing algorithm (jwt_token.cc)

struct JwtClaims {
  std::string username;
  uint64_t revision = 0;  // the auth store's revision when the token was issued
  int64_t exp = 0;        // Unix seconds; the token is valid while now < exp
};

class JwtTokenProvider {
 public:
  // Reads and checks the key files of a kJwt config (etcd's errors: "auth: invalid auth options" for an unreadable
  // file, "auth: missing key data" when the method's key files are absent or empty, golang-jwt's key texts such as
  // "key is not a valid RSA private key", "auth: public and private keys don't match").
  static absl::StatusOr<std::unique_ptr<JwtTokenProvider>> Create(const AuthTokenConfig& config);
  ~JwtTokenProvider();
  JwtTokenProvider(const JwtTokenProvider&) = delete;
  JwtTokenProvider& operator=(const JwtTokenProvider&) = delete;

  // A token for `username` at `auth_revision`, expiring at now_unix_s + the configured ttl (rounded down to a
  // second, as Go's Unix() does). FailedPrecondition "auth: token signing attempted with verify-only key" on a
  // member without the private key; "key is invalid" when an EC key's curve is not the method's.
  absl::StatusOr<std::string> Sign(std::string_view username, uint64_t auth_revision, int64_t now_unix_s) const;

  // The claims of a token this cluster's key signed, if it is valid at now_unix_s. Unauthenticated otherwise.
  absl::StatusOr<JwtClaims> Verify(std::string_view token, int64_t now_unix_s) const;

  bool verify_only() const { return verify_only_; }
  const std::string& sign_method() const { return method_name_; }

 private:
  JwtTokenProvider() = default;
  absl::StatusOr<std::string> SignBytes(std::string_view signing_input) const;
  bool VerifyBytes(std::string_view signing_input, std::string_view signature) const;

  std::string method_name_;
  const JwtMethod* method_ = nullptr;
  int64_t ttl_us_ = 0;
  bool verify_only_ = false;
  evp_pkey_st* key_ = nullptr;  // RS/PS/ES: the private key, or the public key when verify-only; owned
  std::string hmac_secret_;     // HS: the priv-key file's bytes
};

}  // namespace detcd::net

#endif  // DETCD_NET_JWT_TOKEN_H_
