#include "net/tls_session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>

#include "absl/strings/str_cat.h"

namespace detcd::net {
namespace {

// A socket BIO that writes with MSG_NOSIGNAL: OpenSSL's own uses write(2), which raises SIGPIPE on a connection the
// peer reset, and a library must not change the process's signal disposition to avoid that.
int SocketOf(BIO* b) { return static_cast<int>(reinterpret_cast<intptr_t>(BIO_get_data(b))); }

int SocketWrite(BIO* b, const char* data, int len) {
  BIO_clear_retry_flags(b);
  for (;;) {
    const ssize_t n = ::send(SocketOf(b), data, static_cast<size_t>(len), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_write(b);
    return static_cast<int>(n);
  }
}

int SocketRead(BIO* b, char* out, int len) {
  BIO_clear_retry_flags(b);
  for (;;) {
    const ssize_t n = ::recv(SocketOf(b), out, static_cast<size_t>(len), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) BIO_set_retry_read(b);
    if (n == 0) BIO_set_flags(b, BIO_FLAGS_IN_EOF);  // what BIO_eof reports: OpenSSL tells an end from an error
    return static_cast<int>(n);
  }
}

long SocketCtrl(BIO* b, int cmd, long /*num*/, void* ptr) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:
      return 1;
    case BIO_CTRL_EOF:
      return BIO_test_flags(b, BIO_FLAGS_IN_EOF) != 0 ? 1 : 0;
    case BIO_C_GET_FD:
      if (ptr != nullptr) *static_cast<int*>(ptr) = SocketOf(b);
      return SocketOf(b);
    default:
      return 0;
  }
}

BIO_METHOD* SocketMethod() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "detcd tls socket");
    BIO_meth_set_write(m, SocketWrite);
    BIO_meth_set_read(m, SocketRead);
    BIO_meth_set_ctrl(m, SocketCtrl);
    BIO_meth_set_create(m, [](BIO* b) {
      BIO_set_init(b, 1);
      return 1;
    });
    return m;
  }();
  return method;
}

// Binds `ssl` to the socket; false if OpenSSL cannot allocate the BIO.
bool Bind(SSL* ssl, int fd) {
  BIO* b = BIO_new(SocketMethod());
  if (b == nullptr) return false;
  BIO_set_data(b, reinterpret_cast<void*>(static_cast<intptr_t>(fd)));
  SSL_set_bio(ssl, b, b);  // one reference for both directions, owned by ssl
  return true;
}

std::string OpensslReason(unsigned long e) {
  const char* r = ERR_reason_error_string(e);
  if (r != nullptr) return r;
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

// crypto/tls alert.go's names.
std::string GoAlert(int alert) {
  static const std::pair<int, const char*> kNames[] = {
      {0, "close notify"},
      {10, "unexpected message"},
      {20, "bad record MAC"},
      {21, "decryption failed"},
      {22, "record overflow"},
      {30, "decompression failure"},
      {40, "handshake failure"},
      {42, "bad certificate"},
      {43, "unsupported certificate"},
      {44, "revoked certificate"},
      {45, "expired certificate"},
      {46, "unknown certificate"},
      {47, "illegal parameter"},
      {48, "unknown certificate authority"},
      {49, "access denied"},
      {50, "error decoding message"},
      {51, "error decrypting message"},
      {70, "protocol version not supported"},
      {71, "insufficient security level"},
      {80, "internal error"},
      {86, "inappropriate fallback"},
      {90, "user canceled"},
      {100, "no renegotiation"},
      {109, "missing extension"},
      {110, "unsupported extension"},
      {112, "unrecognized name"},
      {116, "certificate required"},
      {120, "no application protocol"},
  };
  for (const auto& [code, name] : kNames) {
    if (code == alert) return name;
  }
  return absl::StrCat("alert(", alert, ")");
}

// crypto/x509's wording for a failed verification.
std::string GoVerifyError(SSL* ssl, long result) {
  switch (result) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return "x509: certificate signed by unknown authority";
    case X509_V_ERR_CERT_HAS_EXPIRED:
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "x509: certificate has expired or is not yet valid";
    case X509_V_ERR_INVALID_PURPOSE:
      return "x509: certificate specifies an incompatible key usage";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH: {
      X509_VERIFY_PARAM* param = SSL_get0_param(ssl);
      std::string host;
      if (char* ip = X509_VERIFY_PARAM_get1_ip_asc(param)) {
        host = ip;
        OPENSSL_free(ip);
      } else if (const char* name = X509_VERIFY_PARAM_get0_host(param, 0)) {
        host = name;
      }
      return absl::StrCat("x509: certificate is not valid for ", host);
    }
    default:
      return absl::StrCat("x509: ", X509_verify_cert_error_string(result));
  }
}

