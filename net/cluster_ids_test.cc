// etcd's well-known IDs for its default member and cluster, and for a three-member cluster as etcd's docs show it.
#include "net/cluster_ids.h"

#include "gtest/gtest.h"

namespace detcd::net {
namespace {

TEST(ClusterIdsTest, DefaultMemberHasEtcdsId) {
  const uint64_t member = EtcdMemberId({"http://localhost:2380"}, "etcd-cluster");
  EXPECT_EQ(IdHex(member), "8e9e05c52164694d");
  EXPECT_EQ(IdHex(EtcdClusterId({member})), "cdf818194e3a8c32");
}

TEST(ClusterIdsTest, PeerUrlOrderDoesNotMatterButTheTokenDoes) {
  const uint64_t a = EtcdMemberId({"http://10.0.0.1:2380", "http://10.0.0.2:2380"}, "t");
  EXPECT_EQ(a, EtcdMemberId({"http://10.0.0.2:2380", "http://10.0.0.1:2380"}, "t"));
  EXPECT_NE(a, EtcdMemberId({"http://10.0.0.1:2380", "http://10.0.0.2:2380"}, "u"));
  EXPECT_EQ(EtcdClusterId({1, 2, 3}), EtcdClusterId({3, 1, 2}));
  EXPECT_EQ(IdHex(0x1f), "1f");
}

}  // namespace
}  // namespace detcd::net
