#include "librad/daemon.hpp"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

#include <fmt/format.h>
#include <systemd/sd-daemon.h>

#include "common/byte_size.hpp"
#include "common/version.hpp"
#include "librad/device_module_control.hpp"
#include "librad/exit_codes.hpp"
#include "librad/logging.hpp"
#include "librad/process_info.hpp"
#include "librad/stats_report.hpp"

namespace libra {

namespace {
sigset_t handled_signals()
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    return set;
}

// Tells systemd (Type=notify) how librad stands; nothing without $NOTIFY_SOCKET.
void notify_systemd(const std::string& state)
{
    if (int r = sd_notify(0, state.c_str()); r < 0)
        logger("librad")->warn("sd_notify: {}", std::strerror(-r));
}
}  // namespace

void block_handled_signals()
{
    sigset_t set = handled_signals();
    sigprocmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);  // a vanished client is an EPIPE, not a death
}

ModuleOpener device_module_opener()
{
    return [](const std::string& device) -> Result<std::unique_ptr<ModuleControl>> {
        auto opened = DeviceModuleControl::open(device);
        if (!opened)
            return opened.error();
        return std::unique_ptr<ModuleControl>(std::move(opened.value()));
    };
}

Daemon::Daemon(ParsedCommandLine command_line, DaemonConfig config, ModuleOpener open_module)
    : command_line_(std::move(command_line)), open_module_(std::move(open_module)), config_(std::move(config))
{
}

Daemon::~Daemon()
{
    // Servers first: they deregister from the loop, which must still exist.
    metrics_.reset();
    server_.reset();
}

std::optional<gid_t> Daemon::resolve_control_group(const DaemonConfig& config)
{
    auto gid = lookup_group(config.group);
    if (!gid)
        logger("control")->warn("group '{}' does not exist: the control socket is root-only "
                                "(create it with: systemd-sysusers libra.conf, or groupadd --system {})",
                                config.group, config.group);
    return gid;
}

nlohmann::json Daemon::daemon_state() const
{
    return {{"version", kProjectVersion},
            {"pid", ::getpid()},
            {"started_at", static_cast<int64_t>(started_at_)},
            {"socket", config_.socket_path},
            {"config", config_.config_path},
            {"group", config_.group},
            {"metrics", metrics_ ? nlohmann::json(metrics_->endpoint_text()) : nlohmann::json(nullptr)},
            {"anchor_limit", config_.anchor_limit ? nlohmann::json(*config_.anchor_limit) : nlohmann::json(nullptr)},
            {"parsers", parsers_to_json(parsers_)}};
}

Result<void> Daemon::start_metrics(const DaemonConfig& config)
{
    metrics_.reset();
    if (!config.prometheus_listen)
        return {};
    auto render = [this]() -> Result<std::string> {
        auto report = read_stats_report(*module_);
        if (!report)
            return report.error();
        return build_prometheus_text(report.value());
    };
    auto server = MetricsServer::listen(*config.prometheus_listen, *loop_, render);
    if (!server)
        return server.error();
    metrics_ = std::move(server.value());
    logger("metrics")->info("serving Prometheus metrics on http://{}/metrics", config.prometheus_listen->text);
    return {};
}

Result<void> Daemon::apply_anchor_limit(const DaemonConfig& config)
{
    if (!config.anchor_limit)
        return {};
    if (auto set = module_->set_anchor_limit(*config.anchor_limit); !set)
        return set.error();
    logger("module")->info("global anchored-memory limit set to {} ({} bytes)",
                           format_byte_size(*config.anchor_limit), *config.anchor_limit);
    return {};
}

