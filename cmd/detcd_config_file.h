// etcd 3.4's --config-file: a YAML file whose keys are etcd's flag names (embed.Config's tags: `name`, `data-dir`,
// `listen-peer-urls`, ...; URL lists as comma-separated strings, `log-outputs` as a list, durations as integer
// nanoseconds) with the TLS files in two maps, `client-transport-security` and `peer-transport-security` (keys
// `cert-file`, `key-file`, `client-cert-auth`, `trusted-ca-file`, `auto-tls`). See etcd's etcd.conf.yml.sample.
//
// This unit only turns YAML into settings: each value is checked for the YAML type etcd's decoder wants (with etcd's
// "json: cannot unmarshal ..." errors), converted to its flag's text form and handed to DetcdConfigFromFileSettings
// (cmd/detcd_flags.h), which sets and validates it exactly as the flag on the command line. It must never interpret
// or validate a value itself (one validator, the flags'), and never crash or throw on any input. Keys etcd 3.4 does
// not read are ignored, as etcd's non-strict YAML decoding ignores them, with a warning naming them. Only
// LoadDetcdConfigFile reads the disk.
#ifndef DETCD_CMD_DETCD_CONFIG_FILE_H_
#define DETCD_CMD_DETCD_CONFIG_FILE_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cmd/detcd_flags.h"

namespace detcd {

// The settings a config file's text gives, in document order (a repeated key: its last value, as etcd's decoder
// keeps). Warnings (ignored keys) are appended to *warnings (may be null). Errors are kFailedPrecondition (etcd
// exits 1): "error converting YAML to JSON: yaml: line N: ..." for YAML that does not parse, "error unmarshaling
// JSON: while decoding JSON: json: cannot unmarshal ..." for a value of the wrong YAML type, as etcd 3.4 words them.
absl::StatusOr<std::vector<DetcdFileSetting>> DetcdFileSettingsFromYaml(const std::string& yaml,
                                                                        std::vector<std::string>* warnings);

// The configuration a config file's text gives (`path` only names it): DetcdFileSettingsFromYaml, then
// DetcdConfigFromFileSettings.
absl::StatusOr<DetcdConfig> DetcdConfigFromYaml(const std::string& path, const std::string& yaml,
                                                std::vector<std::string>* warnings);

// Reads the file at `path` and returns DetcdConfigFromYaml's result. A file that cannot be read is an error worded as
// Go's ("open <path>: no such file or directory"), kFailedPrecondition.
absl::StatusOr<DetcdConfig> LoadDetcdConfigFile(const std::string& path, std::vector<std::string>* warnings);

}  // namespace detcd

#endif  // DETCD_CMD_DETCD_CONFIG_FILE_H_
