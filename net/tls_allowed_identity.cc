#include "net/tls_allowed_identity.h"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>

#include <string>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "net/tls_session.h"

namespace detcd::net {
namespace {

std::string Quote(const std::string& s) {  // Go's %q, for the printable names expected here
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

// The last CN of the subject (Go's pkix.Name keeps the last), as UTF-8; "" if none or unreadable.
std::string CommonName(X509* cert) {
  X509_NAME* name = X509_get_subject_name(cert);
  if (name == nullptr) return "";
  int last = -1;
  for (int i = X509_NAME_get_index_by_NID(name, NID_commonName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(name, NID_commonName, i)) {
    last = i;
  }
  if (last < 0) return "";
  ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name, last));
  unsigned char* utf8 = nullptr;
  const int len = data == nullptr ? -1 : ASN1_STRING_to_UTF8(&utf8, data);
  if (len < 0) {
    ERR_clear_error();
    return "";
  }
  std::string out(reinterpret_cast<char*>(utf8), static_cast<size_t>(len));
  OPENSSL_free(utf8);
  return out;
}

int ExIndex() {
  static const int index = SSL_CTX_get_ex_new_index(
      0, nullptr, nullptr, nullptr,
      [](void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/, void* /*argp*/) {
        delete static_cast<AllowedIdentity*>(ptr);
      });
  return index;
}

// OpenSSL's verify callback: the chain as OpenSSL verified it, then the leaf (depth 0) against the allowed identity.
int VerifyCallback(int preverify_ok, X509_STORE_CTX* store) {
  if (preverify_ok != 1) return preverify_ok;
  if (X509_STORE_CTX_get_error_depth(store) != 0) return 1;
  SSL* ssl = static_cast<SSL*>(X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
  const AllowedIdentity* id =
      ssl == nullptr ? nullptr : static_cast<const AllowedIdentity*>(SSL_CTX_get_ex_data(SSL_get_SSL_CTX(ssl),
                                                                                          ExIndex()));
  if (id == nullptr) return 1;  // not installed on this context
  if (CertificateAllowed(X509_STORE_CTX_get_current_cert(store), *id)) return 1;
  // CERT_REJECTED: OpenSSL answers it with a bad_certificate alert, as Go answers VerifyPeerCertificate's error.
  X509_STORE_CTX_set_error(store, X509_V_ERR_CERT_REJECTED);
  TlsKeepRejectedCertificate(ssl, X509_STORE_CTX_get_current_cert(store));  // for etcd's log line
  return 0;
}

}  // namespace

absl::Status ValidateAllowedIdentity(const AllowedIdentity& id) {
  if (!id.cn.empty() && !id.hostname.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("AllowedCN and AllowedHostname are mutually exclusive (cn=",
                                                   Quote(id.cn), ", hostname=", Quote(id.hostname), ")"));
  }
  return absl::OkStatus();
}

bool CertificateAllowed(x509_st* cert, const AllowedIdentity& id) {
  if (cert == nullptr) return false;
  if (!id.cn.empty()) return CommonName(cert) == id.cn;
  if (id.hostname.empty()) return true;
  // Go's VerifyHostname: an IP literal (brackets allowed) against the IP SANs only; a name against the DNS SANs.
  std::string host = id.hostname;
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  unsigned char buf[16];
  int r;
  if (inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1) {
    r = X509_check_ip_asc(cert, host.c_str(), 0);
  } else {
    r = X509_check_host(cert, host.data(), host.size(),
                        X509_CHECK_FLAG_NEVER_CHECK_SUBJECT | X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, nullptr);
  }
  ERR_clear_error();
  return r == 1;
}

absl::Status RequireAllowedIdentity(ssl_ctx_st* ctx, const AllowedIdentity& id) {
  DETCD_CHECK(ctx != nullptr);
  DETCD_CHECK(id.any());
  if (absl::Status s = ValidateAllowedIdentity(id); !s.ok()) return s;
  const int index = ExIndex();
  if (index < 0) return absl::InternalError("SSL_CTX_get_ex_new_index failed");
  DETCD_CHECK(SSL_CTX_get_ex_data(ctx, index) == nullptr);  // set once per context
  auto* copy = new AllowedIdentity(id);
  if (SSL_CTX_set_ex_data(ctx, index, copy) != 1) {
    delete copy;
    return absl::InternalError("SSL_CTX_set_ex_data failed");
  }
  SSL_CTX_set_verify(ctx, SSL_CTX_get_verify_mode(ctx), VerifyCallback);
  return absl::OkStatus();
}

absl::Status CheckAllowedIdentity(ssl_st* ssl, const AllowedIdentity& id) {
  DETCD_CHECK(ssl != nullptr);
  if (!id.any()) return absl::OkStatus();
  X509* cert = SSL_get0_peer_certificate(ssl);
  if (cert == nullptr || SSL_get_verify_result(ssl) != X509_V_OK || !CertificateAllowed(cert, id)) {
    return absl::PermissionDeniedError(kCertAuthFailed);
  }
  return absl::OkStatus();
}

}  // namespace detcd::net
