#pragma once
/// \file
/// Process metrics read from /proc at scrape time, with the Go client's names and help strings:
/// `process_cpu_seconds_total`, `process_resident_memory_bytes`, `process_open_fds`,
/// `process_max_fds`, `process_start_time_seconds`. Linux only; a value that cannot be read is
/// left out of the scrape rather than reported as 0.

#include "metrics/registry.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace stsauth::metrics {

struct process_stats {
    std::optional<double> cpu_seconds;
    std::optional<double> resident_memory_bytes;
    std::optional<double> start_time_seconds;
    std::optional<double> open_fds;
    std::optional<double> max_fds;
};

/// Fields of /proc/<pid>/stat (proc(5)): utime(14) + stime(15) in clock ticks, starttime(22) in
/// ticks since boot, rss(24) in pages. The command name (field 2) may hold spaces and parentheses;
/// parsing starts after its last ')'.
struct proc_stat_fields {
    double utime_ticks = 0;
    double stime_ticks = 0;
    double start_ticks = 0;
    double rss_pages = 0;
};
std::optional<proc_stat_fields> parse_proc_pid_stat(std::string_view text);
/// `btime` (boot time, seconds since the epoch) from /proc/stat.
std::optional<double> parse_boot_time(std::string_view proc_stat);
/// Soft limit of "Max open files" from /proc/<pid>/limits ("unlimited" -> nullopt).
std::optional<double> parse_max_open_files(std::string_view limits);

/// Reads the stats of the process whose /proc directory is `proc_pid_dir` (default: self).
process_stats read_process_stats(const std::string& proc_pid_dir = "/proc/self",
                                 const std::string& proc_stat_path = "/proc/stat");

/// Only the resident memory, from /proc/<pid>/stat alone (read_process_stats also lists the
/// descriptors and reads two more files).
std::optional<double> read_resident_memory_bytes(const std::string& proc_pid_dir = "/proc/self");

/// Adds a collector producing the five process metrics on every scrape.
void register_process_metrics(registry& r, std::string proc_pid_dir = "/proc/self",
                              std::string proc_stat_path = "/proc/stat");

}  // namespace stsauth::metrics
