// Go's text conventions that etcd's messages and flags follow: strconv.Quote of a string (as %q prints it), and
// time.ParseDuration with its error texts. Pure functions; no locale, no allocation beyond the result.
#ifndef DETCD_BASE_GO_TEXT_H_
#define DETCD_BASE_GO_TEXT_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace detcd {

// Go's strconv.Quote: in double quotes, with \", \\, \n, \r, \t and \xNN for other control bytes; bytes from 0x80 up
// are kept as they are.
std::string GoQuote(std::string_view s);

// Go's time.ParseDuration, in nanoseconds (Go's time.Duration), with Go's errors ("time: invalid duration \"x\"",
// "time: missing unit in duration …", "time: unknown unit \"d\" in duration …").
absl::StatusOr<int64_t> ParseGoDurationNs(std::string_view text);

}  // namespace detcd

#endif  // DETCD_BASE_GO_TEXT_H_
