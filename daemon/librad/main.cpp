// librad: the Libra daemon. See librad(8).
#include <cstdio>
#include <exception>

#include "common/version.hpp"
#include "librad/config.hpp"
#include "librad/daemon.hpp"
#include "librad/exit_codes.hpp"
#include "librad/logging.hpp"

int main(int argc, char** argv)
{
    using namespace libra;
    try {
        block_handled_signals();
        auto command_line = parse_command_line(argc, argv);
        if (!command_line) {
            std::fprintf(stderr, "librad: %s\nTry 'librad --help'.\n", command_line.error().message.c_str());
            return librad_exit::usage;
        }
        if (command_line->action == StartupAction::show_help) {
            std::fputs(command_line->help_text.c_str(), stdout);
            return librad_exit::ok;
        }
        if (command_line->action == StartupAction::show_version) {
            std::printf("librad %s (libra ABI %d)\n", kProjectVersion, LIBRA_ABI_VERSION);
            return librad_exit::ok;
        }
        auto config = load_config(command_line.value());
        if (!config) {
            std::fprintf(stderr, "librad: %s\n", config.error().message.c_str());
            return librad_exit::usage;
        }
        setup_logging(detect_log_target());
        set_log_level(config->log_level);
        Daemon daemon(std::move(command_line.value()), std::move(config.value()));
        return daemon.run();
    } catch (const std::exception& e) {
        std::fprintf(stderr, "librad: fatal: %s\n", e.what());
        return librad_exit::runtime_failure;
    }
}
