// HttpGateway: etcd 3.4's JSON gateway over the member's gRPC services, and its plain HTTP endpoints (see
// http_gateway.h).
#include "net/http_gateway.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "api/etcdserverpb/rpc.pb.h"
#include "api/kv_request.pb.h"
#include "api/v3electionpb/v3election.pb.h"
#include "api/v3lockpb/v3lock.pb.h"
#include "base/check.h"
#include "net/grpc_generic_call.h"

namespace detcd::net {

namespace {

using google::protobuf::Message;
using google::protobuf::MethodDescriptor;

constexpr char kTextPlain[] = "text/plain; charset=utf-8";

}  // namespace

std::string JsonQuote(const std::string& s) {
  std::string out = "\"";
  for (const char ch : s) {
    const unsigned char c = ch;
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20 || c == '<' || c == '>' || c == '&') {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += ch;
        }
    }
  }
  out += "\"";
  return out;
}

namespace {

// The grpc-gateway etcd 3.4 serves with, runtime.DefaultHTTPError: its errorBody {error, message, code, details}
// marshaled in that order (empty details omitted), as Debian's etcd 3.4.23 answers.
HttpResponse ErrorResponse(const absl::Status& status) {
  DETCD_CHECK(!status.ok());
  HttpResponse r;
  r.status = HttpStatusFromCode(status.code());
  const std::string message(status.message());
  r.body = absl::StrCat("{\"error\":", JsonQuote(message), ",\"message\":", JsonQuote(message),
                        ",\"code\":", static_cast<int>(status.code()), "}");
  return r;
}

// Go's http.Error: a plain-text line.
HttpResponse PlainError(int status, const std::string& text) {
  HttpResponse r;
  r.status = status;
  r.content_type = kTextPlain;
  r.headers.emplace_back("X-Content-Type-Options", "nosniff");
  r.body = text + "\n";
  return r;
}

HttpResponse MethodNotAllowed(const char* allow) {
  HttpResponse r = PlainError(405, "Method Not Allowed");
  if (allow != nullptr) r.headers.emplace_back("Allow", allow);
  return r;
}

// etcd 3.4's gateway marshaler: gw.JSONPb{OrigName: true} (EmitDefaults false, enums as names).
absl::Status MessageJson(const Message& m, std::string* json) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = false;
  const auto st = google::protobuf::util::MessageToJsonString(m, json, options);
  if (!st.ok()) return absl::InternalError(std::string(st.message().data(), st.message().size()));
  return absl::OkStatus();
}

HttpResponse JsonResponse(const Message& m) {
  HttpResponse r;
  if (absl::Status s = MessageJson(m, &r.body); !s.ok()) return ErrorResponse(s);
  return r;
}

// One message of a server stream as grpc-gateway 1.x's ForwardResponseStream writes it: {"result":…} and the
// JSONPb marshaler's delimiter, a newline.
absl::Status StreamResultChunk(const Message& m, std::string* chunk) {
  std::string json;
  if (absl::Status s = MessageJson(m, &json); !s.ok()) return s;
  *chunk = absl::StrCat("{\"result\":", json, "}\n");
  return absl::OkStatus();
}

// The error that ends a server stream (grpc-gateway 1.x's errorChunk of DefaultHTTPStreamErrorHandler's
// StreamError, which is written without a delimiter).
std::string StreamErrorChunk(const absl::Status& status) {
  DETCD_CHECK(!status.ok());
  const int http_code = HttpStatusFromCode(status.code());
  std::string out =
      absl::StrCat("{\"error\":{\"grpc_code\":", static_cast<int>(status.code()), ",\"http_code\":", http_code);
  if (!status.message().empty()) absl::StrAppend(&out, ",\"message\":", JsonQuote(std::string(status.message())));
  absl::StrAppend(&out, ",\"http_status\":", JsonQuote(HttpStatusText(http_code)), "}}");
  return out;
}

