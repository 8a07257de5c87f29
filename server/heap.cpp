#include "heap.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <climits>

namespace stsauth::server {

bool tunables_set_malloc(std::string_view glibc_tunables) noexcept {
    while (!glibc_tunables.empty()) {
        const auto end = glibc_tunables.find(':');
        const auto item = glibc_tunables.substr(0, end);
        if (item.starts_with("glibc.malloc.")) return true;
        if (end == std::string_view::npos) break;
        glibc_tunables.remove_prefix(end + 1);
    }
    return false;
}

bool tune_heap(const char* glibc_tunables, heap_tuning t) noexcept {
#if defined(__GLIBC__)
    if (glibc_tunables != nullptr && tunables_set_malloc(glibc_tunables)) return false;
    if (t.trim_threshold > INT_MAX || t.top_pad > INT_MAX) return false;
    const bool trim = mallopt(M_TRIM_THRESHOLD, static_cast<int>(t.trim_threshold)) == 1;
    const bool pad = mallopt(M_TOP_PAD, static_cast<int>(t.top_pad)) == 1;
    return trim && pad;
#else
    (void)glibc_tunables;
    (void)t;
    return false;
#endif
}

bool idle_trim_policy::due(std::uint64_t activity, clock::time_point now) noexcept {
    if (activity != last_) {
        last_ = activity;
        changed_ = now;
        pending_ = true;
        return false;
    }
    if (!pending_ || now - changed_ < quiet_for_) return false;
    pending_ = false;
    return true;
}

std::uint64_t idle_trim_policy::mix(std::uint64_t seed, std::uint64_t value) noexcept {
    // boost::hash_combine's 64-bit mixing step.
    return seed ^ (value + 0x9e3779b97f4a7c15ULL + (seed << 12) + (seed >> 4));
}

bool trim_heap() noexcept {
#if defined(__GLIBC__)
    return malloc_trim(0) == 1;
#else
    return false;
#endif
}

}  // namespace stsauth::server
