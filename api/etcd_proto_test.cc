// Pins the etcd-compatible protos (api/{mvccpb,authpb,etcdserverpb,v3lockpb,v3electionpb}) to etcd 3.4's wire
// contract, read through the generated descriptors: full names, field numbers and types, enum values, services and
// their streaming shapes, plus exact bytes for one message. The expected values are transcribed from etcd's own
// release-3.4 .proto files, not from ours, so an accidental renumbering or rename here fails a test.
#include <google/protobuf/descriptor.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "api/authpb/auth.pb.h"
#include "api/etcdserverpb/rpc.pb.h"
#include "api/mvccpb/kv.pb.h"
#include "api/v3electionpb/v3election.pb.h"
#include "api/v3lockpb/v3lock.pb.h"

namespace {

using google::protobuf::Descriptor;
using google::protobuf::DescriptorPool;
using google::protobuf::EnumDescriptor;
using google::protobuf::FieldDescriptor;
using google::protobuf::FileDescriptor;
using google::protobuf::MethodDescriptor;
using google::protobuf::ServiceDescriptor;

// Touch one generated class per file so the linker keeps every file's descriptor in the generated pool.
const DescriptorPool* Pool() {
  static const DescriptorPool* pool = [] {
    (void)mvccpb::KeyValue::descriptor();
    (void)authpb::User::descriptor();
    (void)etcdserverpb::RangeRequest::descriptor();
    (void)v3lockpb::LockRequest::descriptor();
    (void)v3electionpb::LeaderKey::descriptor();
    return DescriptorPool::generated_pool();
  }();
  return pool;
}

// One field as etcd 3.4 declares it. `type_name` is the full name of the message or enum type, "" for scalars.
struct FieldSpec {
  const char* message;
  const char* field;
  int number;
  FieldDescriptor::Type type;
  bool repeated;
  const char* type_name;
};

constexpr auto kBytes = FieldDescriptor::TYPE_BYTES;
constexpr auto kString = FieldDescriptor::TYPE_STRING;
constexpr auto kInt64 = FieldDescriptor::TYPE_INT64;
constexpr auto kUint64 = FieldDescriptor::TYPE_UINT64;
constexpr auto kUint32 = FieldDescriptor::TYPE_UINT32;
constexpr auto kBool = FieldDescriptor::TYPE_BOOL;
constexpr auto kEnum = FieldDescriptor::TYPE_ENUM;
constexpr auto kMessage = FieldDescriptor::TYPE_MESSAGE;

const FieldSpec kFields[] = {
    // mvccpb
    {"mvccpb.KeyValue", "key", 1, kBytes, false, ""},
    {"mvccpb.KeyValue", "create_revision", 2, kInt64, false, ""},
    {"mvccpb.KeyValue", "mod_revision", 3, kInt64, false, ""},
    {"mvccpb.KeyValue", "version", 4, kInt64, false, ""},
    {"mvccpb.KeyValue", "value", 5, kBytes, false, ""},
    {"mvccpb.KeyValue", "lease", 6, kInt64, false, ""},
    {"mvccpb.Event", "type", 1, kEnum, false, "mvccpb.Event.EventType"},
    {"mvccpb.Event", "kv", 2, kMessage, false, "mvccpb.KeyValue"},
    {"mvccpb.Event", "prev_kv", 3, kMessage, false, "mvccpb.KeyValue"},
    // authpb
    {"authpb.UserAddOptions", "no_password", 1, kBool, false, ""},
    {"authpb.User", "name", 1, kBytes, false, ""},
    {"authpb.User", "password", 2, kBytes, false, ""},
    {"authpb.User", "roles", 3, kString, true, ""},
    {"authpb.User", "options", 4, kMessage, false, "authpb.UserAddOptions"},
    {"authpb.Permission", "permType", 1, kEnum, false, "authpb.Permission.Type"},
    {"authpb.Permission", "key", 2, kBytes, false, ""},
    {"authpb.Permission", "range_end", 3, kBytes, false, ""},
    {"authpb.Role", "name", 1, kBytes, false, ""},
    {"authpb.Role", "keyPermission", 2, kMessage, true, "authpb.Permission"},
    // etcdserverpb: KV
    {"etcdserverpb.ResponseHeader", "cluster_id", 1, kUint64, false, ""},
    {"etcdserverpb.ResponseHeader", "member_id", 2, kUint64, false, ""},
    {"etcdserverpb.ResponseHeader", "revision", 3, kInt64, false, ""},
    {"etcdserverpb.ResponseHeader", "raft_term", 4, kUint64, false, ""},
    {"etcdserverpb.RangeRequest", "key", 1, kBytes, false, ""},
    {"etcdserverpb.RangeRequest", "range_end", 2, kBytes, false, ""},
    {"etcdserverpb.RangeRequest", "limit", 3, kInt64, false, ""},
    {"etcdserverpb.RangeRequest", "revision", 4, kInt64, false, ""},
    {"etcdserverpb.RangeRequest", "sort_order", 5, kEnum, false, "etcdserverpb.RangeRequest.SortOrder"},
    {"etcdserverpb.RangeRequest", "sort_target", 6, kEnum, false, "etcdserverpb.RangeRequest.SortTarget"},
    {"etcdserverpb.RangeRequest", "serializable", 7, kBool, false, ""},
    {"etcdserverpb.RangeRequest", "keys_only", 8, kBool, false, ""},
    {"etcdserverpb.RangeRequest", "count_only", 9, kBool, false, ""},
    {"etcdserverpb.RangeRequest", "min_mod_revision", 10, kInt64, false, ""},
    {"etcdserverpb.RangeRequest", "max_mod_revision", 11, kInt64, false, ""},
    {"etcdserverpb.RangeRequest", "min_create_revision", 12, kInt64, false, ""},
    {"etcdserverpb.RangeRequest", "max_create_revision", 13, kInt64, false, ""},
    {"etcdserverpb.RangeResponse", "header", 1, kMessage, false, "etcdserverpb.ResponseHeader"},
    {"etcdserverpb.RangeResponse", "kvs", 2, kMessage, true, "mvccpb.KeyValue"},
    {"etcdserverpb.RangeResponse", "more", 3, kBool, false, ""},
    {"etcdserverpb.RangeResponse", "count", 4, kInt64, false, ""},
    {"etcdserverpb.PutRequest", "key", 1, kBytes, false, ""},
    {"etcdserverpb.PutRequest", "value", 2, kBytes, false, ""},
    {"etcdserverpb.PutRequest", "lease", 3, kInt64, false, ""},
    {"etcdserverpb.PutRequest", "prev_kv", 4, kBool, false, ""},
    {"etcdserverpb.PutRequest", "ignore_value", 5, kBool, false, ""},
    {"etcdserverpb.PutRequest", "ignore_lease", 6, kBool, false, ""},
    {"etcdserverpb.PutResponse", "prev_kv", 2, kMessage, false, "mvccpb.KeyValue"},
    {"etcdserverpb.DeleteRangeRequest", "prev_kv", 3, kBool, false, ""},
    {"etcdserverpb.DeleteRangeResponse", "deleted", 2, kInt64, false, ""},
    {"etcdserverpb.DeleteRangeResponse", "prev_kvs", 3, kMessage, true, "mvccpb.KeyValue"},
    {"etcdserverpb.RequestOp", "request_range", 1, kMessage, false, "etcdserverpb.RangeRequest"},
    {"etcdserverpb.RequestOp", "request_put", 2, kMessage, false, "etcdserverpb.PutRequest"},
    {"etcdserverpb.RequestOp", "request_delete_range", 3, kMessage, false, "etcdserverpb.DeleteRangeRequest"},
    {"etcdserverpb.RequestOp", "request_txn", 4, kMessage, false, "etcdserverpb.TxnRequest"},
    {"etcdserverpb.ResponseOp", "response_txn", 4, kMessage, false, "etcdserverpb.TxnResponse"},
    {"etcdserverpb.Compare", "result", 1, kEnum, false, "etcdserverpb.Compare.CompareResult"},
    {"etcdserverpb.Compare", "target", 2, kEnum, false, "etcdserverpb.Compare.CompareTarget"},
    {"etcdserverpb.Compare", "key", 3, kBytes, false, ""},
    {"etcdserverpb.Compare", "version", 4, kInt64, false, ""},
    {"etcdserverpb.Compare", "create_revision", 5, kInt64, false, ""},
    {"etcdserverpb.Compare", "mod_revision", 6, kInt64, false, ""},
    {"etcdserverpb.Compare", "value", 7, kBytes, false, ""},
    {"etcdserverpb.Compare", "lease", 8, kInt64, false, ""},
    {"etcdserverpb.Compare", "range_end", 64, kBytes, false, ""},
    {"etcdserverpb.TxnRequest", "compare", 1, kMessage, true, "etcdserverpb.Compare"},
    {"etcdserverpb.TxnRequest", "success", 2, kMessage, true, "etcdserverpb.RequestOp"},
    {"etcdserverpb.TxnRequest", "failure", 3, kMessage, true, "etcdserverpb.RequestOp"},
    {"etcdserverpb.TxnResponse", "succeeded", 2, kBool, false, ""},
    {"etcdserverpb.TxnResponse", "responses", 3, kMessage, true, "etcdserverpb.ResponseOp"},
    {"etcdserverpb.CompactionRequest", "revision", 1, kInt64, false, ""},
    {"etcdserverpb.CompactionRequest", "physical", 2, kBool, false, ""},
    // etcdserverpb: Watch
    {"etcdserverpb.WatchRequest", "create_request", 1, kMessage, false, "etcdserverpb.WatchCreateRequest"},
    {"etcdserverpb.WatchRequest", "cancel_request", 2, kMessage, false, "etcdserverpb.WatchCancelRequest"},
    {"etcdserverpb.WatchRequest", "progress_request", 3, kMessage, false, "etcdserverpb.WatchProgressRequest"},
    {"etcdserverpb.WatchCreateRequest", "key", 1, kBytes, false, ""},
    {"etcdserverpb.WatchCreateRequest", "range_end", 2, kBytes, false, ""},
    {"etcdserverpb.WatchCreateRequest", "start_revision", 3, kInt64, false, ""},
    {"etcdserverpb.WatchCreateRequest", "progress_notify", 4, kBool, false, ""},
    {"etcdserverpb.WatchCreateRequest", "filters", 5, kEnum, true, "etcdserverpb.WatchCreateRequest.FilterType"},
    {"etcdserverpb.WatchCreateRequest", "prev_kv", 6, kBool, false, ""},
    {"etcdserverpb.WatchCreateRequest", "watch_id", 7, kInt64, false, ""},
    {"etcdserverpb.WatchCreateRequest", "fragment", 8, kBool, false, ""},
    {"etcdserverpb.WatchCancelRequest", "watch_id", 1, kInt64, false, ""},
    {"etcdserverpb.WatchResponse", "header", 1, kMessage, false, "etcdserverpb.ResponseHeader"},
    {"etcdserverpb.WatchResponse", "watch_id", 2, kInt64, false, ""},
    {"etcdserverpb.WatchResponse", "created", 3, kBool, false, ""},
    {"etcdserverpb.WatchResponse", "canceled", 4, kBool, false, ""},
    {"etcdserverpb.WatchResponse", "compact_revision", 5, kInt64, false, ""},
    {"etcdserverpb.WatchResponse", "cancel_reason", 6, kString, false, ""},
    {"etcdserverpb.WatchResponse", "fragment", 7, kBool, false, ""},
    {"etcdserverpb.WatchResponse", "events", 11, kMessage, true, "mvccpb.Event"},
    // etcdserverpb: Lease
    {"etcdserverpb.LeaseGrantRequest", "TTL", 1, kInt64, false, ""},
    {"etcdserverpb.LeaseGrantRequest", "ID", 2, kInt64, false, ""},
    {"etcdserverpb.LeaseGrantResponse", "ID", 2, kInt64, false, ""},
    {"etcdserverpb.LeaseGrantResponse", "TTL", 3, kInt64, false, ""},
    {"etcdserverpb.LeaseGrantResponse", "error", 4, kString, false, ""},
    {"etcdserverpb.LeaseRevokeRequest", "ID", 1, kInt64, false, ""},
    {"etcdserverpb.LeaseCheckpoint", "ID", 1, kInt64, false, ""},
    {"etcdserverpb.LeaseCheckpoint", "remaining_TTL", 2, kInt64, false, ""},
    {"etcdserverpb.LeaseCheckpointRequest", "checkpoints", 1, kMessage, true, "etcdserverpb.LeaseCheckpoint"},
    {"etcdserverpb.LeaseKeepAliveRequest", "ID", 1, kInt64, false, ""},
    {"etcdserverpb.LeaseKeepAliveResponse", "TTL", 3, kInt64, false, ""},
    {"etcdserverpb.LeaseTimeToLiveRequest", "keys", 2, kBool, false, ""},
    {"etcdserverpb.LeaseTimeToLiveResponse", "TTL", 3, kInt64, false, ""},
    {"etcdserverpb.LeaseTimeToLiveResponse", "grantedTTL", 4, kInt64, false, ""},
    {"etcdserverpb.LeaseTimeToLiveResponse", "keys", 5, kBytes, true, ""},
    {"etcdserverpb.LeaseStatus", "ID", 1, kInt64, false, ""},
    {"etcdserverpb.LeaseLeasesResponse", "leases", 2, kMessage, true, "etcdserverpb.LeaseStatus"},
    // etcdserverpb: Cluster
    {"etcdserverpb.Member", "ID", 1, kUint64, false, ""},
    {"etcdserverpb.Member", "name", 2, kString, false, ""},
    {"etcdserverpb.Member", "peerURLs", 3, kString, true, ""},
    {"etcdserverpb.Member", "clientURLs", 4, kString, true, ""},
    {"etcdserverpb.Member", "isLearner", 5, kBool, false, ""},
    {"etcdserverpb.MemberAddRequest", "peerURLs", 1, kString, true, ""},
    {"etcdserverpb.MemberAddRequest", "isLearner", 2, kBool, false, ""},
    {"etcdserverpb.MemberAddResponse", "member", 2, kMessage, false, "etcdserverpb.Member"},
    {"etcdserverpb.MemberAddResponse", "members", 3, kMessage, true, "etcdserverpb.Member"},
    {"etcdserverpb.MemberUpdateRequest", "peerURLs", 2, kString, true, ""},
    {"etcdserverpb.MemberPromoteRequest", "ID", 1, kUint64, false, ""},
    {"etcdserverpb.MemberPromoteResponse", "members", 2, kMessage, true, "etcdserverpb.Member"},
    // etcdserverpb: Maintenance
    {"etcdserverpb.HashKVRequest", "revision", 1, kInt64, false, ""},
    {"etcdserverpb.HashKVResponse", "hash", 2, kUint32, false, ""},
    {"etcdserverpb.HashKVResponse", "compact_revision", 3, kInt64, false, ""},
    {"etcdserverpb.HashResponse", "hash", 2, kUint32, false, ""},
    {"etcdserverpb.SnapshotResponse", "remaining_bytes", 2, kUint64, false, ""},
    {"etcdserverpb.SnapshotResponse", "blob", 3, kBytes, false, ""},
    {"etcdserverpb.MoveLeaderRequest", "targetID", 1, kUint64, false, ""},
    {"etcdserverpb.AlarmRequest", "action", 1, kEnum, false, "etcdserverpb.AlarmRequest.AlarmAction"},
    {"etcdserverpb.AlarmRequest", "memberID", 2, kUint64, false, ""},
    {"etcdserverpb.AlarmRequest", "alarm", 3, kEnum, false, "etcdserverpb.AlarmType"},
    {"etcdserverpb.AlarmMember", "memberID", 1, kUint64, false, ""},
    {"etcdserverpb.AlarmMember", "alarm", 2, kEnum, false, "etcdserverpb.AlarmType"},
    {"etcdserverpb.AlarmResponse", "alarms", 2, kMessage, true, "etcdserverpb.AlarmMember"},
    {"etcdserverpb.StatusResponse", "header", 1, kMessage, false, "etcdserverpb.ResponseHeader"},
    {"etcdserverpb.StatusResponse", "version", 2, kString, false, ""},
    {"etcdserverpb.StatusResponse", "dbSize", 3, kInt64, false, ""},
    {"etcdserverpb.StatusResponse", "leader", 4, kUint64, false, ""},
    {"etcdserverpb.StatusResponse", "raftIndex", 5, kUint64, false, ""},
    {"etcdserverpb.StatusResponse", "raftTerm", 6, kUint64, false, ""},
    {"etcdserverpb.StatusResponse", "raftAppliedIndex", 7, kUint64, false, ""},
    {"etcdserverpb.StatusResponse", "errors", 8, kString, true, ""},
    {"etcdserverpb.StatusResponse", "dbSizeInUse", 9, kInt64, false, ""},
    {"etcdserverpb.StatusResponse", "isLearner", 10, kBool, false, ""},
    // etcdserverpb: Auth
    {"etcdserverpb.AuthenticateRequest", "name", 1, kString, false, ""},
    {"etcdserverpb.AuthenticateRequest", "password", 2, kString, false, ""},
    {"etcdserverpb.AuthenticateResponse", "token", 2, kString, false, ""},
    {"etcdserverpb.AuthUserAddRequest", "options", 3, kMessage, false, "authpb.UserAddOptions"},
    {"etcdserverpb.AuthUserGrantRoleRequest", "user", 1, kString, false, ""},
    {"etcdserverpb.AuthUserGrantRoleRequest", "role", 2, kString, false, ""},
    {"etcdserverpb.AuthUserRevokeRoleRequest", "name", 1, kString, false, ""},
    {"etcdserverpb.AuthRoleGetRequest", "role", 1, kString, false, ""},
    {"etcdserverpb.AuthRoleGrantPermissionRequest", "perm", 2, kMessage, false, "authpb.Permission"},
    {"etcdserverpb.AuthRoleRevokePermissionRequest", "range_end", 3, kBytes, false, ""},
    {"etcdserverpb.AuthUserGetResponse", "roles", 2, kString, true, ""},
    {"etcdserverpb.AuthRoleGetResponse", "perm", 2, kMessage, true, "authpb.Permission"},
    {"etcdserverpb.AuthUserListResponse", "users", 2, kString, true, ""},
    {"etcdserverpb.AuthStatusResponse", "enabled", 2, kBool, false, ""},
    {"etcdserverpb.AuthStatusResponse", "authRevision", 3, kUint64, false, ""},
    // v3lockpb
    {"v3lockpb.LockRequest", "name", 1, kBytes, false, ""},
    {"v3lockpb.LockRequest", "lease", 2, kInt64, false, ""},
    {"v3lockpb.LockResponse", "header", 1, kMessage, false, "etcdserverpb.ResponseHeader"},
    {"v3lockpb.LockResponse", "key", 2, kBytes, false, ""},
    {"v3lockpb.UnlockRequest", "key", 1, kBytes, false, ""},
    {"v3lockpb.UnlockResponse", "header", 1, kMessage, false, "etcdserverpb.ResponseHeader"},
    // v3electionpb
    {"v3electionpb.CampaignRequest", "name", 1, kBytes, false, ""},
    {"v3electionpb.CampaignRequest", "lease", 2, kInt64, false, ""},
    {"v3electionpb.CampaignRequest", "value", 3, kBytes, false, ""},
    {"v3electionpb.CampaignResponse", "leader", 2, kMessage, false, "v3electionpb.LeaderKey"},
    {"v3electionpb.LeaderKey", "name", 1, kBytes, false, ""},
    {"v3electionpb.LeaderKey", "key", 2, kBytes, false, ""},
    {"v3electionpb.LeaderKey", "rev", 3, kInt64, false, ""},
    {"v3electionpb.LeaderKey", "lease", 4, kInt64, false, ""},
    {"v3electionpb.LeaderRequest", "name", 1, kBytes, false, ""},
    {"v3electionpb.LeaderResponse", "kv", 2, kMessage, false, "mvccpb.KeyValue"},
    {"v3electionpb.ResignRequest", "leader", 1, kMessage, false, "v3electionpb.LeaderKey"},
    {"v3electionpb.ProclaimRequest", "leader", 1, kMessage, false, "v3electionpb.LeaderKey"},
    {"v3electionpb.ProclaimRequest", "value", 2, kBytes, false, ""},
};

TEST(EtcdProtoTest, FieldsMatchEtcd34) {
  for (const FieldSpec& spec : kFields) {
    SCOPED_TRACE(std::string(spec.message) + "." + spec.field);
    const Descriptor* message = Pool()->FindMessageTypeByName(spec.message);
    ASSERT_NE(message, nullptr);
    const FieldDescriptor* field = message->FindFieldByName(spec.field);
    ASSERT_NE(field, nullptr);
    EXPECT_EQ(field->number(), spec.number);
    EXPECT_EQ(field->type(), spec.type) << field->type_name();
    EXPECT_EQ(field->is_repeated(), spec.repeated);
    std::string type_name;
    if (field->message_type() != nullptr) type_name = field->message_type()->full_name();
    if (field->enum_type() != nullptr) type_name = field->enum_type()->full_name();
    EXPECT_EQ(type_name, spec.type_name);
  }
}

// Every field of the messages whose shape matters most, so an added or dropped field fails too.
TEST(EtcdProtoTest, FieldCounts) {
  const struct {
    const char* message;
    int fields;
  } kCounts[] = {
      {"mvccpb.KeyValue", 6},
      {"mvccpb.Event", 3},
      {"authpb.User", 4},
      {"authpb.Permission", 3},
      {"etcdserverpb.ResponseHeader", 4},
      {"etcdserverpb.RangeRequest", 13},
      {"etcdserverpb.PutRequest", 6},
      {"etcdserverpb.Compare", 9},
      {"etcdserverpb.WatchRequest", 3},
      {"etcdserverpb.WatchCreateRequest", 8},
      {"etcdserverpb.WatchResponse", 8},
      {"etcdserverpb.StatusResponse", 10},
      {"etcdserverpb.Member", 5},
      {"v3electionpb.LeaderKey", 4},
  };
  for (const auto& c : kCounts) {
    const Descriptor* message = Pool()->FindMessageTypeByName(c.message);
    ASSERT_NE(message, nullptr) << c.message;
    EXPECT_EQ(message->field_count(), c.fields) << c.message;
  }
}

// Each file is proto3 (its scalars have no presence, as etcd's) and imports only its etcd siblings: nothing of
// gogoproto or google.api, which the wire does not need.
std::string Imports(const FileDescriptor* file) {
  std::string out;
  for (int i = 0; i < file->dependency_count(); ++i) out += file->dependency(i)->name() + ";";
  return out;
}

TEST(EtcdProtoTest, FilesAreProto3WithEtcdImportsOnly) {
  const FileDescriptor* files[] = {
      mvccpb::KeyValue::descriptor()->file(),         authpb::User::descriptor()->file(),
      etcdserverpb::PutRequest::descriptor()->file(), v3lockpb::LockRequest::descriptor()->file(),
      v3electionpb::LeaderKey::descriptor()->file(),
  };
  for (const auto* file : files) {
    EXPECT_EQ(file->syntax(), FileDescriptor::SYNTAX_PROTO3) << file->name();
  }
  EXPECT_EQ(Imports(files[0]), "");
  EXPECT_EQ(Imports(files[1]), "");
  EXPECT_EQ(Imports(files[2]), "api/mvccpb/kv.proto;api/authpb/auth.proto;");
  EXPECT_EQ(Imports(files[3]), "api/etcdserverpb/rpc.proto;");
  EXPECT_EQ(Imports(files[4]), "api/etcdserverpb/rpc.proto;api/mvccpb/kv.proto;");
}

// Every message of etcd 3.4's rpc.proto, by full name.
TEST(EtcdProtoTest, AllRpcMessagesExist) {
  // clang-format off
  const char* kMessages[] = {
      "ResponseHeader", "RangeRequest", "RangeResponse", "PutRequest", "PutResponse", "DeleteRangeRequest",
      "DeleteRangeResponse", "RequestOp", "ResponseOp", "Compare", "TxnRequest", "TxnResponse",
      "CompactionRequest", "CompactionResponse", "HashRequest", "HashKVRequest", "HashKVResponse", "HashResponse",
      "SnapshotRequest", "SnapshotResponse", "WatchRequest", "WatchCreateRequest", "WatchCancelRequest",
      "WatchProgressRequest", "WatchResponse", "LeaseGrantRequest", "LeaseGrantResponse", "LeaseRevokeRequest",
      "LeaseRevokeResponse", "LeaseCheckpoint", "LeaseCheckpointRequest", "LeaseCheckpointResponse",
      "LeaseKeepAliveRequest", "LeaseKeepAliveResponse", "LeaseTimeToLiveRequest", "LeaseTimeToLiveResponse",
      "LeaseLeasesRequest", "LeaseStatus", "LeaseLeasesResponse", "Member", "MemberAddRequest",
      "MemberAddResponse", "MemberRemoveRequest", "MemberRemoveResponse", "MemberUpdateRequest",
      "MemberUpdateResponse", "MemberListRequest", "MemberListResponse", "MemberPromoteRequest",
      "MemberPromoteResponse", "DefragmentRequest", "DefragmentResponse", "MoveLeaderRequest", "MoveLeaderResponse",
      "AlarmRequest", "AlarmMember", "AlarmResponse", "StatusRequest", "StatusResponse", "AuthEnableRequest",
      "AuthDisableRequest", "AuthStatusRequest", "AuthenticateRequest", "AuthUserAddRequest", "AuthUserGetRequest",
      "AuthUserDeleteRequest", "AuthUserChangePasswordRequest", "AuthUserGrantRoleRequest",
      "AuthUserRevokeRoleRequest", "AuthRoleAddRequest", "AuthRoleGetRequest", "AuthUserListRequest",
      "AuthRoleListRequest", "AuthRoleDeleteRequest", "AuthRoleGrantPermissionRequest",
      "AuthRoleRevokePermissionRequest", "AuthEnableResponse", "AuthDisableResponse", "AuthStatusResponse",
      "AuthenticateResponse", "AuthUserAddResponse", "AuthUserGetResponse", "AuthUserDeleteResponse",
      "AuthUserChangePasswordResponse", "AuthUserGrantRoleResponse", "AuthUserRevokeRoleResponse",
      "AuthRoleAddResponse", "AuthRoleGetResponse", "AuthRoleListResponse", "AuthUserListResponse",
      "AuthRoleDeleteResponse", "AuthRoleGrantPermissionResponse", "AuthRoleRevokePermissionResponse",
  };
  // clang-format on
  for (const char* name : kMessages) {
    EXPECT_NE(Pool()->FindMessageTypeByName(std::string("etcdserverpb.") + name), nullptr) << name;
  }
  EXPECT_EQ(etcdserverpb::PutRequest::descriptor()->file()->message_type_count(),
            static_cast<int>(sizeof(kMessages) / sizeof(kMessages[0])));
}

TEST(EtcdProtoTest, Oneofs) {
  const Descriptor* compare = etcdserverpb::Compare::descriptor();
  for (const char* name : {"version", "create_revision", "mod_revision", "value", "lease"}) {
    const FieldDescriptor* field = compare->FindFieldByName(name);
    ASSERT_NE(field, nullptr) << name;
    ASSERT_NE(field->containing_oneof(), nullptr) << name;
    EXPECT_EQ(field->containing_oneof()->name(), "target_union") << name;
  }
  EXPECT_EQ(compare->FindFieldByName("range_end")->containing_oneof(), nullptr);
  EXPECT_EQ(compare->FindFieldByName("key")->containing_oneof(), nullptr);

  const Descriptor* watch = etcdserverpb::WatchRequest::descriptor();
  ASSERT_EQ(watch->oneof_decl_count(), 1);
  EXPECT_EQ(watch->oneof_decl(0)->name(), "request_union");
  EXPECT_EQ(watch->oneof_decl(0)->field_count(), 3);

  ASSERT_EQ(etcdserverpb::RequestOp::descriptor()->oneof_decl_count(), 1);
  EXPECT_EQ(etcdserverpb::RequestOp::descriptor()->oneof_decl(0)->name(), "request");
  EXPECT_EQ(etcdserverpb::RequestOp::descriptor()->oneof_decl(0)->field_count(), 4);
  ASSERT_EQ(etcdserverpb::ResponseOp::descriptor()->oneof_decl_count(), 1);
  EXPECT_EQ(etcdserverpb::ResponseOp::descriptor()->oneof_decl(0)->name(), "response");
  EXPECT_EQ(etcdserverpb::ResponseOp::descriptor()->oneof_decl(0)->field_count(), 4);
}

// An enum's values in number order, as "NAME=number".
std::vector<std::string> EnumValues(const char* full_name) {
  std::vector<std::string> out;
  const EnumDescriptor* e = Pool()->FindEnumTypeByName(full_name);
  if (e == nullptr) return {"<no enum " + std::string(full_name) + ">"};
  for (int i = 0; i < e->value_count(); ++i) {
    out.push_back(e->value(i)->name() + "=" + std::to_string(e->value(i)->number()));
  }
  return out;
}

TEST(EtcdProtoTest, EnumValues) {
  using V = std::vector<std::string>;
  EXPECT_EQ(EnumValues("mvccpb.Event.EventType"), (V{"PUT=0", "DELETE=1"}));
  EXPECT_EQ(EnumValues("authpb.Permission.Type"), (V{"READ=0", "WRITE=1", "READWRITE=2"}));
  EXPECT_EQ(EnumValues("etcdserverpb.RangeRequest.SortOrder"), (V{"NONE=0", "ASCEND=1", "DESCEND=2"}));
  EXPECT_EQ(EnumValues("etcdserverpb.RangeRequest.SortTarget"),
            (V{"KEY=0", "VERSION=1", "CREATE=2", "MOD=3", "VALUE=4"}));
  EXPECT_EQ(EnumValues("etcdserverpb.Compare.CompareResult"), (V{"EQUAL=0", "GREATER=1", "LESS=2", "NOT_EQUAL=3"}));
  EXPECT_EQ(EnumValues("etcdserverpb.Compare.CompareTarget"),
            (V{"VERSION=0", "CREATE=1", "MOD=2", "VALUE=3", "LEASE=4"}));
  EXPECT_EQ(EnumValues("etcdserverpb.WatchCreateRequest.FilterType"), (V{"NOPUT=0", "NODELETE=1"}));
  EXPECT_EQ(EnumValues("etcdserverpb.AlarmType"), (V{"NONE=0", "NOSPACE=1", "CORRUPT=2"}));
  EXPECT_EQ(EnumValues("etcdserverpb.AlarmRequest.AlarmAction"), (V{"GET=0", "ACTIVATE=1", "DEACTIVATE=2"}));
}

// One RPC as gRPC names it on the wire ("/package.Service/Method") with its types and streaming shape.
struct MethodSpec {
  const char* path;
  const char* input;
  const char* output;
  bool client_streaming;
  bool server_streaming;
};

const MethodSpec kMethods[] = {
    {"/etcdserverpb.KV/Range", "etcdserverpb.RangeRequest", "etcdserverpb.RangeResponse", false, false},
    {"/etcdserverpb.KV/Put", "etcdserverpb.PutRequest", "etcdserverpb.PutResponse", false, false},
    {"/etcdserverpb.KV/DeleteRange", "etcdserverpb.DeleteRangeRequest", "etcdserverpb.DeleteRangeResponse", false,
     false},
    {"/etcdserverpb.KV/Txn", "etcdserverpb.TxnRequest", "etcdserverpb.TxnResponse", false, false},
    {"/etcdserverpb.KV/Compact", "etcdserverpb.CompactionRequest", "etcdserverpb.CompactionResponse", false, false},
    {"/etcdserverpb.Watch/Watch", "etcdserverpb.WatchRequest", "etcdserverpb.WatchResponse", true, true},
    {"/etcdserverpb.Lease/LeaseGrant", "etcdserverpb.LeaseGrantRequest", "etcdserverpb.LeaseGrantResponse", false,
     false},
    {"/etcdserverpb.Lease/LeaseRevoke", "etcdserverpb.LeaseRevokeRequest", "etcdserverpb.LeaseRevokeResponse", false,
     false},
    {"/etcdserverpb.Lease/LeaseKeepAlive", "etcdserverpb.LeaseKeepAliveRequest", "etcdserverpb.LeaseKeepAliveResponse",
     true, true},
    {"/etcdserverpb.Lease/LeaseTimeToLive", "etcdserverpb.LeaseTimeToLiveRequest",
     "etcdserverpb.LeaseTimeToLiveResponse", false, false},
    {"/etcdserverpb.Lease/LeaseLeases", "etcdserverpb.LeaseLeasesRequest", "etcdserverpb.LeaseLeasesResponse", false,
     false},
    {"/etcdserverpb.Cluster/MemberAdd", "etcdserverpb.MemberAddRequest", "etcdserverpb.MemberAddResponse", false,
     false},
    {"/etcdserverpb.Cluster/MemberRemove", "etcdserverpb.MemberRemoveRequest", "etcdserverpb.MemberRemoveResponse",
     false, false},
    {"/etcdserverpb.Cluster/MemberUpdate", "etcdserverpb.MemberUpdateRequest", "etcdserverpb.MemberUpdateResponse",
     false, false},
    {"/etcdserverpb.Cluster/MemberList", "etcdserverpb.MemberListRequest", "etcdserverpb.MemberListResponse", false,
     false},
    {"/etcdserverpb.Cluster/MemberPromote", "etcdserverpb.MemberPromoteRequest", "etcdserverpb.MemberPromoteResponse",
     false, false},
    {"/etcdserverpb.Maintenance/Alarm", "etcdserverpb.AlarmRequest", "etcdserverpb.AlarmResponse", false, false},
    {"/etcdserverpb.Maintenance/Status", "etcdserverpb.StatusRequest", "etcdserverpb.StatusResponse", false, false},
    {"/etcdserverpb.Maintenance/Defragment", "etcdserverpb.DefragmentRequest", "etcdserverpb.DefragmentResponse", false,
     false},
    {"/etcdserverpb.Maintenance/Hash", "etcdserverpb.HashRequest", "etcdserverpb.HashResponse", false, false},
    {"/etcdserverpb.Maintenance/HashKV", "etcdserverpb.HashKVRequest", "etcdserverpb.HashKVResponse", false, false},
    {"/etcdserverpb.Maintenance/Snapshot", "etcdserverpb.SnapshotRequest", "etcdserverpb.SnapshotResponse", false,
     true},
    {"/etcdserverpb.Maintenance/MoveLeader", "etcdserverpb.MoveLeaderRequest", "etcdserverpb.MoveLeaderResponse", false,
     false},
    {"/etcdserverpb.Auth/AuthEnable", "etcdserverpb.AuthEnableRequest", "etcdserverpb.AuthEnableResponse", false,
     false},
    {"/etcdserverpb.Auth/AuthDisable", "etcdserverpb.AuthDisableRequest", "etcdserverpb.AuthDisableResponse", false,
     false},
    {"/etcdserverpb.Auth/Authenticate", "etcdserverpb.AuthenticateRequest", "etcdserverpb.AuthenticateResponse", false,
     false},
    {"/etcdserverpb.Auth/UserAdd", "etcdserverpb.AuthUserAddRequest", "etcdserverpb.AuthUserAddResponse", false, false},
    {"/etcdserverpb.Auth/UserGet", "etcdserverpb.AuthUserGetRequest", "etcdserverpb.AuthUserGetResponse", false, false},
    {"/etcdserverpb.Auth/UserList", "etcdserverpb.AuthUserListRequest", "etcdserverpb.AuthUserListResponse", false,
     false},
    {"/etcdserverpb.Auth/UserDelete", "etcdserverpb.AuthUserDeleteRequest", "etcdserverpb.AuthUserDeleteResponse",
     false, false},
    {"/etcdserverpb.Auth/UserChangePassword", "etcdserverpb.AuthUserChangePasswordRequest",
     "etcdserverpb.AuthUserChangePasswordResponse", false, false},
    {"/etcdserverpb.Auth/UserGrantRole", "etcdserverpb.AuthUserGrantRoleRequest",
     "etcdserverpb.AuthUserGrantRoleResponse", false, false},
    {"/etcdserverpb.Auth/UserRevokeRole", "etcdserverpb.AuthUserRevokeRoleRequest",
     "etcdserverpb.AuthUserRevokeRoleResponse", false, false},
    {"/etcdserverpb.Auth/RoleAdd", "etcdserverpb.AuthRoleAddRequest", "etcdserverpb.AuthRoleAddResponse", false, false},
    {"/etcdserverpb.Auth/RoleGet", "etcdserverpb.AuthRoleGetRequest", "etcdserverpb.AuthRoleGetResponse", false, false},
    {"/etcdserverpb.Auth/RoleList", "etcdserverpb.AuthRoleListRequest", "etcdserverpb.AuthRoleListResponse", false,
     false},
    {"/etcdserverpb.Auth/RoleDelete", "etcdserverpb.AuthRoleDeleteRequest", "etcdserverpb.AuthRoleDeleteResponse",
     false, false},
    {"/etcdserverpb.Auth/RoleGrantPermission", "etcdserverpb.AuthRoleGrantPermissionRequest",
     "etcdserverpb.AuthRoleGrantPermissionResponse", false, false},
    {"/etcdserverpb.Auth/RoleRevokePermission", "etcdserverpb.AuthRoleRevokePermissionRequest",
     "etcdserverpb.AuthRoleRevokePermissionResponse", false, false},
    {"/v3lockpb.Lock/Lock", "v3lockpb.LockRequest", "v3lockpb.LockResponse", false, false},
    {"/v3lockpb.Lock/Unlock", "v3lockpb.UnlockRequest", "v3lockpb.UnlockResponse", false, false},
    {"/v3electionpb.Election/Campaign", "v3electionpb.CampaignRequest", "v3electionpb.CampaignResponse", false, false},
    {"/v3electionpb.Election/Proclaim", "v3electionpb.ProclaimRequest", "v3electionpb.ProclaimResponse", false, false},
    {"/v3electionpb.Election/Leader", "v3electionpb.LeaderRequest", "v3electionpb.LeaderResponse", false, false},
    {"/v3electionpb.Election/Observe", "v3electionpb.LeaderRequest", "v3electionpb.LeaderResponse", false, true},
    {"/v3electionpb.Election/Resign", "v3electionpb.ResignRequest", "v3electionpb.ResignResponse", false, false},
};

TEST(EtcdProtoTest, ServiceMethods) {
  for (const MethodSpec& spec : kMethods) {
    SCOPED_TRACE(spec.path);
    // "/pkg.Service/Method" -> descriptor name "pkg.Service.Method".
    std::string path = spec.path;
    ASSERT_EQ(path[0], '/');
    std::string name = path.substr(1);
    const size_t slash = name.find('/');
    ASSERT_NE(slash, std::string::npos);
    name[slash] = '.';
    const MethodDescriptor* method = Pool()->FindMethodByName(name);
    ASSERT_NE(method, nullptr);
    EXPECT_EQ("/" + method->service()->full_name() + "/" + method->name(), spec.path);
    EXPECT_EQ(method->input_type()->full_name(), spec.input);
    EXPECT_EQ(method->output_type()->full_name(), spec.output);
    EXPECT_EQ(method->client_streaming(), spec.client_streaming);
    EXPECT_EQ(method->server_streaming(), spec.server_streaming);
  }
}

// No method beyond etcd 3.4's: each service's method count equals the number listed above.
TEST(EtcdProtoTest, ServiceMethodCounts) {
  const struct {
    const char* service;
    int methods;
  } kServices[] = {
      {"etcdserverpb.KV", 5},      {"etcdserverpb.Watch", 1},       {"etcdserverpb.Lease", 5},
      {"etcdserverpb.Cluster", 5}, {"etcdserverpb.Maintenance", 7}, {"etcdserverpb.Auth", 16},
      {"v3lockpb.Lock", 2},        {"v3electionpb.Election", 5},
  };
  int total = 0;
  for (const auto& s : kServices) {
    const ServiceDescriptor* service = Pool()->FindServiceByName(s.service);
    ASSERT_NE(service, nullptr) << s.service;
    EXPECT_EQ(service->method_count(), s.methods) << s.service;
    total += s.methods;
  }
  EXPECT_EQ(total, static_cast<int>(sizeof(kMethods) / sizeof(kMethods[0])));
  EXPECT_EQ(etcdserverpb::PutRequest::descriptor()->file()->service_count(), 6);
}

// Bytes worked out by hand from the protobuf encoding: tag = (field number << 3) | wire type.
TEST(EtcdProtoTest, PutRequestWireBytes) {
  etcdserverpb::PutRequest put;
  put.set_key("foo");
  put.set_value("bar");
  put.set_lease(7);
  put.set_prev_kv(true);
  const std::string expected = {
      '\x0a', '\x03', 'f', 'o', 'o',  // 1:key, length-delimited (1<<3|2), 3 bytes
      '\x12', '\x03', 'b', 'a', 'r',  // 2:value, length-delimited (2<<3|2), 3 bytes
      '\x18', '\x07',                 // 3:lease, varint (3<<3|0) = 7
      '\x20', '\x01',                 // 4:prev_kv, varint (4<<3|0) = true
  };
  EXPECT_EQ(put.SerializeAsString(), expected);

  etcdserverpb::PutRequest parsed;
  ASSERT_TRUE(parsed.ParseFromString(expected));
  EXPECT_EQ(parsed.key(), "foo");
  EXPECT_EQ(parsed.value(), "bar");
  EXPECT_EQ(parsed.lease(), 7);
  EXPECT_TRUE(parsed.prev_kv());
}

// Compare.range_end is field 64: its tag (64<<3|2 = 514) takes two varint bytes, 0x82 0x04.
TEST(EtcdProtoTest, CompareRangeEndWireBytes) {
  etcdserverpb::Compare compare;
  compare.set_range_end("z");
  EXPECT_EQ(compare.SerializeAsString(), std::string("\x82\x04\x01z", 4));
}

}  // namespace
