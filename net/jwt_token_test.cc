// Tests of etcd's JWT tokens: round trips for every method with keys made at test time, the exact token form etcd
// writes, every way a token must be refused, the key-loading errors, and (when PyJWT is on the machine) tokens
// checked by an independent implementation in both directions.
#include "net/jwt_token.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <map>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace detcd::net {
namespace {

constexpr int64_t kNow = 1'700'000'000;

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  return dir != nullptr ? dir : "/tmp";
}

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << data;
  ASSERT_TRUE(f.good()) << path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

enum class PemForm { kPkcs8, kTraditional, kPublic };

std::string Pem(EVP_PKEY* key, PemForm form) {
  BIO* bio = BIO_new(BIO_s_mem());
  int ok = 0;
  if (form == PemForm::kPkcs8) ok = PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  if (form == PemForm::kTraditional) {
    ok = PEM_write_bio_PrivateKey_traditional(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  }
  if (form == PemForm::kPublic) ok = PEM_write_bio_PUBKEY(bio, key);
  EXPECT_EQ(ok, 1);
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<size_t>(len));
  BIO_free(bio);
  return out;
}

// Key files made once for the suite: "<name>.pem" (PKCS#8), "<name>.trad.pem" (PKCS#1 / SEC 1), "<name>.pub.pem".
class JwtTokenTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    const std::map<std::string, EVP_PKEY*> keys = {
        {"rsa1", EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048})},
        {"rsa2", EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048})},
        {"p256a", EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")},
        {"p256b", EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256")},
        {"p384", EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384")},
        {"p521", EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-521")},
    };
    for (const auto& [name, key] : keys) {
      ASSERT_NE(key, nullptr) << name;
      WriteFile(Path(name + ".pem"), Pem(key, PemForm::kPkcs8));
      WriteFile(Path(name + ".trad.pem"), Pem(key, PemForm::kTraditional));
      WriteFile(Path(name + ".pub.pem"), Pem(key, PemForm::kPublic));
      EVP_PKEY_free(key);
    }
    // A self-signed certificate of rsa1's key: golang-jwt takes a certificate's key as the public key too.
    {
      const std::string pem = ReadFile(Path("rsa1.pem"));
      BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
      EVP_PKEY* rsa1 = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
      BIO_free(bio);
      ASSERT_NE(rsa1, nullptr);
      X509* cert = X509_new();
      ASN1_INTEGER_set(X509_get_serialNumber(cert), 1);
      X509_gmtime_adj(X509_getm_notBefore(cert), 0);
      X509_gmtime_adj(X509_getm_notAfter(cert), 3600);
      X509_set_pubkey(cert, rsa1);
      X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                                 reinterpret_cast<const unsigned char*>("jwt"), -1, -1, 0);
      X509_set_issuer_name(cert, X509_get_subject_name(cert));
      ASSERT_GT(X509_sign(cert, rsa1, EVP_sha256()), 0);
      BIO* out = BIO_new(BIO_s_mem());
      PEM_write_bio_X509(out, cert);
      char* data = nullptr;
      const long len = BIO_get_mem_data(out, &data);
      WriteFile(Path("rsa1.crt"), std::string(data, static_cast<size_t>(len)));
      BIO_free(out);
      X509_free(cert);
      EVP_PKEY_free(rsa1);
    }
    WriteFile(Path("hmac.secret"), "correct horse battery staple\n");
    WriteFile(Path("empty"), "");
    WriteFile(Path("garbage"), "this is not PEM\n");
  }

  static std::string Path(const std::string& name) { return absl::StrCat(TempDir(), "/jwt_", name); }

  static AuthTokenConfig Config(const std::string& method, const std::string& priv, const std::string& pub,
                                int64_t ttl_us = kJwtDefaultTtlUs) {
    AuthTokenConfig c;
    c.kind = AuthTokenConfig::kJwt;
    c.sign_method = method;
    c.priv_key_path = priv.empty() ? "" : Path(priv);
    c.pub_key_path = pub.empty() ? "" : Path(pub);
    c.ttl_us = ttl_us;
    return c;
  }

  static std::unique_ptr<JwtTokenProvider> MustCreate(const AuthTokenConfig& c) {
    absl::StatusOr<std::unique_ptr<JwtTokenProvider>> p = JwtTokenProvider::Create(c);
    EXPECT_TRUE(p.ok()) << c.sign_method << " " << p.status();
    return p.ok() ? std::move(*p) : nullptr;
  }
};

