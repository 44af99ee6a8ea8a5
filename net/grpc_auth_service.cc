// etcd's Auth service over the member: every RPC goes to the core as a kvpb::ClientRequest carrying the call's
// credentials (the core checks who may do what, and applies the change through the log). What the core must not do
// is done here, on gRPC's handler thread: a new password is hashed with bcrypt before it is proposed (the log never
// holds a password), and Authenticate checks the password against the hash the member holds, then proposes the
// authentication at the auth revision it checked (etcd's loop: if the store moved on meanwhile, check again), and
// hands out the token (the member's simple token, or a JWT signed here). Holds no auth state.
#include <memory>

#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "kv/errors.h"
#include "net/grpc_services_shared.h"

namespace detcd::net {
namespace {

using grpc::ServerContext;
using kvpb::ClientRequest;
using kvpb::ClientResponse;

// How many times Authenticate checks the password again when the auth store changed under it before it gives up
// with ErrAuthOldRevision (etcd loops until it wins; a bound keeps a client from waiting on a store that never rests).
constexpr int kAuthenticateAttempts = 8;

class AuthService final : public etcdserverpb::Auth::Service {
 public:
  explicit AuthService(EtcdServices::Shared* shared) : shared_(shared) {}

#define DETCD_AUTH_UNARY(Method, Request, Response, field)                                                   \
  grpc::Status Method(ServerContext* ctx, const etcdserverpb::Request* request, etcdserverpb::Response* response) \
      override {                                                                                             \
    return shared_->Unary(ctx, *request, &ClientRequest::mutable_##field, &ClientResponse::mutable_##field,  \
                          response);                                                                         \
  }
  DETCD_AUTH_UNARY(AuthEnable, AuthEnableRequest, AuthEnableResponse, auth_enable)
  DETCD_AUTH_UNARY(AuthDisable, AuthDisableRequest, AuthDisableResponse, auth_disable)
  DETCD_AUTH_UNARY(UserGet, AuthUserGetRequest, AuthUserGetResponse, auth_user_get)
  DETCD_AUTH_UNARY(UserList, AuthUserListRequest, AuthUserListResponse, auth_user_list)
  DETCD_AUTH_UNARY(UserDelete, AuthUserDeleteRequest, AuthUserDeleteResponse, auth_user_delete)
  DETCD_AUTH_UNARY(UserGrantRole, AuthUserGrantRoleRequest, AuthUserGrantRoleResponse, auth_user_grant_role)
  DETCD_AUTH_UNARY(UserRevokeRole, AuthUserRevokeRoleRequest, AuthUserRevokeRoleResponse, auth_user_revoke_role)
  DETCD_AUTH_UNARY(RoleAdd, AuthRoleAddRequest, AuthRoleAddResponse, auth_role_add)
  DETCD_AUTH_UNARY(RoleGet, AuthRoleGetRequest, AuthRoleGetResponse, auth_role_get)
  DETCD_AUTH_UNARY(RoleList, AuthRoleListRequest, AuthRoleListResponse, auth_role_list)
  DETCD_AUTH_UNARY(RoleDelete, AuthRoleDeleteRequest, AuthRoleDeleteResponse, auth_role_delete)
  DETCD_AUTH_UNARY(RoleGrantPermission, AuthRoleGrantPermissionRequest, AuthRoleGrantPermissionResponse,
                   auth_role_grant_permission)
  DETCD_AUTH_UNARY(RoleRevokePermission, AuthRoleRevokePermissionRequest, AuthRoleRevokePermissionResponse,
                   auth_role_revoke_permission)
#undef DETCD_AUTH_UNARY

  grpc::Status UserAdd(ServerContext* ctx, const etcdserverpb::AuthUserAddRequest* request,
                       etcdserverpb::AuthUserAddResponse* response) override {
    etcdserverpb::AuthUserAddRequest hashed = *request;
    if (!request->options().no_password()) {
      absl::StatusOr<std::string> hash = shared_->options.auth->Hash(request->password());
      if (!hash.ok()) return ToGrpcStatus(hash.status());
      hashed.set_password(*std::move(hash));
    } else {
      hashed.clear_password();
    }
    return shared_->Unary(ctx, hashed, &ClientRequest::mutable_auth_user_add, &ClientResponse::mutable_auth_user_add,
                          response);
  }

  grpc::Status UserChangePassword(ServerContext* ctx, const etcdserverpb::AuthUserChangePasswordRequest* request,
                                  etcdserverpb::AuthUserChangePasswordResponse* response) override {
    etcdserverpb::AuthUserChangePasswordRequest hashed = *request;
    absl::StatusOr<std::string> hash = shared_->options.auth->Hash(request->password());
    if (!hash.ok()) return ToGrpcStatus(hash.status());
    hashed.set_password(*std::move(hash));
    return shared_->Unary(ctx, hashed, &ClientRequest::mutable_auth_user_change_password,
                          &ClientResponse::mutable_auth_user_change_password, response);
  }

  grpc::Status Authenticate(ServerContext* ctx, const etcdserverpb::AuthenticateRequest* request,
                            etcdserverpb::AuthenticateResponse* response) override {
    const AuthCredentials& credentials = *shared_->options.auth;
    for (int attempt = 0; attempt < kAuthenticateAttempts; ++attempt) {
      ClientRequest lookup;
      lookup.mutable_auth_password_lookup()->set_name(request->name());
      ClientResponse info;
      if (grpc::Status s = shared_->Call(ctx, lookup, &info); !s.ok()) return s;
      const kvpb::AuthPasswordInfo& found = info.auth_password_lookup();
      if (!AuthCredentials::Check(found.hash(), request->password())) return ToGrpcStatus(kv::ErrAuthFailed());
      if (!credentials.issues_tokens()) return ToGrpcStatus(kv::ErrAuthFailed());
      ClientRequest authenticate;
      authenticate.mutable_authenticate()->set_name(request->name());
      authenticate.mutable_authenticate()->set_simple_token_prefix(credentials.SimpleTokenPrefix());
      authenticate.mutable_authenticate()->set_checked_revision(found.revision());
      ClientResponse done;
      grpc::Status s = shared_->Call(ctx, authenticate, &done);
      if (s.error_code() == static_cast<grpc::StatusCode>(kv::ErrAuthOldRevision().code()) &&
          s.error_message() == kv::ErrAuthOldRevision().message()) {
        continue;  // the store changed between the check and the proposal: check again against the new one
      }
      if (!s.ok()) return s;
      absl::StatusOr<std::string> token =
          credentials.TokenFor(request->name(), found.revision(), done.authenticate().token());
      if (!token.ok()) return ToGrpcStatus(token.status());
      *response->mutable_header() = done.authenticate().header();
      response->set_token(*std::move(token));
      return grpc::Status::OK;
    }
    return ToGrpcStatus(kv::ErrAuthOldRevision());
  }

 private:
  EtcdServices::Shared* shared_;
};

}  // namespace

std::unique_ptr<grpc::Service> MakeAuthService(EtcdServices::Shared* shared) {
  return std::make_unique<AuthService>(shared);
}

}  // namespace detcd::net
