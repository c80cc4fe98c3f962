// Creates the listening control socket with its permissions: directory 0750
// and socket 0660, both owned by root and the control group, so only root and
// group members can even connect (the per-request check is the second line).
#pragma once

#include "common/unique_fd.hpp"
#include "librad/control_server.hpp"

namespace libra {

Result<UniqueFd> create_control_socket(const ControlSocketSettings& settings);

}  // namespace libra
