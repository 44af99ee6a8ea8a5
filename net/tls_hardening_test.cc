// TLS hardening as etcd 3.4: Go cipher suite names mapped to OpenSSL's (etcd's refusal text for unknown names, TLS 1.3
// names accepted without effect), CRL files parsed as PEM or DER with the revoked serials compared as etcd compares
// them and re-read when they change, and the allowed CN / host name checks on certificates (one without a CN too).
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "net/tls_allowed_identity.h"
#include "net/tls_cipher_suites.h"
#include "net/tls_crl.h"

namespace detcd::net {
namespace {

std::string TmpPath(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  return std::string(tmp != nullptr ? tmp : "/tmp") + "/" + name;
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  f << text;
}

EVP_PKEY* NewKey() { return EVP_EC_gen("P-256"); }

// A CRL signed by `key`, revoking the given serials (as hex), PEM or DER.
std::string MakeCrl(EVP_PKEY* key, const std::vector<std::string>& hex_serials, bool pem) {
  X509_CRL* crl = X509_CRL_new();
  X509_CRL_set_version(crl, 1);
  X509_NAME* issuer = X509_NAME_new();
  X509_NAME_add_entry_by_txt(issuer, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("test ca"), -1, -1,
                             0);
  X509_CRL_set_issuer_name(crl, issuer);
  X509_NAME_free(issuer);
  ASN1_TIME* now = ASN1_TIME_set(nullptr, time(nullptr));
  X509_CRL_set1_lastUpdate(crl, now);
  for (const std::string& hex : hex_serials) {
    X509_REVOKED* r = X509_REVOKED_new();
    BIGNUM* bn = nullptr;
    BN_hex2bn(&bn, hex.c_str());
    ASN1_INTEGER* serial = BN_to_ASN1_INTEGER(bn, nullptr);
    X509_REVOKED_set_serialNumber(r, serial);
    X509_REVOKED_set_revocationDate(r, now);
    X509_CRL_add0_revoked(crl, r);
    ASN1_INTEGER_free(serial);
    BN_free(bn);
  }
  ASN1_TIME_free(now);
  X509_CRL_sort(crl);
  X509_CRL_sign(crl, key, EVP_sha256());
  std::string out;
  if (pem) {
    BIO* b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509_CRL(b, crl);
    char* data = nullptr;
    const long n = BIO_get_mem_data(b, &data);
    out.assign(data, static_cast<size_t>(n));
    BIO_free(b);
  } else {
    unsigned char* der = nullptr;
    const int n = i2d_X509_CRL(crl, &der);
    out.assign(reinterpret_cast<char*>(der), static_cast<size_t>(n));
    OPENSSL_free(der);
  }
  X509_CRL_free(crl);
  return out;
}

// A self-signed certificate with the given CN ("" for none) and SANs ("DNS:a,IP:1.2.3.4", "" for none).
X509* MakeCert(EVP_PKEY* key, const std::string& cn, const std::string& sans) {
  X509* x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 0x1002);
  X509_gmtime_adj(X509_getm_notBefore(x), 0);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("detcd"), -1, -1, 0);
  if (!cn.empty()) {
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                               0);
  }
  X509_set_issuer_name(x, name);
  X509_set_pubkey(x, key);
  if (!sans.empty()) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name, sans.c_str());
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x, key, EVP_sha256());
  return x;
}