// The request body into `m`; an empty body is an empty request (grpc-gateway treats io.EOF so). Unknown fields are
// ignored, as by grpc-gateway 1.x's JSONPb unmarshaler.
absl::Status ParseJson(const std::string& body, Message* m) {
  if (std::all_of(body.begin(), body.end(), [](char c) { return absl::ascii_isspace(c); })) return absl::OkStatus();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const auto st = google::protobuf::util::JsonStringToMessage(body, m, options);
  if (!st.ok()) return absl::InvalidArgumentError(std::string(st.message().data(), st.message().size()));
  return absl::OkStatus();
}

// The next request of a streamed body into `m`. grpc-gateway reads such a body with a json.Decoder: JSON values one
// after another, whitespace between them optional. False at the end of the body. A bad value is an error that
// grpc-gateway passes on as it is (not as a gRPC status), hence codes.Unknown.
absl::StatusOr<bool> NextStreamRequest(const std::string& body, size_t* pos, Message* m) {
  size_t i = *pos;
  while (i < body.size() && absl::ascii_isspace(body[i])) ++i;
  if (i == body.size()) {
    *pos = i;
    return false;
  }
  const size_t start = i;
  bool complete = false;
  if (body[i] == '{' || body[i] == '[') {
    int depth = 0;
    bool in_string = false;
    for (; i < body.size() && !complete; ++i) {
      const char c = body[i];
      if (in_string) {
        if (c == '\\') {
          ++i;
        } else if (c == '"') {
          in_string = false;
        }
      } else if (c == '"') {
        in_string = true;
      } else if (c == '{' || c == '[') {
        ++depth;
      } else if (c == '}' || c == ']') {
        complete = --depth == 0;
      }
    }
  } else {
    // A scalar: not a message, so the parse below refuses it; only its extent matters.
    while (i < body.size() && !absl::ascii_isspace(body[i]) && body[i] != '{' && body[i] != '[') ++i;
    complete = true;
  }
  *pos = body.size();  // after an error nothing more is read
  if (!complete) return absl::UnknownError("unexpected EOF");
  m->Clear();
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;
  const auto st = google::protobuf::util::JsonStringToMessage(body.substr(start, i - start), m, options);
  if (!st.ok()) return absl::UnknownError(std::string(st.message().data(), st.message().size()));
  *pos = i;
  return true;
}


std::string V3Path(const std::string& path) {
  // etcd 3.4 still serves the deprecated /v3beta prefix as /v3.
  return path.rfind("/v3beta/", 0) == 0 ? absl::StrCat("/v3/", path.substr(8)) : path;
}

// etcd 3.4's google.api.http bindings (all "post", body "*"): path → the gRPC method that serves it.
// What grpc-gateway passes on to the gRPC call from an HTTP request's headers: Authorization (etcd takes its value as
// the auth token) and every "Grpc-Metadata-<key>" header as <key>; header names case-insensitive, keys lower-case.
GrpcMetadata ForwardedMetadata(const HttpRequest& request) {
  GrpcMetadata md;
  const std::string kPrefix = "grpc-metadata-";
  for (const auto& [name, value] : request.headers) {
    const std::string lower = absl::AsciiStrToLower(name);
    if (lower == "authorization") {
      md.emplace_back(lower, value);
    } else if (lower.size() > kPrefix.size() && lower.compare(0, kPrefix.size(), kPrefix) == 0 &&
               lower.compare(kPrefix.size(), 6, "detcd-") != 0) {  // detcd's own keys are never a client's
      md.emplace_back(lower.substr(kPrefix.size()), value);
    }
  }
  return md;
}

