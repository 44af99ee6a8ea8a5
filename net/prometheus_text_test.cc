#include "net/prometheus_text.h"

#include <string>

#include "gtest/gtest.h"

namespace detcd::net {
namespace {

TEST(GoFloatTest, ShortestFormAsGoWritesIt) {
  EXPECT_EQ(GoFloat(0), "0");
  EXPECT_EQ(GoFloat(0.001), "0.001");
  EXPECT_EQ(GoFloat(0.0001), "0.0001");
  EXPECT_EQ(GoFloat(0.00005), "5e-05");
  EXPECT_EQ(GoFloat(3.2768), "3.2768");
  EXPECT_EQ(GoFloat(123456), "123456");
  EXPECT_EQ(GoFloat(2147483648.0), "2.147483648e+09");
  EXPECT_EQ(GoFloat(0.1 + 0.2), "0.30000000000000004");
}

TEST(DurationHistogramTest, EtcdDiskBucketsByDefault) {
  DurationHistogram h;
  ASSERT_EQ(h.buckets(), 14);
  EXPECT_EQ(GoFloat(h.UpperBound(0)), "0.001");
  EXPECT_EQ(GoFloat(h.UpperBound(13)), "8.192");
}

TEST(DurationHistogramTest, CountsEachObservationInItsBucketAndAboveTheLastOnlyInTheCount) {
  DurationHistogram h(0.0001, 16);  // etcd's peer round trip buckets, up to 3.2768 s
  h.Observe(0.00005);               // first bucket
  h.Observe(0.0001);                // on the bound: still the first
  h.Observe(0.00015);               // second
  h.Observe(10);                    // above every bound
  EXPECT_EQ(h.count(), 4u);
  EXPECT_EQ(h.CumulativeCount(0), 2u);
  EXPECT_EQ(h.CumulativeCount(1), 3u);
  EXPECT_EQ(h.CumulativeCount(15), 3u);
  EXPECT_DOUBLE_EQ(h.sum_seconds(), 0.00005 + 0.0001 + 0.00015 + 10);
}

TEST(DurationHistogramTest, SeriesInPrometheusTextWithLabels) {
  DurationHistogram h(0.0001, 16);
  h.Observe(0.0003);
  std::string out;
  h.AppendSeries("etcd_network_peer_round_trip_time_seconds", "To=\"2b\"", &out);
  EXPECT_NE(out.find("etcd_network_peer_round_trip_time_seconds_bucket{To=\"2b\",le=\"0.0002\"} 0\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("etcd_network_peer_round_trip_time_seconds_bucket{To=\"2b\",le=\"0.0004\"} 1\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("etcd_network_peer_round_trip_time_seconds_bucket{To=\"2b\",le=\"3.2768\"} 1\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("etcd_network_peer_round_trip_time_seconds_bucket{To=\"2b\",le=\"+Inf\"} 1\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("etcd_network_peer_round_trip_time_seconds_sum{To=\"2b\"} 0.0003\n"), std::string::npos) << out;
  EXPECT_NE(out.find("etcd_network_peer_round_trip_time_seconds_count{To=\"2b\"} 1\n"), std::string::npos) << out;

  std::string plain;
  DurationHistogram().AppendSeries("etcd_disk_wal_fsync_duration_seconds", "", &plain);
  EXPECT_NE(plain.find("etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.001\"} 0\n"), std::string::npos) << plain;
  EXPECT_NE(plain.find("etcd_disk_wal_fsync_duration_seconds_sum 0\n"), std::string::npos) << plain;
  EXPECT_NE(plain.find("etcd_disk_wal_fsync_duration_seconds_count 0\n"), std::string::npos) << plain;
}

}  // namespace
}  // namespace detcd::net
