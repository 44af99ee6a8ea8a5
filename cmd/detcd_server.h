// DetcdServer: one detcd process's member, from etcd's flags to serving and back: it resolves TLS and who the member
// is (cmd/detcd_identity.h: a new cluster's IDs, a restarted member's saved ones, or a running cluster's answer when
// joining), starts the peer transport and the member (net::MemberRuntime), waits for a leader, serves each client
// URL (gRPC through net::GrpcFrontEnd and the in-process gRPC services, HTTP/1.1 through net::HttpGateway; TLS taken
// off first on an https URL) and each metrics URL, publishes the member's name and client URLs through Raft, and
// stops in the order that lets every open call end cleanly. It logs etcd 3.4's lifecycle lines.
// It owns no policy of its own beyond that order: what is served lives in net/, what is stored in storage/ and kv/.
#ifndef DETCD_CMD_DETCD_SERVER_H_
#define DETCD_CMD_DETCD_SERVER_H_

#include <grpcpp/grpcpp.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cmd/detcd_corruption.h"
#include "cmd/detcd_flags.h"
#include "cmd/detcd_log.h"
#include "cmd/detcd_tls.h"
#include "net/client_listener.h"
#include "net/grpc_front_end.h"
#include "net/grpc_services.h"
#include "net/http_gateway.h"
#include "net/lock_election.h"
#include "net/member_runtime.h"
#include "net/peer_prober.h"
#include "net/peer_transport.h"
#include "net/tls_terminator.h"

namespace detcd {

struct DetcdServerOptions {
  DetcdConfig config;
  EtcdLogger* log = nullptr;
  // Test-only (DETCD_WAL_SEGMENT_BYTES, not an etcd setting): WAL segments smaller than etcd's 64 MiB. 0: etcd's.
  uint64_t wal_segment_bytes = 0;
  std::string testing_corrupt_key;  // test-only: kv::KvTestingKnobs::corrupt_puts_to
  // Polled while start-up waits (for a leader, to publish): true once the process was asked to stop.
  std::function<bool()> interrupted;
};

class DetcdServer {
 public:
  // Starts everything, or fails with what to log (as "etcdmain"); the exit code is DetcdFlagsExitCode(status).
  // Removed from the cluster later, the member raises SIGUSR1 in this process.
  static absl::StatusOr<std::unique_ptr<DetcdServer>> Start(DetcdServerOptions options);
  ~DetcdServer();  // Stop()
  DetcdServer(const DetcdServer&) = delete;
  DetcdServer& operator=(const DetcdServer&) = delete;

  // Listeners first, then streams and waits, the front end, the gRPC server, TLS sessions' ends, the transport, the
  // member, the services. Idempotent.
  void Stop();

 private:
  explicit DetcdServer(DetcdServerOptions options);
  absl::Status Prepare();
  absl::Status StartMember();
  absl::Status StartServing();
  // The other members' peer addresses as the member knows them now (their first peer URLs).
  std::map<uint64_t, net::PeerAddress> PeerAddressesNow();
  CorruptionCheckOptions CorruptionOptions();
  absl::Status CheckInitialCorruption();
  absl::Status StartCorruptionChecks();
  absl::Status Listen();
  void Publish();
  void OnMembers(const std::vector<kvpb::Member>& members, const std::set<uint64_t>& removed);

  const DetcdServerOptions options_;
  const DetcdConfig& cfg_;
  EtcdLogger& log_;
  DetcdTls tls_;

  // Who this member is.
  bool initialized_ = false;  // it has a WAL
  uint64_t member_id_ = 0;
  uint64_t cluster_id_ = 0;
  std::vector<uint64_t> ids_;                   // the founding voters (a new cluster)
  std::map<uint64_t, kvpb::Member> founding_;   // a new cluster's members, for the head of its log
  std::map<uint64_t, net::PeerAddress> peers_;  // where the transport starts dialing
  bool join_existing_ = false;

  std::atomic<net::MemberRuntime*> member_{nullptr};
  std::atomic<net::PeerTransport*> transport_ptr_{nullptr};
  std::unique_ptr<net::PeerTransport> transport_;
  std::unique_ptr<net::MemberRuntime> runtime_;
  std::map<uint64_t, std::string> known_peers_;  // the transport's peers by first peer URL (membership thread)
  std::mutex cluster_info_mu_;
  std::string cluster_info_;  // guarded by cluster_info_mu_: what a joining member is told

  std::unique_ptr<PeriodicCorruptionCheck> corruption_check_;
  std::unique_ptr<net::PeerProber> prober_;
  std::unique_ptr<net::EtcdServices> services_;
  std::unique_ptr<net::LockElectionServices> lock_election_;
  std::unique_ptr<grpc::Server> grpc_server_;
  std::shared_ptr<const net::TlsTerminator> client_terminator_;
  std::unique_ptr<net::GrpcFrontEnd> front_end_;
  std::unique_ptr<net::HttpGateway> gateway_;
  std::atomic<bool> http_stop_{false};
  std::vector<std::unique_ptr<net::ClientListener>> listeners_;
  bool stopped_ = false;
};

}  // namespace detcd

#endif  // DETCD_CMD_DETCD_SERVER_H_