int Daemon::start()
{
    auto log = logger("librad");
    started_at_ = std::time(nullptr);
    if (!config_.config_file_found)
        logger("config")->info("no config file at {}; using defaults and the command line", config_.config_path);

    auto module = open_module_(config_.device);
    if (!module) {
        logger("module")->critical("{}", module.error().message);
        return librad_exit::module_unavailable;
    }
    module_ = std::move(module.value());
    auto version = module_->version();
    auto optins = module_->list_optins();
    if (!version || !optins) {
        logger("module")->critical("cannot read module state: {}",
                                   (!version ? version.error() : optins.error()).message);
        return librad_exit::module_unavailable;
    }
    // The module owns the opt-in table and counters; a restarted librad
    // re-attaches to them and never resets them.
    logger("module")->info("libra module {} (ABI {}, {} counters) on {}: {} opt-in entries in force",
                           version->module_version, version->abi_version, version->stat_count,
                           config_.device, optins->size());
    if (auto limit = apply_anchor_limit(config_); !limit) {
        logger("module")->critical("anchor-limit: {}", limit.error().message);
        return librad_exit::module_unavailable;
    }

    route_libbpf_logging();
    auto parser = load_parser_object(config_.bpf_object);
    if (!parser) {
        logger("bpf")->critical("{}", parser.error().message);
        return librad_exit::bpf_load_failed;
    }
    logger("bpf")->info("loaded {} ({} programs)", config_.bpf_object, parser->programs.size());
    parsers_.push_back(std::move(parser.value()));
    hand_parser_to_module(*module_, parsers_.back());

    auto loop = EventLoop::create();
    if (!loop) {
        log->critical("{}", loop.error().message);
        return librad_exit::runtime_failure;
    }
    loop_ = std::move(loop.value());
    sigset_t signals = handled_signals();
    signal_fd_.reset(::signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC));
    if (!signal_fd_ || !loop_->add(signal_fd_.get(), EPOLLIN, [this](uint32_t) { on_signal(); })) {
        log->critical("signalfd: {}", std::strerror(errno));
        return librad_exit::runtime_failure;
    }

    authorizer_ = std::make_unique<Authorizer>(resolve_control_group(config_));
    handler_ = std::make_unique<RequestHandler>(*module_, *authorizer_, [this] { return daemon_state(); });
    auto server = ControlServer::listen({config_.socket_path, lookup_group(config_.group)}, *loop_, *handler_);
    if (!server) {
        logger("control")->critical("control socket {}: {}", config_.socket_path, server.error().message);
        return librad_exit::listen_failed;
    }
    server_ = std::move(server.value());
    logger("control")->info("serving {}", config_.socket_path);
    if (auto metrics = start_metrics(config_); !metrics) {
        logger("metrics")->critical("{}", metrics.error().message);
        return librad_exit::listen_failed;
    }
    return librad_exit::ok;
}

void Daemon::on_signal()
{
    signalfd_siginfo info{};
    while (::read(signal_fd_.get(), &info, sizeof(info)) == sizeof(info)) {
        if (info.ssi_signo == SIGHUP) {
            reload();
        } else {
            logger("librad")->info("signal {} received: shutting down", info.ssi_signo);
            loop_->stop();
        }
    }
}

void Daemon::reload()
{
    auto now = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now().time_since_epoch());
    notify_systemd(fmt::format("RELOADING=1\nMONOTONIC_USEC={}", now.count()));
    auto fresh = load_config(command_line_);
    if (!fresh) {
        logger("config")->error("reload failed, keeping the running settings: {}", fresh.error().message);
    } else {
        DaemonConfig& next = fresh.value();
        set_log_level(next.log_level);
        authorizer_->set_control_group(resolve_control_group(next));
        // Re-applied on every reload, so it also undoes a change made by hand
        // (the module's anchor_limit_mb parameter); unset leaves the module's value.
        if (auto limit = apply_anchor_limit(next); !limit) {
            logger("module")->error("anchor-limit: {}; the module keeps its limit", limit.error().message);
            next.anchor_limit = config_.anchor_limit;
        }
        bool metrics_changed = (next.prometheus_listen ? next.prometheus_listen->text : "") !=
                               (config_.prometheus_listen ? config_.prometheus_listen->text : "");
        if (metrics_changed)
            if (auto metrics = start_metrics(next); !metrics)
                logger("metrics")->error("metrics listener: {}", metrics.error().message);
        if (next.socket_path != config_.socket_path || next.device != config_.device ||
            next.bpf_object != config_.bpf_object)
            logger("config")->warn("socket, device and bpf-object changes take effect on restart");
        next.socket_path = config_.socket_path;  // what is actually in use
        next.device = config_.device;
        next.bpf_object = config_.bpf_object;
        config_ = std::move(next);
        logger("config")->info("configuration reloaded from {}", config_.config_path);
    }
    notify_systemd("READY=1");
}

int Daemon::run()
{
    if (int status = start(); status != librad_exit::ok)
        return status;
    notify_systemd(fmt::format("READY=1\nSTATUS=serving {}\nMAINPID={}", config_.socket_path, ::getpid()));
    logger("librad")->info("librad {} ready", kProjectVersion);
    while (!loop_->stopping()) {
        if (auto ran = loop_->run_once(-1); !ran) {
            logger("librad")->critical("{}", ran.error().message);
            return librad_exit::runtime_failure;
        }
    }
    notify_systemd("STOPPING=1");
    return librad_exit::ok;
}

}  // namespace libra
