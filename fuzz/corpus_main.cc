// Replays fuzz inputs without libFuzzer: runs LLVMFuzzerTestOneInput over every file of the directories (or files)
// given on the command line. Linked into each fuzz target in the normal (gcc) build, so `make test` runs the kept
// corpus as a regression test; `make fuzz` links the same target against libFuzzer (clang, ASan, UBSan) instead.
#include <dirent.h>

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

bool ReadFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

std::vector<std::string> Inputs(const std::string& path) {
  std::vector<std::string> out;
  if (DIR* d = opendir(path.c_str())) {
    while (dirent* e = readdir(d)) {
      const std::string name = e->d_name;
      if (name != "." && name != "..") out.push_back(path + "/" + name);
    }
    closedir(d);
  } else {
    out.push_back(path);
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int runs = 0;
  for (int i = 1; i < argc; ++i) {
    for (const std::string& file : Inputs(argv[i])) {
      std::string data;
      if (!ReadFile(file, &data)) {
        std::fprintf(stderr, "cannot read %s\n", file.c_str());
        return 1;
      }
      LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(data.data()), data.size());
      ++runs;
    }
  }
  // A corpus that went missing would make this test pass vacuously.
  if (runs == 0) {
    std::fprintf(stderr, "no fuzz inputs found\n");
    return 1;
  }
  std::printf("ran %d inputs\n", runs);
  return 0;
}