TlsStep Done(size_t bytes) {
  TlsStep s;
  s.kind = TlsStep::kDone;
  s.bytes = bytes;
  return s;
}

// What SSL_get_error said, for a call that returned `ret` with errno `saved_errno`. Clears the error queue.
TlsStep Outcome(SSL* ssl, int ret, int saved_errno) {
  TlsStep s;
  const int err = SSL_get_error(ssl, ret);
  switch (err) {
    case SSL_ERROR_WANT_READ:
      s.kind = TlsStep::kWantRead;
      break;
    case SSL_ERROR_WANT_WRITE:
      s.kind = TlsStep::kWantWrite;
      break;
    case SSL_ERROR_ZERO_RETURN:
      s.kind = TlsStep::kClosed;
      break;
    case SSL_ERROR_SYSCALL:
      if (ERR_peek_error() == 0) {
        s.kind = saved_errno == 0 ? TlsStep::kClosed : TlsStep::kFailed;
        if (saved_errno != 0) s.error = std::strerror(saved_errno);
        break;
      }
      [[fallthrough]];
    default: {
      const unsigned long e = ERR_peek_error();
      const int reason = ERR_GET_REASON(e);
      s.kind = TlsStep::kFailed;
      if (e == 0) {
        s.error = absl::StrCat("tls: error ", err);
      } else if (ERR_GET_LIB(e) != ERR_LIB_SSL) {
        s.error = absl::StrCat("tls: ", OpensslReason(e));
      } else if (reason == SSL_R_CERTIFICATE_VERIFY_FAILED) {
        const long result = SSL_get_verify_result(ssl);
        if (result == X509_V_ERR_CERT_REJECTED) {
          // An allowed CN / host name check refused it (net/tls_allowed_identity.h): etcd's words, either side.
          s.error = "client certificate authentication failed";
        } else {
          s.error = GoVerifyError(ssl, result);
          if (SSL_is_server(ssl)) s.error = absl::StrCat("tls: failed to verify client's certificate: ", s.error);
        }
      } else if (reason == SSL_R_PEER_DID_NOT_RETURN_A_CERTIFICATE) {
        s.error = "tls: client didn't provide a certificate";
      } else if (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_HTTP_REQUEST ||
                 reason == SSL_R_HTTPS_PROXY_REQUEST || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
                 reason == SSL_R_UNKNOWN_PROTOCOL || reason == SSL_R_RECORD_LENGTH_MISMATCH) {
        s.error = "tls: first record does not look like a TLS handshake";
      } else if (reason == SSL_R_NO_SHARED_CIPHER) {
        s.error = "tls: no cipher suite supported by both client and server";  // --cipher-suites left none in common
      } else if (reason == SSL_R_UNEXPECTED_EOF_WHILE_READING) {
        s.kind = TlsStep::kClosed;
      } else if (reason >= SSL_AD_REASON_OFFSET && reason < SSL_AD_REASON_OFFSET + 256) {
        s.error = absl::StrCat("remote error: tls: ", GoAlert(reason - SSL_AD_REASON_OFFSET));
        s.remote_alert = true;
      } else {
        s.error = absl::StrCat("tls: ", OpensslReason(e));
      }
      break;
    }
  }
  ERR_clear_error();
  return s;
}

}  // namespace