TEST(TlsCipherSuitesTest, MapsGoNamesAndRefusesUnknownOnesWithEtcdsText) {
  EXPECT_EQ(OpenSslCipherName("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"), "ECDHE-RSA-AES128-GCM-SHA256");
  EXPECT_EQ(OpenSslCipherName("TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384"), "ECDHE-ECDSA-AES256-GCM-SHA384");
  EXPECT_EQ(OpenSslCipherName("TLS_RSA_WITH_AES_128_CBC_SHA"), "AES128-SHA");
  EXPECT_EQ(OpenSslCipherName("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305"), "ECDHE-RSA-CHACHA20-POLY1305");  // alias
  EXPECT_EQ(OpenSslCipherName("TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"), "ECDHE-RSA-CHACHA20-POLY1305");
  EXPECT_EQ(OpenSslCipherName("TLS_AES_128_GCM_SHA256"), "TLS_AES_128_GCM_SHA256");
  EXPECT_EQ(OpenSslCipherName("ECDHE-RSA-AES128-GCM-SHA256"), "");  // OpenSSL's own names are not etcd's
  EXPECT_EQ(OpenSslCipherName("tls_ecdhe_rsa_with_aes_128_gcm_sha256"), "");  // Go compares exactly

  absl::StatusOr<TlsCipherSuites> s =
      ParseTlsCipherSuites({"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384"});
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_TRUE(s->restricted());
  EXPECT_EQ(s->tls12_openssl, std::vector<std::string>{"ECDHE-RSA-AES128-GCM-SHA256"});
  EXPECT_EQ(s->tls13_go, std::vector<std::string>{"TLS_AES_256_GCM_SHA384"});
  EXPECT_EQ(ParseTlsCipherSuites({"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "FOO"}).status().message(),
            "unexpected TLS cipher suite \"FOO\"");
  EXPECT_EQ(ParseTlsCipherSuites({""}).status().message(), "unexpected TLS cipher suite \"\"");
  EXPECT_FALSE(ParseTlsCipherSuites({}).value().restricted());
}

std::vector<std::string> CipherNames(SSL_CTX* ctx) {
  std::vector<std::string> out;
  STACK_OF(SSL_CIPHER)* list = SSL_CTX_get_ciphers(ctx);
  for (int i = 0; i < sk_SSL_CIPHER_num(list); ++i) out.push_back(SSL_CIPHER_get_name(sk_SSL_CIPHER_value(list, i)));
  return out;
}

TEST(TlsCipherSuitesTest, RestrictsTls12AndLeavesTls13Alone) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  absl::StatusOr<TlsCipherSuites> s = ParseTlsCipherSuites(
      {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "TLS_RSA_WITH_RC4_128_SHA"});
  ASSERT_TRUE(s.ok());
  std::vector<std::string> unavailable;
  ASSERT_TRUE(ApplyTlsCipherSuites(ctx, *s, &unavailable).ok());
  EXPECT_EQ(unavailable, std::vector<std::string>{"TLS_RSA_WITH_RC4_128_SHA"});  // OpenSSL 3 has no RC4
  std::vector<std::string> names = CipherNames(ctx);
  std::vector<std::string> tls12;
  for (const std::string& n : names) {
    if (n.rfind("TLS_", 0) != 0) tls12.push_back(n);
  }
  EXPECT_EQ(tls12, (std::vector<std::string>{"ECDHE-RSA-AES256-GCM-SHA384", "ECDHE-RSA-AES128-GCM-SHA256"}));
  EXPECT_NE(std::find(names.begin(), names.end(), "TLS_AES_128_GCM_SHA256"), names.end()) << "TLS 1.3 stays on";
  SSL_CTX_free(ctx);

  // Only suites OpenSSL lacks: refused at start rather than serving with a list nobody asked for.
  ctx = SSL_CTX_new(TLS_server_method());
  EXPECT_FALSE(ApplyTlsCipherSuites(ctx, ParseTlsCipherSuites({"TLS_RSA_WITH_RC4_128_SHA"}).value(), nullptr).ok());
  SSL_CTX_free(ctx);
  // TLS 1.3 names only: no TLS 1.2 suite is left, so TLS 1.3 only.
  ctx = SSL_CTX_new(TLS_server_method());
  ASSERT_TRUE(ApplyTlsCipherSuites(ctx, ParseTlsCipherSuites({"TLS_AES_128_GCM_SHA256"}).value(), nullptr).ok());
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx), TLS1_3_VERSION);
  SSL_CTX_free(ctx);
}

TEST(TlsCrlTest, ParsesPemAndDerAndRefusesGarbage) {
  EVP_PKEY* key = NewKey();
  for (bool pem : {true, false}) {
    absl::StatusOr<RevokedSerials> r = ParseCrl(MakeCrl(key, {"1002", "00FF", "0A0B0C0D0E0F10111213"}, pem));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(*r, (RevokedSerials{std::string("\x10\x02", 2), std::string("\xff", 1),
                                  std::string("\x0a\x0b\x0c\x0d\x0e\x0f\x10\x11\x12\x13", 10)}));
  }
  EXPECT_TRUE(ParseCrl(MakeCrl(key, {}, true)).value().empty());
  for (const std::string& bad : {std::string(""), std::string("garbage\n"), std::string("\x30\x82\xff\xff", 4),
                                 std::string("-----BEGIN X509 CRL-----\nAAAA\n-----END X509 CRL-----\n")}) {
    absl::StatusOr<RevokedSerials> r = ParseCrl(bad);
    EXPECT_FALSE(r.ok());
    EXPECT_NE(r.status().message().find("x509: malformed certificate revocation list"), std::string::npos)
        << r.status();
  }
  EXPECT_EQ(SerialHex(std::string("\x10\x02", 2)), "1002");
  EXPECT_EQ(SerialHex(std::string("\x0a", 1)), "0a");
  EVP_PKEY_free(key);
}

