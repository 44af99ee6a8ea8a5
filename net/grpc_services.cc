// EtcdServices: the six etcd gRPC services as thin adapters over MemberRuntime (see grpc_services.h).
#include "net/grpc_services.h"

#include <cstdint>
#include <mutex>
#include <utility>

#include "absl/strings/str_cat.h"
#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "api/kv_request.pb.h"
#include "base/check.h"
#include "net/etcd_snapshot_stream.h"
#include "net/grpc_async_streams.h"
#include "net/grpc_async_unary.h"
#include "net/grpc_cq_server.h"
#include "net/grpc_services_shared.h"

namespace detcd::net {

namespace {

using grpc::ServerContext;
using kvpb::ClientRequest;
using kvpb::ClientResponse;

// What a response header says when this file builds the response itself (etcd's header.fill).
void FillHeader(const MemberStatus& s, etcdserverpb::ResponseHeader* h) {
  h->set_cluster_id(s.cluster_id);
  h->set_member_id(s.member_id);
  h->set_revision(s.revision);
  h->set_raft_term(s.raft_term);
}

}  // namespace

absl::Duration EtcdRequestTimeout(const kv::NodeCoreConfig& core) {
  return absl::Seconds(5) + 2 * core.election_ticks * absl::Microseconds(core.tick_us);
}

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

namespace {

// ---- KV, Lease, Watch ----

// On gRPC's asynchronous API, run by the CqServer's thread (see net/grpc_async_unary.h, net/grpc_async_streams.h): a
// call in flight holds no thread, and whichever thread holds the core finishes a unary call with the member's reply.
using KvAsync = etcdserverpb::KV::AsyncService;
using LeaseAsync = etcdserverpb::Lease::AsyncService;
using WatchAsync = etcdserverpb::Watch::AsyncService;

// Asks for `calls` calls of one unary method ahead.
template <typename Service, typename Req, typename Resp>
void RequestUnary(EtcdServices::Shared* shared, Service* service, CqServer* server,
                  typename AsyncUnaryCall<Service, Req, Resp>::Requester requester,
                  typename AsyncUnaryCall<Service, Req, Resp>::In in,
                  typename AsyncUnaryCall<Service, Req, Resp>::Out out, int calls) {
  for (int i = 0; i < calls; ++i) AsyncUnaryCall<Service, Req, Resp>::Request(shared, service, requester, in, out, server);
}

// ---- Maintenance ----

class MaintenanceService final : public etcdserverpb::Maintenance::Service {
 public:
  explicit MaintenanceService(EtcdServices::Shared* shared) : shared_(shared) {}

  // etcd 3.4's maintenanceServer.Alarm returns its applier's answer as it is: no header (3.5 added one).
  grpc::Status Alarm(ServerContext* ctx, const etcdserverpb::AlarmRequest* request,
                     etcdserverpb::AlarmResponse* response) override {
    grpc::Status s =
        shared_->Unary(ctx, *request, &ClientRequest::mutable_alarm, &ClientResponse::mutable_alarm, response);
    response->clear_header();
    return s;
  }

  // etcd's maintenanceServer.Status: served locally, errors list "no leader" and the raised alarms.
  grpc::Status Status(ServerContext*, const etcdserverpb::StatusRequest*,
                      etcdserverpb::StatusResponse* response) override {
    const MemberStatus s = shared_->runtime->Status();
    FillHeader(s, response->mutable_header());
    response->set_version(shared_->options.version);
    response->set_dbsize(s.db_size);
    response->set_dbsizeinuse(s.db_size);
    response->set_leader(s.leader);
    response->set_raftindex(s.raft_index);
    response->set_raftterm(s.raft_term);
    response->set_raftappliedindex(s.applied_index);
    response->set_islearner(s.is_learner);
    if (s.leader == 0) response->add_errors("etcdserver: no leader");
    // etcd prints each AlarmMember in protobuf's compact text form.
    for (const etcdserverpb::AlarmMember& a : s.alarms) {
      response->add_errors(
          absl::StrCat("memberID:", a.memberid(), " alarm:", etcdserverpb::AlarmType_Name(a.alarm()), " "));
    }
    return grpc::Status::OK;
  }

  // The keyspace lives in memory: there is nothing to defragment.
  grpc::Status Defragment(ServerContext* ctx, const etcdserverpb::DefragmentRequest*,
                          etcdserverpb::DefragmentResponse*) override {
    // etcd 3.4's maintenanceServer.Defragment answers an empty DefragmentResponse{}: no header.
    if (grpc::Status s = shared_->CheckAdmin(ctx); !s.ok()) return s;
    return grpc::Status::OK;
  }

