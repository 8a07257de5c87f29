// How many network threads the server starts: cgroup CPU quotas (server/cpus).

#include "cpus.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <thread>

using stsauth::server::cpus_from_cfs;
using stsauth::server::cpus_from_cpu_max;
using stsauth::server::usable_cpus;
namespace fs = std::filesystem;

namespace {

struct temp_root : stsauth::test::temp_dir {
    temp_root() : stsauth::test::temp_dir("stsauth-cpus") {}
    void write(const fs::path& rel, const std::string& text) {
        fs::create_directories((path / rel).parent_path());
        std::ofstream(path / rel) << text;
    }
};

unsigned online() { return std::max(1u, std::thread::hardware_concurrency()); }

}  // namespace

TEST_CASE("cpus: cgroup v2 cpu.max", "[cpus]") {
    CHECK(cpus_from_cpu_max("max 100000\n") == std::nullopt);
    CHECK(cpus_from_cpu_max("100000 100000\n") == 1u);
    CHECK(cpus_from_cpu_max("150000 100000") == 2u);  // 1.5 CPUs: rounded up
    CHECK(cpus_from_cpu_max("10000 100000") == 1u);   // 100m: at least one
    CHECK(cpus_from_cpu_max("400000 100000") == 4u);
    CHECK(cpus_from_cpu_max("") == std::nullopt);
    CHECK(cpus_from_cpu_max("abc 100000") == std::nullopt);
    CHECK(cpus_from_cpu_max("100000 0") == std::nullopt);
    CHECK(cpus_from_cpu_max("-5 100000") == std::nullopt);
}

TEST_CASE("cpus: cgroup v1 cfs quota and period", "[cpus]") {
    CHECK(cpus_from_cfs("-1\n", "100000\n") == std::nullopt);
    CHECK(cpus_from_cfs("200000\n", "100000\n") == 2u);
    CHECK(cpus_from_cfs("250000", "100000") == 3u);
    CHECK(cpus_from_cfs("x", "100000") == std::nullopt);
}

TEST_CASE("cpus: usable_cpus takes the lower of the online CPUs and the quota", "[cpus]") {
    SECTION("no cgroup files: the online CPUs") {
        temp_root r;
        CHECK(usable_cpus(r.path) == online());
    }
    SECTION("v2 quota of one CPU") {
        temp_root r;
        r.write("cpu.max", "100000 100000\n");
        CHECK(usable_cpus(r.path) == 1u);
    }
    SECTION("v2 without a quota") {
        temp_root r;
        r.write("cpu.max", "max 100000\n");
        CHECK(usable_cpus(r.path) == online());
    }
    SECTION("v2 quota above the online CPUs") {
        temp_root r;
        r.write("cpu.max", std::to_string(100000ull * (online() + 8)) + " 100000\n");
        CHECK(usable_cpus(r.path) == online());
    }
    SECTION("v1 quota under cpu,cpuacct") {
        temp_root r;
        r.write("cpu,cpuacct/cpu.cfs_quota_us", "100000\n");
        r.write("cpu,cpuacct/cpu.cfs_period_us", "100000\n");
        CHECK(usable_cpus(r.path) == 1u);
    }
}
