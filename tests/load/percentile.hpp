#pragma once
/// \file
/// The nearest-rank percentile of a sorted sample: the load client's report and the wake-up
/// timer (wake.hpp) state their percentiles the same way.

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <vector>

namespace stsauth::load {

/// The smallest value with at least `p` percent of the sample at or below it (p in (0, 100]).
/// `sorted` is ascending and not empty.
template <class T>
T nearest_rank(const std::vector<T>& sorted, double p) {
    const auto n = sorted.size();
    // The epsilon keeps 99.9% of 1000 at rank 999 despite binary floating point.
    auto rank = static_cast<std::size_t>(std::ceil(p * static_cast<double>(n) / 100.0 - 1e-9));
    rank = std::clamp<std::size_t>(rank, 1, n);
    return sorted[rank - 1];
}

}  // namespace stsauth::load
