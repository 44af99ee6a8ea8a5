#include "net/auth_credentials.h"

#include <openssl/rand.h>

#include <ctime>

#include "absl/strings/match.h"
#include "kv/errors.h"
#include "net/auth_password.h"

namespace detcd::net {

absl::StatusOr<std::unique_ptr<AuthCredentials>> AuthCredentials::Create(const AuthCredentialsOptions& options) {
  std::unique_ptr<AuthCredentials> c(new AuthCredentials(options));
  if (options.token.kind == AuthTokenConfig::kJwt) {
    absl::StatusOr<std::unique_ptr<JwtTokenProvider>> jwt = JwtTokenProvider::Create(options.token);
    if (!jwt.ok()) return jwt.status();
    c->jwt_ = std::move(*jwt);
  }
  return c;
}

absl::StatusOr<kvpb::RequestAuth> AuthCredentials::FromMetadata(
    const std::vector<std::pair<std::string, std::string>>& metadata) const {
  // etcd's keys: "token" from clientv3, "authorization" from the gateway (grpc-gateway forwards that header).
  for (const char* key : {"token", "authorization"}) {
    for (const auto& [k, v] : metadata) {
      if (k == key) return FromToken(v);
    }
  }
  return kvpb::RequestAuth();
}

kvpb::RequestAuth AuthCredentials::ForCall(const std::vector<std::pair<std::string, std::string>>& metadata) const {
  absl::StatusOr<kvpb::RequestAuth> auth = FromMetadata(metadata);
  if (!auth.ok()) {
    kvpb::RequestAuth invalid;
    invalid.set_invalid_token(true);
    return invalid;
  }
  if (auth->ByteSizeLong() == 0) {
    for (const auto& [k, v] : metadata) {
      if (k == kClientCnMetadata && !v.empty()) {
        auth->set_username(v);
        auth->set_certificate(true);
      }
    }
  }
  return *std::move(auth);
}

absl::StatusOr<kvpb::RequestAuth> AuthCredentials::FromToken(std::string_view token) const {
  kvpb::RequestAuth auth;
  if (token.empty()) return auth;
  switch (options_.token.kind) {
    case AuthTokenConfig::kSimple:
      auth.set_simple_token(std::string(token));
      return auth;
    case AuthTokenConfig::kJwt: {
      absl::StatusOr<JwtClaims> claims = jwt_->Verify(token, static_cast<int64_t>(std::time(nullptr)));
      if (!claims.ok()) return kv::ErrInvalidAuthToken();
      auth.set_username(claims->username);
      auth.set_revision(claims->revision);
      return auth;
    }
    case AuthTokenConfig::kNop:
      break;
  }
  return kv::ErrInvalidAuthToken();
}

std::string AuthCredentials::SimpleTokenPrefix() const {
  if (options_.token.kind != AuthTokenConfig::kSimple) return "";
  static constexpr char kLetters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
  static constexpr int kLength = 16;  // etcd's defaultSimpleTokenLength
  unsigned char random[kLength];
  // RAND_bytes fails only if the system's random source does; a fixed prefix would let tokens be guessed.
  if (RAND_bytes(random, kLength) != 1) return "";
  std::string prefix;
  for (unsigned char b : random) prefix.push_back(kLetters[b % (sizeof(kLetters) - 1)]);
  return prefix;
}

absl::StatusOr<std::string> AuthCredentials::TokenFor(const std::string& username, uint64_t revision,
                                                      const std::string& simple_token) const {
  switch (options_.token.kind) {
    case AuthTokenConfig::kSimple:
      if (simple_token.empty()) return absl::InternalError("auth: the member assigned no simple token");
      return simple_token;
    case AuthTokenConfig::kJwt:
      return jwt_->Sign(username, revision, static_cast<int64_t>(std::time(nullptr)));
    case AuthTokenConfig::kNop:
      break;
  }
  return kv::ErrAuthFailed();
}

absl::StatusOr<std::string> AuthCredentials::Hash(std::string_view password) const {
  unsigned char salt[kBcryptSaltBytes];
  if (RAND_bytes(salt, sizeof(salt)) != 1) return absl::InternalError("auth: no randomness for a bcrypt salt");
  return HashPassword(password, options_.bcrypt_cost,
                      std::string_view(reinterpret_cast<const char*>(salt), sizeof(salt)));
}

bool AuthCredentials::Check(std::string_view hash, std::string_view password) {
  return CheckPassword(hash, password);
}

}  // namespace detcd::net
