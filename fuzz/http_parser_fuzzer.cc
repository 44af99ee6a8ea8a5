// Fuzz target: the client port's HTTP/1.1 parser over arbitrary bytes from the network, fed whole and again in two
// pieces split where the first byte says — never crash, never hand out a body over the limit, and the same bytes
// give the same requests however they are split.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "net/http_parser.h"

namespace {

std::vector<std::string> Parse(std::string_view a, std::string_view b, bool* failed) {
  detcd::net::HttpParserLimits limits;
  limits.header_bytes_max = 4096;
  limits.body_bytes_max = 8192;
  detcd::net::HttpParser p(limits);
  p.Feed(a);
  p.Feed(b);
  std::vector<std::string> out;
  while (std::optional<detcd::net::HttpRequest> r = p.Next()) {
    if (r->body.size() > limits.body_bytes_max) std::abort();
    out.push_back(r->method + " " + r->target + "\n" + r->body);
  }
  *failed = p.failed();
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  const size_t cut = in.empty() ? 0 : data[0] % (in.size() + 1);
  bool failed_whole = false, failed_split = false;
  const std::vector<std::string> whole = Parse(in, "", &failed_whole);
  const std::vector<std::string> split = Parse(in.substr(0, cut), in.substr(cut), &failed_split);
  if (whole != split || failed_whole != failed_split) std::abort();
  return 0;
}
