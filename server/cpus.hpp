#pragma once
/// \file
/// How many CPUs the process may use: the online CPUs, lowered by a cgroup CPU quota (a pod's
/// `resources.limits.cpu`), which `std::thread::hardware_concurrency()` does not see.

#include <filesystem>
#include <optional>
#include <string_view>

namespace stsauth::server {

/// CPUs granted by a cgroup v2 `cpu.max` text ("max 100000", "150000 100000"): the quota over
/// the period, rounded up; nullopt for no quota or text that does not parse.
std::optional<unsigned> cpus_from_cpu_max(std::string_view text);

/// The same for cgroup v1 (`cpu.cfs_quota_us`, -1 for none; `cpu.cfs_period_us`).
std::optional<unsigned> cpus_from_cfs(std::string_view quota_us, std::string_view period_us);

/// min(online CPUs, the quota of the cgroup under `cgroup_root`), at least 1. `cgroup_root` is
/// /sys/fs/cgroup (v2 file at its top, v1 under cpu/ or cpu,cpuacct/).
unsigned usable_cpus(const std::filesystem::path& cgroup_root = "/sys/fs/cgroup");

}  // namespace stsauth::server
