#include "net/cluster_ids.h"

#include <openssl/evp.h>

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "base/check.h"

namespace detcd::net {

namespace {

uint64_t Sha1Prefix(const std::string& bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  DETCD_CHECK(EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha1(), nullptr) == 1 && len >= 8);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | digest[i];
  return v;
}

}  // namespace

uint64_t EtcdMemberId(std::vector<std::string> peer_urls, const std::string& cluster_token) {
  std::sort(peer_urls.begin(), peer_urls.end());
  return Sha1Prefix(absl::StrCat(absl::StrJoin(peer_urls, ""), cluster_token));
}

uint64_t EtcdClusterId(std::vector<uint64_t> member_ids) {
  std::sort(member_ids.begin(), member_ids.end());
  std::string bytes;
  for (uint64_t id : member_ids) {
    for (int shift = 56; shift >= 0; shift -= 8) bytes.push_back(static_cast<char>((id >> shift) & 0xff));
  }
  return Sha1Prefix(bytes);
}

std::string IdHex(uint64_t id) { return absl::StrCat(absl::Hex(id)); }

}  // namespace detcd::net
