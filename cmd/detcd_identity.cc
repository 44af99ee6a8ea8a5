#include "cmd/detcd_identity.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "net/peer_query.h"

namespace detcd {

namespace {

std::string IdsPath(const std::string& data_dir) { return data_dir + "/member/detcd-ids"; }

absl::Status SyncPath(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return absl::InternalError(absl::StrCat("open ", path, ": ", std::strerror(errno)));
  const int rc = ::fsync(fd);
  const int e = errno;
  ::close(fd);
  if (rc != 0) return absl::InternalError(absl::StrCat("fsync ", path, ": ", std::strerror(e)));
  return absl::OkStatus();
}

}  // namespace

absl::Status SaveMemberIds(const std::string& data_dir, const MemberIds& ids) {
  const std::string dir = data_dir + "/member";
  for (const std::string& d : {data_dir, dir}) {
    if (::mkdir(d.c_str(), 0700) != 0 && errno != EEXIST) {
      return absl::InternalError(absl::StrCat("mkdir ", d, ": ", std::strerror(errno)));
    }
  }
  const std::string path = IdsPath(data_dir);
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << absl::StrCat("member=", absl::Hex(ids.member_id), " cluster=", absl::Hex(ids.cluster_id), "\n");
    out.close();
    if (!out) return absl::InternalError(absl::StrCat("write ", tmp, " failed"));
  }
  if (absl::Status s = SyncPath(tmp, O_RDONLY); !s.ok()) return s;
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return absl::InternalError(absl::StrCat("rename ", tmp, ": ", std::strerror(errno)));
  }
  return SyncPath(dir, O_RDONLY | O_DIRECTORY);
}

absl::StatusOr<std::optional<MemberIds>> LoadMemberIds(const std::string& data_dir) {
  const std::string path = IdsPath(data_dir);
  std::ifstream in(path);
  if (!in) {
    if (errno == ENOENT) return std::optional<MemberIds>();
    return absl::InternalError(absl::StrCat("open ", path, ": ", std::strerror(errno)));
  }
  std::stringstream text;
  text << in.rdbuf();
  MemberIds ids;
  bool member = false;
  bool cluster = false;
  const std::string content = text.str();
  for (absl::string_view field : absl::StrSplit(absl::StripAsciiWhitespace(content), ' ', absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&field, "member=")) member = absl::SimpleHexAtoi(field, &ids.member_id);
    else if (absl::ConsumePrefix(&field, "cluster=")) cluster = absl::SimpleHexAtoi(field, &ids.cluster_id);
  }
  if (!member || !cluster || ids.member_id == 0) {
    return absl::DataLossError(absl::StrCat(path, " is malformed (want \"member=<hex> cluster=<hex>\")"));
  }
  return std::optional<MemberIds>(ids);
}

std::optional<net::PeerAddress> PeerAddressOf(const std::string& url) {
  absl::string_view rest = url;
  const bool tls = absl::ConsumePrefix(&rest, "https://");
  if (!tls && !absl::ConsumePrefix(&rest, "http://")) return std::nullopt;
  const size_t colon = rest.rfind(':');
  if (colon == absl::string_view::npos) return std::nullopt;
  std::string host(rest.substr(0, colon));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = 0;
  if (!absl::SimpleAtoi(rest.substr(colon + 1), &port) || port <= 0 || port > 65535) return std::nullopt;
  return net::PeerAddress{host, static_cast<uint16_t>(port), tls};
}

absl::StatusOr<kvpb::ClusterInfo> FetchCluster(const std::vector<net::PeerAddress>& peers, absl::Duration timeout,
                                               const net::PeerTls* tls) {
  std::vector<std::string> errors;
  for (const net::PeerAddress& p : peers) {
    absl::StatusOr<std::string> bytes = net::FetchClusterInfo(p, timeout, tls);
    kvpb::ClusterInfo info;
    if (bytes.ok() && info.ParseFromString(*bytes) && info.cluster_id() != 0) return info;
    errors.push_back(bytes.ok() ? absl::StrCat(p.host, ":", p.port, ": not a member's answer")
                                : std::string(bytes.status().message()));
  }
  return absl::UnavailableError(absl::StrCat("could not retrieve cluster information from the given URLs (",
                                             absl::StrJoin(errors, "; "), ")"));
}

absl::StatusOr<kvpb::Member> FindSelf(const kvpb::ClusterInfo& cluster, const std::vector<std::string>& peer_urls) {
  std::vector<std::string> want = peer_urls;
  std::sort(want.begin(), want.end());
  for (const kvpb::Member& m : cluster.members()) {
    std::vector<std::string> have(m.peer_urls().begin(), m.peer_urls().end());
    std::sort(have.begin(), have.end());
    if (have == want) return m;
  }
  return absl::FailedPreconditionError(
      absl::StrCat("error validating peerURLs ", absl::StrJoin(peer_urls, ","),
                   ": unmatched member while checking PeerURLs (no member of cluster ", absl::Hex(cluster.cluster_id()),
                   " has these peer URLs: add this member with `etcdctl member add` first)"));
}

}  // namespace detcd