// The key each method takes, by file name.
const std::vector<std::pair<std::string, std::string>>& MethodsAndKeys() {
  static const std::vector<std::pair<std::string, std::string>> kList = {
      {"RS256", "rsa1"}, {"RS384", "rsa1"}, {"RS512", "rsa1"}, {"PS256", "rsa1"},  {"PS384", "rsa1"},
      {"PS512", "rsa1"}, {"ES256", "p256a"}, {"ES384", "p384"}, {"ES512", "p521"},
  };
  return kList;
}

std::vector<std::string> Segments(const std::string& token) {
  std::vector<std::string> out;
  size_t start = 0;
  for (size_t dot; (dot = token.find('.', start)) != std::string::npos; start = dot + 1) {
    out.push_back(token.substr(start, dot - start));
  }
  out.push_back(token.substr(start));
  return out;
}

std::string B64(const std::string& in) {  // unpadded base64url, written independently of the unit's encoder
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (char& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::string UnB64(std::string in) {
  for (char& c : in) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (in.size() % 4 != 0) in += '=';
  std::string out(in.size(), '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  EXPECT_GE(n, 0);
  out.resize(static_cast<size_t>(n));
  while (!in.empty() && in.back() == '=') in.pop_back(), out.pop_back();
  return out;
}

// An HS256 token over any header and claims text, signed independently of the unit.
std::string Hs256Token(const std::string& secret, const std::string& header, const std::string& claims) {
  const std::string input = B64(header) + "." + B64(claims);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
  return input + "." + B64(std::string(reinterpret_cast<char*>(mac), len));
}

TEST_F(JwtTokenTest, RoundTripEveryAsymmetricMethodAndKeyForm) {
  for (const auto& [method, key] : MethodsAndKeys()) {
    for (const std::string& priv : {key + ".pem", key + ".trad.pem"}) {
      std::unique_ptr<JwtTokenProvider> signer = MustCreate(Config(method, priv, key + ".pub.pem"));
      ASSERT_NE(signer, nullptr);
      EXPECT_FALSE(signer->verify_only());
      absl::StatusOr<std::string> token = signer->Sign("alice", 42, kNow);
      ASSERT_TRUE(token.ok()) << method << " " << token.status();
      absl::StatusOr<JwtClaims> claims = signer->Verify(*token, kNow);
      ASSERT_TRUE(claims.ok()) << method << " " << claims.status();
      EXPECT_EQ(claims->username, "alice");
      EXPECT_EQ(claims->revision, 42u);
      EXPECT_EQ(claims->exp, kNow + 300);

      // A member with only the public key verifies the same token but cannot sign.
      std::unique_ptr<JwtTokenProvider> verifier = MustCreate(Config(method, "", key + ".pub.pem"));
      ASSERT_NE(verifier, nullptr);
      EXPECT_TRUE(verifier->verify_only());
      EXPECT_TRUE(verifier->Verify(*token, kNow).ok()) << method;
      absl::StatusOr<std::string> refused = verifier->Sign("alice", 42, kNow);
      EXPECT_EQ(refused.status().message(), kErrVerifyOnly);
      EXPECT_EQ(refused.status().code(), absl::StatusCode::kFailedPrecondition);

      // A private key alone signs and verifies.
      std::unique_ptr<JwtTokenProvider> priv_only = MustCreate(Config(method, priv, ""));
      ASSERT_NE(priv_only, nullptr);
      EXPECT_TRUE(priv_only->Verify(*token, kNow).ok()) << method;
    }
  }
}

TEST_F(JwtTokenTest, CertificateServesAsThePublicKey) {
  std::unique_ptr<JwtTokenProvider> signer = MustCreate(Config("RS256", "rsa1.pem", "rsa1.crt"));
  std::unique_ptr<JwtTokenProvider> verifier = MustCreate(Config("RS256", "", "rsa1.crt"));
  ASSERT_NE(signer, nullptr);
  ASSERT_NE(verifier, nullptr);
  EXPECT_TRUE(verifier->verify_only());
  EXPECT_EQ(verifier->Verify(*signer->Sign("carol", 2, kNow), kNow)->username, "carol");
}

TEST_F(JwtTokenTest, HmacRoundTrip) {
  for (const char* method : {"HS256", "HS384", "HS512"}) {
    std::unique_ptr<JwtTokenProvider> p = MustCreate(Config(method, "hmac.secret", ""));
    ASSERT_NE(p, nullptr);
    absl::StatusOr<std::string> token = p->Sign("bob", 7, kNow);
    ASSERT_TRUE(token.ok()) << token.status();
    absl::StatusOr<JwtClaims> claims = p->Verify(*token, kNow);
    ASSERT_TRUE(claims.ok()) << claims.status();
    EXPECT_EQ(claims->username, "bob");
    EXPECT_EQ(claims->revision, 7u);
    if (std::string(method) != "HS256") continue;
    // The secret is the file's bytes, trailing newline included, as etcd reads it; the token is byte for byte the
    // one an independent HMAC over etcd's header and claims gives.
    EXPECT_EQ(*token, Hs256Token("correct horse battery staple\n", "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
                                 absl::StrCat("{\"exp\":", kNow + 300, ",\"revision\":7,\"username\":\"bob\"}")));
  }
}

TEST_F(JwtTokenTest, TokenHasEtcdsExactHeaderAndClaims) {
  std::unique_ptr<JwtTokenProvider> p = MustCreate(Config("RS256", "rsa1.pem", "", int64_t{90} * 1'000'000));
  ASSERT_NE(p, nullptr);
  absl::StatusOr<std::string> token = p->Sign("root", 5, kNow);
  ASSERT_TRUE(token.ok());
  const std::vector<std::string> seg = Segments(*token);
  ASSERT_EQ(seg.size(), 3u);
  EXPECT_EQ(UnB64(seg[0]), "{\"alg\":\"RS256\",\"typ\":\"JWT\"}");
  EXPECT_EQ(UnB64(seg[1]), absl::StrCat("{\"exp\":", kNow + 90, ",\"revision\":5,\"username\":\"root\"}"));
  for (const std::string& s : seg) EXPECT_EQ(s.find_first_of("=+/"), std::string::npos) << s;
  EXPECT_EQ(UnB64(seg[2]).size(), 256u);      // one RSA-2048 signature
  EXPECT_EQ(*p->Sign("root", 5, kNow), *token);  // PKCS#1 v1.5 signatures are deterministic
  // A sub-second ttl rounds exp down, as Go's Unix() does.
  std::unique_ptr<JwtTokenProvider> short_ttl = MustCreate(Config("RS256", "rsa1.pem", "", 1'500'000));
  EXPECT_EQ(short_ttl->Verify(*short_ttl->Sign("root", 5, kNow), kNow)->exp, kNow + 1);
}

TEST_F(JwtTokenTest, EcdsaSignaturesAreRawFixedWidth) {
  for (const auto& [method, key, bytes] : std::vector<std::tuple<std::string, std::string, size_t>>{
           {"ES256", "p256a", 64}, {"ES384", "p384", 96}, {"ES512", "p521", 132}}) {
    std::unique_ptr<JwtTokenProvider> p = MustCreate(Config(method, key + ".pem", ""));
    ASSERT_NE(p, nullptr);
    for (int i = 0; i < 8; ++i) {  // a short R or S would show as a shorter signature some of the time
      const std::vector<std::string> seg = Segments(*p->Sign("u", 1, kNow));
      EXPECT_EQ(UnB64(seg[2]).size(), bytes) << method;
    }
  }
}

TEST_F(JwtTokenTest, UsernameIsEncodedAsGoDoes) {
  std::unique_ptr<JwtTokenProvider> p = MustCreate(Config("HS256", "hmac.secret", ""));
  const std::string name = "<a&b>\"q\"\\\n\x01\xff\xe2\x80\xa8\xc3\xa9";
  absl::StatusOr<std::string> token = p->Sign(name, 1, kNow);
  ASSERT_TRUE(token.ok());
  EXPECT_EQ(UnB64(Segments(*token)[1]),
            absl::StrCat("{\"exp\":", kNow + 300,
                         ",\"revision\":1,\"username\":\"\\u003ca\\u0026b\\u003e\\\"q\\\"\\\\\\n\\u0001\\ufffd"
                         "\\u2028\xc3\xa9\"}"));
  absl::StatusOr<JwtClaims> claims = p->Verify(*token, kNow);
  ASSERT_TRUE(claims.ok());
  EXPECT_EQ(claims->username, "<a&b>\"q\"\\\n\x01\xef\xbf\xbd\xe2\x80\xa8\xc3\xa9");  // invalid byte -> U+FFFD
}

TEST_F(JwtTokenTest, ExpiryIsExclusive) {
  std::unique_ptr<JwtTokenProvider> p = MustCreate(Config("ES256", "p256a.pem", ""));
  const std::string token = *p->Sign("u", 1, kNow);
  EXPECT_TRUE(p->Verify(token, kNow + 299).ok());
  EXPECT_EQ(p->Verify(token, kNow + 300).status().code(), absl::StatusCode::kUnauthenticated);
  EXPECT_FALSE(p->Verify(token, kNow + 100000).ok());
  // A negative ttl (etcd accepts one) makes tokens that are born expired.
  std::unique_ptr<JwtTokenProvider> neg = MustCreate(Config("ES256", "p256a.pem", "", -1'000'000));
  EXPECT_FALSE(neg->Verify(*neg->Sign("u", 1, kNow), kNow).ok());
}

TEST_F(JwtTokenTest, RefusesTamperedTokens) {
  std::unique_ptr<JwtTokenProvider> p = MustCreate(Config("RS256", "rsa1.pem", "rsa1.pub.pem"));
  const std::string token = *p->Sign("alice", 3, kNow);
  const std::vector<std::string> seg = Segments(token);
  // Another user, the signature kept.
  const std::string forged_claims = B64(absl::StrCat("{\"exp\":", kNow + 300, ",\"revision\":3,\"username\":\"root\"}"));
  EXPECT_FALSE(p->Verify(seg[0] + "." + forged_claims + "." + seg[2], kNow).ok());
  // One flipped signature character (not the last: its low bits are unused, and Go does not check them either).
  std::string flipped = token;
  char& c = flipped[flipped.size() - 10];
  c = c == 'A' ? 'B' : 'A';
  EXPECT_FALSE(p->Verify(flipped, kNow).ok());
  // Wrong shapes.
  for (const std::string& bad : {std::string(""), seg[0], seg[0] + "." + seg[1], token + ".", token + ".x",
                                 seg[0] + "." + seg[1] + ".", std::string("a.b.c"), seg[0] + "=." + seg[1] + "." + seg[2],
                                 seg[0] + "." + seg[1] + "." + seg[2] + "="}) {
    EXPECT_FALSE(p->Verify(bad, kNow).ok()) << bad;
  }
}

TEST_F(JwtTokenTest, RefusesAnotherKey) {
  std::unique_ptr<JwtTokenProvider> a = MustCreate(Config("RS256", "rsa1.pem", ""));
  std::unique_ptr<JwtTokenProvider> b = MustCreate(Config("RS256", "", "rsa2.pub.pem"));
  EXPECT_FALSE(b->Verify(*a->Sign("alice", 1, kNow), kNow).ok());
  std::unique_ptr<JwtTokenProvider> ea = MustCreate(Config("ES256", "p256a.pem", ""));
  std::unique_ptr<JwtTokenProvider> eb = MustCreate(Config("ES256", "p256b.pem", ""));
  EXPECT_FALSE(eb->Verify(*ea->Sign("alice", 1, kNow), kNow).ok());
  std::unique_ptr<JwtTokenProvider> h = MustCreate(Config("HS256", "hmac.secret", ""));
  std::unique_ptr<JwtTokenProvider> h2 = MustCreate(Config("HS256", "garbage", ""));
  EXPECT_FALSE(h2->Verify(*h->Sign("alice", 1, kNow), kNow).ok());
}

TEST_F(JwtTokenTest, RefusesOtherAlgorithms) {
  std::unique_ptr<JwtTokenProvider> rs = MustCreate(Config("RS256", "rsa1.pem", "rsa1.pub.pem"));
  const std::string claims = absl::StrCat("{\"exp\":", kNow + 300, ",\"revision\":1,\"username\":\"root\"}");
  // alg "none", with and without a signature.
  const std::string none = B64("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + B64(claims);
  EXPECT_FALSE(rs->Verify(none + ".", kNow).ok());
  EXPECT_FALSE(rs->Verify(none + "." + B64("x"), kNow).ok());
  // The classic confusion: HS256 keyed with the RSA public key's PEM.
  EXPECT_FALSE(
      rs->Verify(Hs256Token(ReadFile(Path("rsa1.pub.pem")), "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims), kNow)
          .ok());
  // A valid token of the same key under another RSA method.
  std::unique_ptr<JwtTokenProvider> ps = MustCreate(Config("PS256", "rsa1.pem", ""));
  std::unique_ptr<JwtTokenProvider> rs384 = MustCreate(Config("RS384", "rsa1.pem", ""));
  EXPECT_FALSE(rs->Verify(*ps->Sign("root", 1, kNow), kNow).ok());
  EXPECT_FALSE(rs->Verify(*rs384->Sign("root", 1, kNow), kNow).ok());
  EXPECT_FALSE(ps->Verify(*rs->Sign("root", 1, kNow), kNow).ok());
  // No alg, or not a string.
  std::unique_ptr<JwtTokenProvider> hs = MustCreate(Config("HS256", "hmac.secret", ""));
  const std::string secret = ReadFile(Path("hmac.secret"));
  EXPECT_FALSE(hs->Verify(Hs256Token(secret, "{\"typ\":\"JWT\"}", claims), kNow).ok());
  EXPECT_FALSE(hs->Verify(Hs256Token(secret, "{\"alg\":256}", claims), kNow).ok());
  EXPECT_FALSE(hs->Verify(Hs256Token(secret, "{\"alg\":\"hs256\"}", claims), kNow).ok());
  EXPECT_TRUE(hs->Verify(Hs256Token(secret, "{\"alg\":\"HS256\"}", claims), kNow).ok());  // typ is not checked
}

TEST_F(JwtTokenTest, ClaimsMustHoldWhatEtcdReads) {
  std::unique_ptr<JwtTokenProvider> hs = MustCreate(Config("HS256", "hmac.secret", ""));
  const std::string secret = ReadFile(Path("hmac.secret"));
  const std::string header = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
  const std::string exp = absl::StrCat("\"exp\":", kNow + 300);
  auto verify = [&](const std::string& claims) { return hs->Verify(Hs256Token(secret, header, claims), kNow); };
  EXPECT_TRUE(verify("{" + exp + ",\"revision\":9,\"username\":\"u\"}").ok());
  EXPECT_EQ(verify("{" + exp + ",\"revision\":9.0,\"username\":\"u\",\"extra\":[1,{}]}")->revision, 9u);
  EXPECT_FALSE(verify("{" + exp + ",\"revision\":9}").ok());                        // no username
  EXPECT_FALSE(verify("{" + exp + ",\"revision\":9,\"username\":\"\"}").ok());      // empty username
  EXPECT_FALSE(verify("{" + exp + ",\"revision\":9,\"username\":7}").ok());         // not a string
  EXPECT_FALSE(verify("{" + exp + ",\"username\":\"u\"}").ok());                    // no revision
  EXPECT_FALSE(verify("{" + exp + ",\"revision\":\"9\",\"username\":\"u\"}").ok()); // not a number
  EXPECT_FALSE(verify("{" + exp + ",\"revision\":-1,\"username\":\"u\"}").ok());
  EXPECT_FALSE(verify("{\"revision\":9,\"username\":\"u\"}").ok());                 // no exp
  EXPECT_FALSE(verify("{\"exp\":0,\"revision\":9,\"username\":\"u\"}").ok());
  EXPECT_FALSE(verify("{\"exp\":\"never\",\"revision\":9,\"username\":\"u\"}").ok());
  EXPECT_FALSE(verify("{" + exp + ",\"revision\":9,\"username\":\"u\",\"nbf\":" + std::to_string(kNow + 1) + "}").ok());
  EXPECT_FALSE(verify("{" + exp + ",\"revision\":9,\"username\":\"u\",\"iat\":" + std::to_string(kNow + 1) + "}").ok());
  EXPECT_TRUE(verify("{" + exp + ",\"revision\":9,\"username\":\"u\",\"iat\":" + std::to_string(kNow) + "}").ok());
  EXPECT_FALSE(verify("[1,2]").ok());
  EXPECT_FALSE(verify("not json").ok());
}

TEST_F(JwtTokenTest, CreateErrorsAreEtcds) {
  auto error = [](const AuthTokenConfig& c) { return std::string(JwtTokenProvider::Create(c).status().message()); };
  EXPECT_EQ(error(Config("RS256", "no-such-file", "")), kErrInvalidAuthOpts);
  EXPECT_EQ(error(Config("RS256", "", "no-such-file")), kErrInvalidAuthOpts);
  EXPECT_EQ(error(Config("RS256", "empty", "empty")), kErrMissingKey);
  EXPECT_EQ(error(Config("HS256", "empty", "rsa1.pub.pem")), kErrMissingKey);
  EXPECT_EQ(error(Config("HS256", "", "hmac.secret")), kErrMissingKey);
  EXPECT_EQ(error(Config("RS256", "garbage", "")), "invalid key: Key must be a PEM encoded PKCS1 or PKCS8 key");
  EXPECT_EQ(error(Config("RS256", "p256a.pem", "")), "key is not a valid RSA private key");
  EXPECT_EQ(error(Config("RS256", "", "p256a.pub.pem")), "key is not a valid RSA public key");
  EXPECT_EQ(error(Config("ES256", "rsa1.pem", "")), "key is not a valid ECDSA private key");
  EXPECT_EQ(error(Config("ES256", "", "rsa1.pub.pem")), "key is not a valid ECDSA public key");
  EXPECT_EQ(error(Config("RS256", "rsa1.pem", "rsa2.pub.pem")), kErrKeyMismatch);
  EXPECT_EQ(error(Config("ES256", "p256a.pem", "p256b.pub.pem")), kErrKeyMismatch);
  AuthTokenConfig simple;
  EXPECT_EQ(error(simple), kErrInvalidAuthOpts);
  // A public key file where the private one belongs is not a private key.
  EXPECT_EQ(error(Config("RS256", "rsa1.pub.pem", "")), "x509: failed to parse private key");
}

TEST_F(JwtTokenTest, EcdsaKeyOnAnotherCurveCannotSign) {
  // etcd starts with it (golang-jwt checks the curve only when signing), then every sign fails.
  std::unique_ptr<JwtTokenProvider> p = MustCreate(Config("ES384", "p256a.pem", ""));
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->Sign("u", 1, kNow).status().message(), "key is invalid");
  std::unique_ptr<JwtTokenProvider> good = MustCreate(Config("ES256", "p256a.pem", ""));
  EXPECT_FALSE(p->Verify(*good->Sign("u", 1, kNow), kNow).ok());
}

// ---------------------------------------------------------------------------------------------------------------
// An independent implementation: PyJWT (Debian's python3-jwt) verifies our tokens and signs tokens we verify.

constexpr char kPython[] = "/usr/bin/python3";

bool HavePyJwt() {
  return std::system(absl::StrCat(kPython, " -c 'import jwt, cryptography' >/dev/null 2>&1").c_str()) == 0;
}

// Runs the script with the given files; its stdout.
std::string RunPython(const std::string& script, const std::vector<std::string>& args) {
  const std::string script_path = absl::StrCat(TempDir(), "/jwt_cross_check.py");
  WriteFile(script_path, script);
  std::string cmd = absl::StrCat(kPython, " ", script_path);
  for (const std::string& a : args) absl::StrAppend(&cmd, " '", a, "'");
  FILE* f = popen(cmd.c_str(), "r");
  if (f == nullptr) return "";
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), f)) > 0) out.append(buf, n);
  EXPECT_EQ(pclose(f), 0) << cmd << "\n" << out;
  return out;
}

constexpr char kCrossCheckScript[] = R"(import sys, jwt
alg, verify_key_file, sign_key_file, token_file = sys.argv[1:5]
verify_key = open(verify_key_file, 'rb').read()
sign_key = open(sign_key_file, 'rb').read()
claims = jwt.decode(open(token_file).read(), verify_key, algorithms=[alg])
print(claims['username'], claims['revision'])
print(jwt.encode({'username': 'from-pyjwt', 'revision': 77, 'exp': claims['exp']}, sign_key, algorithm=alg))
)";

