// etcd's --auth-token value, parsed as etcd 3.4 parses it (auth/store.go NewTokenProvider and decomposeOpts,
// auth/options.go jwtOptions): "simple", "jwt,<key>=<value>,..." with the keys pub-key, priv-key, sign-method and
// ttl, or "" (no token provider: authentication always fails). Errors carry etcd's text ("auth: invalid auth
// options", "auth: missing key data", "unsupported signing method: *jwt.signingMethodNone").
//
// It must never: read a file (the key files are read by JwtTokenProvider::Create, which is also where etcd's checks
// of their content happen), or accept a value etcd refuses at start-up. It reports, as etcd does, only what it can
// tell from the text: a key file that is missing or unreadable is Create's error.
#ifndef DETCD_NET_AUTH_TOKEN_CONFIG_H_
#define DETCD_NET_AUTH_TOKEN_CONFIG_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace detcd::net {

// etcd's auth error texts for token configuration (auth/store.go).
inline constexpr char kErrInvalidAuthOpts[] = "auth: invalid auth options";
inline constexpr char kErrInvalidAuthMethod[] = "auth: invalid auth signature method";
inline constexpr char kErrMissingKey[] = "auth: missing key data";
inline constexpr char kErrKeyMismatch[] = "auth: public and private keys don't match";
inline constexpr char kErrVerifyOnly[] = "auth: token signing attempted with verify-only key";

// auth.DefaultTTL: a JWT's lifetime when the value names none.
inline constexpr int64_t kJwtDefaultTtlUs = int64_t{5} * 60 * 1'000'000;

struct AuthTokenConfig {
  enum Kind {
    kSimple,  // "simple[,...]": etcd's simple tokens (their lifetime is --auth-token-ttl, not in this struct)
    kJwt,     // "jwt,...": signed JWTs
    kNop,     // "": etcd's nop provider; no token is ever issued (Authenticate fails: "auth: authentication failed,
              // invalid user ID or password") and none is accepted
  };
  Kind kind = kSimple;
  // kJwt only. At least one key path for RS*, PS*, ES* (a member with only pub-key verifies but cannot sign); for
  // HS* the priv-key file's bytes are the HMAC secret and pub-key is ignored.
  std::string pub_key_path;
  std::string priv_key_path;
  std::string sign_method;  // "RS256", "RS384", "RS512", "PS256", ..., "ES512", "HS256", "HS384", "HS512"
  int64_t ttl_us = kJwtDefaultTtlUs;  // Go duration "ttl=5m"; may be zero or negative as etcd allows
};

// Parses an --auth-token value. On error the message is exactly the error etcd 3.4 fails to start with (most often
// kErrInvalidAuthOpts). `notes` (may be null) receives what etcd logs beside it: on error, the reason the text
// hides ("unknown token type \"foo\"", "ttl: time: unknown unit \"d\" in duration \"5d\""); on success, the
// warning for JWT options etcd does not know ("unknown JWT options: [foo]"), which etcd accepts.
absl::StatusOr<AuthTokenConfig> ParseAuthTokenConfig(std::string_view value,
                                                     std::vector<std::string>* notes = nullptr);

// Go's time.ParseDuration, in microseconds (the nanoseconds Go keeps, truncated towards zero). The error is Go's
// text ("time: invalid duration \"x\"").
absl::StatusOr<int64_t> ParseGoDurationUs(std::string_view text);

}  // namespace detcd::net

#endif  // DETCD_NET_AUTH_TOKEN_CONFIG_H_
