// libractl's exit status, documented in libractl(8) and --help.
#pragma once

namespace libra::libractl_exit {
inline constexpr int ok = 0;
inline constexpr int failed = 1;             // librad or the module refused or failed the request
inline constexpr int usage = 2;              // bad command line
inline constexpr int unreachable = 3;        // librad not running, socket not accessible, protocol error
inline constexpr int permission_denied = 4;  // librad refused: not root / CAP_NET_ADMIN / group libra
}  // namespace libra::libractl_exit
