// Tests of the bcrypt password unit against published vectors (not hashes made by the code under test) and its
// edges: versions, costs, the 72-byte limit, malformed hashes.
#include "net/auth_password.h"

#include <string>

#include "gtest/gtest.h"

namespace detcd::net {
namespace {

// The 16 salt bytes that bcrypt's base64 ("./A-Za-z0-9", no padding) writes as `salt22`.
std::string DecodeBcryptSalt(const std::string& salt22) {
  static const std::string kAlphabet = "./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string bytes;
  uint32_t bits = 0;
  int nbits = 0;
  for (char c : salt22) {
    size_t v = kAlphabet.find(c);
    EXPECT_NE(v, std::string::npos) << c;
    bits = (bits << 6) | static_cast<uint32_t>(v);
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      bytes += static_cast<char>((bits >> nbits) & 0xff);
    }
  }
  bytes.resize(kBcryptSaltBytes);
  return bytes;
}

// golang.org/x/crypto/bcrypt's bcrypt_test.go (TestBcryptingIsCorrect): a hash Go made, the form etcd stores.
constexpr char kGoHash[] = "$2a$10$XajjQvNhvvRt5GSeFk1xFeyqRrsxkhBkUiQeg0dt.wU1qD4aFDcga";
constexpr char kGoPassword[] = "allmine";

TEST(AuthPasswordTest, GoVectorVerifies) {
  EXPECT_TRUE(CheckPassword(kGoHash, kGoPassword));
  EXPECT_FALSE(CheckPassword(kGoHash, "allmine "));
  EXPECT_FALSE(CheckPassword(kGoHash, "Allmine"));
  EXPECT_FALSE(CheckPassword(kGoHash, ""));
}

TEST(AuthPasswordTest, HashIsByteForByteWhatGoWrites) {
  absl::StatusOr<std::string> hash = HashPassword(kGoPassword, 10, DecodeBcryptSalt("XajjQvNhvvRt5GSeFk1xFe"));
  ASSERT_TRUE(hash.ok()) << hash.status();
  EXPECT_EQ(*hash, kGoHash);
}

// Solar Designer's crypt_blowfish test vectors (wrapper.c, public domain), also used by OpenBSD-derived suites.
TEST(AuthPasswordTest, CryptBlowfishVectorsVerify) {
  EXPECT_TRUE(CheckPassword("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U"));
  EXPECT_TRUE(CheckPassword("$2a$05$CCCCCCCCCCCCCCCCCCCCC.VGOzA784oUp/Z0DY336zx7pLYAy0lwK", "U*U*"));
  EXPECT_TRUE(CheckPassword("$2a$05$XXXXXXXXXXXXXXXXXXXXXOAcXxm9kjPGEMsLznoKqmqw7tc8WCx4a", "U*U*U"));
  EXPECT_TRUE(CheckPassword("$2a$05$CCCCCCCCCCCCCCCCCCCCC.7uG0VCzI2bS7j6ymqJi9CdcdxiRTWNy", ""));
  EXPECT_FALSE(CheckPassword("$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW", "U*U*"));
}

TEST(AuthPasswordTest, MinorVersionsBAndYVerifyTheSameHash) {
  std::string b = kGoHash, y = kGoHash, x = kGoHash;
  b[2] = 'b', y[2] = 'y', x[2] = 'x';
  EXPECT_TRUE(CheckPassword(b, kGoPassword));
  EXPECT_TRUE(CheckPassword(y, kGoPassword));
  EXPECT_FALSE(CheckPassword(x, kGoPassword));  // $2x$ is the 8-bit-bug variant, which Go does not write
}

TEST(AuthPasswordTest, RoundTripAtCostsAndSalts) {
  const std::string salt_a(16, '\x01'), salt_b = "0123456789abcdef";
  for (int cost : {4, 5}) {
    absl::StatusOr<std::string> a = HashPassword("secret", cost, salt_a);
    absl::StatusOr<std::string> b = HashPassword("secret", cost, salt_b);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->size(), 60u);
    EXPECT_EQ(a->substr(0, 7), cost == 4 ? "$2a$04$" : "$2a$05$");
    EXPECT_NE(*a, *b);  // the salt is in the hash
    EXPECT_EQ(*a, *HashPassword("secret", cost, salt_a));  // no randomness of its own
    EXPECT_TRUE(CheckPassword(*a, "secret"));
    EXPECT_TRUE(CheckPassword(*b, "secret"));
    EXPECT_FALSE(CheckPassword(*a, "secreT"));
  }
}

