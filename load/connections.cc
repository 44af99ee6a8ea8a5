#include "load/connections.h"

#include "absl/strings/str_cat.h"
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

std::string ErrorText(const grpc::Status& status) {
  if (!status.error_message().empty()) return status.error_message();
  return absl::StrCat("grpc status ", static_cast<int>(status.error_code()));
}

}  // namespace detcd::load
