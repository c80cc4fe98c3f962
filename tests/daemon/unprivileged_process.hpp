// A real unprivileged process for authorization tests: a forked child that
// drops to uid/gid "nobody" (optionally keeping one supplementary group) and
// then runs a function. Needs root; tests skip without it.
#pragma once

#include <grp.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <optional>

namespace libra::testing {

inline constexpr uid_t kNobodyUid = 65534;
inline constexpr gid_t kNobodyGid = 65534;
// The control group used by the tests: any gid works, it need not exist in /etc/group.
inline constexpr gid_t kTestControlGid = 4242;

// Drops the calling (forked) process to nobody; false on failure.
inline bool drop_to_nobody(std::optional<gid_t> extra_group)
{
    gid_t groups[1] = {extra_group.value_or(kNobodyGid)};
    return setgroups(1, groups) == 0 && setgid(kNobodyGid) == 0 && setuid(kNobodyUid) == 0;
}

// A child that drops privileges and then sleeps until destroyed: a live
// process owned by nobody, to opt in or to act as a request's peer pid.
class SleepingNobody {
public:
    explicit SleepingNobody(std::optional<gid_t> extra_group = std::nullopt)
    {
        int ready[2];
        if (pipe(ready) != 0)
            return;
        pid_ = fork();
        if (pid_ == 0) {
            close(ready[0]);
            char ok = drop_to_nobody(extra_group) ? '1' : '0';
            (void)!write(ready[1], &ok, 1);
            close(ready[1]);
            for (;;)
                pause();
        }
        close(ready[1]);
        char ok = '0';
        (void)!read(ready[0], &ok, 1);
        close(ready[0]);
        dropped_ = ok == '1';
    }
    ~SleepingNobody()
    {
        if (pid_ > 0) {
            kill(pid_, SIGKILL);
            waitpid(pid_, nullptr, 0);
        }
    }
    SleepingNobody(const SleepingNobody&) = delete;
    SleepingNobody& operator=(const SleepingNobody&) = delete;

    pid_t pid() const { return pid_; }
    bool ok() const { return pid_ > 0 && dropped_; }

private:
    pid_t pid_ = -1;
    bool dropped_ = false;
};

}  // namespace libra::testing
