#include "net/jwt_token.h"

#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace detcd::net {

enum class JwtFamily { kRsa, kRsaPss, kEcdsa, kHmac };

// One JWS algorithm as golang-jwt implements it.
struct JwtMethod {
  const char* name;
  JwtFamily family;
  const EVP_MD* (*digest)();
  int ec_curve_bits;  // ES: the curve the key must be on (golang-jwt's CurveBits)
  int ec_scalar_bytes;  // ES: bytes of R and of S in the signature (golang-jwt's KeySize)
};

namespace {

using Method = JwtMethod;

const Method kMethods[] = {
    {"RS256", JwtFamily::kRsa, EVP_sha256, 0, 0},      {"RS384", JwtFamily::kRsa, EVP_sha384, 0, 0},
    {"RS512", JwtFamily::kRsa, EVP_sha512, 0, 0},      {"PS256", JwtFamily::kRsaPss, EVP_sha256, 0, 0},
    {"PS384", JwtFamily::kRsaPss, EVP_sha384, 0, 0},   {"PS512", JwtFamily::kRsaPss, EVP_sha512, 0, 0},
    {"ES256", JwtFamily::kEcdsa, EVP_sha256, 256, 32}, {"ES384", JwtFamily::kEcdsa, EVP_sha384, 384, 48},
    {"ES512", JwtFamily::kEcdsa, EVP_sha512, 521, 66}, {"HS256", JwtFamily::kHmac, EVP_sha256, 0, 0},
    {"HS384", JwtFamily::kHmac, EVP_sha384, 0, 0},     {"HS512", JwtFamily::kHmac, EVP_sha512, 0, 0},
};

const Method* FindMethod(std::string_view name) {
  for (const Method& m : kMethods) {
    if (name == m.name) return &m;
  }
  return nullptr;
}

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct SigFree {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct OpensslFree {
  void operator()(void* p) const { OPENSSL_free(p); }
};

// ---------------------------------------------------------------------------------------------------------------
// JWS encoding: unpadded base64url (Go's base64.RawURLEncoding) and JSON as Go's encoding/json writes it.

constexpr char kBase64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string Base64UrlEncode(std::string_view in) {
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kBase64Url[(v >> shift) & 63];
  }
  if (const size_t rest = in.size() - i; rest > 0) {
    const uint32_t v = (uint8_t(in[i]) << 16) | (rest == 2 ? uint8_t(in[i + 1]) << 8 : 0);
    out += kBase64Url[(v >> 18) & 63];
    out += kBase64Url[(v >> 12) & 63];
    if (rest == 2) out += kBase64Url[(v >> 6) & 63];
  }
  return out;
}

// Go's RawURLEncoding.DecodeString: no padding; the unused low bits of the last character are not checked.
bool Base64UrlDecode(std::string_view in, std::string* out) {
  if (in.size() % 4 == 1) return false;
  out->clear();
  uint32_t bits = 0;
  int nbits = 0;
  for (char c : in) {
    const char* p = (c == '\0') ? nullptr : std::strchr(kBase64Url, c);
    if (p == nullptr) return false;
    bits = (bits << 6) | static_cast<uint32_t>(p - kBase64Url);
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      *out += static_cast<char>((bits >> nbits) & 0xff);
    }
  }
  return true;
}

// The length of the valid UTF-8 sequence at s[i] (Go's utf8.DecodeRuneInString), or 0 if it is not one.
size_t Utf8SequenceLength(std::string_view s, size_t i, uint32_t* rune) {
  const uint8_t c = s[i];
  size_t n;
  uint32_t r, min;
  if (c < 0x80) return *rune = c, 1;
  if (c >= 0xc2 && c <= 0xdf) n = 2, r = c & 0x1f, min = 0x80;
  else if (c >= 0xe0 && c <= 0xef) n = 3, r = c & 0x0f, min = 0x800;
  else if (c >= 0xf0 && c <= 0xf4) n = 4, r = c & 0x07, min = 0x10000;
  else return 0;
  if (i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    const uint8_t cc = s[i + k];
    if ((cc & 0xc0) != 0x80) return 0;
    r = (r << 6) | (cc & 0x3f);
  }
  if (r < min || r > 0x10ffff || (r >= 0xd800 && r <= 0xdfff)) return 0;
  return *rune = r, n;
}

