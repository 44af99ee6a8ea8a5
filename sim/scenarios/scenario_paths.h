// Test-only: where the scenario files are, under `bazel test` (runfiles) or from the workspace root.
#ifndef DETCD_SIM_SCENARIOS_SCENARIO_PATHS_H_
#define DETCD_SIM_SCENARIOS_SCENARIO_PATHS_H_

#include <string>
#include <vector>

namespace detcd::sim {

std::string ScenarioDir();
// Every *.textproto in ScenarioDir(), sorted.
std::vector<std::string> ScenarioFiles();
// ScenarioDir() + "/" + name + ".textproto".
std::string ScenarioPath(const std::string& name);

}  // namespace detcd::sim

#endif  // DETCD_SIM_SCENARIOS_SCENARIO_PATHS_H_
