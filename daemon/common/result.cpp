#include "common/result.hpp"

#include <cstring>

namespace libra {

std::string_view to_string(ErrorCode code)
{
    switch (code) {
    case ErrorCode::invalid_request: return "invalid_request";
    case ErrorCode::request_too_large: return "request_too_large";
    case ErrorCode::unknown_command: return "unknown_command";
    case ErrorCode::permission_denied: return "permission_denied";
    case ErrorCode::not_found: return "not_found";
    case ErrorCode::already_exists: return "already_exists";
    case ErrorCode::no_such_process: return "no_such_process";
    case ErrorCode::table_full: return "table_full";
    case ErrorCode::unsupported: return "unsupported";
    case ErrorCode::module_error: return "module_error";
    case ErrorCode::io_error: return "io_error";
    case ErrorCode::config_error: return "config_error";
    case ErrorCode::protocol_error: return "protocol_error";
    case ErrorCode::daemon_unreachable: return "daemon_unreachable";
    }
    return "unknown_error";
}

Error Error::from_errno(ErrorCode code, std::string_view what, int err)
{
    return Error{code, std::string(what) + ": " + std::strerror(err), err};
}

}  // namespace libra