// A JSON string as Go's json.Marshal writes it: HTML-safe (<, >, & escaped), U+2028/U+2029 escaped, each byte of
// invalid UTF-8 replaced by \ufffd.
std::string GoJsonString(std::string_view s) {
  static const char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  for (size_t i = 0; i < s.size();) {
    const uint8_t c = s[i];
    uint32_t rune = 0;
    const size_t n = Utf8SequenceLength(s, i, &rune);
    if (n == 0) {
      out += "\\ufffd";
      ++i;
      continue;
    }
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\b') {
      out += "\\b";
    } else if (c == '\f') {
      out += "\\f";
    } else if (c < 0x20 || c == '<' || c == '>' || c == '&') {
      out += "\\u00";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else if (rune == 0x2028 || rune == 0x2029) {
      out += rune == 0x2028 ? "\\u2028" : "\\u2029";
    } else {
      out.append(s.data() + i, n);
    }
    i += n;
  }
  return out + "\"";
}

// A JSON object (a token's header or claims), or false if the text is not one.
bool ParseJsonObject(const std::string& json, google::protobuf::Struct* object) {
  const auto status = google::protobuf::util::JsonStringToMessage(json, object);
  return status.ok();
}

// ---------------------------------------------------------------------------------------------------------------
// Keys.

absl::Status ErrorText(const char* text) { return absl::InvalidArgumentError(text); }

// ioutil.ReadFile; etcd turns its failure into "auth: invalid auth options".
absl::StatusOr<std::string> ReadKeyFile(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return ErrorText(kErrInvalidAuthOpts);
  std::string data;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) data.append(buf, n);
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  if (failed) return ErrorText(kErrInvalidAuthOpts);
  return data;
}

// The bytes of the first PEM block in `pem` (Go's pem.Decode), whatever its type; never decrypts.
bool FirstPemBlock(const std::string& pem, std::string* der) {
  std::unique_ptr<BIO, BioFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  DETCD_CHECK(bio != nullptr);
  char* name = nullptr;
  char* header = nullptr;
  unsigned char* data = nullptr;
  long len = 0;
  const int ok = PEM_read_bio(bio.get(), &name, &header, &data, &len);
  std::unique_ptr<char, OpensslFree> name_owner(name), header_owner(header);
  std::unique_ptr<unsigned char, OpensslFree> data_owner(data);
  ERR_clear_error();
  if (ok != 1) return false;
  der->assign(reinterpret_cast<const char*>(data), static_cast<size_t>(len));
  return true;
}

bool IsFamilyKey(EVP_PKEY* key, JwtFamily family) {
  const int id = EVP_PKEY_get_base_id(key);
  return family == JwtFamily::kEcdsa ? id == EVP_PKEY_EC : id == EVP_PKEY_RSA;
}

// golang-jwt's Parse{RSA,EC}PrivateKeyFromPEM: PKCS#1 / SEC 1 or PKCS#8 DER in the first PEM block.
absl::StatusOr<Pkey> ParsePrivateKey(const std::string& pem, JwtFamily family) {
  std::string der;
  if (!FirstPemBlock(pem, &der)) return ErrorText("invalid key: Key must be a PEM encoded PKCS1 or PKCS8 key");
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  Pkey key(d2i_AutoPrivateKey(nullptr, &p, static_cast<long>(der.size())));
  ERR_clear_error();
  if (key == nullptr) return ErrorText("x509: failed to parse private key");
  if (!IsFamilyKey(key.get(), family)) {
    return ErrorText(family == JwtFamily::kEcdsa ? "key is not a valid ECDSA private key"
                                                 : "key is not a valid RSA private key");
  }
  return key;
}

