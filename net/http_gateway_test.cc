// HttpGateway against a real single-member MemberRuntime (TEST_TMPDIR, real time) and its gRPC services in process,
// calling Handle directly: etcd 3.4's JSON (original field names, int64 as strings, bytes as base64), grpc-gateway's
// error bodies and statuses, /health, /version, /metrics, the /v3beta alias, 404 and 405, the streams.
#include "net/http_gateway.h"

#include "net/test_grpc_services.h"
#include "net/test_member.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"

namespace detcd::net {
namespace {

HttpRequest Request(const std::string& method, const std::string& path, const std::string& body = "") {
  HttpRequest r;
  r.method = method;
  r.target = path;
  r.path = path;
  r.body = body;
  return r;
}

bool Contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

class HttpGatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<MemberRuntime>> rt =
        MemberRuntime::Start(SingleMemberOptions(FreshTestDir(CurrentTestName())));
    ASSERT_TRUE(rt.ok()) << rt.status();
    runtime_ = std::move(*rt);
    GrpcServicesOptions so;
    so.member_name = "default";
    so.client_urls = {"http://localhost:2379"};
    so.peer_urls = {"http://localhost:2380"};
    services_ = TestGrpcServices::Start(runtime_.get(), so);
    ASSERT_NE(services_, nullptr);
    HttpGatewayOptions g;
    g.stream_poll_interval = absl::Milliseconds(20);
    g.grpc_channel = services_->channel();
    g.more_metrics = [](std::string* out) { out->append("# what the server adds (front end, transport)\n"); };
    g.cmdline = {"detcd", "--name=a b", "--x=\"<q>\""};
    g.grpc_metrics = grpc_metrics_;
    gateway_ = std::make_unique<HttpGateway>(runtime_.get(), g);
    // The first requests may find no leader yet: retry for a while, as a client does.
    for (int i = 0; i < 200; ++i) {
      if (!Contains(Post("/v3/kv/range", R"({"key":"cHJvYmU="})").body, "etcdserver: no leader")) break;
      absl::SleepFor(absl::Milliseconds(20));
    }
  }

  HttpResponse Post(const std::string& path, const std::string& body) {
    return gateway_->Handle(Request("POST", path, body));
  }

  void TearDown() override {
    gateway_.reset();
    if (services_ != nullptr) services_->Stop();
    if (runtime_ != nullptr) runtime_->Stop();
  }

  std::unique_ptr<MemberRuntime> runtime_;
  std::unique_ptr<TestGrpcServices> services_;
  std::unique_ptr<HttpGateway> gateway_;
  const std::shared_ptr<GrpcServerMetrics> grpc_metrics_ = std::make_shared<GrpcServerMetrics>();
};

