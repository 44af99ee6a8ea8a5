// HttpGateway's /metrics (Prometheus' text format 0.0.4 with etcd 3.4's names, types, help texts and labels, for
// what MemberRuntime::Status() tells and what options.more_metrics adds) and /debug/vars (etcd's expvar JSON). See
// http_gateway.h.
#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "net/http_gateway.h"
#include "net/prometheus_text.h"

namespace detcd::net {

namespace {

// The Prometheus client's process collector, from /proc/self: what tools such as `etcdctl check datascale` read.
void AppendProcessMetrics(std::string* out) {
  auto metric = [out](const char* name, const char* type, const char* help, const std::string& value) {
    absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n", name, " ", value, "\n");
  };
  const long page = sysconf(_SC_PAGESIZE);
  const long ticks = sysconf(_SC_CLK_TCK);
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  // Fields after the command name (which may hold spaces): state is field 3; utime 14, stime 15, starttime 22,
  // vsize 23, rss 24.
  const size_t close = stat.rfind(')');
  if (close != std::string::npos && page > 0 && ticks > 0) {
    std::vector<std::string> f = absl::StrSplit(stat.substr(close + 2), ' ', absl::SkipEmpty());
    auto field = [&f](int n) -> double {  // n: the field's number in proc(5)
      double v = 0;
      const size_t i = static_cast<size_t>(n - 3);
      return i < f.size() && absl::SimpleAtod(f[i], &v) ? v : 0;
    };
    metric("process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
           absl::StrCat((field(14) + field(15)) / static_cast<double>(ticks)));
    metric("process_resident_memory_bytes", "gauge", "Resident memory size in bytes.",
           absl::StrCat(static_cast<uint64_t>(field(24)) * static_cast<uint64_t>(page)));
    metric("process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.",
           absl::StrCat(static_cast<uint64_t>(field(23))));
    std::ifstream uptime_file("/proc/uptime");
    double uptime = 0;
    uptime_file >> uptime;
    const double boot = absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()) - uptime;
    metric("process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
           absl::StrCat(static_cast<int64_t>(boot + field(22) / static_cast<double>(ticks))));
  }
  int fds = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (dirent* e = readdir(d)) fds += e->d_name[0] != '.' ? 1 : 0;
    closedir(d);
    metric("process_open_fds", "gauge", "Number of open file descriptors.", absl::StrCat(fds - 1));  // minus d's own
  }
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    metric("process_max_fds", "gauge", "Maximum number of open file descriptors.", absl::StrCat(limit.rlim_cur));
  }
}

}  // namespace

