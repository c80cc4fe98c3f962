// Errors as values at API boundaries. g++ 12 has no std::expected, so this is
// the small subset of it that Libra needs: a value or an Error, checked by the
// caller. Exceptions are only thrown (and caught) at the top of main().
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace libra {

// Stable, machine-readable error kinds. Their spelling is part of the request
// protocol (daemon/PROTOCOL.md): never rename one, only append.
enum class ErrorCode {
    invalid_request,    // malformed, wrong type, unknown field, bad value
    request_too_large,  // a request line longer than the protocol maximum
    unknown_command,
    permission_denied,
    not_found,          // no such opt-in entry, file, ...
    already_exists,     // opt-in entry exists already
    no_such_process,
    table_full,
    unsupported,        // the module (or this build) does not offer it
    module_error,       // any other failure reported by the kernel module
    io_error,           // a system call failed
    config_error,
    protocol_error,     // the peer did not speak the protocol
    daemon_unreachable, // libractl could not connect to librad (client side only)
};

std::string_view to_string(ErrorCode code);

struct Error {
    ErrorCode code;
    std::string message;
    int sys_errno = 0;  // 0 when not caused by a failed system call

    // An Error from errno after a failed system call: "<what>: <strerror>".
    static Error from_errno(ErrorCode code, std::string_view what, int err);
};

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}

    bool ok() const { return state_.index() == 0; }
    explicit operator bool() const { return ok(); }

    T& value() & { return std::get<0>(state_); }
    const T& value() const& { return std::get<0>(state_); }
    T&& value() && { return std::get<0>(std::move(state_)); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }
    T& operator*() & { return value(); }

    const Error& error() const { return std::get<1>(state_); }

private:
    std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error)) {}

    bool ok() const { return !error_.has_value(); }
    explicit operator bool() const { return ok(); }
    const Error& error() const { return *error_; }

private:
    std::optional<Error> error_;
};

}  // namespace libra
