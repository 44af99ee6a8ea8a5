// ReceivedSnapshotSink: the peer transport's SnapshotSink for a member — a leader's snapshot file streamed after its
// MSG_SNAP goes into a storage::ReceivedSnapshotFile (checked as it comes; removed unless finished), whose path
// Finish hands on. No logic of its own: it only joins the transport's interface to the storage writer.
#ifndef DETCD_NET_RECEIVED_SNAPSHOT_SINK_H_
#define DETCD_NET_RECEIVED_SNAPSHOT_SINK_H_

#include <memory>
#include <string>
#include <utility>

#include "net/peer_transport.h"
#include "storage/received_snapshot_file.h"

namespace detcd::net {

class ReceivedSnapshotSink final : public SnapshotSink {
 public:
  explicit ReceivedSnapshotSink(std::unique_ptr<storage::ReceivedSnapshotFile> file) : file_(std::move(file)) {}
  absl::Status Append(absl::string_view bytes) override { return file_->Append(bytes); }
  absl::StatusOr<std::string> Finish() override { return file_->Finish(); }

 private:
  std::unique_ptr<storage::ReceivedSnapshotFile> file_;
};

}  // namespace detcd::net

#endif  // DETCD_NET_RECEIVED_SNAPSHOT_SINK_H_