const std::map<std::string, std::string>& Routes() {
  static const auto* routes = new std::map<std::string, std::string>{
      {"/v3/kv/range", "etcdserverpb.KV.Range"},
      {"/v3/kv/put", "etcdserverpb.KV.Put"},
      {"/v3/kv/deleterange", "etcdserverpb.KV.DeleteRange"},
      {"/v3/kv/txn", "etcdserverpb.KV.Txn"},
      {"/v3/kv/compaction", "etcdserverpb.KV.Compact"},
      {"/v3/watch", "etcdserverpb.Watch.Watch"},
      {"/v3/lease/grant", "etcdserverpb.Lease.LeaseGrant"},
      {"/v3/lease/revoke", "etcdserverpb.Lease.LeaseRevoke"},
      {"/v3/kv/lease/revoke", "etcdserverpb.Lease.LeaseRevoke"},
      {"/v3/lease/keepalive", "etcdserverpb.Lease.LeaseKeepAlive"},
      {"/v3/lease/timetolive", "etcdserverpb.Lease.LeaseTimeToLive"},
      {"/v3/kv/lease/timetolive", "etcdserverpb.Lease.LeaseTimeToLive"},
      {"/v3/lease/leases", "etcdserverpb.Lease.LeaseLeases"},
      {"/v3/kv/lease/leases", "etcdserverpb.Lease.LeaseLeases"},
      {"/v3/cluster/member/add", "etcdserverpb.Cluster.MemberAdd"},
      {"/v3/cluster/member/remove", "etcdserverpb.Cluster.MemberRemove"},
      {"/v3/cluster/member/update", "etcdserverpb.Cluster.MemberUpdate"},
      {"/v3/cluster/member/list", "etcdserverpb.Cluster.MemberList"},
      {"/v3/cluster/member/promote", "etcdserverpb.Cluster.MemberPromote"},
      {"/v3/maintenance/alarm", "etcdserverpb.Maintenance.Alarm"},
      {"/v3/maintenance/status", "etcdserverpb.Maintenance.Status"},
      {"/v3/maintenance/defragment", "etcdserverpb.Maintenance.Defragment"},
      // Hash and HashKV share this path in 3.4; the grpc-gateway 1.x mux etcd 3.4 serves with matches the one
      // registered first, Hash (Debian's etcd 3.4.23 answers {header, hash} there and ignores a revision).
      {"/v3/maintenance/hash", "etcdserverpb.Maintenance.Hash"},
      {"/v3/maintenance/snapshot", "etcdserverpb.Maintenance.Snapshot"},
      {"/v3/maintenance/transfer-leadership", "etcdserverpb.Maintenance.MoveLeader"},
      {"/v3/auth/enable", "etcdserverpb.Auth.AuthEnable"},
      {"/v3/auth/disable", "etcdserverpb.Auth.AuthDisable"},
      {"/v3/auth/authenticate", "etcdserverpb.Auth.Authenticate"},
      {"/v3/auth/user/add", "etcdserverpb.Auth.UserAdd"},
      {"/v3/auth/user/get", "etcdserverpb.Auth.UserGet"},
      {"/v3/auth/user/list", "etcdserverpb.Auth.UserList"},
      {"/v3/auth/user/delete", "etcdserverpb.Auth.UserDelete"},
      {"/v3/auth/user/changepw", "etcdserverpb.Auth.UserChangePassword"},
      {"/v3/auth/user/grant", "etcdserverpb.Auth.UserGrantRole"},
      {"/v3/auth/user/revoke", "etcdserverpb.Auth.UserRevokeRole"},
      {"/v3/auth/role/add", "etcdserverpb.Auth.RoleAdd"},
      {"/v3/auth/role/get", "etcdserverpb.Auth.RoleGet"},
      {"/v3/auth/role/list", "etcdserverpb.Auth.RoleList"},
      {"/v3/auth/role/delete", "etcdserverpb.Auth.RoleDelete"},
      {"/v3/auth/role/grant", "etcdserverpb.Auth.RoleGrantPermission"},
      {"/v3/auth/role/revoke", "etcdserverpb.Auth.RoleRevokePermission"},
      {"/v3/lock/lock", "v3lockpb.Lock.Lock"},
      {"/v3/lock/unlock", "v3lockpb.Lock.Unlock"},
      {"/v3/election/campaign", "v3electionpb.Election.Campaign"},
      {"/v3/election/proclaim", "v3electionpb.Election.Proclaim"},
      {"/v3/election/leader", "v3electionpb.Election.Leader"},
      {"/v3/election/observe", "v3electionpb.Election.Observe"},
      {"/v3/election/resign", "v3electionpb.Election.Resign"},
  };
  return *routes;
}

// The method serving a /v3 path (after the /v3beta alias), or null. Looked up in the descriptor pool once.
const MethodDescriptor* RouteMethod(const std::string& path) {
  static const auto* methods = [] {
    auto* m = new std::map<std::string, const MethodDescriptor*>();
    for (const auto& [route, name] : Routes()) {
      const MethodDescriptor* d = google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(name);
      DETCD_CHECK_MSG(d != nullptr, name.c_str());
      (*m)[route] = d;
    }
    return m;
  }();
  const auto it = methods->find(path);
  return it == methods->end() ? nullptr : it->second;
}

