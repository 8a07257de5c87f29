#include "metrics/process.hpp"

#include <unistd.h>

#include <charconv>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

namespace stsauth::metrics {
namespace {

std::optional<std::string> slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::ostringstream ss;
    ss << in.rdbuf();
    return std::move(ss).str();
}

std::optional<double> to_number(std::string_view s) {
    double v = 0;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
    return v;
}

std::vector<std::string_view> split_ws(std::string_view s) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < s.size()) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) ++i;
        const auto start = i;
        while (i < s.size() && !(s[i] == ' ' || s[i] == '\t' || s[i] == '\n')) ++i;
        if (i > start) out.push_back(s.substr(start, i - start));
    }
    return out;
}

}  // namespace

std::optional<proc_stat_fields> parse_proc_pid_stat(std::string_view text) {
    const auto close = text.rfind(')');
    if (close == std::string_view::npos) return std::nullopt;
    // After the command name: field 3 (state) is index 0 here, so field N is index N - 3.
    const auto f = split_ws(text.substr(close + 1));
    if (f.size() < 22) return std::nullopt;
    auto utime = to_number(f[14 - 3]);
    auto stime = to_number(f[15 - 3]);
    auto start = to_number(f[22 - 3]);
    auto rss = to_number(f[24 - 3]);
    if (!utime || !stime || !start || !rss) return std::nullopt;
    return proc_stat_fields{*utime, *stime, *start, *rss};
}

std::optional<double> parse_boot_time(std::string_view proc_stat) {
    std::size_t pos = 0;
    while (pos < proc_stat.size()) {
        auto end = proc_stat.find('\n', pos);
        if (end == std::string_view::npos) end = proc_stat.size();
        const auto line = proc_stat.substr(pos, end - pos);
        if (line.starts_with("btime ")) {
            const auto f = split_ws(line);
            if (f.size() == 2) return to_number(f[1]);
            return std::nullopt;
        }
        pos = end + 1;
    }
    return std::nullopt;
}

std::optional<double> parse_max_open_files(std::string_view limits) {
    constexpr std::string_view key = "Max open files";
    const auto at = limits.find(key);
    if (at == std::string_view::npos) return std::nullopt;
    auto end = limits.find('\n', at);
    if (end == std::string_view::npos) end = limits.size();
    const auto f = split_ws(limits.substr(at + key.size(), end - at - key.size()));
    if (f.empty()) return std::nullopt;
    return to_number(f[0]);  // "unlimited" does not parse -> nullopt
}

process_stats read_process_stats(const std::string& proc_pid_dir, const std::string& proc_stat_path) {
    process_stats s;
    const long ticks = ::sysconf(_SC_CLK_TCK);
    const long page = ::sysconf(_SC_PAGESIZE);
    if (auto stat = slurp(proc_pid_dir + "/stat")) {
        if (auto f = parse_proc_pid_stat(*stat); f && ticks > 0 && page > 0) {
            s.cpu_seconds = (f->utime_ticks + f->stime_ticks) / static_cast<double>(ticks);
            s.resident_memory_bytes = f->rss_pages * static_cast<double>(page);
            if (auto proc_stat = slurp(proc_stat_path))
                if (auto btime = parse_boot_time(*proc_stat))
                    s.start_time_seconds = *btime + f->start_ticks / static_cast<double>(ticks);
        }
    }
    if (auto limits = slurp(proc_pid_dir + "/limits")) s.max_fds = parse_max_open_files(*limits);
    std::error_code ec;
    std::filesystem::directory_iterator it(proc_pid_dir + "/fd", ec);
    if (!ec) {
        double n = 0;
        for (const auto end = std::filesystem::directory_iterator(); it != end; it.increment(ec)) {
            if (ec) break;
            ++n;
        }
        if (!ec) s.open_fds = n;
    }
    return s;
}

std::optional<double> read_resident_memory_bytes(const std::string& proc_pid_dir) {
    const long page = ::sysconf(_SC_PAGESIZE);
    const auto stat = slurp(proc_pid_dir + "/stat");
    if (!stat || page <= 0) return std::nullopt;
    const auto f = parse_proc_pid_stat(*stat);
    if (!f) return std::nullopt;
    return f->rss_pages * static_cast<double>(page);
}

void register_process_metrics(registry& r, std::string proc_pid_dir, std::string proc_stat_path) {
    r.add_collector([dir = std::move(proc_pid_dir), stat = std::move(proc_stat_path)](std::vector<collected_family>& out) {
        const auto s = read_process_stats(dir, stat);
        auto add = [&out](const char* name, const char* help, metric_type type, const std::optional<double>& v) {
            if (v) out.push_back(collected_family{name, help, type, {collected_sample{{}, *v}}});
        };
        add("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", metric_type::counter,
            s.cpu_seconds);
        add("process_max_fds", "Maximum number of open file descriptors.", metric_type::gauge, s.max_fds);
        add("process_open_fds", "Number of open file descriptors.", metric_type::gauge, s.open_fds);
        add("process_resident_memory_bytes", "Resident memory size in bytes.", metric_type::gauge,
            s.resident_memory_bytes);
        add("process_start_time_seconds", "Start time of the process since unix epoch in seconds.",
            metric_type::gauge, s.start_time_seconds);
    });
}

}  // namespace stsauth::metrics
