// The sd_notify(3) datagram protocol, implemented directly: one datagram of
// "KEY=VALUE\n" lines to the socket named by $NOTIFY_SOCKET. Doing it here
// (a dozen lines) avoids linking libsystemd into a daemon that only needs this.
#pragma once

#include <string_view>

namespace libra {

// Returns false if $NOTIFY_SOCKET is set but sending failed; true when sent or
// when not started by systemd (nothing to tell).
bool sd_notify_state(std::string_view state);

}  // namespace libra
