// Fuzz target: etcd's YAML config file (--config-file) over arbitrary bytes (a user's file) — refuse with a
// configuration error (exit 1) or load, never crash or throw; a refusal is never kInternal (which would mean a key of
// the file maps to no flag); a loaded configuration names its file and asks to run.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "cmd/detcd_config_file.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 16384) return 0;  // config files are small; long inputs only slow the search
  const std::string in(reinterpret_cast<const char*>(data), size);
  std::vector<std::string> warnings;
  absl::StatusOr<detcd::DetcdConfig> c = detcd::DetcdConfigFromYaml("/fuzz.yml", in, &warnings);
  if (!c.ok()) {
    if (c.status().code() != absl::StatusCode::kFailedPrecondition) std::abort();
    if (detcd::DetcdFlagsExitCode(c.status()) != 1) std::abort();
    return 0;
  }
  if (c->config_file != "/fuzz.yml" || c->action != detcd::DetcdFlagsAction::kRun || c->data_dir.empty()) std::abort();
  return 0;
}
