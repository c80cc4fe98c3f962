#include "librad/event_loop.hpp"

#include <sys/epoll.h>

#include <array>
#include <cerrno>

namespace libra {

Result<std::unique_ptr<EventLoop>> EventLoop::create()
{
    UniqueFd epoll(::epoll_create1(EPOLL_CLOEXEC));
    if (!epoll)
        return Error::from_errno(ErrorCode::io_error, "epoll_create1", errno);
    return std::unique_ptr<EventLoop>(new EventLoop(std::move(epoll)));
}

Result<void> EventLoop::add(int fd, uint32_t events, Callback callback)
{
    epoll_event event{};
    event.events = events;
    event.data.fd = fd;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0)
        return Error::from_errno(ErrorCode::io_error, "epoll_ctl(ADD)", errno);
    callbacks_[fd] = std::make_shared<Callback>(std::move(callback));
    return {};
}

Result<void> EventLoop::modify(int fd, uint32_t events)
{
    epoll_event event{};
    event.events = events;
    event.data.fd = fd;
    if (::epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &event) != 0)
        return Error::from_errno(ErrorCode::io_error, "epoll_ctl(MOD)", errno);
    return {};
}

void EventLoop::remove(int fd)
{
    ::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
    callbacks_.erase(fd);
}

Result<void> EventLoop::run_once(int timeout_ms)
{
    std::array<epoll_event, 32> events{};
    int ready = ::epoll_wait(epoll_.get(), events.data(), static_cast<int>(events.size()), timeout_ms);
    if (ready < 0) {
        if (errno == EINTR)
            return {};
        return Error::from_errno(ErrorCode::io_error, "epoll_wait", errno);
    }
    for (int i = 0; i < ready; ++i) {
        auto it = callbacks_.find(events[i].data.fd);
        if (it == callbacks_.end())
            continue;  // removed by an earlier callback of this batch
        auto callback = it->second;  // keeps it alive if the callback removes itself
        (*callback)(events[i].events);
    }
    return {};
}

}  // namespace libra
