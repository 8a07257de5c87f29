// The wake-up timer of `stsauth-load wake`: it times real round trips with a child process,
// orders its figures, refuses CPUs the process may not use, and leaves the caller's CPU affinity
// as it found it. No timing is judged (that is the bench's job).

#include "wake.hpp"

#include <catch2/catch.hpp>

using namespace stsauth;

TEST_CASE("wake round trips on one CPU are timed and ordered", "[load][wake]") {
    const auto before = load::allowed_cpus();
    REQUIRE_FALSE(before.empty());
    const int cpu = before.front();
    auto f = load::measure_wake_round_trip(cpu, cpu, 300);
    REQUIRE(f.ok());
    CHECK(f->cpu_a == cpu);
    CHECK(f->cpu_b == cpu);
    CHECK(f->rounds == 300);
    CHECK(f->p50_us > 0);
    CHECK(f->p50_us <= f->p99_us);
    CHECK(f->p99_us <= f->max_us);
    CHECK(load::allowed_cpus() == before);  // the pinning was undone
}

TEST_CASE("wake round trips across two CPUs, where the process may use two", "[load][wake]") {
    const auto cpus = load::allowed_cpus();
    if (cpus.size() < 2) SUCCEED("one CPU only: nothing to cross");
    else {
        auto f = load::measure_wake_round_trip(cpus[0], cpus[1], 300);
        REQUIRE(f.ok());
        CHECK(f->cpu_b == cpus[1]);
        CHECK(f->p50_us > 0);
        CHECK(load::allowed_cpus() == cpus);
    }
}

TEST_CASE("wake round trips where the scheduler puts both processes", "[load][wake]") {
    const auto cpus = load::allowed_cpus();
    auto f = load::measure_wake_round_trip(load::any_cpu, load::any_cpu, 300);
    REQUIRE(f.ok());
    CHECK(f->cpu_a == load::any_cpu);
    CHECK(f->p50_us > 0);
    CHECK(f->p50_us <= f->p99_us);
    CHECK(load::allowed_cpus() == cpus);
}

TEST_CASE("wake refuses a CPU outside the process's affinity and zero rounds", "[load][wake]") {
    const auto cpus = load::allowed_cpus();
    auto bad = load::measure_wake_round_trip(cpus.front(), cpus.back() + 4096, 10);
    REQUIRE_FALSE(bad.ok());
    CHECK(bad.code() == "bad_cpu");
    auto none = load::measure_wake_round_trip(cpus.front(), cpus.front(), 0);
    REQUIRE_FALSE(none.ok());
    CHECK(none.code() == "bad_rounds");
    CHECK(load::allowed_cpus() == cpus);
}