// golang-jwt's Parse{RSA,EC}PublicKeyFromPEM: a PKIX public key, or a certificate's key, in the first PEM block.
absl::StatusOr<Pkey> ParsePublicKey(const std::string& pem, JwtFamily family) {
  std::string der;
  if (!FirstPemBlock(pem, &der)) return ErrorText("invalid key: Key must be a PEM encoded PKCS1 or PKCS8 key");
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  Pkey key(d2i_PUBKEY(nullptr, &p, static_cast<long>(der.size())));
  if (key == nullptr) {
    p = reinterpret_cast<const unsigned char*>(der.data());
    std::unique_ptr<X509, X509Free> cert(d2i_X509(nullptr, &p, static_cast<long>(der.size())));
    if (cert != nullptr) key.reset(X509_get_pubkey(cert.get()));
  }
  ERR_clear_error();
  if (key == nullptr) return ErrorText("x509: failed to parse public key");
  if (!IsFamilyKey(key.get(), family)) {
    return ErrorText(family == JwtFamily::kEcdsa ? "key is not a valid ECDSA public key"
                                                 : "key is not a valid RSA public key");
  }
  return key;
}

// ---------------------------------------------------------------------------------------------------------------
// Claims.

absl::Status Invalid(std::string why) { return absl::UnauthenticatedError(absl::StrCat("jwt: ", why)); }

// golang-jwt v4's MapClaims checks of "iat" and "nbf" when present: not after now.
bool NotAfterNow(const google::protobuf::Struct& claims, const char* name, int64_t now_unix_s) {
  auto it = claims.fields().find(name);
  if (it == claims.fields().end()) return true;
  if (it->second.kind_case() != google::protobuf::Value::kNumberValue) return false;
  const double t = it->second.number_value();
  return t == 0 || std::floor(t) <= static_cast<double>(now_unix_s);
}

}  // namespace

// ---------------------------------------------------------------------------------------------------------------

JwtTokenProvider::~JwtTokenProvider() {
  EVP_PKEY_free(key_);
  OPENSSL_cleanse(hmac_secret_.data(), hmac_secret_.size());
}

absl::StatusOr<std::unique_ptr<JwtTokenProvider>> JwtTokenProvider::Create(const AuthTokenConfig& config) {
  if (config.kind != AuthTokenConfig::kJwt) return ErrorText(kErrInvalidAuthOpts);
  const JwtMethod* method = FindMethod(config.sign_method);
  if (method == nullptr) return ErrorText(kErrInvalidAuthOpts);
  // jwtOptions.Parse reads each named file; an empty file counts as not given.
  std::string pub_pem, priv_pem;
  if (!config.pub_key_path.empty()) {
    absl::StatusOr<std::string> data = ReadKeyFile(config.pub_key_path);
    if (!data.ok()) return data.status();
    pub_pem = std::move(*data);
  }
  if (!config.priv_key_path.empty()) {
    absl::StatusOr<std::string> data = ReadKeyFile(config.priv_key_path);
    if (!data.ok()) return data.status();
    priv_pem = std::move(*data);
  }
  std::unique_ptr<JwtTokenProvider> p(new JwtTokenProvider());
  p->method_name_ = method->name;
  p->method_ = method;
  p->ttl_us_ = config.ttl_us;
  if (method->family == JwtFamily::kHmac) {
    if (priv_pem.empty()) return ErrorText(kErrMissingKey);
    p->hmac_secret_ = std::move(priv_pem);
    return p;
  }
  Pkey priv, pub;
  if (!priv_pem.empty()) {
    absl::StatusOr<Pkey> key = ParsePrivateKey(priv_pem, method->family);
    OPENSSL_cleanse(priv_pem.data(), priv_pem.size());
    if (!key.ok()) return key.status();
    priv = std::move(*key);
  }
  if (!pub_pem.empty()) {
    absl::StatusOr<Pkey> key = ParsePublicKey(pub_pem, method->family);
    if (!key.ok()) return key.status();
    pub = std::move(*key);
  }
  if (priv == nullptr && pub == nullptr) return ErrorText(kErrMissingKey);
  // etcd means to refuse a pair that does not match (its own comparison misses most mismatches); a mismatch would
  // leave verify-only members refusing every token this one signs, so it is refused here at start-up.
  if (priv != nullptr && pub != nullptr && EVP_PKEY_eq(priv.get(), pub.get()) != 1) {
    ERR_clear_error();
    return ErrorText(kErrKeyMismatch);
  }
  p->verify_only_ = priv == nullptr;
  p->key_ = (priv != nullptr ? priv : pub).release();
  return p;
}

