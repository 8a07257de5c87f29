#include "cpus.hpp"

#include <algorithm>
#include <charconv>
#include <fstream>
#include <string>
#include <thread>

namespace stsauth::server {

namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    return s;
}

std::optional<long long> number(std::string_view s) {
    s = trim(s);
    long long v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
    return v;
}

std::optional<unsigned> ratio(long long quota, long long period) {
    if (quota <= 0 || period <= 0) return std::nullopt;
    const long long cpus = (quota + period - 1) / period;
    return static_cast<unsigned>(std::clamp(cpus, 1LL, 1LL << 20));
}

std::optional<std::string> read_small(const std::filesystem::path& p) {
    std::ifstream in(p);
    if (!in) return std::nullopt;
    std::string text(256, '\0');  // these files hold one short line
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    text.resize(static_cast<std::size_t>(in.gcount()));
    return text;
}

}  // namespace

std::optional<unsigned> cpus_from_cpu_max(std::string_view text) {
    text = trim(text);
    const auto space = text.find(' ');
    if (space == std::string_view::npos) return std::nullopt;
    const auto quota = text.substr(0, space);
    if (quota == "max") return std::nullopt;
    const auto q = number(quota);
    const auto p = number(text.substr(space + 1));
    if (!q || !p) return std::nullopt;
    return ratio(*q, *p);
}

std::optional<unsigned> cpus_from_cfs(std::string_view quota_us, std::string_view period_us) {
    const auto q = number(quota_us);
    const auto p = number(period_us);
    if (!q || !p) return std::nullopt;
    return ratio(*q, *p);
}

unsigned usable_cpus(const std::filesystem::path& cgroup_root) {
    unsigned cpus = std::max(1u, std::thread::hardware_concurrency());
    std::optional<unsigned> quota;
    if (auto v2 = read_small(cgroup_root / "cpu.max")) {
        quota = cpus_from_cpu_max(*v2);
    } else {
        for (const char* dir : {"cpu", "cpu,cpuacct"}) {
            auto q = read_small(cgroup_root / dir / "cpu.cfs_quota_us");
            auto p = read_small(cgroup_root / dir / "cpu.cfs_period_us");
            if (q && p) {
                quota = cpus_from_cfs(*q, *p);
                break;
            }
        }
    }
    if (quota) cpus = std::min(cpus, *quota);
    return std::max(1u, cpus);
}

}  // namespace stsauth::server