TEST(AuthPasswordTest, RefusesBadCostSaltAndPassword) {
  const std::string salt(16, 'x');
  for (int cost : {-1, 0, 3, 32, 100}) {
    EXPECT_EQ(HashPassword("p", cost, salt).status().code(), absl::StatusCode::kInvalidArgument) << cost;
  }
  EXPECT_EQ(HashPassword("p", 4, "short").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HashPassword("p", 4, std::string(17, 'x')).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HashPassword(std::string("a\0b", 3), 4, salt).status().code(), absl::StatusCode::kInvalidArgument);
}

// Bcrypt reads 72 bytes. Making a hash of more is refused (etcd 3.4.45's x/crypto refuses it too); checking one
// compares the first 72 bytes, as Go's CompareHashAndPassword does.
TEST(AuthPasswordTest, SeventyTwoByteLimit) {
  const std::string salt(16, '\x07');
  const std::string p72(72, 'p');
  absl::StatusOr<std::string> too_long = HashPassword(p72 + "q", 4, salt);
  EXPECT_EQ(too_long.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(too_long.status().message(), "bcrypt: password length exceeds 72 bytes");

  absl::StatusOr<std::string> hash = HashPassword(p72, 4, salt);
  ASSERT_TRUE(hash.ok()) << hash.status();
  EXPECT_TRUE(CheckPassword(*hash, p72));
  EXPECT_TRUE(CheckPassword(*hash, p72 + "anything after byte 72 is ignored"));
  EXPECT_TRUE(CheckPassword(*hash, p72 + std::string(600, 'z')));  // beyond crypt_r's own 512-byte limit too
  EXPECT_FALSE(CheckPassword(*hash, p72.substr(0, 71)));

  // The published vector for the same rule: its password is 96 bytes.
  EXPECT_TRUE(CheckPassword("$2a$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBui",
                            "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789chars after "
                            "72 are ignored"));
}

TEST(AuthPasswordTest, MalformedHashesNeverMatch) {
  const std::string good = kGoHash;
  EXPECT_FALSE(CheckPassword("", kGoPassword));
  EXPECT_FALSE(CheckPassword("*0", kGoPassword));
  EXPECT_FALSE(CheckPassword(good.substr(0, 59), kGoPassword));
  EXPECT_FALSE(CheckPassword(good + "x", kGoPassword));
  EXPECT_FALSE(CheckPassword("$1$" + good.substr(3), kGoPassword));
  EXPECT_FALSE(CheckPassword("$3a" + good.substr(3), kGoPassword));
  std::string bad_cost = good;
  bad_cost[4] = '0', bad_cost[5] = '3';
  EXPECT_FALSE(CheckPassword(bad_cost, kGoPassword));
  bad_cost[4] = '3', bad_cost[5] = '2';
  EXPECT_FALSE(CheckPassword(bad_cost, kGoPassword));
  bad_cost[4] = 'x';
  EXPECT_FALSE(CheckPassword(bad_cost, kGoPassword));
  std::string bad_salt = good;
  bad_salt[10] = '!';
  EXPECT_FALSE(CheckPassword(bad_salt, kGoPassword));
  std::string flipped = good;
  flipped[59] = flipped[59] == 'a' ? 'b' : 'a';
  EXPECT_FALSE(CheckPassword(flipped, kGoPassword));
  EXPECT_FALSE(CheckPassword(good, std::string("allmine\0", 8)));
}

}  // namespace
}  // namespace detcd::net
