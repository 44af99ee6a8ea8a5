// GrpcServerMetrics: the method table from etcd's service descriptors, and the Prometheus text (see
// grpc_server_metrics.h).
#include "net/grpc_server_metrics.h"

#include <google/protobuf/descriptor.h>

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "api/etcdserverpb/rpc.pb.h"
#include "api/v3electionpb/v3election.pb.h"
#include "api/v3lockpb/v3lock.pb.h"
#include "base/check.h"

namespace detcd::net {

namespace {

struct MethodTable {
  std::vector<GrpcMethod> methods;
  absl::flat_hash_map<std::string, const GrpcMethod*> by_path;
  std::vector<int> sorted;  // indexes in the Go client's series order: by method name, then service
};

const MethodTable& Table() {
  static const MethodTable* table = [] {
    auto* t = new MethodTable;
    // The generated descriptors, linked in by the services' messages named here.
    const google::protobuf::ServiceDescriptor* services[] = {
        etcdserverpb::RangeRequest::descriptor()->file()->FindServiceByName("KV"),
        etcdserverpb::RangeRequest::descriptor()->file()->FindServiceByName("Watch"),
        etcdserverpb::RangeRequest::descriptor()->file()->FindServiceByName("Lease"),
        etcdserverpb::RangeRequest::descriptor()->file()->FindServiceByName("Cluster"),
        etcdserverpb::RangeRequest::descriptor()->file()->FindServiceByName("Maintenance"),
        etcdserverpb::RangeRequest::descriptor()->file()->FindServiceByName("Auth"),
        v3lockpb::LockRequest::descriptor()->file()->FindServiceByName("Lock"),
        v3electionpb::CampaignRequest::descriptor()->file()->FindServiceByName("Election"),
    };
    for (const google::protobuf::ServiceDescriptor* s : services) {
      DETCD_CHECK_MSG(s != nullptr, "an etcd service missing from the descriptors");
      const bool preinitialized = s->file() == etcdserverpb::RangeRequest::descriptor()->file();
      for (int i = 0; i < s->method_count(); ++i) {
        const google::protobuf::MethodDescriptor* m = s->method(i);
        GrpcMethod g;
        g.index = static_cast<int>(t->methods.size());
        g.service = s->full_name();
        g.name = m->name();
        g.path = absl::StrCat("/", g.service, "/", g.name);
        g.type = m->client_streaming() ? (m->server_streaming() ? "bidi_stream" : "client_stream")
                                       : (m->server_streaming() ? "server_stream" : "unary");
        g.preinitialized = preinitialized;
        t->methods.push_back(std::move(g));
      }
    }
    // grpc.health.v1.Health (served by gRPC's default health service: no descriptor of it is linked in), which etcd
    // registers before grpc_prometheus.Register.
    for (const auto& [name, type] :
         {std::pair<const char*, const char*>{"Check", "unary"}, {"Watch", "server_stream"}}) {
      GrpcMethod g;
      g.index = static_cast<int>(t->methods.size());
      g.service = "grpc.health.v1.Health";
      g.name = name;
      g.path = absl::StrCat("/", g.service, "/", g.name);
      g.type = type;
      g.preinitialized = true;
      t->methods.push_back(std::move(g));
    }
    for (const GrpcMethod& m : t->methods) t->by_path[m.path] = &m;  // the vector is complete: no reallocation
    for (const GrpcMethod& m : t->methods) t->sorted.push_back(m.index);
    std::sort(t->sorted.begin(), t->sorted.end(), [t](int a, int b) {
      const GrpcMethod& x = t->methods[a];
      const GrpcMethod& y = t->methods[b];
      return x.name != y.name ? x.name < y.name : x.service < y.service;
    });
    return t;
  }();
  return *table;
}

constexpr const char* kCodeNames[kGrpcCodes] = {
    "OK",       "Canceled",       "Unknown",          "InvalidArgument",   "DeadlineExceeded",
    "NotFound", "AlreadyExists",  "PermissionDenied", "ResourceExhausted", "FailedPrecondition",
    "Aborted",  "OutOfRange",     "Unimplemented",    "Internal",          "Unavailable",
    "DataLoss", "Unauthenticated"};

// The codes by name, as the Go client orders grpc_code's values.
const std::vector<int>& CodesByName() {
  static const std::vector<int> codes = [] {
    std::vector<int> c;
    for (int i = 0; i < kGrpcCodes; ++i) c.push_back(i);
    std::sort(c.begin(), c.end(), [](int a, int b) { return std::strcmp(kCodeNames[a], kCodeNames[b]) < 0; });
    return c;
  }();
  return codes;
}

std::string Labels(const GrpcMethod& m) {
  return absl::StrCat("grpc_method=\"", m.name, "\",grpc_service=\"", m.service, "\",grpc_type=\"", m.type, "\"");
}

}  // namespace

const GrpcMethod* FindGrpcMethod(absl::string_view path) {
  const MethodTable& t = Table();
  auto it = t.by_path.find(path);
  return it == t.by_path.end() ? nullptr : it->second;
}

int GrpcMethodCount() { return static_cast<int>(Table().methods.size()); }

const GrpcMethod& GrpcMethodAt(int index) {
  DETCD_CHECK(index >= 0 && index < GrpcMethodCount());
  return Table().methods[static_cast<size_t>(index)];
}

const char* GrpcCodeName(int code) { return kCodeNames[code >= 0 && code < kGrpcCodes ? code : 2]; }

GrpcServerMetrics::GrpcServerMetrics()
    : counters_(std::make_unique<GrpcMethodCounters[]>(static_cast<size_t>(GrpcMethodCount()))) {}

void GrpcServerMetrics::AppendPrometheus(std::string* out) const {
  const MethodTable& t = Table();
  auto family = [out](const char* name, const char* help) {
    absl::StrAppend(out, "# HELP ", name, " ", help, "\n# TYPE ", name, " counter\n");
  };
  // A series is shown once it exists in etcd: from the start for the methods registered before grpc_prometheus
  // was, else once its count moved.
  family("grpc_server_handled_total",
         "Total number of RPCs completed on the server, regardless of success or failure.");
  for (int code : CodesByName()) {
    for (int i : t.sorted) {
      const GrpcMethod& m = t.methods[static_cast<size_t>(i)];
      const uint64_t v = counters_[i].handled[code].load(std::memory_order_relaxed);
      if (!m.preinitialized && v == 0) continue;
      absl::StrAppend(out, "grpc_server_handled_total{grpc_code=\"", kCodeNames[code], "\",", Labels(m), "} ", v, "\n");
    }
  }
  auto per_method = [&](const char* name, const char* help, std::atomic<uint64_t> GrpcMethodCounters::*field) {
    family(name, help);
    for (int i : t.sorted) {
      const GrpcMethod& m = t.methods[static_cast<size_t>(i)];
      const uint64_t v = (counters_[i].*field).load(std::memory_order_relaxed);
      if (!m.preinitialized && v == 0) continue;
      absl::StrAppend(out, name, "{", Labels(m), "} ", v, "\n");
    }
  };
  per_method("grpc_server_msg_received_total", "Total number of RPC stream messages received on the server.",
             &GrpcMethodCounters::msg_received);
  per_method("grpc_server_msg_sent_total", "Total number of gRPC stream messages sent by the server.",
             &GrpcMethodCounters::msg_sent);
  per_method("grpc_server_started_total", "Total number of RPCs started on the server.", &GrpcMethodCounters::started);
}

}  // namespace detcd::net
