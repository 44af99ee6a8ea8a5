#include "sim/scenarios/scenario_paths.h"

#include <dirent.h>

#include <algorithm>
#include <cstdlib>

namespace detcd::sim {

std::string ScenarioDir() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  if (srcdir == nullptr || workspace == nullptr) return "testdata/scenarios";
  return std::string(srcdir) + "/" + workspace + "/testdata/scenarios";
}

std::vector<std::string> ScenarioFiles() {
  std::vector<std::string> files;
  const std::string dir = ScenarioDir();
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return files;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    const std::string ext = ".textproto";
    if (name.size() > ext.size() && name.compare(name.size() - ext.size(), ext.size(), ext) == 0) {
      files.push_back(dir + "/" + name);
    }
  }
  closedir(d);
  std::sort(files.begin(), files.end());
  return files;
}

std::string ScenarioPath(const std::string& name) { return ScenarioDir() + "/" + name + ".textproto"; }

}  // namespace detcd::sim
