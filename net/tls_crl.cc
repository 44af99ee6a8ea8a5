#include "net/tls_crl.h"

#include <openssl/asn1.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "net/tls.h"

namespace detcd::net {
namespace {

struct CrlFree {
  void operator()(X509_CRL* p) const { X509_CRL_free(p); }
};

// An INTEGER's magnitude, big-endian, without leading zero bytes: Go's big.Int.Bytes() (the sign is dropped there too).
std::string Magnitude(const ASN1_INTEGER* n) {
  if (n == nullptr) return "";
  const unsigned char* data = ASN1_STRING_get0_data(n);
  int len = ASN1_STRING_length(n);
  if (data == nullptr || len <= 0) return "";
  while (len > 0 && *data == 0) ++data, --len;
  return std::string(reinterpret_cast<const char*>(data), static_cast<size_t>(len));
}

std::string OpensslReason() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "malformed";
  const char* r = ERR_reason_error_string(e);
  return r != nullptr ? r : "malformed";
}

}  // namespace

std::string SerialHex(const std::string& magnitude_bytes) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(magnitude_bytes.size() * 2);
  for (unsigned char c : magnitude_bytes) {
    out += kHex[c >> 4];
    out += kHex[c & 15];
  }
  return out;
}

absl::StatusOr<RevokedSerials> ParseCrl(const std::string& data) {
  ERR_clear_error();
  std::unique_ptr<X509_CRL, CrlFree> crl;
  if (absl::StartsWith(data, "-----BEGIN X509 CRL")) {
    BIO* b = BIO_new_mem_buf(data.data(), static_cast<int>(data.size()));
    if (b == nullptr) return absl::InternalError("BIO_new_mem_buf failed");
    crl.reset(PEM_read_bio_X509_CRL(b, nullptr, nullptr, nullptr));
    BIO_free(b);
  } else {
    const unsigned char* p = reinterpret_cast<const unsigned char*>(data.data());
    crl.reset(d2i_X509_CRL(nullptr, &p, static_cast<long>(data.size())));
  }
  if (crl == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat("x509: malformed certificate revocation list (", OpensslReason(),
                                                   "); expected PEM \"X509 CRL\" or DER"));
  }
  RevokedSerials out;
  STACK_OF(X509_REVOKED)* revoked = X509_CRL_get_REVOKED(crl.get());  // null: none revoked
  for (int i = 0; revoked != nullptr && i < sk_X509_REVOKED_num(revoked); ++i) {
    out.insert(Magnitude(X509_REVOKED_get0_serialNumber(sk_X509_REVOKED_value(revoked, i))));
  }
  ERR_clear_error();
  return out;
}

std::vector<std::string> PresentedSerials(ssl_st* ssl) {
  DETCD_CHECK(ssl != nullptr);
  std::vector<std::string> out;
  X509* leaf = SSL_get0_peer_certificate(ssl);
  if (leaf != nullptr) out.push_back(Magnitude(X509_get0_serialNumber(leaf)));
  // On a server the chain leaves the leaf out; on a client it starts with it.
  STACK_OF(X509)* chain = SSL_get_peer_cert_chain(ssl);
  for (int i = 0; chain != nullptr && i < sk_X509_num(chain); ++i) {
    X509* c = sk_X509_value(chain, i);
    if (leaf != nullptr && X509_cmp(c, leaf) == 0) continue;
    out.push_back(Magnitude(X509_get0_serialNumber(c)));
  }
  return out;
}

absl::StatusOr<std::shared_ptr<CrlFile>> CrlFile::Load(const std::string& path) {
  DETCD_CHECK(!path.empty());
  std::shared_ptr<CrlFile> f(new CrlFile(path));
  std::lock_guard<std::mutex> lock(f->mu_);
  if (absl::Status s = f->Refresh(); !s.ok()) return s;
  DETCD_CHECK(f->loaded_);
  return f;
}

absl::Status CrlFile::Refresh() {
  struct stat st;
  if (stat(path_.c_str(), &st) != 0) {
    const int err = errno;
    loaded_ = false;
    absl::StatusOr<std::string> data = ReadFile(path_);  // for Go's wording of the error
    if (!data.ok()) return data.status();
    return absl::FailedPreconditionError(absl::StrCat("stat ", path_, ": ", std::strerror(err)));
  }
  if (loaded_ && st.st_dev == dev_ && st.st_ino == ino_ && st.st_size == size_ &&
      st.st_mtim.tv_sec == mtime_.tv_sec && st.st_mtim.tv_nsec == mtime_.tv_nsec) {
    return absl::OkStatus();
  }
  loaded_ = false;
  absl::StatusOr<std::string> data = ReadFile(path_);
  if (!data.ok()) return data.status();
  absl::StatusOr<RevokedSerials> revoked = ParseCrl(*data);
  if (!revoked.ok()) {
    return absl::FailedPreconditionError(absl::StrCat("crl file ", path_, ": ", revoked.status().message()));
  }
  revoked_ = std::move(*revoked);
  loaded_ = true;
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  size_ = st.st_size;
  mtime_ = st.st_mtim;
  return absl::OkStatus();
}

absl::Status CrlFile::Check(const std::vector<std::string>& serials) {
  std::lock_guard<std::mutex> lock(mu_);
  if (absl::Status s = Refresh(); !s.ok()) return s;
  for (const std::string& serial : serials) {
    if (revoked_.count(serial) != 0) {
      return absl::PermissionDeniedError(absl::StrCat("transport: certificate serial ", SerialHex(serial),
                                                      " revoked"));  // etcd's words
    }
  }
  return absl::OkStatus();
}

absl::Status CrlFile::CheckSession(ssl_st* ssl) {
  const std::vector<std::string> serials = PresentedSerials(ssl);
  if (serials.empty()) return absl::OkStatus();
  return Check(serials);
}

}  // namespace detcd::net