// "/etcdserverpb.KV/Range": the method's name on the wire.
std::string WireName(const MethodDescriptor* m) { return absl::StrCat("/", m->service()->full_name(), "/", m->name()); }

bool Streaming(const MethodDescriptor* m) { return m->client_streaming() || m->server_streaming(); }

std::unique_ptr<Message> NewMessage(const google::protobuf::Descriptor* d) {
  const Message* prototype = google::protobuf::MessageFactory::generated_factory()->GetPrototype(d);
  DETCD_CHECK(prototype != nullptr);
  return std::unique_ptr<Message>(prototype->New());
}

absl::Status FromGrpc(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

}  // namespace

int HttpStatusFromCode(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kOk:
      return 200;
    case absl::StatusCode::kCancelled:
      return 408;
    case absl::StatusCode::kUnknown:
      return 500;
    case absl::StatusCode::kInvalidArgument:
      return 400;
    case absl::StatusCode::kDeadlineExceeded:
      return 504;
    case absl::StatusCode::kNotFound:
      return 404;
    case absl::StatusCode::kAlreadyExists:
      return 409;
    case absl::StatusCode::kPermissionDenied:
      return 403;
    case absl::StatusCode::kUnauthenticated:
      return 401;
    case absl::StatusCode::kResourceExhausted:
      return 429;
    case absl::StatusCode::kFailedPrecondition:
      return 412;  // http.StatusPreconditionFailed in grpc-gateway 1.x (2.x made it 400)
    case absl::StatusCode::kAborted:
      return 409;
    case absl::StatusCode::kOutOfRange:
      return 400;
    case absl::StatusCode::kUnimplemented:
      return 501;
    case absl::StatusCode::kInternal:
      return 500;
    case absl::StatusCode::kUnavailable:
      return 503;
    case absl::StatusCode::kDataLoss:
      return 500;
    default:
      return 500;
  }
}

