// librad's exit status, documented in librad(8) and --help.
#pragma once

namespace libra::librad_exit {
inline constexpr int ok = 0;              // clean shutdown (SIGTERM/SIGINT)
inline constexpr int runtime_failure = 1;
inline constexpr int usage = 2;           // bad command line or config file
inline constexpr int module_unavailable = 3;  // /dev/libra missing, not permitted, ABI mismatch,
                                              // or it refused the configured anchor-limit
inline constexpr int bpf_load_failed = 4;
inline constexpr int listen_failed = 5;   // control socket or metrics listener
}  // namespace libra::librad_exit
