// Starting on an etcd data directory: if <data-dir>/member holds etcd 3.4's files (member/snap/db, an etcd WAL) and
// no detcd member, they are read (net/etcd_import.h) and a detcd member directory is made from them — the imported
// state as its snapshot at etcd's applied index, etcd's hard state, etcd's member and cluster ids — in
// <data-dir>/detcd-import.tmp, then etcd's member directory is moved aside to <data-dir>/member.etcd (its WAL
// directory too, with --wal-dir: <wal-dir>.etcd) and the new one put in its place. Nothing of the user's is deleted.
// A crash in between is finished by the next start. Blocking file IO; start-up only.
#ifndef DETCD_CMD_DETCD_ETCD_IMPORT_H_
#define DETCD_CMD_DETCD_ETCD_IMPORT_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"

namespace detcd {

// True if the data directory holds an etcd member that was not imported yet.
bool IsEtcdDataDir(const std::string& data_dir);

// Imports it (or finishes an import a crash interrupted); `log` gets what was done. false: nothing to import.
// Errors name what could not be read or imported; the directory is then left as it was.
absl::StatusOr<bool> ImportEtcdDataDir(const std::string& data_dir, const std::string& wal_dir,
                                       const std::function<void(const std::string&)>& log);

}  // namespace detcd

#endif  // DETCD_CMD_DETCD_ETCD_IMPORT_H_