TEST_F(HttpGatewayTest, PutThenRangeInEtcdJson) {
  HttpResponse put = Post("/v3/kv/put", R"({"key":"Zm9v","value":"YmFy"})");
  ASSERT_EQ(put.status, 200) << put.body;
  EXPECT_EQ(put.content_type, "application/json");
  EXPECT_TRUE(Contains(put.body, R"({"header":{"cluster_id":"193","member_id":"1","revision":"2","raft_term":")"))
      << put.body;

  HttpResponse range = Post("/v3/kv/range", R"({"key":"Zm9v","unknown_field":true})");
  ASSERT_EQ(range.status, 200) << range.body;
  EXPECT_TRUE(Contains(range.body, R"("revision":"2")")) << range.body;
  EXPECT_TRUE(Contains(range.body, R"("kvs":[{"key":"Zm9v","create_revision":"2","mod_revision":"2","version":"1",)"
                                   R"("value":"YmFy"}],"count":"1"})"))
      << range.body;

  // A miss omits kvs and count (defaults are not printed), as etcd's gateway does.
  HttpResponse miss = Post("/v3/kv/range", R"({"key":"bm9uZQ=="})");
  ASSERT_EQ(miss.status, 200);
  EXPECT_FALSE(Contains(miss.body, "kvs")) << miss.body;
  EXPECT_FALSE(Contains(miss.body, "count")) << miss.body;

  // /v3beta is /v3.
  HttpResponse beta = Post("/v3beta/kv/range", R"({"key":"Zm9v"})");
  EXPECT_EQ(beta.status, 200);
  EXPECT_TRUE(Contains(beta.body, R"("count":"1")")) << beta.body;

  // An empty body is an empty request: a range of the key "", which etcd refuses.
  HttpResponse empty = Post("/v3/kv/range", "");
  EXPECT_EQ(empty.status, 400);
  EXPECT_EQ(empty.body,
            R"({"error":"etcdserver: key is not provided","message":"etcdserver: key is not provided","code":3})");
}

TEST_F(HttpGatewayTest, TxnAndDeleteRange) {
  ASSERT_EQ(Post("/v3/kv/put", R"({"key":"Zm9v","value":"YmFy"})").status, 200);
  HttpResponse txn =
      Post("/v3/kv/txn", R"({"compare":[{"key":"Zm9v","target":"VALUE","result":"EQUAL","value":"YmFy"}],)"
                         R"("success":[{"request_put":{"key":"Zm9v","value":"YmF6"}}],)"
                         R"("failure":[{"request_range":{"key":"Zm9v"}}]})");
  ASSERT_EQ(txn.status, 200) << txn.body;
  EXPECT_TRUE(Contains(txn.body, R"("succeeded":true)")) << txn.body;
  EXPECT_TRUE(Contains(txn.body, R"("responses":[{"response_put":{"header":)")) << txn.body;

  HttpResponse failed =
      Post("/v3/kv/txn", R"({"compare":[{"key":"Zm9v","target":"VALUE","result":"EQUAL","value":"YmFy"}],)"
                         R"("failure":[{"request_range":{"key":"Zm9v"}}]})");
  ASSERT_EQ(failed.status, 200) << failed.body;
  EXPECT_FALSE(Contains(failed.body, "succeeded")) << failed.body;
  EXPECT_TRUE(Contains(failed.body, R"("value":"YmF6")")) << failed.body;

  HttpResponse del = Post("/v3/kv/deleterange", R"({"key":"Zm9v","prev_kv":true})");
  ASSERT_EQ(del.status, 200) << del.body;
  EXPECT_TRUE(Contains(del.body, R"("deleted":"1")")) << del.body;
  EXPECT_TRUE(Contains(del.body, R"("prev_kvs":[{"key":"Zm9v")")) << del.body;
}

TEST_F(HttpGatewayTest, LeaseGrantRevokeAndNotFound) {
  HttpResponse grant = Post("/v3/lease/grant", R"({"TTL":60,"ID":1234})");
  ASSERT_EQ(grant.status, 200) << grant.body;
  EXPECT_TRUE(Contains(grant.body, R"("ID":"1234","TTL":"60")")) << grant.body;

  HttpResponse ttl = Post("/v3/kv/lease/timetolive", R"({"ID":"1234"})");
  ASSERT_EQ(ttl.status, 200) << ttl.body;
  EXPECT_TRUE(Contains(ttl.body, R"("grantedTTL":"60")")) << ttl.body;

  HttpResponse leases = Post("/v3/lease/leases", "{}");
  ASSERT_EQ(leases.status, 200) << leases.body;
  EXPECT_TRUE(Contains(leases.body, R"("leases":[{"ID":"1234"}])")) << leases.body;

  HttpResponse keepalive = Post("/v3/lease/keepalive", R"({"ID":"1234"})");
  ASSERT_EQ(keepalive.status, 200) << keepalive.body;
  EXPECT_TRUE(Contains(keepalive.body, R"({"result":{"header":)")) << keepalive.body;
  // Handle gathers the whole stream: one line per JSON value of the body (braces inside strings are no values).
  HttpResponse two = Post("/v3beta/lease/keepalive", "{\"ID\":\"1234\",\"x\":\"}{\\\"\"}\n\t{\"ID\":\"1234\"}");
  ASSERT_EQ(two.status, 200) << two.body;
  EXPECT_EQ(std::count(two.body.begin(), two.body.end(), '\n'), 2) << two.body;
  EXPECT_TRUE(Contains(two.body, R"("ID":"1234","TTL":"60"}})"
                                 "\n{\"result\":"))
      << two.body;

  EXPECT_EQ(Post("/v3/lease/revoke", R"({"ID":"1234"})").status, 200);
  HttpResponse again = Post("/v3/kv/lease/revoke", R"({"ID":"1234"})");
  EXPECT_EQ(again.status, 404) << again.body;
  EXPECT_EQ(again.body, R"({"error":"etcdserver: requested lease not found",)"
                        R"("message":"etcdserver: requested lease not found","code":5})");
}

TEST_F(HttpGatewayTest, CompactedRevisionIsAnOutOfRangeError) {
  for (int i = 0; i < 3; ++i) ASSERT_EQ(Post("/v3/kv/put", R"({"key":"Zm9v","value":"YmFy"})").status, 200);
  HttpResponse compact = Post("/v3/kv/compaction", R"({"revision":"3","physical":true})");
  ASSERT_EQ(compact.status, 200) << compact.body;
  HttpResponse old = Post("/v3/kv/range", R"({"key":"Zm9v","revision":"2"})");
  EXPECT_EQ(old.status, 400);
  EXPECT_EQ(old.content_type, "application/json");
  EXPECT_EQ(old.body, R"({"error":"etcdserver: mvcc: required revision has been compacted",)"
                      R"("message":"etcdserver: mvcc: required revision has been compacted","code":11})");
}

TEST_F(HttpGatewayTest, MalformedJsonIsInvalidArgument) {
  HttpResponse bad = Post("/v3/kv/put", R"({"key":)");
  EXPECT_EQ(bad.status, 400);
  EXPECT_TRUE(Contains(bad.body, R"("code":3)")) << bad.body;
  HttpResponse wrong_type = Post("/v3/kv/put", R"({"key":12})");
  EXPECT_EQ(wrong_type.status, 400) << wrong_type.body;
}

TEST_F(HttpGatewayTest, MaintenanceStatusAndMemberList) {
  HttpResponse status = Post("/v3/maintenance/status", "{}");
  ASSERT_EQ(status.status, 200);
  EXPECT_TRUE(Contains(status.body, R"("version":"3.4.23")")) << status.body;
  EXPECT_TRUE(Contains(status.body, R"("leader":"1")")) << status.body;
  // The members as the log made them: the founding member, then what it published about itself.
  HttpResponse members = Post("/v3/cluster/member/list", "{}");
  ASSERT_EQ(members.status, 200);
  EXPECT_TRUE(Contains(members.body, R"("members":[{"ID":"1","name":"default","peerURLs":["http://localhost:2380"]}])"))
      << members.body;
  kvpb::ClientRequest publish;
  publish.mutable_member_attributes()->set_id(1);
  publish.mutable_member_attributes()->set_name("default");
  publish.mutable_member_attributes()->add_client_urls("http://localhost:2379");
  ASSERT_TRUE(runtime_->Call(publish, absl::Seconds(5)).status.ok());
  members = Post("/v3/cluster/member/list", "{}");
  EXPECT_TRUE(Contains(members.body, R"("members":[{"ID":"1","name":"default","peerURLs":["http://localhost:2380"],)"
                                     R"("clientURLs":["http://localhost:2379"]}])"))
      << members.body;
}

TEST_F(HttpGatewayTest, PlainEndpoints) {
  HttpResponse health = gateway_->Handle(Request("GET", "/health"));
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(health.body, R"({"health":"true"})");
  EXPECT_EQ(gateway_->Handle(Request("POST", "/health")).status, 405);

  HttpResponse version = gateway_->Handle(Request("GET", "/version"));
  EXPECT_EQ(version.status, 200);
  EXPECT_EQ(version.body, R"({"etcdserver":"3.4.23","etcdcluster":"3.4.0"})");

  ASSERT_EQ(Post("/v3/kv/put", R"({"key":"Zm9v","value":"YmFy"})").status, 200);
  HttpResponse metrics = gateway_->Handle(Request("GET", "/metrics"));
  EXPECT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.content_type, "text/plain; version=0.0.4; charset=utf-8");
  for (const char* line :
       {"etcd_server_has_leader 1\n", "etcd_server_is_leader 1\n", "etcd_server_leader_changes_seen_total 1\n",
        "etcd_debugging_mvcc_current_revision 2\n", "# TYPE etcd_server_proposals_committed_total gauge\n",
        "etcd_server_proposals_applied_total ", "etcd_mvcc_db_total_size_in_bytes ",
        "etcd_server_id{server_id=\"1\"} 1\n", "etcd_server_health_success 1\n"}) {
    EXPECT_TRUE(Contains(metrics.body, line)) << line << "\n" << metrics.body;
  }
  // The put was synced: the WAL fsync histogram counted it (cumulative buckets end at +Inf with the count).
  for (const char* line : {"# TYPE etcd_disk_wal_fsync_duration_seconds histogram\n",
                           "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"0.001\"} ",
                           "etcd_disk_wal_fsync_duration_seconds_bucket{le=\"8.192\"} ",
                           "etcd_disk_wal_fsync_duration_seconds_sum ", "etcd_server_is_learner 0\n"}) {
    EXPECT_TRUE(Contains(metrics.body, line)) << line << "\n" << metrics.body;
  }
  const size_t inf = metrics.body.find("etcd_disk_wal_fsync_duration_seconds_bucket{le=\"+Inf\"} ");
  ASSERT_NE(inf, std::string::npos);
  EXPECT_NE(metrics.body[inf + std::strlen("etcd_disk_wal_fsync_duration_seconds_bucket{le=\"+Inf\"} ")], '0');
  // The process collector's metrics, which etcdctl check datascale reads.
  for (const char* name : {"\nprocess_resident_memory_bytes ", "\nprocess_cpu_seconds_total ", "\nprocess_open_fds ",
                           "\nprocess_max_fds ", "\nprocess_start_time_seconds "}) {
    EXPECT_TRUE(Contains(metrics.body, name)) << name << "\n" << metrics.body;
  }
  const size_t rss = metrics.body.find("\nprocess_resident_memory_bytes ");
  ASSERT_NE(rss, std::string::npos);
  EXPECT_NE(metrics.body[rss + std::strlen("\nprocess_resident_memory_bytes ")], '0');
}

// A sample's value in Prometheus text: the line "<series> <value>" (-1 if absent).
double Sample(const std::string& text, const std::string& series) {
  const std::string start = "\n" + series + " ";
  const size_t at = text.find(start);
  if (at == std::string::npos) return -1;
  return std::strtod(text.c_str() + at + start.size(), nullptr);
}

// etcd's mvcc counters as its metricsTxnWrite counts them (every range of the store a request made — a transaction's
// compares included —, every put and delete, a transaction per request of more than one operation; each also under
// etcd_debugging_), the live keys, watch streams and watchers, the proposals, the quota.
TEST_F(HttpGatewayTest, MvccAndServerMetricsAsEtcdCountsThem) {
  const std::string before = gateway_->Handle(Request("GET", "/metrics")).body;
  for (const char* line :
       {"# HELP etcd_mvcc_put_total Total number of puts seen by this member.\n# TYPE etcd_mvcc_put_total counter\n",
        "# HELP etcd_debugging_mvcc_keys_total Total number of keys.\n# TYPE etcd_debugging_mvcc_keys_total gauge\n",
        "\netcd_debugging_mvcc_keys_total 0\n", "\netcd_debugging_mvcc_watcher_total 0\n",
        "\netcd_debugging_mvcc_watch_stream_total 0\n", "\netcd_server_proposals_pending 0\n",
        "\netcd_server_proposals_failed_total 0\n", "\netcd_server_heartbeat_send_failures_total 0\n",
        // etcd's default quota, written as the Go client writes a float.
        "\netcd_server_quota_backend_bytes 2.147483648e+09\n", "\netcd_debugging_mvcc_db_total_size_in_bytes ",
        "\n# what the server adds (front end, transport)\n"}) {
    EXPECT_TRUE(Contains(before, line)) << line << "\n" << before;
  }
  ASSERT_EQ(Post("/v3/kv/put", R"({"key":"Zm9v","value":"YmFy"})").status, 200);      // foo
  ASSERT_EQ(Post("/v3/kv/put", R"({"key":"Zm9vMg==","value":"YmFy"})").status, 200);  // foo2
  ASSERT_EQ(Post("/v3/kv/deleterange", R"({"key":"Zm9v"})").status, 200);
  ASSERT_EQ(Post("/v3/kv/range", R"({"key":"Zm9vMg=="})").status, 200);
  // One compare, a put and a range: three operations of one transaction.
  ASSERT_EQ(Post("/v3/kv/txn", R"({"compare":[{"key":"Zm9vMg==","target":"VERSION","version":"1"}],)"
                               R"("success":[{"request_put":{"key":"dA==","value":"dg=="}},)"
                               R"({"request_range":{"key":"dA=="}}]})")
                .status,
            200);
  const uint64_t stream = runtime_->OpenWatch([](const etcdserverpb::WatchResponse&) { return true; });
  etcdserverpb::WatchRequest create;
  create.mutable_create_request()->set_key("foo");
  runtime_->Watch(stream, create);
  const std::string after = gateway_->Handle(Request("GET", "/metrics")).body;
  for (const char* ns : {"etcd", "etcd_debugging"}) {
    const std::string n = ns;
    EXPECT_EQ(Sample(after, n + "_mvcc_put_total") - Sample(before, n + "_mvcc_put_total"), 3) << after;
    EXPECT_EQ(Sample(after, n + "_mvcc_delete_total") - Sample(before, n + "_mvcc_delete_total"), 1);
    EXPECT_EQ(Sample(after, n + "_mvcc_range_total") - Sample(before, n + "_mvcc_range_total"), 3);
    EXPECT_EQ(Sample(after, n + "_mvcc_txn_total") - Sample(before, n + "_mvcc_txn_total"), 1);
  }
  EXPECT_EQ(Sample(after, "etcd_debugging_mvcc_keys_total"), 2) << after;  // foo2 and t; foo was deleted
  EXPECT_EQ(Sample(after, "etcd_debugging_mvcc_watch_stream_total"), 1);
  EXPECT_EQ(Sample(after, "etcd_debugging_mvcc_watcher_total"), 1);
  EXPECT_EQ(Sample(after, "etcd_server_proposals_pending"), 0);
  EXPECT_GT(Sample(after, "etcd_debugging_mvcc_db_total_size_in_bytes"), 0);
  runtime_->CloseWatch(stream);
  const std::string closed = gateway_->Handle(Request("GET", "/metrics")).body;
  EXPECT_EQ(Sample(closed, "etcd_debugging_mvcc_watch_stream_total"), 0) << closed;
  EXPECT_EQ(Sample(closed, "etcd_debugging_mvcc_watcher_total"), 0);
}

// etcd's /debug/vars: Go's expvar JSON with etcd's variables — the command line, the descriptor limit, Raft's status
// as etcd marshals it (Go's memstats have no counterpart here).
TEST_F(HttpGatewayTest, DebugVarsAsEtcdServesThem) {
  HttpResponse vars = gateway_->Handle(Request("GET", "/debug/vars"));
  EXPECT_EQ(vars.status, 200);
  EXPECT_EQ(vars.content_type, "application/json; charset=utf-8");
  EXPECT_EQ(vars.body.rfind("{\n\"cmdline\": [\"detcd\",\"--name=a b\",\"--x=\\\"\\u003cq\\u003e\\\"\"],\n"
                            "\"file_descriptor_limit\": ",
                            0),
            0u)
      << vars.body;
  EXPECT_TRUE(Contains(vars.body, ",\n\"raft.status\": {\"id\":\"1\",\"term\":")) << vars.body;
  EXPECT_TRUE(Contains(vars.body, "\"lead\":\"1\",\"raftState\":\"StateLeader\",\"applied\":")) << vars.body;
  EXPECT_TRUE(Contains(vars.body, "\"progress\":{\"1\":{\"match\":")) << vars.body;
  EXPECT_TRUE(Contains(vars.body, "\"state\":\"StateReplicate\"}},\"leadtransferee\":\"0\"}\n}\n")) << vars.body;
  EXPECT_EQ(gateway_->Handle(Request("POST", "/debug/vars")).status, 405);
}

TEST_F(HttpGatewayTest, UnknownPathsAndMethods) {
  EXPECT_EQ(gateway_->Handle(Request("GET", "/nope")).status, 404);
  EXPECT_EQ(Post("/v3/kv/nope", "{}").status, 404);
  EXPECT_EQ(gateway_->Handle(Request("GET", "/v3/kv/range")).status, 405);
  // A watch never ends: Handle refuses it, ServeStream serves it.
  HttpResponse watch = Post("/v3/watch", "{}");
  EXPECT_EQ(watch.status, 501);
  EXPECT_TRUE(Contains(watch.body, R"("code":12)")) << watch.body;
  EXPECT_TRUE(HttpGateway::IsStream(Request("POST", "/v3/watch")));
  EXPECT_TRUE(HttpGateway::IsStream(Request("POST", "/v3beta/lease/keepalive")));
  EXPECT_FALSE(HttpGateway::IsStream(Request("GET", "/v3/watch")));
  EXPECT_FALSE(HttpGateway::IsStream(Request("POST", "/v3/kv/range")));
}

// What ServeStream hands its HttpStreamIo, recorded.
struct RecordedStream {
  std::optional<HttpResponse> response;
  int status = 0;
  std::vector<std::string> writes;
  std::atomic<bool> cancel{false};

  HttpStreamIo Io() {
    HttpStreamIo io;
    io.respond = [this](const HttpResponse& r) {
      response = r;
      return true;
    };
    io.write = [this](int s, const std::string& bytes) {
      if (writes.empty()) status = s;
      writes.push_back(bytes);
      return true;
    };
    io.cancelled = [this] { return cancel.load(); };
    return io;
  }
};

TEST_F(HttpGatewayTest, ServeStreamWatchUntilCancelledOrStopped) {
  RecordedStream bad;
  bad.cancel = true;  // the stream starts: end it at once
  gateway_->ServeStream(Request("POST", "/v3/watch", R"({"create_request":{"key":"Zm9v"}} nonsense)"), bad.Io());
  // Only a bad first value is an error response; a later one just ends the requests.
  EXPECT_FALSE(bad.response.has_value());

  RecordedStream garbage;
  gateway_->ServeStream(Request("POST", "/v3/watch", "[1,"), garbage.Io());
  ASSERT_TRUE(garbage.response.has_value());
  EXPECT_EQ(garbage.response->status, 500) << garbage.response->body;
  EXPECT_TRUE(Contains(garbage.response->body, R"("code":2})")) << garbage.response->body;

  // A stream runs until cancelled; the member stopping ends it with grpc-gateway's error chunk.
  RecordedStream stream;
  std::thread serving([&] {
    gateway_->ServeStream(Request("POST", "/v3/watch", R"({"create_request":{"key":"Zm9v"}})"), stream.Io());
  });
  absl::SleepFor(absl::Milliseconds(300));
  runtime_->Stop();
  serving.join();
  EXPECT_EQ(stream.status, 200);
  ASSERT_GE(stream.writes.size(), 2u);
  EXPECT_TRUE(Contains(stream.writes.front(), R"("created":true}})")) << stream.writes.front();
  EXPECT_EQ(stream.writes.back(), R"({"error":{"grpc_code":14,"http_code":503,)"
                                  R"("message":"etcdserver: server stopped","http_status":"Service Unavailable"}})");
  // Once stopped, a new stream is refused before it starts.
  RecordedStream late;
  gateway_->ServeStream(Request("POST", "/v3/watch", "{}"), late.Io());
  ASSERT_TRUE(late.response.has_value());
  EXPECT_EQ(late.response->status, 503);
}

TEST(HttpResponseTest, Serialize) {
  HttpResponse r;
  r.body = "{}";
  r.headers.emplace_back("Allow", "GET");
  EXPECT_EQ(SerializeHttpResponse(r, true),
            "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nAllow: GET\r\n\r\n{}");
  const std::string closing = SerializeHttpResponse(HttpParseErrorResponse(431, "too large"), false);
  EXPECT_EQ(closing.substr(0, closing.find("\r\n")), "HTTP/1.1 431 Request Header Fields Too Large");
  EXPECT_TRUE(Contains(closing, "Connection: close\r\n"));
  EXPECT_EQ(HttpStatusFromCode(absl::StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFromCode(absl::StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFromCode(absl::StatusCode::kDeadlineExceeded), 504);
}

}  // namespace
}  // namespace detcd::net

namespace detcd::net {
namespace {

// /v3/lock/* and /v3/election/* go through the member's own Lock and Election gRPC services, in process.
TEST_F(HttpGatewayTest, LockAndElectionThroughTheInProcessServer) {
  auto post = [this](const std::string& path, const std::string& body) { return Post(path, body); };

  HttpResponse grant = post("/v3/lease/grant", R"({"TTL":"30"})");
  ASSERT_EQ(grant.status, 200) << grant.body;
  const size_t at = grant.body.find("\"ID\":\"");
  ASSERT_NE(at, std::string::npos) << grant.body;
  const std::string lease = grant.body.substr(at + 6, grant.body.find('"', at + 6) - at - 6);

  HttpResponse lock = post("/v3/lock/lock", R"({"name":"bXlsb2Nr","lease":")" + lease + R"("})");  // "mylock"
  ASSERT_EQ(lock.status, 200) << lock.body;
  const size_t k = lock.body.find("\"key\":\"");
  ASSERT_NE(k, std::string::npos) << lock.body;
  const std::string key = lock.body.substr(k + 7, lock.body.find('"', k + 7) - k - 7);
  HttpResponse unlock = post("/v3/lock/unlock", R"({"key":")" + key + R"("})");
  EXPECT_EQ(unlock.status, 200) << unlock.body;

  HttpResponse campaign = post("/v3/election/campaign",
                               R"({"name":"ZWxlY3Rpb24=","lease":")" + lease + R"(","value":"djE="})");
  ASSERT_EQ(campaign.status, 200) << campaign.body;
  EXPECT_TRUE(Contains(campaign.body, "\"leader\":{")) << campaign.body;
  HttpResponse leader = post("/v3/election/leader", R"({"name":"ZWxlY3Rpb24="})");
  ASSERT_EQ(leader.status, 200) << leader.body;
  EXPECT_TRUE(Contains(leader.body, "\"value\":\"djE=\"")) << leader.body;
  HttpResponse none = post("/v3/election/leader", R"({"name":"bm9uZQ=="})");
  EXPECT_NE(none.status, 200);
  EXPECT_TRUE(Contains(none.body, "election: no leader")) << none.body;
  // Observe is a stream: the leader so far, then (the campaign resigned) the end of the stream.
  RecordedStream observe;
  std::thread observing([&] {
    gateway_->ServeStream(Request("POST", "/v3/election/observe", R"({"name":"ZWxlY3Rpb24="})"), observe.Io());
  });
  absl::SleepFor(absl::Milliseconds(300));
  observe.cancel = true;
  observing.join();
  EXPECT_FALSE(observe.response.has_value());
  ASSERT_GE(observe.writes.size(), 1u);
  EXPECT_TRUE(Contains(observe.writes.front(), R"({"result":{"header":)")) << observe.writes.front();
  EXPECT_TRUE(Contains(observe.writes.front(), "\"value\":\"djE=\"")) << observe.writes.front();
}

// Every /v3 method goes to the member's gRPC services: what they answer is what the gateway answers, auth included.
TEST_F(HttpGatewayTest, AuthAndHashComeFromTheServices) {
  ASSERT_EQ(Post("/v3/auth/user/add", R"({"name":"root","password":"pw"})").status, 200);
  HttpResponse auth = Post("/v3/auth/user/list", "{}");
  EXPECT_EQ(auth.status, 200) << auth.body;
  EXPECT_TRUE(Contains(auth.body, R"("users":["root"])")) << auth.body;
  ASSERT_EQ(Post("/v3/kv/put", R"({"key":"Zm9v","value":"YmFy"})").status, 200);
  HttpResponse hash = Post("/v3/maintenance/hash", R"({"revision":"1"})");
  ASSERT_EQ(hash.status, 200) << hash.body;
  EXPECT_TRUE(Contains(hash.body, R"("hash":)")) << hash.body;
  // etcd 3.4's path serves Maintenance.Hash (HashKV shares it but is matched second): no compaction revision, and
  // the hash is the whole state's, as a gRPC Hash call gives it.
  EXPECT_FALSE(Contains(hash.body, "compact_revision")) << hash.body;
  EXPECT_EQ(hash.body, Post("/v3/maintenance/hash", "{}").body);
}

// A lease keep-alive stream through the gateway: one result per request of the body, then the end.
TEST_F(HttpGatewayTest, LeaseKeepAliveAnswersEachRequestOfTheBody) {
  HttpResponse grant = Post("/v3/lease/grant", R"({"TTL":"30","ID":"77"})");
  ASSERT_EQ(grant.status, 200) << grant.body;
  RecordedStream keepalive;
  gateway_->ServeStream(Request("POST", "/v3/lease/keepalive", R"({"ID":"77"} {"ID":"77"} {"ID":"78"})"),
                        keepalive.Io());
  EXPECT_FALSE(keepalive.response.has_value());
  ASSERT_EQ(keepalive.writes.size(), 3u);
  EXPECT_TRUE(Contains(keepalive.writes[0], R"("ID":"77","TTL":"30")")) << keepalive.writes[0];
  EXPECT_FALSE(Contains(keepalive.writes[2], R"("TTL")")) << "an unknown lease has TTL 0: " << keepalive.writes[2];
}

// The gateway's calls count in grpc_server_* as the gRPC calls they are (etcd's gateway dials its own gRPC port):
// a put, a read of a compacted revision (OutOfRange), a stream of two keep-alives.
TEST_F(HttpGatewayTest, CallsCountAsTheGrpcCallsTheyBecome) {
  auto count = [&](GrpcMethodCounters& c) { return c.started.load(); };
  GrpcMethodCounters& put = grpc_metrics_->For(*FindGrpcMethod("/etcdserverpb.KV/Put"));
  GrpcMethodCounters& range = grpc_metrics_->For(*FindGrpcMethod("/etcdserverpb.KV/Range"));
  GrpcMethodCounters& keepalive = grpc_metrics_->For(*FindGrpcMethod("/etcdserverpb.Lease/LeaseKeepAlive"));
  const uint64_t puts = count(put), ranges = count(range);  // SetUp's probes
  const uint64_t ranges_ok = range.handled[0].load();
  ASSERT_EQ(Post("/v3/kv/put", R"({"key":"Zm9v","value":"YmFy"})").status, 200);
  ASSERT_EQ(Post("/v3/kv/put", R"({"key":"Zm9v","value":"YmF6"})").status, 200);
  ASSERT_EQ(Post("/v3/kv/compaction", R"({"revision":"3"})").status, 200);
  EXPECT_EQ(Post("/v3/kv/range", R"({"key":"Zm9v","revision":"2"})").status, 400);  // OutOfRange
  ASSERT_EQ(Post("/v3/kv/range", R"({"key":"Zm9v"})").status, 200);
  EXPECT_EQ(Post("/v3/kv/put", "{nope").status, 400);  // refused before any call, as grpc-gateway does
  EXPECT_EQ(count(put), puts + 2);
  EXPECT_EQ(put.msg_received.load(), puts + 2);
  EXPECT_EQ(put.handled[0].load(), puts + 2);
  EXPECT_EQ(count(range), ranges + 2);
  EXPECT_EQ(range.handled[11].load(), 1u);  // OutOfRange
  EXPECT_EQ(range.handled[0].load(), ranges_ok + 1);
  EXPECT_EQ(range.msg_sent.load(), ranges_ok + 1);
  ASSERT_EQ(Post("/v3/lease/grant", R"({"TTL":"60","ID":"77"})").status, 200);
  RecordedStream kept;
  gateway_->ServeStream(Request("POST", "/v3/lease/keepalive", R"({"ID":"77"} {"ID":"77"})"), kept.Io());
  ASSERT_EQ(kept.writes.size(), 2u);
  EXPECT_EQ(keepalive.started.load(), 1u);
  EXPECT_EQ(keepalive.msg_received.load(), 2u);
  EXPECT_EQ(keepalive.msg_sent.load(), 2u);
  EXPECT_EQ(keepalive.handled[0].load(), 1u);
}

}  // namespace
}  // namespace detcd::net
