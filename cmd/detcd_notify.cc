#include "cmd/detcd_notify.h"

#include <systemd/sd-daemon.h>

#include <cstring>

namespace detcd {

namespace {

std::string Notify(const char* state) {
  const int rc = sd_notify(0, state);
  return rc < 0 ? std::string("sd_notify: ") + std::strerror(-rc) : std::string();
}

}  // namespace

std::string NotifyReady() { return Notify("READY=1"); }
std::string NotifyStopping() { return Notify("STOPPING=1"); }

}  // namespace detcd