TEST(TlsCrlTest, ChecksSerialsAndRereadsTheFileWhenItChanges) {
  EVP_PKEY* key = NewKey();
  EXPECT_EQ(CrlFile::Load(TmpPath("missing.crl")).status().message(),
            "open " + TmpPath("missing.crl") + ": no such file or directory");
  const std::string path = TmpPath("list.crl");
  WriteText(path, "not a crl");
  EXPECT_NE(CrlFile::Load(path).status().message().find("crl file " + path + ": x509: malformed"),
            std::string::npos);

  WriteText(path, MakeCrl(key, {"1002"}, true));
  absl::StatusOr<std::shared_ptr<CrlFile>> crl = CrlFile::Load(path);
  ASSERT_TRUE(crl.ok()) << crl.status();
  EXPECT_EQ((*crl)->Check({std::string("\x10\x02", 2)}).message(), "transport: certificate serial 1002 revoked");
  EXPECT_TRUE((*crl)->Check({std::string("\x10\x03", 2)}).ok());
  EXPECT_TRUE((*crl)->Check({}).ok());
  // Any presented certificate counts (etcd checks the whole chain the remote sent).
  EXPECT_FALSE((*crl)->Check({std::string("\x10\x03", 2), std::string("\x10\x02", 2)}).ok());

  // A new revocation takes effect without a restart (another size, so the change is seen at once).
  WriteText(path, MakeCrl(key, {"1002", "1003"}, false));
  EXPECT_EQ((*crl)->Check({std::string("\x10\x03", 2)}).message(), "transport: certificate serial 1003 revoked");
  // A file that went bad refuses every certificate rather than letting them all in.
  WriteText(path, "broken");
  EXPECT_FALSE((*crl)->Check({std::string("\x10\x04", 2)}).ok());
  unlink(path.c_str());
  EXPECT_EQ((*crl)->Check({std::string("\x10\x04", 2)}).message(), "open " + path + ": no such file or directory");
  EVP_PKEY_free(key);
}

TEST(TlsAllowedIdentityTest, CommonNameAndHostName) {
  EVP_PKEY* key = NewKey();
  X509* peer = MakeCert(key, "etcd-peer", "DNS:*.example.com,DNS:localhost,IP:127.0.0.1,IP:::1");
  X509* no_cn = MakeCert(key, "", "DNS:localhost");
  X509* cn_only = MakeCert(key, "host.example.com", "");
  EXPECT_TRUE(CertificateAllowed(peer, {"etcd-peer", ""}));
  EXPECT_FALSE(CertificateAllowed(peer, {"etcd-peer2", ""}));
  EXPECT_FALSE(CertificateAllowed(peer, {"ETCD-PEER", ""}));  // Go compares exactly
  EXPECT_FALSE(CertificateAllowed(no_cn, {"etcd-peer", ""}));
  EXPECT_TRUE(CertificateAllowed(peer, {"", "localhost"}));
  EXPECT_TRUE(CertificateAllowed(peer, {"", "LocalHost"}));
  EXPECT_TRUE(CertificateAllowed(peer, {"", "a.example.com"}));
  EXPECT_FALSE(CertificateAllowed(peer, {"", "a.b.example.com"}));  // a wildcard is one label
  EXPECT_TRUE(CertificateAllowed(peer, {"", "127.0.0.1"}));
  EXPECT_TRUE(CertificateAllowed(peer, {"", "::1"}));
  EXPECT_TRUE(CertificateAllowed(peer, {"", "[::1]"}));
  EXPECT_FALSE(CertificateAllowed(peer, {"", "127.0.0.2"}));
  EXPECT_FALSE(CertificateAllowed(cn_only, {"", "host.example.com"}));  // Go 1.19 never falls back to the CN
  EXPECT_FALSE(CertificateAllowed(nullptr, {"etcd-peer", ""}));
  EXPECT_EQ(ValidateAllowedIdentity({"a", "b"}).message(),
            "AllowedCN and AllowedHostname are mutually exclusive (cn=\"a\", hostname=\"b\")");
  EXPECT_TRUE(ValidateAllowedIdentity({"a", ""}).ok());
  X509_free(peer);
  X509_free(no_cn);
  X509_free(cn_only);
  EVP_PKEY_free(key);
}

}  // namespace
}  // namespace detcd::net