  // etcd's Hash digests its whole backend; this member's "backend" is its state machine (see kv::NodeCore::Hash).
  grpc::Status Hash(ServerContext* ctx, const etcdserverpb::HashRequest*,
                    etcdserverpb::HashResponse* response) override {
    if (grpc::Status s = shared_->CheckAdmin(ctx); !s.ok()) return s;
    absl::StatusOr<kv::HashResult> r = shared_->runtime->Hash(shared_->Timeout(ctx));
    if (!r.ok()) return ToGrpcStatus(r.status());
    response->set_hash(r->hash);
    *response->mutable_header() = std::move(r->header);
    return grpc::Status::OK;
  }

  // etcd's maintenanceServer.HashKV: served locally; the header's revision is the store's current revision.
  grpc::Status HashKV(ServerContext* ctx, const etcdserverpb::HashKVRequest* request,
                      etcdserverpb::HashKVResponse* response) override {
    if (grpc::Status s = shared_->CheckAdmin(ctx); !s.ok()) return s;
    absl::StatusOr<kv::HashKVResult> r = shared_->runtime->HashKV(request->revision(), shared_->Timeout(ctx));
    if (!r.ok()) return ToGrpcStatus(r.status());
    response->set_hash(r->hash);
    response->set_compact_revision(r->compact_revision);
    *response->mutable_header() = std::move(r->header);
    return grpc::Status::OK;
  }

  // etcd's maintenanceServer.Snapshot: the member's state as etcd 3.4's backend database (a bbolt file, see
  // net/etcd_snapshot.h) in 32 KiB pieces, each saying how many bytes are still to come, then a SHA-256 of
  // everything sent before it, so etcdctl's snapshot save, status and restore take it. Streamed with bounded memory
  // (net/etcd_snapshot_stream.h): the core pins its state and hands out its versions a bounded batch per trip (it
  // serves everyone else between trips); the file is laid out in a first walk over them and written in a second as
  // the client takes it. The pin goes however the call ends (done, an error, the client cancelling or gone).
  grpc::Status Snapshot(ServerContext* ctx, const etcdserverpb::SnapshotRequest*,
                        grpc::ServerWriter<etcdserverpb::SnapshotResponse>* writer) override {
    if (grpc::Status s = shared_->CheckAdmin(ctx); !s.ok()) return s;
    MemberRuntime* runtime = shared_->runtime;
    absl::StatusOr<kv::NodeCore::StateExport> exported = runtime->BeginStateExport();
    if (!exported.ok()) return ToGrpcStatus(exported.status());
    const uint64_t id = exported->id;
    struct EndExport {
      MemberRuntime* runtime;
      uint64_t id;
      ~EndExport() { runtime->EndStateExport(id); }
    } end_export{runtime, id};
    auto source = [runtime, id, ctx](kv::Revision from,
                                     std::vector<kvpb::StoreRecord>* out) -> absl::StatusOr<std::optional<kv::Revision>> {
      if (ctx->IsCancelled()) return absl::CancelledError("context canceled");
      absl::StatusOr<MemberRuntime::ExportedVersions> v =
          runtime->StepStateExport(id, from, kSnapshotBatchRecords, kSnapshotBatchBytes);
      if (!v.ok()) return v.status();
      *out = std::move(v->records);
      return v->next;
    };
    EtcdSnapshotStream stream(exported->small, exported->revision, exported->compacted_revision,
                              exported->applied_index, std::move(source));
    auto failed = [](const absl::Status& s) {
      if (s.code() == absl::StatusCode::kCancelled) return grpc::Status(grpc::StatusCode::CANCELLED, "context canceled");
      return grpc::Status(grpc::StatusCode::INTERNAL, std::string(s.message()));
    };
    if (absl::Status s = stream.Prepare(); !s.ok()) return failed(s);
    uint64_t remaining = stream.total_bytes();
    while (!stream.done()) {
      if (ctx->IsCancelled()) return grpc::Status(grpc::StatusCode::CANCELLED, "context canceled");
      absl::StatusOr<std::string> piece = stream.Next(kSnapshotPieceBytes);
      if (!piece.ok()) return failed(piece.status());
      DETCD_CHECK(piece->size() <= remaining);
      remaining -= piece->size();
      etcdserverpb::SnapshotResponse r;
      *r.mutable_header() = exported->header;
      r.set_blob(*std::move(piece));
      r.set_remaining_bytes(remaining);
      if (!writer->Write(r)) return grpc::Status(grpc::StatusCode::CANCELLED, "the client went away");
    }
    DETCD_CHECK_MSG(remaining == 0, "a snapshot stream ended before its size");
    return grpc::Status::OK;
  }