TEST_F(JwtTokenTest, CrossCheckWithPyJwt) {
  if (!HavePyJwt()) GTEST_SKIP() << "PyJWT (python3-jwt) is not installed";
  const int64_t now = static_cast<int64_t>(std::time(nullptr));  // PyJWT checks exp against the real clock
  std::vector<std::pair<std::string, std::string>> cases = MethodsAndKeys();
  cases.push_back({"HS256", "hmac"});
  cases.push_back({"HS512", "hmac"});
  for (const auto& [method, key] : cases) {
    const bool hmac = key == "hmac";
    std::unique_ptr<JwtTokenProvider> p =
        MustCreate(hmac ? Config(method, "hmac.secret", "") : Config(method, key + ".pem", ""));
    ASSERT_NE(p, nullptr);
    const std::string token_file = Path("token.txt");
    WriteFile(token_file, *p->Sign("alice", 123, now));
    const std::string out = RunPython(kCrossCheckScript, {method, Path(hmac ? "hmac.secret" : key + ".pub.pem"),
                                                          Path(hmac ? "hmac.secret" : key + ".pem"), token_file});
    const size_t nl = out.find('\n');
    ASSERT_NE(nl, std::string::npos) << method << ": " << out;
    EXPECT_EQ(out.substr(0, nl), "alice 123") << method;
    std::string theirs = out.substr(nl + 1);
    while (!theirs.empty() && (theirs.back() == '\n' || theirs.back() == '\r')) theirs.pop_back();
    absl::StatusOr<JwtClaims> claims = p->Verify(theirs, now);
    ASSERT_TRUE(claims.ok()) << method << " " << claims.status() << " " << theirs;
    EXPECT_EQ(claims->username, "from-pyjwt");
    EXPECT_EQ(claims->revision, 77u);
  }
}

}  // namespace
}  // namespace detcd::net
