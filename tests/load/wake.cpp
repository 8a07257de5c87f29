#include "wake.hpp"

#include "percentile.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>

#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace stsauth::load {

namespace {

constexpr std::size_t warm_up_rounds = 200;

error sys_error(const char* what) { return make_error("system", std::string(what) + ": " + std::strerror(errno)); }

bool pin_to(int cpu) {
    if (cpu == any_cpu) return true;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return sched_setaffinity(0, sizeof set, &set) == 0;
}

bool read_byte(int fd) {
    char c = 0;
    for (;;) {
        const ssize_t n = ::recv(fd, &c, 1, 0);
        if (n == 1) return true;
        if (n < 0 && errno == EINTR) continue;
        return false;
    }
}

bool write_byte(int fd) {
    const char c = 'w';
    for (;;) {
        const ssize_t n = ::send(fd, &c, 1, MSG_NOSIGNAL);
        if (n == 1) return true;
        if (n < 0 && errno == EINTR) continue;
        return false;
    }
}

/// A connected pair of local stream sockets; each process closes the other's end, so either
/// sees end-of-file (not a hang, not SIGPIPE) when its peer goes away.
struct socket_pair {
    int fd[2] = {-1, -1};
    bool open() { return ::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fd) == 0; }
    void close(int i) {
        if (fd[i] >= 0) ::close(fd[i]);
        fd[i] = -1;
    }
    ~socket_pair() {
        close(0);
        close(1);
    }
};

/// The parent's half: `total` round trips, the last `timed` of them recorded.
result<std::vector<double>> ping(int fd, std::size_t total, std::size_t timed) {
    std::vector<double> us;
    us.reserve(timed);
    for (std::size_t i = 0; i < total; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        if (!write_byte(fd) || !read_byte(fd)) return make_error("peer_gone", "the child process stopped answering");
        const auto t1 = std::chrono::steady_clock::now();
        if (i >= total - timed) us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    }
    return us;
}

}  // namespace

std::vector<int> allowed_cpus() {
    cpu_set_t set;
    CPU_ZERO(&set);
    std::vector<int> cpus;
    if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
    for (int c = 0; c < CPU_SETSIZE; ++c)
        if (CPU_ISSET(c, &set)) cpus.push_back(c);
    return cpus;
}

result<wake_figures> measure_wake_round_trip(int cpu_a, int cpu_b, std::size_t rounds) {
    if (rounds == 0) return make_error("bad_rounds", "rounds must be positive");
    const auto cpus = allowed_cpus();
    for (int c : {cpu_a, cpu_b})
        if (c != any_cpu && std::find(cpus.begin(), cpus.end(), c) == cpus.end())
            return make_error("bad_cpu", "CPU " + std::to_string(c) + " is not one this process may use");

    cpu_set_t saved;
    if (sched_getaffinity(0, sizeof saved, &saved) != 0) return sys_error("sched_getaffinity");
    socket_pair p;
    if (!p.open()) return sys_error("socketpair");

    const std::size_t total = warm_up_rounds + rounds;
    const pid_t child = ::fork();
    if (child < 0) return sys_error("fork");
    if (child == 0) {
        // The echo: async-signal-safe calls only, then _exit (no destructors, no atexit).
        ::close(p.fd[0]);
        if (!pin_to(cpu_b)) ::_exit(3);
        for (std::size_t i = 0; i < total; ++i)
            if (!read_byte(p.fd[1]) || !write_byte(p.fd[1])) ::_exit(4);
        ::_exit(0);
    }
    p.close(1);

    result<std::vector<double>> us = make_error("bad_cpu", "cannot pin to CPU " + std::to_string(cpu_a));
    if (pin_to(cpu_a)) us = ping(p.fd[0], total, rounds);
    sched_setaffinity(0, sizeof saved, &saved);
    p.close(0);  // the child, if still reading, sees end-of-file
    if (!us) ::kill(child, SIGKILL);
    int wstatus = 0;
    while (::waitpid(child, &wstatus, 0) < 0 && errno == EINTR) {
    }
    if (!us) return us.err();
    if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0)
        return make_error("peer_failed", "the child process failed (status " + std::to_string(wstatus) + ")");

    auto& v = *us;
    std::sort(v.begin(), v.end());
    return wake_figures{cpu_a, cpu_b, rounds, nearest_rank(v, 50), nearest_rank(v, 99), v.back()};
}

}  // namespace stsauth::load
