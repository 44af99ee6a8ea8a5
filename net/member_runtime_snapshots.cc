// MemberRuntime: its snapshot files. The core's snapshot pieces (kv::SnapshotPiece) are written on the snapshot
// thread: the member's own snapshot (marker in WAL order on the disk thread, the file, then SnapshotSaved and
// RemoveOld back on the disk thread) and the ones for followers (a temporary file, opened for the transport once
// finished and its name removed). A leader's snapshot for this member arrives into a file (ReceiveSnapshotFile, on
// the transport's thread) and waits in received_ until the core has it installed (Persist, member_runtime.cc). None
// of these holds more than a piece of a snapshot in memory.
#include <utility>

#include "absl/strings/str_cat.h"
#include "base/check.h"
#include "net/member_runtime.h"

namespace detcd::net {

absl::StatusOr<std::unique_ptr<storage::ReceivedSnapshotFile>> MemberRuntime::ReceiveSnapshotFile(
    const raftpb::Message& header, uint64_t file_bytes) {
  if (!running_) return absl::UnavailableError("the member is stopping");
  const raftpb::SnapshotMetadata& md = header.snapshot().metadata();
  // Named apart from every other file (two receptions of the same snapshot may overlap); "*.tmp" until installed.
  const std::string name =
      absl::StrCat("received-", md.term(), "-", md.index(), "-", received_files_.fetch_add(1) + 1, ".tmp");
  return storage::ReceivedSnapshotFile::Begin(&disk_, store_.snap_dir(), name, md, file_bytes);
}

void MemberRuntime::ReceiveSnapshot(raftpb::Message m, std::string path) {
  DETCD_CHECK_MSG(m.type() == raftpb::MSG_SNAP && m.snapshot().data().empty(), "a received snapshot's message");
  if (!Post(
          [this, m = std::move(m), path] {
            received_.Add(m.snapshot().metadata(), path);
            core_->Receive(m);
          },
          Drainer::kPoster)) {
    (void)disk_.Remove(path);  // stopping: nobody will install it
  }
}

void MemberRuntime::SaveSnapshotPieces(std::vector<kv::SnapshotPiece> pieces) {
  for (kv::SnapshotPiece& piece : pieces) SaveSnapshotPiece(std::move(piece));
}

void MemberRuntime::SaveSnapshotPiece(kv::SnapshotPiece piece) {
  DETCD_CHECK(piece.metadata.index() > 0);
  auto p = std::make_shared<kv::SnapshotPiece>(std::move(piece));
  // Reported on the thread that finished it; the core (whoever holds it) hands out the next piece.
  auto report = [this, stream = p->stream, seq = p->seq] {
    (void)Post([this, stream, seq] { core_->SnapshotPieceWritten(stream, seq); }, Drainer::kPoster);
  };
  if (p->target == kv::SnapshotPiece::Target::kSend) return SaveSendPiece(std::move(p), report);
  switch (p->kind) {
    case kv::SnapshotPiece::Kind::kBegin:
      // The marker goes in WAL order (recovery ignores a marker whose file is missing), then the file is begun on the
      // snapshot thread. The core hands out nothing more of this save until it hears of it, so every later piece,
      // queued straight to the snapshot thread, comes after.
      ToDisk([this, p, report] {
        if (absl::Status s = store_.SaveSnapshotMarker(p->metadata); !s.ok()) return s;
        snapshot_thread_->Add([this, p, report] {
          DETCD_CHECK_MSG(snapshot_file_ == nullptr, "a save begun while another is being written");
          absl::StatusOr<std::unique_ptr<storage::SnapshotFileWriter>> f =
              store_.BeginSnapshotFile(p->metadata, p->bytes);
          if (!f.ok()) return f.status();
          snapshot_file_ = std::move(*f);
          report();
          return absl::OkStatus();
        });
        return absl::OkStatus();
      });
      return;
    case kv::SnapshotPiece::Kind::kStore:
      snapshot_thread_->Add([this, p, report]() mutable {
        DETCD_CHECK(snapshot_file_ != nullptr);
        if (absl::Status s = snapshot_file_->Append(p->bytes); !s.ok()) return s;
        p.reset();  // the bytes are in the file: free them before the core makes the next piece
        report();
        return absl::OkStatus();
      });
      return;
    case kv::SnapshotPiece::Kind::kEnd:
      // The file durable and in place, then the segments it makes removable go (WAL order, on the disk thread).
      snapshot_thread_->Add([this, p, report] {
        DETCD_CHECK(snapshot_file_ != nullptr);
        absl::Status s = snapshot_file_->Finish(p->store_bytes);
        snapshot_file_.reset();
        if (!s.ok()) return s;
        const uint64_t index = p->metadata.index();
        ToDisk([this, index, report] {
          store_.SnapshotSaved(index);
          absl::Status s = store_.RemoveOld();
          if (!s.ok()) return s;
          Log(absl::StrCat("saved snapshot at index ", index));
          report();
          return absl::OkStatus();
        });
        return absl::OkStatus();
      });
      return;
    case kv::SnapshotPiece::Kind::kAbandon:
      snapshot_thread_->Add([this, p] {
        DETCD_CHECK(snapshot_file_ != nullptr);
        absl::Status s = snapshot_file_->Abandon();
        snapshot_file_.reset();
        if (s.ok()) Log(absl::StrCat("abandoned snapshot at index ", p->metadata.index(), " (state replaced)"));
        return s;
      });
      return;
  }
}

void MemberRuntime::SaveSendPiece(std::shared_ptr<kv::SnapshotPiece> p, std::function<void()> report) {
  // A file for followers: all on the snapshot thread (no marker, no sync: nothing durable refers to it).
  snapshot_thread_->Add([this, p, report]() mutable {
    switch (p->kind) {
      case kv::SnapshotPiece::Kind::kBegin: {
        DETCD_CHECK_MSG(send_file_ == nullptr, "a snapshot for followers begun while another is being written");
        absl::StatusOr<std::unique_ptr<storage::SnapshotFileWriter>> f =
            store_.BeginSnapshotFileForFollowers(p->metadata, p->bytes);
        if (!f.ok()) return f.status();
        send_file_ = std::move(*f);
        break;
      }
      case kv::SnapshotPiece::Kind::kStore:
        DETCD_CHECK(send_file_ != nullptr);
        if (absl::Status s = send_file_->Append(p->bytes); !s.ok()) return s;
        p.reset();  // the bytes are in the file: free them before the core makes the next piece
        break;
      case kv::SnapshotPiece::Kind::kEnd: {
        DETCD_CHECK(send_file_ != nullptr);
        if (absl::Status s = send_file_->Finish(p->store_bytes); !s.ok()) return s;
        const std::string path = send_file_->temporary_path();
        send_file_.reset();
        // Open for the transport, then the name goes: the open file lives as long as a send still reads it.
        absl::StatusOr<std::unique_ptr<storage::ReadableFile>> file = disk_.OpenForRead(path);
        if (!file.ok()) return file.status();
        if (absl::Status s = disk_.Remove(path); !s.ok()) return s;
        std::shared_ptr<storage::ReadableFile> shared = std::move(*file);
        Log(absl::StrCat("made snapshot at index ", p->metadata.index(), " for followers (", shared->size(),
                         " bytes)"));
        const raftpb::SnapshotMetadata md = p->metadata;
        (void)Post(
            [this, md, shared, stream = p->stream, seq = p->seq] {
              send_ready_ = SendReady{md, shared};  // the MSG_SNAPs come with this report's effects
              core_->SnapshotPieceWritten(stream, seq);
            },
            Drainer::kPoster);
        return absl::OkStatus();
      }
      case kv::SnapshotPiece::Kind::kAbandon: {
        DETCD_CHECK(send_file_ != nullptr);
        absl::Status s = send_file_->Abandon();
        send_file_.reset();
        return s;  // not reported
      }
    }
    report();
    return absl::OkStatus();
  });
}

}  // namespace detcd::net