 private:
  // A piece on the wire (etcd sends 32 KiB), and one trip to the core: at most this many versions, about this many
  // bytes of keys and values.
  static constexpr size_t kSnapshotPieceBytes = 32 << 10;
  static constexpr size_t kSnapshotBatchRecords = 1024;
  static constexpr size_t kSnapshotBatchBytes = 1 << 20;

 public:
  // etcd's maintenanceServer.MoveLeader: only the leader may move leadership, to a voter; it waits (as etcd, for
  // as long as the client's deadline allows, here capped by the request timeout) until the member sees the
  // transferee lead. etcd answers with an empty response; the header is filled here as for every other response.
  grpc::Status MoveLeader(ServerContext* ctx, const etcdserverpb::MoveLeaderRequest* request,
                          etcdserverpb::MoveLeaderResponse* response) override {
    absl::StatusOr<etcdserverpb::ResponseHeader> h =
        shared_->runtime->MoveLeader(request->targetid(), shared_->Timeout(ctx));
    if (!h.ok()) return ToGrpcStatus(h.status());
    *response->mutable_header() = std::move(*h);
    return grpc::Status::OK;
  }

 private:
  EtcdServices::Shared* shared_;
};

// ---- Cluster ----

class ClusterService final : public etcdserverpb::Cluster::Service {
 public:
  explicit ClusterService(EtcdServices::Shared* shared) : shared_(shared) {}

  grpc::Status MemberList(ServerContext*, const etcdserverpb::MemberListRequest*,
                          etcdserverpb::MemberListResponse* response) override {
    const GrpcServicesOptions& o = shared_->options;
    *response = MemberListFor(shared_->runtime->Status(), o.member_name, o.peer_urls, o.client_urls);
    return grpc::Status::OK;
  }

  // Membership changes go through Raft as configuration changes (kv::NodeCore checks them as etcd does).
  grpc::Status MemberAdd(ServerContext* ctx, const etcdserverpb::MemberAddRequest* request,
                         etcdserverpb::MemberAddResponse* response) override {
    return shared_->Unary(ctx, *request, &ClientRequest::mutable_member_add, &ClientResponse::mutable_member_add,
                          response);
  }
  grpc::Status MemberRemove(ServerContext* ctx, const etcdserverpb::MemberRemoveRequest* request,
                            etcdserverpb::MemberRemoveResponse* response) override {
    return shared_->Unary(ctx, *request, &ClientRequest::mutable_member_remove,
                          &ClientResponse::mutable_member_remove, response);
  }
  grpc::Status MemberUpdate(ServerContext* ctx, const etcdserverpb::MemberUpdateRequest* request,
                            etcdserverpb::MemberUpdateResponse* response) override {
    return shared_->Unary(ctx, *request, &ClientRequest::mutable_member_update,
                          &ClientResponse::mutable_member_update, response);
  }
  grpc::Status MemberPromote(ServerContext* ctx, const etcdserverpb::MemberPromoteRequest* request,
                             etcdserverpb::MemberPromoteResponse* response) override {
    return shared_->Unary(ctx, *request, &ClientRequest::mutable_member_promote,
                          &ClientResponse::mutable_member_promote, response);
  }


