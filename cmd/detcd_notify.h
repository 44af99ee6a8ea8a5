// systemd's service notification for detcd (Type=notify units, as Debian's etcd unit is): READY=1 once the member
// serves clients, STOPPING=1 when it begins to stop; through libsystemd's sd_notify, so a process that systemd did
// not start (no NOTIFY_SOCKET) sends nothing. It must never block the member or fail its start: a notification that
// cannot be sent is only logged by the caller.
#ifndef DETCD_CMD_DETCD_NOTIFY_H_
#define DETCD_CMD_DETCD_NOTIFY_H_

#include <string>

namespace detcd {

// "" if sent (or nobody listens: no NOTIFY_SOCKET), else why not.
std::string NotifyReady();
std::string NotifyStopping();

}  // namespace detcd

#endif  // DETCD_CMD_DETCD_NOTIFY_H_
