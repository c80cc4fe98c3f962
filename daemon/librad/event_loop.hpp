// A single-threaded epoll loop: fds with callbacks. librad does all its work
// (signals, control clients, metrics clients) from here, so no locking.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <unordered_map>

#include "common/result.hpp"
#include "common/unique_fd.hpp"

namespace libra {

class EventLoop {
public:
    using Callback = std::function<void(uint32_t events)>;

    static Result<std::unique_ptr<EventLoop>> create();

    Result<void> add(int fd, uint32_t events, Callback callback);
    Result<void> modify(int fd, uint32_t events);
    // Safe to call from inside a callback, also for the fd being handled.
    void remove(int fd);

    // Waits up to @timeout_ms (-1: forever) and runs the callbacks of ready fds.
    Result<void> run_once(int timeout_ms);
    void stop() { stopping_ = true; }
    bool stopping() const { return stopping_; }

private:
    explicit EventLoop(UniqueFd epoll) : epoll_(std::move(epoll)) {}
    UniqueFd epoll_;
    std::unordered_map<int, std::shared_ptr<Callback>> callbacks_;
    bool stopping_ = false;
};

}  // namespace libra
