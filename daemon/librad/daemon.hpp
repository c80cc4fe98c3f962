// librad's lifetime: attach to the module, load parsers, serve, reload on
// SIGHUP, stop on SIGTERM/SIGINT. All on one epoll loop.
#pragma once

#include <ctime>
#include <functional>
#include <string>
#include <memory>
#include <optional>
#include <vector>

#include "common/unique_fd.hpp"
#include "librad/authorizer.hpp"
#include "librad/bpf_parsers.hpp"
#include "librad/config.hpp"
#include "librad/control_server.hpp"
#include "librad/event_loop.hpp"
#include "librad/metrics_server.hpp"
#include "librad/module_control.hpp"
#include "librad/request_handler.hpp"

namespace libra {

// Opens the module's control interface; DeviceModuleControl::open in librad.
using ModuleOpener = std::function<Result<std::unique_ptr<ModuleControl>>(const std::string& device)>;

ModuleOpener device_module_opener();

class Daemon {
public:
    Daemon(ParsedCommandLine command_line, DaemonConfig config,
           ModuleOpener open_module = device_module_opener());
    ~Daemon();

    // Runs until asked to stop; returns the exit status (librad_exit).
    int run();

private:
    int start();
    void on_signal();
    void reload();
    Result<void> start_metrics(const DaemonConfig& config);
    Result<void> apply_anchor_limit(const DaemonConfig& config);
    std::optional<gid_t> resolve_control_group(const DaemonConfig& config);
    nlohmann::json daemon_state() const;

    ParsedCommandLine command_line_;
    ModuleOpener open_module_;
    DaemonConfig config_;
    std::time_t started_at_ = 0;
    UniqueFd signal_fd_;
    std::unique_ptr<EventLoop> loop_;
    std::unique_ptr<ModuleControl> module_;
    std::vector<LoadedParser> parsers_;
    std::unique_ptr<Authorizer> authorizer_;
    std::unique_ptr<RequestHandler> handler_;
    std::unique_ptr<ControlServer> server_;
    std::unique_ptr<MetricsServer> metrics_;
};

// Blocks the signals librad handles through its signalfd; call first in main
// so that no thread or child inherits them unblocked by accident.
void block_handled_signals();

}  // namespace libra