void TlsSessionFree::operator()(ssl_st* ssl) const { SSL_free(ssl); }

void TlsContextFree::operator()(ssl_ctx_st* ctx) const { SSL_CTX_free(ctx); }

TlsContext NewTlsContext(bool server) {
  TlsContext owned(SSL_CTX_new(server ? TLS_server_method() : TLS_client_method()));
  SSL_CTX* ctx = owned.get();
  if (ctx == nullptr) return nullptr;
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);  // etcd's minimum (pkg/transport baseConfig)
  // A remote that closes without close_notify has ended the connection (the protocol above tells a truncation).
  SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_read_ahead(ctx, 1);  // fewer reads per record; TlsHasPending tells what is buffered
  // Sessions are never resumed: keep none in memory. TLS 1.3 servers still send their
  // (stateless) session tickets, which clients read and drop.
  if (server) SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
  return owned;
}

absl::Status UseTlsCertificate(ssl_ctx_st* ctx, const std::string& cert_pem, const std::string& key_pem) {
  BIO* certs = BIO_new_mem_buf(cert_pem.data(), static_cast<int>(cert_pem.size()));
  BIO* key_bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  bool ok = certs != nullptr && key_bio != nullptr;
  X509* leaf = ok ? PEM_read_bio_X509(certs, nullptr, nullptr, nullptr) : nullptr;
  ok = leaf != nullptr && SSL_CTX_use_certificate(ctx, leaf) == 1;
  X509_free(leaf);
  while (ok) {
    X509* chain = PEM_read_bio_X509(certs, nullptr, nullptr, nullptr);
    if (chain == nullptr) break;
    if (SSL_CTX_add0_chain_cert(ctx, chain) != 1) {
      X509_free(chain);
      ok = false;
    }
  }
  ERR_clear_error();  // the read past the last certificate
  EVP_PKEY* key = ok ? PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr) : nullptr;
  ok = key != nullptr && SSL_CTX_use_PrivateKey(ctx, key) == 1 && SSL_CTX_check_private_key(ctx) == 1;
  EVP_PKEY_free(key);
  BIO_free(certs);
  BIO_free(key_bio);
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (!ok) return absl::InvalidArgumentError(absl::StrCat("tls: cannot use the certificate: ", OpensslReason(e)));
  return absl::OkStatus();
}

absl::Status TrustTlsCas(ssl_ctx_st* ctx, const std::string& ca_pem, bool name_them) {
  BIO* b = BIO_new_mem_buf(ca_pem.data(), static_cast<int>(ca_pem.size()));
  if (b == nullptr) return absl::InternalError("BIO_new_mem_buf");
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  int count = 0;
  while (X509* ca = PEM_read_bio_X509(b, nullptr, nullptr, nullptr)) {
    const bool ok = X509_STORE_add_cert(store, ca) == 1 && (!name_them || SSL_CTX_add_client_CA(ctx, ca) == 1);
    X509_free(ca);
    if (!ok) {
      BIO_free(b);
      ERR_clear_error();
      return absl::InvalidArgumentError("tls: cannot trust a CA certificate");
    }
    ++count;
  }
  BIO_free(b);
  ERR_clear_error();
  if (count == 0) return absl::InvalidArgumentError("no PEM certificate in it");
  return absl::OkStatus();
}

TlsSession NewTlsSession(ssl_ctx_st* ctx, int fd) {
  TlsSession ssl(SSL_new(ctx));
  if (ssl == nullptr || !Bind(ssl.get(), fd)) return nullptr;
  return ssl;
}

TlsStep TlsHandshake(ssl_st* ssl) {
  ERR_clear_error();
  errno = 0;
  const int rc = SSL_do_handshake(ssl);
  if (rc == 1) return Done(0);
  return Outcome(ssl, rc, errno);
}

TlsStep TlsRead(ssl_st* ssl, char* out, size_t len) {
  ERR_clear_error();
  errno = 0;
  size_t got = 0;
  const int rc = SSL_read_ex(ssl, out, len, &got);
  if (rc == 1) return Done(got);
  return Outcome(ssl, rc, errno);
}