const char* HttpStatusText(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 412:
      return "Precondition Failed";
    case 413:
      return "Request Entity Too Large";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

std::string SerializeHttpResponse(const HttpResponse& response, bool keep_alive) {
  std::string out = absl::StrCat("HTTP/1.1 ", response.status, " ", HttpStatusText(response.status), "\r\n");
  absl::StrAppend(&out, "Content-Type: ", response.content_type, "\r\n");
  absl::StrAppend(&out, "Content-Length: ", response.body.size(), "\r\n");
  if (!keep_alive) out += "Connection: close\r\n";
  for (const auto& [name, value] : response.headers) absl::StrAppend(&out, name, ": ", value, "\r\n");
  out += "\r\n";
  out += response.body;
  return out;
}

HttpResponse HttpParseErrorResponse(int status, const std::string& error) {
  return PlainError(status, absl::StrCat(status, " ", HttpStatusText(status), ": ", error));
}

HttpGateway::HttpGateway(MemberRuntime* runtime, HttpGatewayOptions options)
    : runtime_(runtime), options_(std::move(options)) {
  DETCD_CHECK(runtime_ != nullptr);
  DETCD_CHECK_MSG(options_.grpc_channel != nullptr, "the gateway serves /v3 through the member's gRPC services");
  stub_ = std::make_unique<grpc::GenericStub>(options_.grpc_channel);
}

HttpGateway::~HttpGateway() = default;

HttpResponse HttpGateway::Handle(const HttpRequest& request) {
  const std::string path = V3Path(request.path);
  if (path.rfind("/v3/", 0) == 0) return HandleV3(path, request);
  if (path == "/health") {
    if (request.method != "GET") return MethodNotAllowed("GET");
    return Health();
  }
  if (path == "/version") {
    if (request.method != "GET") return MethodNotAllowed("GET");
    return Version();
  }
  if (path == "/metrics") return Metrics();
  if (path == "/debug/vars") {
    if (request.method != "GET") return MethodNotAllowed("GET");
    return DebugVars();
  }
  return PlainError(404, "404 page not found");
}

HttpResponse HttpGateway::HandleV3(const std::string& path, const HttpRequest& request) {
  const MethodDescriptor* method = RouteMethod(path);
  // grpc-gateway 1.x: no route → 404; a route for another method → 405.
  if (method == nullptr) return PlainError(404, "Not Found");
  if (request.method != "POST") return MethodNotAllowed(nullptr);
  if (Streaming(method)) {
    // A stream's responses gathered into one body (it ends once the server ends it; a watch never does).
    if (path == "/v3/watch") {
      return ErrorResponse(absl::UnimplementedError("detcd: /v3/watch is a stream: see HttpGateway::ServeStream"));
    }
    HttpResponse out;
    bool started = false;
    HttpStreamIo io;
    io.respond = [&out](const HttpResponse& r) {
      out = r;
      return true;
    };
    io.write = [&out, &started](int status, const std::string& bytes) {
      if (!started) out.status = status;
      started = true;
      out.body += bytes;
      return true;
    };
    io.cancelled = [] { return false; };
    ServeGrpcStream(method, request, io);
    return out;
  }
  std::unique_ptr<Message> in = NewMessage(method->input_type());
  if (absl::Status s = ParseJson(request.body, in.get()); !s.ok()) return ErrorResponse(s);
  // A lock or a campaign waits as long as it must (etcd's gateway passes no deadline); the services bound the rest.
  const bool waits = method->full_name() == "v3lockpb.Lock.Lock" || method->full_name() == "v3electionpb.Election.Campaign";
  std::string bytes;
  GrpcMethodCounters* counters = CountersOf(method);
  if (counters != nullptr) {
    counters->Started();
    counters->Received();
  }
  const grpc::Status st = GrpcUnaryCall(stub_.get(), WireName(method), in->SerializeAsString(),
                                        waits ? std::nullopt : std::optional<absl::Duration>(options_.request_timeout),
                                        &bytes, ForwardedMetadata(request));
  if (counters != nullptr) {
    if (st.ok()) counters->Sent();
    counters->Handled(static_cast<int>(st.error_code()));
  }
  if (!st.ok()) return ErrorResponse(FromGrpc(st));
  std::unique_ptr<Message> out = NewMessage(method->output_type());
  if (!out->ParseFromString(bytes)) return ErrorResponse(absl::InternalError("detcd: an unreadable response"));
  return JsonResponse(*out);
}

bool HttpGateway::IsStream(const HttpRequest& request) {
  const MethodDescriptor* method = RouteMethod(V3Path(request.path));
  return request.method == "POST" && method != nullptr && Streaming(method);
}

void HttpGateway::ServeStream(const HttpRequest& request, const HttpStreamIo& io) {
  if (!IsStream(request)) {
    (void)io.respond(Handle(request));
    return;
  }
  ServeGrpcStream(RouteMethod(V3Path(request.path)), request, io);
}

// A streaming method over grpc-gateway: the body's JSON values are the requests (one for a server stream), sent and
// then half-closed; each response goes out as a result line as it comes, until the server ends the stream (a watch
// outlives the half-close: then until the client goes away or the member stops), an error chunk saying why if it
// failed after the first line.
void HttpGateway::ServeGrpcStream(const MethodDescriptor* method, const HttpRequest& request, const HttpStreamIo& io) {
  std::vector<std::string> requests;
  std::unique_ptr<Message> in = NewMessage(method->input_type());
  if (!method->client_streaming()) {
    if (absl::Status s = ParseJson(request.body, in.get()); !s.ok()) {
      (void)io.respond(ErrorResponse(s));
      return;
    }
    requests.push_back(in->SerializeAsString());
  } else {
    size_t pos = 0;
    for (;;) {
      absl::StatusOr<bool> next = NextStreamRequest(request.body, &pos, in.get());
      if (!next.ok()) {
        // grpc-gateway answers a bad first request with an error; a later one just ends what is sent.
        if (requests.empty()) {
          (void)io.respond(ErrorResponse(next.status()));
          return;
        }
        break;
      }
      if (!*next) break;
      requests.push_back(in->SerializeAsString());
    }
  }
  GrpcMethodCounters* counters = CountersOf(method);
  if (counters != nullptr) {
    counters->Started();
    for (size_t i = 0; i < requests.size(); ++i) counters->Received();
  }
  // The gateway cancels the call when its client goes: the server's handler ends Canceled.
  auto cancel = [&] {
    if (counters != nullptr) counters->Handled(static_cast<int>(grpc::StatusCode::CANCELLED));
  };
  GrpcStreamCall call(stub_.get(), WireName(method), std::move(requests), ForwardedMetadata(request));
  std::unique_ptr<Message> out = NewMessage(method->output_type());
  bool wrote = false;
  std::string bytes;
  for (;;) {
    const GrpcStreamCall::Next next = call.Take(options_.stream_poll_interval, &bytes);
    if (next == GrpcStreamCall::Next::kOver) break;
    if (next == GrpcStreamCall::Next::kResponse) {
      if (counters != nullptr) counters->Sent();
      std::string chunk;
      absl::Status s = out->ParseFromString(bytes) ? StreamResultChunk(*out, &chunk)
                                                   : absl::InternalError("detcd: an unreadable response");
      if (!s.ok()) chunk = StreamErrorChunk(s);
      wrote = true;
      if (!io.write(200, chunk)) {
        call.Cancel();
        cancel();
        return;
      }
    }
    if (io.cancelled()) {
      call.Cancel();
      cancel();
      return;
    }
  }
  const grpc::Status st = call.status();
  if (counters != nullptr) counters->Handled(static_cast<int>(st.error_code()));
  if (st.ok()) {
    if (!wrote) (void)io.write(200, "");  // an empty stream still has its head
    return;
  }
  if (st.error_code() == grpc::StatusCode::CANCELLED) return;
  if (wrote) {
    (void)io.write(HttpStatusFromCode(FromGrpc(st).code()), StreamErrorChunk(FromGrpc(st)));
  } else {
    (void)io.respond(ErrorResponse(FromGrpc(st)));
  }
}

GrpcMethodCounters* HttpGateway::CountersOf(const MethodDescriptor* method) const {
  if (options_.grpc_metrics == nullptr) return nullptr;
  const GrpcMethod* m = FindGrpcMethod(absl::StrCat("/", method->service()->full_name(), "/", method->name()));
  return m == nullptr ? nullptr : &options_.grpc_metrics->For(*m);
}

MemberStatus HttpGateway::SampleStatus() {
  const MemberStatus s = runtime_->Status();
  std::lock_guard<std::mutex> lock(mu_);
  // etcd counts every change to a known leader; between two samples a new election shows as a new term.
  if (s.leader != 0 && (s.leader != last_leader_ || s.raft_term != last_term_)) ++leader_changes_seen_;
  last_leader_ = s.leader;
  if (s.leader != 0) last_term_ = s.raft_term;
  return s;
}

// etcd 3.4's etcdhttp checkHealth: unhealthy with an alarm raised, without a leader, or when a linearizable read
// fails within a second. Unhealthy is a 503 (http.Error); both bodies carry only "health" in 3.4.
HttpResponse HttpGateway::Health() {
  const MemberStatus s = SampleStatus();
  bool healthy = s.alarms.empty() && s.leader != 0;
  if (healthy) {
    kvpb::ClientRequest r;
    r.mutable_range()->set_key("health");
    r.mutable_range()->set_limit(1);
    r.mutable_range()->set_count_only(true);
    healthy = runtime_->Call(r, options_.health_timeout).status.ok();
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++(healthy ? health_success_ : health_failures_);
  }
  if (!healthy) return PlainError(503, "{\"health\":\"false\"}");
  HttpResponse r;
  r.content_type = kTextPlain;  // Go sniffs the JSON written without a Content-Type as text
  r.body = "{\"health\":\"true\"}";
  return r;
}

HttpResponse HttpGateway::Version() const {
  HttpResponse r;
  r.body = absl::StrCat("{\"etcdserver\":", JsonQuote(options_.version),
                        ",\"etcdcluster\":", JsonQuote(options_.cluster_version), "}");
  return r;
}

}  // namespace detcd::net
