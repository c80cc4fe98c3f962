// libractl's side of the control protocol: one connection to librad, one
// request line out, one reply line back.
#pragma once

#include <functional>
#include <string>

#include <nlohmann/json.hpp>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace libra {

// Sends a request object, returns the reply's "result" or its error. Failing
// to reach librad is ErrorCode::daemon_unreachable. A function so that the
// command table can be tested without a daemon.
using Transport = std::function<Result<nlohmann::json>(const nlohmann::json& request)>;

class Client {
public:
    static Result<Client> connect(const std::string& socket_path);
    Result<nlohmann::json> request(const nlohmann::json& request);

private:
    Client(UniqueFd fd, std::string path) : fd_(std::move(fd)), path_(std::move(path)) {}
    UniqueFd fd_;
    std::string path_;
    std::string pending_;  // bytes after the last reply line
};

// A Transport that connects on first use and keeps the connection.
Transport socket_transport(const std::string& socket_path);

}  // namespace libra
