// KvCluster: its members' snapshot files on their simulated disks — the pieces the cores hand out (their own
// snapshots, and files for followers read back into memory for the simulated wire), a leader's snapshot arriving in a
// MSG_SNAP written into a file of the receiver's (checked as the production transport checks it), and the report of a
// batch that installed one, with the installed file for the core to restore from.
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "sim/world/kv_cluster.h"
#include "storage/received_snapshot_file.h"
#include "storage/snapshot_file_reader.h"

namespace detcd::sim {

void KvCluster::ReceiveSnapshot(Node& n, const raftpb::Message& m) {
  // As the peer transport does: the leader's snapshot file (the simulated wire carried it in the message's data)
  // goes into a file of this member's, checked; the message goes on without it.
  const raftpb::SnapshotMetadata& md = m.snapshot().metadata();
  const std::string& bytes = m.snapshot().data();
  absl::StatusOr<std::unique_ptr<storage::ReceivedSnapshotFile>> file = storage::ReceivedSnapshotFile::Begin(
      &n.disk.disk(), n.disk.store().snap_dir(), absl::StrCat("received-", ++n.received_files, ".tmp"), md,
      bytes.size());
  absl::StatusOr<std::string> path = absl::UnknownError("not received");
  if (!file.ok()) {
    path = file.status();
  } else if (absl::Status s = (*file)->Append(bytes); !s.ok()) {
    path = s;
  } else {
    path = (*file)->Finish();
  }
  if (!path.ok()) {
    // The transport refuses it (its sender will send again); the member goes on.
    trace_->Record(loop_->Now(), absl::StrCat(Name(n), " refuses snapshot ", md.index(), ": ", path.status().message()));
    return;
  }
  n.received->Add(md, *path);
  raftpb::Message header = m;
  header.mutable_snapshot()->clear_data();
  n.core->Receive(header);
}

bool KvCluster::ReportPersisted(Node& n) {
  DETCD_CHECK(n.persisting);
  const kv::PersistRequest p = std::move(*n.persisting);
  n.persisting.reset();
  if (!host::InstallsReceivedSnapshot(p)) {
    n.core->Persisted(p.seq);
    return true;
  }
  // The leader's snapshot is this member's file now: the core restores from it, a piece at a time.
  absl::StatusOr<std::unique_ptr<storage::SnapshotFileReader>> data =
      host::OpenInstalledSnapshot(&n.disk.disk(), n.disk.store(), p);
  if (!data.ok()) {
    DieOfDiskError(n, data.status());
    return false;
  }
  n.core->Persisted(p.seq, data->get());
  return true;
}

bool KvCluster::WriteSnapshotPiece(Node& n) {
  DETCD_CHECK(!n.writing_piece && !n.snapshot_pieces.empty());
  kv::SnapshotPiece p = std::move(n.snapshot_pieces.front());
  n.snapshot_pieces.pop_front();
  const uint64_t index = p.metadata.index();
  const bool own = p.target == kv::SnapshotPiece::Target::kSave;
  std::unique_ptr<storage::SnapshotFileWriter>& file = own ? n.snapshot_file : n.send_file;
  std::shared_ptr<const std::string> sent;  // a finished file for followers: its bytes, for its MSG_SNAPs
  absl::Status s;
  switch (p.kind) {
    case kv::SnapshotPiece::Kind::kBegin: {
      DETCD_CHECK_MSG(!file, "a stream begun while another of its target is being written");
      if (own) {
        s = n.disk.SaveSnapshotMarker(p.metadata);
        if (!s.ok()) break;
      }
      absl::StatusOr<std::unique_ptr<storage::SnapshotFileWriter>> f =
          own ? n.disk.BeginSnapshotFile(p.metadata, p.bytes)
              : n.disk.store().BeginSnapshotFileForFollowers(p.metadata, p.bytes);
      if (f.ok()) file = std::move(*f);
      s = f.status();
      break;
    }
    case kv::SnapshotPiece::Kind::kStore:
      DETCD_CHECK(file);
      s = file->Append(p.bytes);
      break;
    case kv::SnapshotPiece::Kind::kEnd: {
      DETCD_CHECK(file);
      s = file->Finish(p.store_bytes);
      const std::string path = file->temporary_path();
      file.reset();
      if (!s.ok()) break;
      if (!own) {
        // Sent from memory (the simulated wire carries bytes); the file is done with.
        absl::StatusOr<std::string> bytes = n.disk.disk().Read(path);
        s = bytes.status();
        if (!s.ok()) break;
        sent = std::make_shared<const std::string>(std::move(*bytes));
        s = n.disk.disk().Remove(path);
        trace_->Record(loop_->Now(), absl::StrCat(Name(n), " snapshot at ", index, " for followers"));
        break;
      }
      n.disk.SnapshotSaved(index);
      s = n.disk.RemoveOld();
      if (!s.ok()) break;
      ++snapshots_saved_;
      trace_->Record(loop_->Now(), absl::StrCat(Name(n), " snapshot at ", index));
      break;
    }
    case kv::SnapshotPiece::Kind::kAbandon:
      DETCD_CHECK(file);
      s = file->Abandon();
      file.reset();
      if (s.ok()) {
        trace_->Record(loop_->Now(),
                       absl::StrCat(Name(n), " abandons its snapshot at ", index, own ? "" : " for followers"));
      }
      break;
  }
  if (!s.ok()) {
    DieOfDiskError(n, s);
    return false;
  }
  if (p.kind == kv::SnapshotPiece::Kind::kAbandon) {
    // Not reported: the next piece (another stream's) may go at once.
    return n.snapshot_pieces.empty() || WriteSnapshotPiece(n);
  }
  n.writing_piece = true;
  const ClusterOptions& o = options_.cluster;
  // An append reaches the page cache; the kBegin and kEnd of the member's own snapshot wait for syncs (a file for
  // followers is never synced).
  const int64_t latency_max = p.kind == kv::SnapshotPiece::Kind::kStore || !own ? o.sync_latency_min_us
                                                                                : o.sync_latency_max_us;
  const int64_t latency = static_cast<int64_t>(prng_->Range(0, static_cast<uint64_t>(latency_max)));
  const uint64_t id = n.id;
  const uint64_t incarnation = n.incarnation;
  loop_->ScheduleAfter(latency, [this, id, incarnation, stream = p.stream, seq = p.seq, md = p.metadata, sent] {
    SnapshotPieceWritten(id, incarnation, stream, seq, md, sent);
  });
  return true;
}

void KvCluster::SnapshotPieceWritten(uint64_t id, uint64_t incarnation, uint64_t stream, uint64_t seq,
                                     const raftpb::SnapshotMetadata& metadata,
                                     std::shared_ptr<const std::string> sent) {
  Node& n = node(id);
  if (n.incarnation != incarnation || !n.core) return;  // the process died meanwhile: its .tmp stays for recovery
  // A stopped process hears of it when it resumes.
  OnMember(id, [incarnation, stream, seq, metadata, sent](Node& m) {
    if (m.incarnation != incarnation || !m.core) return;
    m.writing_piece = false;
    if (sent != nullptr) {
      // The MSG_SNAPs this file serves come with the effects of this report.
      m.send_ready = sent;
      m.send_ready_metadata = metadata;
    }
    m.core->SnapshotPieceWritten(stream, seq);  // the next piece goes with the Flush that follows
  });
}

void KvCluster::ForgetSnapshotSave(Node& n) {
  n.snapshot_pieces.clear();
  n.writing_piece = false;
  n.snapshot_file.reset();  // a dead process's file handles; what it wrote stays as the disk kept it
  n.send_file.reset();
  n.send_ready.reset();
  // The files of snapshots it received stay until the next start removes them.
  n.received = std::make_unique<host::ReceivedSnapshots>(&n.disk.disk());
}

}  // namespace detcd::sim
