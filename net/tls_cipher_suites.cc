#include "net/tls_cipher_suites.h"

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/check.h"
#include "base/go_text.h"

namespace detcd::net {
namespace {

struct CipherName {
  const char* go;
  const char* openssl;
};

// Go's names (crypto/tls cipher_suites.go, Go 1.19) and OpenSSL's for the same IANA suite.
constexpr CipherName kTls12[] = {
    // tls.CipherSuites()
    {"TLS_RSA_WITH_AES_128_CBC_SHA", "AES128-SHA"},
    {"TLS_RSA_WITH_AES_256_CBC_SHA", "AES256-SHA"},
    {"TLS_RSA_WITH_AES_128_GCM_SHA256", "AES128-GCM-SHA256"},
    {"TLS_RSA_WITH_AES_256_GCM_SHA384", "AES256-GCM-SHA384"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA", "ECDHE-ECDSA-AES128-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA", "ECDHE-ECDSA-AES256-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA", "ECDHE-RSA-AES128-SHA"},
    {"TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA", "ECDHE-RSA-AES256-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "ECDHE-ECDSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", "ECDHE-ECDSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", "ECDHE-RSA-AES128-GCM-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", "ECDHE-RSA-AES256-GCM-SHA384"},
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256", "ECDHE-ECDSA-CHACHA20-POLY1305"},
    // tls.InsecureCipherSuites()
    {"TLS_RSA_WITH_RC4_128_SHA", "RC4-SHA"},
    {"TLS_RSA_WITH_3DES_EDE_CBC_SHA", "DES-CBC3-SHA"},
    {"TLS_RSA_WITH_AES_128_CBC_SHA256", "AES128-SHA256"},
    {"TLS_ECDHE_ECDSA_WITH_RC4_128_SHA", "ECDHE-ECDSA-RC4-SHA"},
    {"TLS_ECDHE_RSA_WITH_RC4_128_SHA", "ECDHE-RSA-RC4-SHA"},
    {"TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA", "ECDHE-RSA-DES-CBC3-SHA"},
    {"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "ECDHE-ECDSA-AES128-SHA256"},
    {"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256", "ECDHE-RSA-AES128-SHA256"},
    // tlsutil's aliases
    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"},
    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "ECDHE-ECDSA-CHACHA20-POLY1305"},
};
constexpr const char* kTls13[] = {"TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"};

}  // namespace

bool IsTls13CipherName(const std::string& go_name) {
  for (const char* n : kTls13) {
    if (go_name == n) return true;
  }
  return false;
}

std::string OpenSslCipherName(const std::string& go_name) {
  for (const CipherName& c : kTls12) {
    if (go_name == c.go) return c.openssl;
  }
  return IsTls13CipherName(go_name) ? go_name : "";
}

absl::StatusOr<TlsCipherSuites> ParseTlsCipherSuites(const std::vector<std::string>& go_names) {
  TlsCipherSuites out;
  for (const std::string& name : go_names) {
    const std::string openssl = OpenSslCipherName(name);
    if (openssl.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("unexpected TLS cipher suite ", GoQuote(name)));
    }
    out.go_names.push_back(name);
    if (IsTls13CipherName(name)) {
      out.tls13_go.push_back(name);
    } else {
      out.tls12_openssl.push_back(openssl);
    }
  }
  DETCD_CHECK(out.go_names.size() == go_names.size());
  return out;
}

absl::Status ApplyTlsCipherSuites(ssl_ctx_st* ctx, const TlsCipherSuites& suites,
                                  std::vector<std::string>* unavailable) {
  DETCD_CHECK(ctx != nullptr);
  if (!suites.restricted()) return absl::OkStatus();
  // Which of the TLS 1.2 suites this OpenSSL can do: each is tried alone (a list fails only if none matches).
  std::vector<std::string> usable;
  SSL_CTX* probe = SSL_CTX_new(TLS_method());
  if (probe == nullptr) return absl::InternalError("SSL_CTX_new failed");
  for (const std::string& name : suites.tls12_openssl) {
    if (SSL_CTX_set_cipher_list(probe, name.c_str()) == 1) {
      usable.push_back(name);
    } else if (unavailable != nullptr) {
      for (const CipherName& c : kTls12) {
        if (name == c.openssl) {
          unavailable->push_back(c.go);
          break;
        }
      }
    }
  }
  SSL_CTX_free(probe);
  ERR_clear_error();
  if (usable.empty() && !suites.tls12_openssl.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("none of the TLS cipher suites ",
                                                   absl::StrJoin(suites.go_names, ","),
                                                   " is available in this OpenSSL"));
  }
  if (usable.empty()) {
    // TLS 1.3 names only: no TLS 1.2 suite is left, so no TLS 1.2 handshake can succeed (as in Go).
    if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1) {
      return absl::InternalError("cannot require TLS 1.3");
    }
    return absl::OkStatus();
  }
  const std::string list = absl::StrJoin(usable, ":");
  if (SSL_CTX_set_cipher_list(ctx, list.c_str()) != 1) {
    ERR_clear_error();
    return absl::InternalError(absl::StrCat("OpenSSL refused the cipher list ", list));
  }
  return absl::OkStatus();
}

absl::Status CheckTlsCipherSuites(const TlsCipherSuites& suites, std::vector<std::string>* unavailable) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (ctx == nullptr) return absl::InternalError("SSL_CTX_new failed");
  absl::Status s = ApplyTlsCipherSuites(ctx, suites, unavailable);
  SSL_CTX_free(ctx);
  return s;
}

}  // namespace detcd::net
