#pragma once
/// \file
/// What a wake-up costs on this machine: two processes pass one byte back and forth over a local
/// socket pair, each blocked in recv() until the other sends, pinned to the same CPU or to two
/// different ones. Every review the harness measures is four such hand-offs (client → server →
/// fake STS → server → client), so this round trip is the floor under the fixed-rate latencies
/// and says whether a machine's tail comes from the server or from the machine (on a VM where an
/// idle virtual CPU halts, waking a process on it can cost far more than the work it then does).
/// `stsauth-load wake` prints the figures; scripts/bench.sh records them beside each run.

#include "common/result.hpp"

#include <cstddef>
#include <vector>

namespace stsauth::load {

struct wake_figures {
    int cpu_a = 0, cpu_b = 0;
    std::size_t rounds = 0;
    double p50_us = 0, p99_us = 0, max_us = 0;  ///< round trip: two wake-ups
};

/// Where a side of the measurement runs: a CPU, or wherever the scheduler puts it.
constexpr int any_cpu = -1;

/// `rounds` timed round trips (after a few untimed ones) between this process, pinned to `cpu_a`,
/// and a child pinned to `cpu_b` (either may be any_cpu: not pinned, the scheduler's own placement,
/// as the harness's processes run). The calling process's CPU affinity is restored before
/// returning. Errors: a CPU the process may not use, a failed fork or socketpair, a child that dies.
result<wake_figures> measure_wake_round_trip(int cpu_a, int cpu_b, std::size_t rounds);

/// The CPUs this process may run on (sched_getaffinity), in ascending order.
std::vector<int> allowed_cpus();

}  // namespace stsauth::load
