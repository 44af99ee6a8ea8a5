#include "load/connections.h"

#include <chrono>

#include "absl/strings/str_cat.h"
#include "api/etcdserverpb/rpc.grpc.pb.h"
#include "base/check.h"

namespace detcd::load {

std::vector<std::shared_ptr<grpc::Channel>> OpenConnections(const std::vector<std::string>& endpoints, int conns) {
  DETCD_CHECK(!endpoints.empty());
  DETCD_CHECK(conns >= 1);
  std::vector<std::shared_ptr<grpc::Channel>> channels;
  for (int i = 0; i < conns; ++i) {
    grpc::ChannelArguments args;
    args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    args.SetInt("detcd.conn", i);
    args.SetMaxReceiveMessageSize(-1);
    channels.push_back(grpc::CreateCustomChannel(endpoints[i % endpoints.size()], grpc::InsecureChannelCredentials(),
                                                 args));
  }
  return channels;
}

absl::StatusOr<std::string> Authenticate(const std::shared_ptr<grpc::Channel>& channel, const std::string& user,
                                         const std::string& password, absl::Duration timeout) {
  auto stub = etcdserverpb::Auth::NewStub(channel);
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + absl::ToChronoNanoseconds(timeout));
  etcdserverpb::AuthenticateRequest req;
  req.set_name(user);
  req.set_password(password);
  etcdserverpb::AuthenticateResponse resp;
  const grpc::Status s = stub->Authenticate(&ctx, req, &resp);
  if (!s.ok()) return absl::UnauthenticatedError(ErrorText(s));
  return resp.token();
}

void AddToken(grpc::ClientContext* ctx, const std::string& token) {
  if (!token.empty()) ctx->AddMetadata("token", token);
}

std::string ErrorText(const grpc::Status& status) {
  if (!status.error_message().empty()) return status.error_message();
  return absl::StrCat("grpc status ", static_cast<int>(status.error_code()));
}

}  // namespace detcd::load
