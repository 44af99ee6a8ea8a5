#include "net/tls.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstring>
#include <memory>
#include <set>

#include "absl/strings/str_cat.h"

namespace detcd::net {
namespace {

// Go's syscall.Errno strings are glibc's with a lower-case first letter.
std::string GoErrno(int err) {
  std::string s = std::strerror(err);
  if (!s.empty()) s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
  return s;
}

std::string OpensslError(const std::string& what) {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return what;
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return absl::StrCat(what, ": ", buf);
}

struct Free {
  void operator()(BIO* p) const { BIO_free(p); }
  void operator()(X509* p) const { X509_free(p); }
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
  void operator()(BIGNUM* p) const { BN_free(p); }
  void operator()(GENERAL_NAMES* p) const { GENERAL_NAMES_free(p); }
  void operator()(ASN1_OCTET_STRING* p) const { ASN1_OCTET_STRING_free(p); }
};
template <typename T>
using Owned = std::unique_ptr<T, Free>;

Owned<BIO> MemBio(const std::string& s) { return Owned<BIO>(BIO_new_mem_buf(s.data(), static_cast<int>(s.size()))); }

std::string BioText(BIO* b) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(b, &data);
  return std::string(data, static_cast<size_t>(n));
}

// os.MkdirAll(dir, 0700), which is what etcd's fileutil.TouchDirAll does first.
absl::Status MkdirAll(const std::string& dir) {
  if (dir.empty()) return absl::OkStatus();
  struct stat st;
  if (stat(dir.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) return absl::OkStatus();
    return absl::FailedPreconditionError(absl::StrCat("mkdir ", dir, ": not a directory"));
  }
  const size_t slash = dir.find_last_of('/');
  if (slash != std::string::npos && slash > 0) {
    if (absl::Status s = MkdirAll(dir.substr(0, slash)); !s.ok()) return s;
  }
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return absl::FailedPreconditionError(absl::StrCat("mkdir ", dir, ": ", GoErrno(errno)));
  }
  return absl::OkStatus();
}

absl::Status WriteFile(const std::string& path, const std::string& data, mode_t mode) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return absl::FailedPreconditionError(absl::StrCat("open ", path, ": ", GoErrno(errno)));
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      close(fd);
      return absl::FailedPreconditionError(absl::StrCat("write ", path, ": ", GoErrno(err)));
    }
    done += static_cast<size_t>(n);
  }
  if (fsync(fd) != 0 || close(fd) != 0) {
    return absl::FailedPreconditionError(absl::StrCat("sync ", path, ": ", GoErrno(errno)));
  }
  return absl::OkStatus();
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// The new certificate and key as PEM text.
absl::Status Generate(const std::vector<std::string>& hosts, std::string* cert_pem, std::string* key_pem) {
  Owned<EVP_PKEY> key(EVP_EC_gen("P-256"));
  if (key == nullptr) return absl::InternalError(OpensslError("generating an ECDSA P-256 key"));
  Owned<X509> x(X509_new());
  if (x == nullptr || X509_set_version(x.get(), 2) != 1) return absl::InternalError(OpensslError("X509_new"));
  // A random serial below 2^128, as etcd draws it.
  Owned<BIGNUM> serial(BN_new());
  if (serial == nullptr || BN_rand(serial.get(), 127, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1 ||
      BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(x.get())) == nullptr) {
    return absl::InternalError(OpensslError("serial number"));
  }
  if (X509_gmtime_adj(X509_getm_notBefore(x.get()), 0) == nullptr ||
      X509_gmtime_adj(X509_getm_notAfter(x.get()), 365L * 24 * 3600) == nullptr) {
    return absl::InternalError(OpensslError("validity"));
  }
  X509_NAME* name = X509_get_subject_name(x.get());
  if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, reinterpret_cast<const unsigned char*>("etcd"), -1, -1,
                                 0) != 1 ||
      X509_set_issuer_name(x.get(), name) != 1 || X509_set_pubkey(x.get(), key.get()) != 1) {
    return absl::InternalError(OpensslError("subject"));
  }
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : std::vector<std::pair<int, const char*>>{
           {NID_basic_constraints, "critical,CA:FALSE"},
           {NID_key_usage, "critical,digitalSignature,keyEncipherment"},
           {NID_ext_key_usage, "serverAuth"},
       }) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    if (ext == nullptr) return absl::InternalError(OpensslError(absl::StrCat("extension ", value)));
    const int ok = X509_add_ext(x.get(), ext, -1);
    X509_EXTENSION_free(ext);
    if (ok != 1) return absl::InternalError(OpensslError(absl::StrCat("extension ", value)));
  }
  Owned<GENERAL_NAMES> sans(GENERAL_NAMES_new());
  std::set<std::string> seen;
  for (const std::string& h : hosts) {
    if (h.empty() || !seen.insert(h).second) continue;
    GENERAL_NAME* gn = GENERAL_NAME_new();
    if (gn == nullptr) return absl::InternalError(OpensslError("GENERAL_NAME_new"));
    unsigned char ip[16];
    int ip_len = 0;
    if (inet_pton(AF_INET, h.c_str(), ip) == 1) ip_len = 4;
    if (ip_len == 0 && inet_pton(AF_INET6, h.c_str(), ip) == 1) ip_len = 16;
    ASN1_STRING* value = ASN1_STRING_type_new(ip_len > 0 ? V_ASN1_OCTET_STRING : V_ASN1_IA5STRING);
    const bool set = value != nullptr && (ip_len > 0 ? ASN1_STRING_set(value, ip, ip_len)
                                                     : ASN1_STRING_set(value, h.data(), static_cast<int>(h.size())));
    if (!set) {
      ASN1_STRING_free(value);
      GENERAL_NAME_free(gn);
      return absl::InternalError(OpensslError(absl::StrCat("SAN ", h)));
    }
    GENERAL_NAME_set0_value(gn, ip_len > 0 ? GEN_IPADD : GEN_DNS, value);
    sk_GENERAL_NAME_push(sans.get(), gn);
  }
  if (sk_GENERAL_NAME_num(sans.get()) > 0 &&
      X509_add1_ext_i2d(x.get(), NID_subject_alt_name, sans.get(), 0, X509V3_ADD_DEFAULT) != 1) {
    return absl::InternalError(OpensslError("subject alternative names"));
  }
  if (X509_sign(x.get(), key.get(), EVP_sha256()) == 0) return absl::InternalError(OpensslError("signing"));

  Owned<BIO> cert_bio(BIO_new(BIO_s_mem()));
  Owned<BIO> key_bio(BIO_new(BIO_s_mem()));
  if (cert_bio == nullptr || key_bio == nullptr || PEM_write_bio_X509(cert_bio.get(), x.get()) != 1 ||
      PEM_write_bio_PrivateKey_traditional(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return absl::InternalError(OpensslError("PEM encoding"));
  }
  *cert_pem = BioText(cert_bio.get());
  *key_pem = BioText(key_bio.get());
  return absl::OkStatus();
}

