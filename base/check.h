// DETCD_CHECK: assertions for invariants the code relies on. They stay on in release builds: a broken invariant in a
// consensus core must stop the process loudly rather than let it serve wrong data. Expected errors (bad requests,
// dropped proposals) are returned as values, never checked with these.
#ifndef DETCD_BASE_CHECK_H_
#define DETCD_BASE_CHECK_H_

#include <cstdio>
#include <cstdlib>

namespace detcd::internal {

[[noreturn]] inline void CheckFailed(const char* file, int line, const char* condition, const char* message) {
  std::fprintf(stderr, "%s:%d: check failed: %s%s%s\n", file, line, condition, message[0] ? ": " : "", message);
  std::fflush(stderr);
  std::abort();
}

}  // namespace detcd::internal

#define DETCD_CHECK(cond)                                                                            \
  do {                                                                                               \
    if (__builtin_expect(!(cond), 0)) ::detcd::internal::CheckFailed(__FILE__, __LINE__, #cond, ""); \
  } while (0)

// msg: anything convertible to const char* via .c_str() is not accepted; pass a C string or std::string(...).c_str().
#define DETCD_CHECK_MSG(cond, msg)                                                                      \
  do {                                                                                                  \
    if (__builtin_expect(!(cond), 0)) ::detcd::internal::CheckFailed(__FILE__, __LINE__, #cond, (msg)); \
  } while (0)

#endif  // DETCD_BASE_CHECK_H_