HttpResponse HttpGateway::Metrics() {
  const MemberStatus s = SampleStatus();
  uint64_t leader_changes, health_success, health_failures;
  {
    std::lock_guard<std::mutex> lock(mu_);
    leader_changes = leader_changes_seen_;
    health_success = health_success_;
    health_failures = health_failures_;
  }
  std::string out;
  auto metric = [&out](const char* name, const char* type, const char* help, const std::string& labels,
                       const std::string& value) {
    absl::StrAppend(&out, "# HELP ", name, " ", help, "\n# TYPE ", name, " ", type, "\n", name, labels, " ", value,
                    "\n");
  };
  char id_hex[32];
  std::snprintf(id_hex, sizeof id_hex, "%llx", static_cast<unsigned long long>(s.member_id));
  metric("etcd_cluster_version", "gauge",
         "Which version is running. 1 for 'cluster_version' label with current cluster version",
         absl::StrCat("{cluster_version=\"", options_.cluster_version.substr(0, options_.cluster_version.rfind('.')),
                      "\"}"),
         "1");
  metric("etcd_debugging_mvcc_current_revision", "gauge", "The current revision of store.", "",
         absl::StrCat(s.revision));
  metric("etcd_mvcc_db_total_size_in_bytes", "gauge",
         "Total size of the underlying database physically allocated in bytes.", "", absl::StrCat(s.db_size));
  metric("etcd_mvcc_db_total_size_in_use_in_bytes", "gauge",
         "Total size of the underlying database logically in use in bytes.", "", absl::StrCat(s.db_size));
  metric("etcd_server_has_leader", "gauge", "Whether or not a leader exists. 1 is existence, 0 is not.", "",
         s.leader != 0 ? "1" : "0");
  metric("etcd_server_health_failures", "counter", "The total number of failed health checks", "",
         absl::StrCat(health_failures));
  metric("etcd_server_health_success", "counter", "The total number of successful health checks", "",
         absl::StrCat(health_success));
  metric("etcd_server_id", "gauge",
         "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID.",
         absl::StrCat("{server_id=\"", id_hex, "\"}"), "1");
  metric("etcd_server_is_leader", "gauge", "Whether or not this member is a leader. 1 if is, 0 otherwise.", "",
         s.leader != 0 && s.leader == s.member_id ? "1" : "0");
  metric("etcd_server_is_learner", "gauge", "Whether or not this member is a learner. 1 if is, 0 otherwise.", "",
         s.is_learner ? "1" : "0");
  metric("etcd_server_leader_changes_seen_total", "counter", "The number of leader changes seen.", "",
         absl::StrCat(leader_changes));
  // etcd sets these from the commit and applied indexes too.
  metric("etcd_server_proposals_applied_total", "gauge", "The total number of consensus proposals applied.", "",
         absl::StrCat(s.applied_index));
  metric("etcd_server_proposals_committed_total", "gauge", "The total number of consensus proposals committed.", "",
         absl::StrCat(s.raft_index));
  metric("etcd_server_version", "gauge", "Which version is running. 1 for 'server_version' label with current version.",
         absl::StrCat("{server_version=\"", options_.version, "\"}"), "1");
  metric("etcd_server_proposals_pending", "gauge", "The current number of pending proposals to commit.", "",
         absl::StrCat(s.proposals_pending));
  metric("etcd_server_proposals_failed_total", "counter", "The total number of failed proposals seen.", "",
         absl::StrCat(s.proposals_failed));
  metric("etcd_server_quota_backend_bytes", "gauge", "Current backend storage quota size in bytes.", "",
         GoFloat(static_cast<double>(s.quota_bytes)));
  metric("etcd_server_heartbeat_send_failures_total", "counter",
         "The total number of leader heartbeat send failures (likely overloaded from slow disk).", "",
         absl::StrCat(s.heartbeat_send_failures));
  // etcd 3.4 counts each twice: etcd_mvcc_* and the older etcd_debugging_mvcc_* (removed in 3.5).
  for (const char* ns : {"etcd", "etcd_debugging"}) {
    const std::pair<const char*, uint64_t> ops[] = {{"delete_total", s.mvcc_ops.deletes},
                                                    {"put_total", s.mvcc_ops.puts},
                                                    {"range_total", s.mvcc_ops.ranges},
                                                    {"txn_total", s.mvcc_ops.txns}};
    for (const auto& [name, value] : ops) {
      const std::string full = absl::StrCat(ns, "_mvcc_", name);
      const std::string what = std::string(name).substr(0, std::string(name).find('_'));
      metric(full.c_str(), "counter", absl::StrCat("Total number of ", what, "s seen by this member.").c_str(), "",
             absl::StrCat(value));
    }
  }
  metric("etcd_debugging_mvcc_db_total_size_in_bytes", "gauge",
         "Total size of the underlying database physically allocated in bytes.", "", absl::StrCat(s.db_size));
  metric("etcd_debugging_mvcc_keys_total", "gauge", "Total number of keys.", "", absl::StrCat(s.keys));
  metric("etcd_debugging_mvcc_slow_watcher_total", "gauge", "Total number of unsynced slow watchers.", "",
         absl::StrCat(s.slow_watchers));
  metric("etcd_debugging_mvcc_watch_stream_total", "gauge", "Total number of watch streams.", "",
         absl::StrCat(s.watch_streams));
  metric("etcd_debugging_mvcc_watcher_total", "gauge", "Total number of watchers.", "", absl::StrCat(s.watchers));
  // etcd's disk histograms. detcd's backend is the in-memory store made durable by the WAL: its "commit" is the
  // member's apply of a batch of committed entries (MemberRuntime's apply rounds), so a slow one shows here as a slow
  // bbolt commit would in etcd.
  AppendMetricHeader("etcd_disk_backend_commit_duration_seconds", "histogram",
                     "The latency distributions of commit called by backend.", &out);
  s.backend_commit.AppendSeries("etcd_disk_backend_commit_duration_seconds", "", &out);
  AppendMetricHeader("etcd_disk_wal_fsync_duration_seconds", "histogram",
                     "The latency distributions of fsync called by WAL.", &out);
  s.wal_fsync.AppendSeries("etcd_disk_wal_fsync_duration_seconds", "", &out);
  metric("etcd_server_slow_apply_total", "counter",
         "The total number of slow apply requests (likely overloaded from slow disk).", "",
         absl::StrCat(s.slow_applies));
  if (options_.more_metrics) options_.more_metrics(&out);
  AppendProcessMetrics(&out);
  HttpResponse r;
  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
  r.body = std::move(out);
  return r;
}

// etcd 3.4's /debug/vars: Go's expvar variables as etcdhttp's serveVars writes them ("{\n", then "key": value pairs
// joined by ",\n" in key order, then "\n}\n"). Go's runtime memstats are left out: this process has no Go runtime
// to tell of.
HttpResponse HttpGateway::DebugVars() {
  std::vector<std::string> args = options_.cmdline;
  if (args.empty()) {
    std::ifstream f("/proc/self/cmdline");
    std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    args = absl::StrSplit(all, '\0', absl::SkipEmpty());
  }
  std::string cmdline = "[";
  for (size_t i = 0; i < args.size(); ++i) absl::StrAppend(&cmdline, i > 0 ? "," : "", JsonQuote(args[i]));
  cmdline += "]";
  rlimit limit{};
  const uint64_t fd_limit = getrlimit(RLIMIT_NOFILE, &limit) == 0 ? static_cast<uint64_t>(limit.rlim_cur) : 0;
  const MemberStatus s = runtime_->Status();
  HttpResponse r;
  r.content_type = "application/json; charset=utf-8";
  r.body = absl::StrCat("{\n\"cmdline\": ", cmdline, ",\n\"file_descriptor_limit\": ", fd_limit,
                        ",\n\"raft.status\": ", s.raft_status_json, "\n}\n");
  return r;
}

}  // namespace detcd::net