Owned<X509> ParseCert(const std::string& pem) {
  Owned<BIO> b = MemBio(pem);
  return Owned<X509>(b == nullptr ? nullptr : PEM_read_bio_X509(b.get(), nullptr, nullptr, nullptr));
}

}  // namespace

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return absl::FailedPreconditionError(absl::StrCat("open ", path, ": ", GoErrno(errno)));
  std::string out;
  char buf[16384];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      close(fd);
      return absl::FailedPreconditionError(absl::StrCat("read ", path, ": ", GoErrno(err)));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

absl::StatusOr<CertKeyFiles> SelfSignedCert(const std::vector<std::string>& hosts, const std::string& dir) {
  if (absl::Status s = MkdirAll(dir); !s.ok()) return s;
  CertKeyFiles files{absl::StrCat(dir, "/cert.pem"), absl::StrCat(dir, "/key.pem")};
  // Both present: reused as they are, whatever hosts they name (etcd does not regenerate either).
  if (Exists(files.cert_file) && Exists(files.key_file)) return files;
  std::string cert_pem, key_pem;
  if (absl::Status s = Generate(hosts, &cert_pem, &key_pem); !s.ok()) return s;
  if (absl::Status s = WriteFile(files.cert_file, cert_pem, 0644); !s.ok()) return s;
  if (absl::Status s = WriteFile(files.key_file, key_pem, 0600); !s.ok()) return s;
  return files;
}

absl::Status CheckKeyPair(const std::string& cert_pem, const std::string& key_pem) {
  Owned<X509> cert = ParseCert(cert_pem);
  ERR_clear_error();
  if (cert == nullptr) {
    if (cert_pem.find("-----BEGIN") == std::string::npos) {
      return absl::FailedPreconditionError("tls: failed to find any PEM data in certificate input");
    }
    return absl::FailedPreconditionError("tls: failed to parse certificate");
  }
  Owned<BIO> b = MemBio(key_pem);
  Owned<EVP_PKEY> key(b == nullptr ? nullptr : PEM_read_bio_PrivateKey(b.get(), nullptr, nullptr, nullptr));
  ERR_clear_error();
  if (key == nullptr) {
    if (key_pem.find("-----BEGIN") == std::string::npos) {
      return absl::FailedPreconditionError("tls: failed to find any PEM data in key input");
    }
    return absl::FailedPreconditionError("tls: failed to parse private key");
  }
  if (EVP_PKEY_eq(X509_get0_pubkey(cert.get()), key.get()) != 1) {
    ERR_clear_error();
    return absl::FailedPreconditionError("tls: private key does not match public key");
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> CertificateSans(const std::string& cert_pem) {
  Owned<X509> cert = ParseCert(cert_pem);
  if (cert == nullptr) return absl::InvalidArgumentError(OpensslError("not a PEM certificate"));
  std::vector<std::string> out;
  Owned<GENERAL_NAMES> names(
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert.get(), NID_subject_alt_name, nullptr, nullptr)));
  if (names == nullptr) return out;
  for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names.get(), i);
    if (gn->type == GEN_DNS) {
      const ASN1_IA5STRING* s = gn->d.dNSName;
      out.push_back(absl::StrCat("DNS:", std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                                     static_cast<size_t>(ASN1_STRING_length(s)))));
    } else if (gn->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* s = gn->d.iPAddress;
      char text[INET6_ADDRSTRLEN] = {0};
      const int len = ASN1_STRING_length(s);
      if ((len != 4 && len != 16) ||
          inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s), text, sizeof(text)) == nullptr) {
        return absl::InvalidArgumentError("malformed IP SAN");
      }
      out.push_back(absl::StrCat("IP:", text));
    }
  }
  return out;
}

}  // namespace detcd::net
