#include "aws/environment.hpp"

#include <fmt/format.h>

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

namespace stsauth::aws {
namespace {

/// Shared config files are a few KiB; a larger file is a mistake (or not a config file at all).
constexpr std::uintmax_t max_config_file_bytes = 1 << 20;

result<std::optional<std::string>> read_regular_file(const std::string& path) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) return std::optional<std::string>{};
        return make_error("file_read_error", fmt::format("cannot read {}: {}", path, std::strerror(errno)));
    }
    if (!S_ISREG(st.st_mode)) return std::optional<std::string>{};
    if (static_cast<std::uintmax_t>(st.st_size) > max_config_file_bytes)
        return make_error("file_read_error", fmt::format("{} is larger than {} bytes", path, max_config_file_bytes));
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return make_error("file_read_error", fmt::format("cannot read {}: {}", path, std::strerror(errno)));
    std::string content;
    std::array<char, 8192> buf{};
    for (;;) {
        const ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            const int saved = errno;
            ::close(fd);
            return make_error("file_read_error", fmt::format("cannot read {}: {}", path, std::strerror(saved)));
        }
        if (n == 0) break;
        content.append(buf.data(), static_cast<std::size_t>(n));
        if (content.size() > max_config_file_bytes) {
            ::close(fd);
            return make_error("file_read_error", fmt::format("{} is larger than {} bytes", path, max_config_file_bytes));
        }
    }
    ::close(fd);
    return std::optional<std::string>{std::move(content)};
}

std::optional<std::string> password_database_home() {
    long size = ::sysconf(_SC_GETPW_R_SIZE_MAX);
    std::vector<char> buf(static_cast<std::size_t>(size > 0 ? size : 16384));
    struct passwd pw {};
    struct passwd* found = nullptr;
    if (::getpwuid_r(::getuid(), &pw, buf.data(), buf.size(), &found) != 0 || !found || !found->pw_dir)
        return std::nullopt;
    return std::string(found->pw_dir);
}

bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

std::string expand_vars(std::string_view path, const environment& env) {
    std::string out;
    std::size_t i = 0;
    while (i < path.size()) {
        if (path[i] != '$') {
            out += path[i++];
            continue;
        }
        std::size_t name_begin = i + 1;
        std::size_t name_end = name_begin;
        std::size_t next = name_begin;
        if (name_begin < path.size() && path[name_begin] == '{') {
            const auto close = path.find('}', name_begin + 1);
            if (close == std::string_view::npos) {
                out += path[i++];
                continue;
            }
            name_begin += 1;
            name_end = close;
            next = close + 1;
        } else {
            while (name_end < path.size() && is_name_char(path[name_end])) ++name_end;
            next = name_end;
        }
        const auto name = path.substr(name_begin, name_end - name_begin);
        const auto value = name.empty() ? std::nullopt : env.get_env(name);
        if (value)
            out += *value;
        else
            out += path.substr(i, next - i);
        i = next;
    }
    return out;
}

}  // namespace

std::optional<std::string> environment::env(std::string_view name) const {
    auto v = get_env(name);
    if (v && v->empty()) return std::nullopt;
    return v;
}

environment process_environment() {
    environment e;
    e.get_env = [](std::string_view name) -> std::optional<std::string> {
        const char* v = std::getenv(std::string(name).c_str());
        if (!v) return std::nullopt;
        return std::string(v);
    };
    e.read_file = read_regular_file;
    e.fallback_home = password_database_home;
    return e;
}

environment fake_environment(std::map<std::string, std::string, std::less<>> vars,
                             std::map<std::string, std::string, std::less<>> files) {
    auto shared_vars = std::make_shared<const decltype(vars)>(std::move(vars));
    auto shared_files = std::make_shared<const decltype(files)>(std::move(files));
    environment e;
    e.get_env = [shared_vars](std::string_view name) -> std::optional<std::string> {
        const auto it = shared_vars->find(name);
        if (it == shared_vars->end()) return std::nullopt;
        return it->second;
    };
    e.read_file = [shared_files](const std::string& path) -> result<std::optional<std::string>> {
        const auto it = shared_files->find(path);
        if (it == shared_files->end()) return std::optional<std::string>{};
        return std::optional<std::string>{it->second};
    };
    e.fallback_home = [] { return std::optional<std::string>{}; };
    return e;
}

std::string expand_path(std::string_view path, const environment& env) {
    std::string expanded = expand_vars(path, env);
    if (expanded.empty() || expanded.front() != '~') return expanded;
    const auto slash = expanded.find('/');
    if (slash != 1 && expanded.size() != 1) return expanded;  // ~user: left as written
    auto home = env.get_env("HOME");
    if (!home) home = env.fallback_home ? env.fallback_home() : std::nullopt;
    if (!home) return expanded;
    // As Python: trailing slashes of the home directory are dropped ("~/x" with HOME=/ is "/x").
    std::string h = *home;
    while (!h.empty() && h.back() == '/') h.pop_back();
    std::string out = h + expanded.substr(1);
    return out.empty() ? "/" : out;
}

}  // namespace stsauth::aws
