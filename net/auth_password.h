// Auth passwords as etcd 3.4 keeps them (authpb.User.password): bcrypt hashes in the form Go's
// golang.org/x/crypto/bcrypt writes ("$2a$<cost>$<22 chars salt><31 chars hash>"), made and checked with libxcrypt's
// crypt_r, so a hash made here verifies in etcd and one made by etcd verifies here.
//
// It must never: draw randomness of its own (the caller passes the salt, so that whoever proposes the hash decides it),
// compare a hash in time that depends on where it differs, keep or log a password, or crash on a malformed hash (that
// is a mismatch).
//
// Bcrypt reads at most 72 bytes of a password. As etcd 3.4.45 (x/crypto v0.50): HashPassword refuses a longer one
// ("bcrypt: password length exceeds 72 bytes"), while CheckPassword compares only the first 72 bytes (a hash made by
// an older etcd from a longer password still verifies with that password, and with any password sharing its first 72
// bytes). crypt_r takes C strings, so a password with a NUL byte is refused by HashPassword and never matches in
// CheckPassword (Go would hash it; etcdctl cannot send one).
#ifndef DETCD_NET_AUTH_PASSWORD_H_
#define DETCD_NET_AUTH_PASSWORD_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace detcd::net {

// bcrypt.MinCost, bcrypt.MaxCost and bcrypt.DefaultCost (etcd's --bcrypt-cost default).
inline constexpr int kBcryptCostMin = 4;
inline constexpr int kBcryptCostMax = 31;
inline constexpr int kBcryptCostDefault = 10;
// The random bytes of a salt (bcrypt.maxSaltSize) and the longest password bcrypt reads.
inline constexpr size_t kBcryptSaltBytes = 16;
inline constexpr size_t kBcryptPasswordBytesMax = 72;

// The bcrypt hash of `password` with 2^cost rounds and the salt `salt16` (exactly kBcryptSaltBytes random bytes from
// the caller), as "$2a$" — the minor version Go writes. InvalidArgument for a cost outside [4,31], a salt of another
// length, a password longer than 72 bytes or containing a NUL byte.
absl::StatusOr<std::string> HashPassword(std::string_view password, int cost, std::string_view salt16);

// Whether `password` hashes to `hash` (a "$2a$", "$2b$" or "$2y$" bcrypt hash, the cost and salt taken from it). The
// final comparison takes the same time wherever the hashes differ. False for a malformed hash.
bool CheckPassword(std::string_view hash, std::string_view password);

}  // namespace detcd::net

#endif  // DETCD_NET_AUTH_PASSWORD_H_
