#include "net/auth_password.h"

#include <crypt.h>
#include <string.h>

#include <memory>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace detcd::net {
namespace {

// The length of every bcrypt hash: "$2a$" + two cost digits + "$" + 22 salt characters + 31 hash characters.
constexpr size_t kBcryptHashBytes = 60;

// crypt_r's work area holds the password and its key schedule: wiped before it is freed.
struct CryptData {
  crypt_data data{};  // zeroed: crypt_r requires `initialized` to be 0 on first use
  ~CryptData() { explicit_bzero(&data, sizeof(data)); }
};

// crypt_r of `password` with `setting`; "" when libxcrypt refuses the setting. crypt_r reports failure either as NULL
// or as a string starting with '*' (its "failure token"), depending on how it was built.
std::string Crypt(const std::string& password, const char* setting) {
  auto work = std::make_unique<CryptData>();
  const char* out = crypt_r(password.c_str(), setting, &work->data);
  if (out == nullptr || out[0] == '*') return "";
  return out;
}

// a == b, in time that depends only on the lengths.
bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// "$2a$NN$", "$2b$NN$" or "$2y$NN$" followed by 53 characters: the shape Go's bcrypt accepts for these versions.
// What the characters are, crypt_r checks.
bool LooksLikeBcrypt(std::string_view hash) {
  if (hash.size() != kBcryptHashBytes) return false;
  if (hash[0] != '$' || hash[1] != '2' || hash[3] != '$' || hash[6] != '$') return false;
  if (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') return false;
  if (!IsDigit(hash[4]) || !IsDigit(hash[5])) return false;
  const int cost = (hash[4] - '0') * 10 + (hash[5] - '0');
  return cost >= kBcryptCostMin && cost <= kBcryptCostMax;
}

}  // namespace

absl::StatusOr<std::string> HashPassword(std::string_view password, int cost, std::string_view salt16) {
  if (cost < kBcryptCostMin || cost > kBcryptCostMax) {
    return absl::InvalidArgumentError(absl::StrCat("crypto/bcrypt: cost ", cost,
                                                   " is outside allowed inclusive range ", kBcryptCostMin, "..",
                                                   kBcryptCostMax));
  }
  if (salt16.size() != kBcryptSaltBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("bcrypt: the salt must be ", kBcryptSaltBytes, " bytes, not ", salt16.size()));
  }
  if (password.size() > kBcryptPasswordBytesMax) {
    return absl::InvalidArgumentError("bcrypt: password length exceeds 72 bytes");  // x/crypto's ErrPasswordTooLong
  }
  if (password.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError("bcrypt: a password with a NUL byte cannot be hashed");
  }
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (crypt_gensalt_rn("$2a$", static_cast<unsigned long>(cost), salt16.data(), static_cast<int>(salt16.size()),
                       setting, sizeof(setting)) == nullptr) {
    return absl::InternalError("bcrypt: crypt_gensalt_rn refused the cost or salt");
  }
  std::string plain(password);
  std::string hash = Crypt(plain, setting);
  explicit_bzero(plain.data(), plain.size());
  if (hash.empty()) return absl::InternalError("bcrypt: crypt_r refused the setting");
  DETCD_CHECK_MSG(LooksLikeBcrypt(hash), "crypt_r made something that is not a bcrypt hash");
  DETCD_CHECK(hash.compare(0, 4, "$2a$") == 0);
  return hash;
}

bool CheckPassword(std::string_view hash, std::string_view password) {
  if (!LooksLikeBcrypt(hash)) return false;
  if (password.size() > kBcryptPasswordBytesMax) password = password.substr(0, kBcryptPasswordBytesMax);
  if (password.find('\0') != std::string_view::npos) return false;
  // crypt_r takes the cost and salt from the stored hash itself and ignores the hash part after them.
  const std::string setting(hash);
  std::string plain(password);
  const std::string computed = Crypt(plain, setting.c_str());
  explicit_bzero(plain.data(), plain.size());
  if (computed.empty()) return false;
  return ConstantTimeEqual(computed, hash);
}

}  // namespace detcd::net