TlsStep TlsWrite(ssl_st* ssl, const char* data, size_t len) {
  ERR_clear_error();
  errno = 0;
  size_t written = 0;
  const int rc = SSL_write_ex(ssl, data, len, &written);
  if (rc == 1) return Done(written);
  return Outcome(ssl, rc, errno);
}

bool TlsHasPending(ssl_st* ssl) { return SSL_has_pending(ssl) == 1 || SSL_pending(ssl) > 0; }

void TlsShutdown(ssl_st* ssl) {
  if (SSL_is_init_finished(ssl)) {
    ERR_clear_error();
    (void)SSL_shutdown(ssl);
  }
  ERR_clear_error();
}

std::string TlsServerName(ssl_st* ssl) {
  const char* name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name);
  return name == nullptr ? "" : name;
}

namespace {
int RejectedCertIndex() {
  static const int index = SSL_get_ex_new_index(
      0, nullptr, nullptr, nullptr,
      [](void* /*parent*/, void* ptr, CRYPTO_EX_DATA* /*ad*/, int /*idx*/, long /*argl*/, void* /*argp*/) {
        X509_free(static_cast<X509*>(ptr));
      });
  return index;
}
}  // namespace

void TlsKeepRejectedCertificate(ssl_st* ssl, x509_st* cert) {
  const int index = RejectedCertIndex();
  if (ssl == nullptr || cert == nullptr || index < 0 || SSL_get_ex_data(ssl, index) != nullptr) return;
  if (X509_up_ref(cert) != 1) return;
  if (SSL_set_ex_data(ssl, index, cert) != 1) X509_free(cert);
}

std::string TlsRejectedLine(const std::string& remote, const std::string& error, ssl_st* ssl, bool handshake_done) {
  std::string line = absl::StrCat("rejected connection from \"", remote, "\" (error \"", error, "\", ServerName \"",
                                  ssl == nullptr ? "" : TlsServerName(ssl), "\"");
  X509* cert = ssl == nullptr ? nullptr : SSL_get0_peer_certificate(ssl);
  if (cert == nullptr && ssl != nullptr) cert = static_cast<X509*>(SSL_get_ex_data(ssl, RejectedCertIndex()));
  // Go keeps the remote's certificates once they verified: etcd then names their SANs.
  if (cert != nullptr && (handshake_done || SSL_get_verify_result(ssl) == X509_V_ERR_CERT_REJECTED)) {
    std::string ips, dns;
    GENERAL_NAMES* names =
        static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
    for (int i = 0; names != nullptr && i < sk_GENERAL_NAME_num(names); ++i) {
      const GENERAL_NAME* gn = sk_GENERAL_NAME_value(names, i);
      if (gn->type == GEN_DNS) {
        const ASN1_STRING* v = gn->d.dNSName;
        absl::StrAppend(&dns, dns.empty() ? "" : " ", "\"",
                        std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(v)),
                                    static_cast<size_t>(std::max(0, ASN1_STRING_length(v)))),
                        "\"");
      } else if (gn->type == GEN_IPADD) {
        const ASN1_STRING* v = gn->d.iPAddress;
        char text[INET6_ADDRSTRLEN] = {0};
        const int len = ASN1_STRING_length(v);
        if ((len == 4 || len == 16) &&
            inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(v), text, sizeof(text)) != nullptr) {
          absl::StrAppend(&ips, ips.empty() ? "" : " ", "\"", text, "\"");
        }
      }
    }
    GENERAL_NAMES_free(names);
    ERR_clear_error();
    absl::StrAppend(&line, ", IPAddresses [", ips, "], DNSNames [", dns, "]");
  }
  return line + ")";
}

std::string TlsAlpnProtocol(ssl_st* ssl) {
  const unsigned char* proto = nullptr;
  unsigned int len = 0;
  SSL_get0_alpn_selected(ssl, &proto, &len);
  return proto == nullptr ? "" : std::string(reinterpret_cast<const char*>(proto), len);
}

}  // namespace detcd::net