 private:
  EtcdServices::Shared* shared_;
};

}  // namespace

EtcdServices::EtcdServices(MemberRuntime* runtime, GrpcServicesOptions options)
    : shared_(new Shared{runtime, std::move(options)}) {
  DETCD_CHECK(runtime != nullptr);
  if (shared_->options.auth == nullptr) {
    absl::StatusOr<std::unique_ptr<AuthCredentials>> simple = AuthCredentials::Create(AuthCredentialsOptions{});
    DETCD_CHECK(simple.ok());  // simple tokens load nothing
    shared_->options.auth = std::move(*simple);
  }
  kv_ = std::make_unique<KvAsync>();
  watch_ = std::make_unique<WatchAsync>();
  lease_ = std::make_unique<LeaseAsync>();
  maintenance_ = std::make_unique<MaintenanceService>(shared_.get());
  cluster_ = std::make_unique<ClusterService>(shared_.get());
  auth_ = MakeAuthService(shared_.get());
}

void EtcdServices::Stop() {
  if (cq_server_ != nullptr) cq_server_->Stop();
}

EtcdServices::~EtcdServices() {
  Stop();
  std::lock_guard<std::mutex> lock(shared_->mu);
  // A stream still running would use freed services: the server must have been shut down first.
  DETCD_CHECK_MSG(shared_->streams.empty(), "EtcdServices destroyed while streams still run");
}

void EtcdServices::RegisterOn(grpc::ServerBuilder& builder) {
  DETCD_CHECK_MSG(cq_server_ == nullptr, "EtcdServices registered twice");
  cq_server_ = std::make_unique<CqServer>(builder.AddCompletionQueue());
  for (grpc::Service* s : {kv_.get(), watch_.get(), lease_.get(), maintenance_.get(), cluster_.get(), auth_.get()}) {
    builder.RegisterService(s);
  }
}

void EtcdServices::Serve() {
  DETCD_CHECK_MSG(cq_server_ != nullptr, "EtcdServices::Serve before RegisterOn");
  Shared* sh = shared_.get();
  CqServer* q = cq_server_.get();
  using etcdserverpb::CompactionRequest, etcdserverpb::CompactionResponse;
  using etcdserverpb::DeleteRangeRequest, etcdserverpb::DeleteRangeResponse;
  using etcdserverpb::LeaseGrantRequest, etcdserverpb::LeaseGrantResponse;
  using etcdserverpb::LeaseLeasesRequest, etcdserverpb::LeaseLeasesResponse;
  using etcdserverpb::LeaseRevokeRequest, etcdserverpb::LeaseRevokeResponse;
  using etcdserverpb::LeaseTimeToLiveRequest, etcdserverpb::LeaseTimeToLiveResponse;
  using etcdserverpb::PutRequest, etcdserverpb::PutResponse;
  using etcdserverpb::RangeRequest, etcdserverpb::RangeResponse;
  using etcdserverpb::TxnRequest, etcdserverpb::TxnResponse;
  // Calls asked for ahead, per method (a call that comes while none is asked for waits in gRPC until one is): the
  // busy ones about as many as a loaded client keeps in flight on a connection.
  auto* kv = static_cast<KvAsync*>(kv_.get());
  RequestUnary<KvAsync, RangeRequest, RangeResponse>(sh, kv, q, &KvAsync::RequestRange, &ClientRequest::mutable_range,
                                                     &ClientResponse::mutable_range, 64);
  RequestUnary<KvAsync, PutRequest, PutResponse>(sh, kv, q, &KvAsync::RequestPut, &ClientRequest::mutable_put,
                                                 &ClientResponse::mutable_put, 64);
  RequestUnary<KvAsync, DeleteRangeRequest, DeleteRangeResponse>(sh, kv, q, &KvAsync::RequestDeleteRange,
                                                                 &ClientRequest::mutable_delete_range,
                                                                 &ClientResponse::mutable_delete_range, 16);
  RequestUnary<KvAsync, TxnRequest, TxnResponse>(sh, kv, q, &KvAsync::RequestTxn, &ClientRequest::mutable_txn,
                                                 &ClientResponse::mutable_txn, 64);
  RequestUnary<KvAsync, CompactionRequest, CompactionResponse>(sh, kv, q, &KvAsync::RequestCompact,
                                                               &ClientRequest::mutable_compaction,
                                                               &ClientResponse::mutable_compaction, 4);
  auto* lease = static_cast<LeaseAsync*>(lease_.get());
  RequestUnary<LeaseAsync, LeaseGrantRequest, LeaseGrantResponse>(sh, lease, q, &LeaseAsync::RequestLeaseGrant,
                                                                  &ClientRequest::mutable_lease_grant,
                                                                  &ClientResponse::mutable_lease_grant, 16);
  RequestUnary<LeaseAsync, LeaseRevokeRequest, LeaseRevokeResponse>(sh, lease, q, &LeaseAsync::RequestLeaseRevoke,
                                                                    &ClientRequest::mutable_lease_revoke,
                                                                    &ClientResponse::mutable_lease_revoke, 16);
  RequestUnary<LeaseAsync, LeaseTimeToLiveRequest, LeaseTimeToLiveResponse>(
      sh, lease, q, &LeaseAsync::RequestLeaseTimeToLive, &ClientRequest::mutable_lease_time_to_live,
      &ClientResponse::mutable_lease_time_to_live, 4);
  RequestUnary<LeaseAsync, LeaseLeasesRequest, LeaseLeasesResponse>(sh, lease, q, &LeaseAsync::RequestLeaseLeases,
                                                                    &ClientRequest::mutable_lease_leases,
                                                                    &ClientResponse::mutable_lease_leases, 4);
  for (int i = 0; i < 16; ++i) RequestKeepAliveStream(sh, lease, q);
  for (int i = 0; i < 16; ++i) RequestWatchStream(sh, static_cast<WatchAsync*>(watch_.get()), q);
  cq_server_->Start();
}

void EtcdServices::StopStreams() {
  std::lock_guard<std::mutex> lock(shared_->mu);
  shared_->stopping = true;
  shared_->stopping_thread = std::this_thread::get_id();
  for (auto& [id, stop] : shared_->streams) stop();
  shared_->stopping_thread = std::thread::id();
  // Every stream was told to end and none can start: forget them (a stream unregistering later finds nothing).
  shared_->streams.clear();
}

}  // namespace detcd::net