absl::StatusOr<std::string> JwtTokenProvider::SignBytes(std::string_view input) const {
  const JwtMethod& m = *method_;
  if (m.family == JwtFamily::kHmac) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (HMAC(m.digest(), hmac_secret_.data(), static_cast<int>(hmac_secret_.size()),
             reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len) == nullptr) {
      ERR_clear_error();
      return absl::InternalError("jwt: HMAC failed");
    }
    return std::string(reinterpret_cast<char*>(mac), len);
  }
  if (m.family == JwtFamily::kEcdsa && EVP_PKEY_get_bits(key_) != m.ec_curve_bits) {
    return absl::InvalidArgumentError("key is invalid");  // golang-jwt's ErrInvalidKey
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  size_t len = 0;
  bool ok = ctx != nullptr && EVP_DigestSignInit(ctx.get(), &pctx, m.digest(), nullptr, key_) == 1;
  if (ok && m.family == JwtFamily::kRsaPss) {  // golang-jwt signs with a salt as long as the hash
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
  }
  const auto* data = reinterpret_cast<const unsigned char*>(input.data());
  ok = ok && EVP_DigestSign(ctx.get(), nullptr, &len, data, input.size()) == 1;
  std::string sig(len, '\0');
  ok = ok && EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, data, input.size()) == 1;
  if (!ok) {
    ERR_clear_error();
    return absl::InternalError(absl::StrCat("jwt: signing with ", m.name, " failed"));
  }
  sig.resize(len);
  if (m.family != JwtFamily::kEcdsa) return sig;
  // JWS writes an ECDSA signature as R || S, each left-padded to the curve's size, not as OpenSSL's DER.
  const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
  std::unique_ptr<ECDSA_SIG, SigFree> ecdsa(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
  DETCD_CHECK(ecdsa != nullptr);
  std::string raw(2 * m.ec_scalar_bytes, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  DETCD_CHECK(BN_bn2binpad(ECDSA_SIG_get0_r(ecdsa.get()), out, m.ec_scalar_bytes) == m.ec_scalar_bytes);
  DETCD_CHECK(BN_bn2binpad(ECDSA_SIG_get0_s(ecdsa.get()), out + m.ec_scalar_bytes, m.ec_scalar_bytes) ==
              m.ec_scalar_bytes);
  return raw;
}

bool JwtTokenProvider::VerifyBytes(std::string_view input, std::string_view signature) const {
  const JwtMethod& m = *method_;
  if (m.family == JwtFamily::kHmac) {
    absl::StatusOr<std::string> mac = SignBytes(input);
    return mac.ok() && mac->size() == signature.size() &&
           CRYPTO_memcmp(mac->data(), signature.data(), signature.size()) == 0;
  }
  std::string der(signature);
  if (m.family == JwtFamily::kEcdsa) {  // R || S of exactly the method's size, as golang-jwt insists
    if (signature.size() != 2 * static_cast<size_t>(m.ec_scalar_bytes)) return false;
    const auto* raw = reinterpret_cast<const unsigned char*>(signature.data());
    std::unique_ptr<ECDSA_SIG, SigFree> ecdsa(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(raw, m.ec_scalar_bytes, nullptr);
    BIGNUM* s = BN_bin2bn(raw + m.ec_scalar_bytes, m.ec_scalar_bytes, nullptr);
    DETCD_CHECK(ecdsa != nullptr && r != nullptr && s != nullptr);
    DETCD_CHECK(ECDSA_SIG_set0(ecdsa.get(), r, s) == 1);
    unsigned char* encoded = nullptr;
    const int len = i2d_ECDSA_SIG(ecdsa.get(), &encoded);
    if (len <= 0) return ERR_clear_error(), false;
    der.assign(reinterpret_cast<char*>(encoded), static_cast<size_t>(len));
    OPENSSL_free(encoded);
  }
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = ctx != nullptr && EVP_DigestVerifyInit(ctx.get(), &pctx, m.digest(), nullptr, key_) == 1;
  if (ok && m.family == JwtFamily::kRsaPss) {  // golang-jwt accepts any salt length when verifying
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) == 1;
  }
  ok = ok && EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(der.data()), der.size(),
                              reinterpret_cast<const unsigned char*>(input.data()), input.size()) == 1;
  ERR_clear_error();
  return ok;
}

