// libractl: the Libra control client. See libractl(8).
#include <signal.h>
#include <time.h>

#include <atomic>
#include <cmath>
#include <exception>
#include <iostream>

#include "libractl/cli.hpp"
#include "libractl/exit_codes.hpp"

namespace {
volatile sig_atomic_t interrupted = 0;

void on_interrupt(int)
{
    interrupted = 1;
}

// Sleeps in short steps so Ctrl-C ends `stats --watch` promptly and cleanly.
bool wait_unless_interrupted(double seconds)
{
    double left = seconds;
    while (left > 0 && !interrupted) {
        double step = std::min(left, 0.1);
        timespec ts{static_cast<time_t>(step), static_cast<long>(std::fmod(step, 1.0) * 1e9)};
        nanosleep(&ts, nullptr);
        left -= step;
    }
    return !interrupted;
}
}  // namespace

int main(int argc, char** argv)
{
    using namespace libra;
    try {
        struct sigaction action {};
        action.sa_handler = on_interrupt;
        sigaction(SIGINT, &action, nullptr);
        sigaction(SIGTERM, &action, nullptr);
        signal(SIGPIPE, SIG_IGN);
        CliEnvironment env{socket_transport, std::cout, std::cerr, wait_unless_interrupted};
        return run_cli(argc, argv, env);
    } catch (const std::exception& e) {
        std::cerr << "libractl: fatal: " << e.what() << "\n";
        return libractl_exit::failed;
    }
}
