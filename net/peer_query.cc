#include "net/peer_query.h"

#include <errno.h>
#include <netdb.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "net/byte_stream.h"
#include "net/peer_wire.h"

namespace detcd::net {

using namespace peer_wire;  // NOLINT: the wire format

namespace {

// Connects, sends `question`, reads the answer (one frame) until the peer closes; `what` names the answer in errors.
// round_trip (optional): the time from sending the question until the whole answer was read (the connection's and
// TLS handshake's time left out).
absl::StatusOr<std::string> Ask(const PeerAddress& address, absl::Duration timeout, const PeerTls* tls,
                                const std::string& question, const std::string& what,
                                absl::Duration* round_trip = nullptr) {
  const std::string where = absl::StrCat(address.host, ":", address.port);
  if (address.tls && tls == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("https://", where, " needs peer TLS (--peer-cert-file/--peer-key-file or --peer-auto-tls)"));
  }
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = ::getaddrinfo(address.host.c_str(), std::to_string(address.port).c_str(), &hints, &found); rc != 0) {
    return absl::UnavailableError(absl::StrCat("cannot resolve ", address.host, ": ", gai_strerror(rc)));
  }
  const int fd = ::socket(found->ai_family, found->ai_socktype | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    ::freeaddrinfo(found);
    return absl::UnavailableError(std::strerror(errno));
  }
  timeval tv{};
  const int64_t us = absl::ToInt64Microseconds(timeout);
  tv.tv_sec = us / 1'000'000;
  tv.tv_usec = us % 1'000'000;
  (void)::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  (void)::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  const int rc = ::connect(fd, found->ai_addr, found->ai_addrlen);
  ::freeaddrinfo(found);
  if (rc != 0) {
    const std::string why = std::strerror(errno);
    ::close(fd);
    return absl::UnavailableError(absl::StrCat("dial tcp ", where, ": ", why));
  }
  // On this blocking socket, a step that "would block" has timed out.
  TlsSession session;
  if (address.tls) {
    session = tls->Connect(fd, address.host);
    if (session == nullptr) {
      ::close(fd);
      return absl::UnavailableError(absl::StrCat("TLS handshake with ", where, ": no TLS session"));
    }
  }
  ByteStream stream(fd, std::move(session));
  const StreamStep handshake = stream.Handshake();
  if (handshake.kind != StreamStep::kDone) {
    const std::string why = handshake.kind == StreamStep::kClosed   ? "EOF"
                            : handshake.kind == StreamStep::kFailed ? handshake.error
                                                                    : "i/o timeout";
    return absl::UnavailableError(absl::StrCat("TLS handshake with ", where, ": ", why));
  }
  if (address.tls) {  // the allowed CN / host name of the member asked (etcd checks it on every dial)
    if (absl::Status st = tls->CheckConnected(stream.session()); !st.ok()) {
      return absl::UnavailableError(absl::StrCat("TLS handshake with ", where, ": ", st.message()));
    }
  }
  std::string in;
  std::string read_error;
  // TLS: one record, written whole or not at all.
  const absl::Time asked = absl::Now();
  const StreamStep sent = stream.Write(question.data(), question.size());
  if (sent.kind == StreamStep::kDone && sent.bytes == question.size()) {
    char buf[16384];
    while (in.size() <= kInfoBytesMax + kFrameHeaderBytes) {
      const StreamStep s = stream.Read(buf, sizeof(buf));
      if (s.kind != StreamStep::kDone) {
        read_error = s.error;
        break;
      }
      in.append(buf, s.bytes);
    }
  }
  if (round_trip != nullptr) *round_trip = absl::Now() - asked;
  stream.Close();
  if (in.rfind(kRefusedPrefix, 0) == 0) {  // e.g. a plain question to a TLS port
    std::string said = in.substr(sizeof(kRefusedPrefix) - 1);
    while (!said.empty() && said.back() == '\n') said.pop_back();
    return absl::UnavailableError(absl::StrCat(where, " refused: ", said));
  }
  if (in.size() < kFrameHeaderBytes) {
    return absl::UnavailableError(
        absl::StrCat("no ", what, " from ", where, read_error.empty() ? "" : absl::StrCat(" (", read_error, ")")));
  }
  const uint32_t len = GetU32(in.data());
  if (len > kInfoBytesMax || in.size() != kFrameHeaderBytes + len) {
    return absl::UnavailableError(absl::StrCat("malformed ", what, " from ", where));
  }
  return in.substr(kFrameHeaderBytes);
}

}  // namespace

absl::StatusOr<std::string> FetchClusterInfo(const PeerAddress& address, absl::Duration timeout, const PeerTls* tls) {
  return Ask(address, timeout, tls, std::string(kInfoMagic, kMagicBytes), "cluster information");
}

std::string EncodeHashKVAnswer(const absl::StatusOr<etcdserverpb::HashKVResponse>& answer) {
  if (!answer.ok()) return absl::StrCat(kHashErrorPrefix, answer.status().message());
  return answer->SerializeAsString();
}

absl::StatusOr<absl::Duration> ProbePeer(const PeerAddress& address, absl::Duration timeout, const PeerTls* tls) {
  absl::Duration round_trip;
  absl::StatusOr<std::string> answer =
      Ask(address, timeout, tls, std::string(kPingMagic, kMagicBytes), "probe answer", &round_trip);
  if (!answer.ok()) return answer.status();
  if (!answer->empty()) return absl::UnavailableError(absl::StrCat("malformed probe answer from ", address.host));
  return round_trip;
}

absl::StatusOr<etcdserverpb::HashKVResponse> FetchPeerHashKV(const PeerAddress& address, int64_t revision,
                                                             absl::Duration timeout, const PeerTls* tls) {
  std::string question(kHashMagic, kMagicBytes);
  question.resize(kMagicBytes + 8);
  PutU64(question.data() + kMagicBytes, static_cast<uint64_t>(revision));
  absl::StatusOr<std::string> answer = Ask(address, timeout, tls, question, "hash");
  if (!answer.ok()) return answer.status();
  if (answer->rfind(kHashErrorPrefix, 0) == 0) {
    // The peer's own error (etcd's text): a revision it does not have yet, or one compacted away.
    return absl::OutOfRangeError(answer->substr(sizeof(kHashErrorPrefix) - 1));
  }
  etcdserverpb::HashKVResponse r;
  if (!r.ParseFromString(*answer)) {
    return absl::UnavailableError(absl::StrCat("malformed hash from ", address.host, ":", address.port));
  }
  return r;
}

}  // namespace detcd::net