absl::StatusOr<std::string> JwtTokenProvider::Sign(std::string_view username, uint64_t auth_revision,
                                                   int64_t now_unix_s) const {
  if (verify_only_) return absl::FailedPreconditionError(kErrVerifyOnly);
  // time.Now().Add(ttl).Unix(): whole seconds, rounded down.
  const int64_t ttl_s = ttl_us_ >= 0 ? ttl_us_ / 1'000'000 : -((-ttl_us_ + 999'999) / 1'000'000);
  const int64_t exp = now_unix_s + ttl_s;
  // jwt.NewWithClaims marshals its header and claims maps with sorted keys.
  const std::string header = absl::StrCat("{\"alg\":\"", method_name_, "\",\"typ\":\"JWT\"}");
  const std::string claims = absl::StrCat("{\"exp\":", exp, ",\"revision\":", auth_revision,
                                          ",\"username\":", GoJsonString(username), "}");
  const std::string input = absl::StrCat(Base64UrlEncode(header), ".", Base64UrlEncode(claims));
  absl::StatusOr<std::string> signature = SignBytes(input);
  if (!signature.ok()) return signature.status();
  return absl::StrCat(input, ".", Base64UrlEncode(*signature));
}

absl::StatusOr<JwtClaims> JwtTokenProvider::Verify(std::string_view token, int64_t now_unix_s) const {
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return Invalid("token contains an invalid number of segments");
  }
  std::string header_json, claims_json, signature;
  if (!Base64UrlDecode(token.substr(0, dot1), &header_json) ||
      !Base64UrlDecode(token.substr(dot1 + 1, dot2 - dot1 - 1), &claims_json) ||
      !Base64UrlDecode(token.substr(dot2 + 1), &signature)) {
    return Invalid("token is malformed (base64)");
  }
  google::protobuf::Struct header, claims;
  if (!ParseJsonObject(header_json, &header)) return Invalid("token is malformed (header)");
  if (!ParseJsonObject(claims_json, &claims)) return Invalid("token is malformed (claims)");
  auto alg = header.fields().find("alg");
  if (alg == header.fields().end() || alg->second.kind_case() != google::protobuf::Value::kStringValue) {
    return Invalid("signing method (alg) is unspecified");
  }
  // etcd's key function: the header must name the configured method ("none" and every other one are refused).
  if (alg->second.string_value() != method_name_) return Invalid("invalid signing method");
  if (!VerifyBytes(token.substr(0, dot2), signature)) return Invalid("signature is invalid");

  // MapClaims.Valid (golang-jwt v4): valid while now < exp; iat and nbf, when present, not after now. etcd always
  // writes exp, so a token without one is refused here (golang-jwt would let it live forever).
  auto exp = claims.fields().find("exp");
  if (exp == claims.fields().end() || exp->second.kind_case() != google::protobuf::Value::kNumberValue ||
      exp->second.number_value() == 0) {
    return Invalid("token has no expiry");
  }
  const double exp_s = std::floor(exp->second.number_value());
  if (!(static_cast<double>(now_unix_s) < exp_s)) return Invalid("token is expired");
  if (!NotAfterNow(claims, "iat", now_unix_s)) return Invalid("token used before issued");
  if (!NotAfterNow(claims, "nbf", now_unix_s)) return Invalid("token is not valid yet");

  // etcd reads claims["username"].(string) and claims["revision"].(float64).
  auto username = claims.fields().find("username");
  if (username == claims.fields().end() ||
      username->second.kind_case() != google::protobuf::Value::kStringValue ||
      username->second.string_value().empty()) {
    return Invalid("failed to obtain user claims from jwt token");
  }
  auto revision = claims.fields().find("revision");
  if (revision == claims.fields().end() || revision->second.kind_case() != google::protobuf::Value::kNumberValue) {
    return Invalid("failed to obtain revision claims from jwt token");
  }
  const double rev = revision->second.number_value();
  if (!(rev >= 0 && rev < 18446744073709551616.0)) return Invalid("revision claim out of range");
  JwtClaims out;
  out.username = username->second.string_value();
  out.revision = static_cast<uint64_t>(rev);
  out.exp = exp_s >= 9.2e18 ? INT64_MAX : static_cast<int64_t>(exp_s);
  return out;
}

}  // namespace detcd::net
