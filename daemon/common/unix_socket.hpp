// Unix stream socket helpers shared by librad (listen) and libractl (connect).
#pragma once

#include <string>
#include <string_view>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace libra {

// A connected, blocking, close-on-exec stream socket to @path.
Result<UniqueFd> connect_unix_stream(const std::string& path);

// Writes all of @bytes (MSG_NOSIGNAL: a vanished peer is an error, not SIGPIPE).
Result<void> send_all(int fd, std::string_view bytes);

}  // namespace libra
