#pragma once
/// \file
/// How the server asks glibc's allocator to keep freed memory instead of handing it back to the
/// kernel after every burst.
///
/// With glibc's defaults a heap gives back the free memory at its top as soon as it exceeds
/// 128 KiB. The server's connections allocate and free OpenSSL's ~17 KiB record buffers with
/// every request (SSL_MODE_RELEASE_BUFFERS keeps idle connections small), so under load the top
/// of each thread's heap rises and falls by hundreds of KiB many times a second: each fall is
/// an madvise/brk, each rise zero-filled page faults again (5% of the server's CPU per uncached
/// review, docs/benchmarks.md, "Heap trimming"). The server keeps up to `trim_threshold` free at
/// the top of each heap and grows a heap by `top_pad` more than it needs: the memory stays
/// resident between bursts, bounded per heap; idle RSS at start is unchanged.
///
/// When the server goes quiet, what a burst left free in the heaps goes back to the kernel
/// (`idle_trim_policy`, `trim_heap`): free memory below the top of a heap, which no threshold
/// returns (1,000 connections of uncached reviews left 132 MiB resident; the trims after them
/// brought it to 84 MiB, the rest being live entries of the identity cache and the pages they
/// share with freed blocks).
///
/// An operator's GLIBC_TUNABLES setting of any `glibc.malloc.*` tunable wins: the server then
/// changes nothing, and does not trim either.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace stsauth::server {

struct heap_tuning {
    std::size_t trim_threshold;
    std::size_t top_pad;
};

/// What the server sets (mallopt M_TRIM_THRESHOLD, M_TOP_PAD).
inline constexpr heap_tuning server_heap_tuning{std::size_t{4} << 20, std::size_t{1} << 20};

/// True when a GLIBC_TUNABLES value sets any glibc.malloc tunable ("a=b:c=d").
bool tunables_set_malloc(std::string_view glibc_tunables) noexcept;

/// Applies `t` unless `glibc_tunables` (the environment's GLIBC_TUNABLES, may be null) sets a
/// malloc tunable, or the C library is not glibc. Returns whether it changed anything.
bool tune_heap(const char* glibc_tunables, heap_tuning t = server_heap_tuning) noexcept;

/// When to trim: once the server's activity has stood still for `quiet_for`, and not again until
/// it has moved. Under load it never trims (a trim walks every heap under its lock, and the next
/// burst would fault the pages back in); a server that sits idle trims once.
///
/// `activity` is any value that changes whenever the server does something that allocates or
/// frees: requests served, connections opened and closed, the STS pool's size, cache entries,
/// reloads (the caller mixes them, `mix`). The first call only records it: start-up counts as
/// activity, since parsing the configuration leaves free memory behind too.
class idle_trim_policy {
public:
    using clock = std::chrono::steady_clock;

    explicit idle_trim_policy(clock::duration quiet_for) noexcept : quiet_for_(quiet_for) {}

    /// True when a trim is due now; called periodically (every second in the server).
    bool due(std::uint64_t activity, clock::time_point now) noexcept;

    /// Combines the parts of an activity signature (order matters).
    static std::uint64_t mix(std::uint64_t seed, std::uint64_t value) noexcept;

private:
    clock::duration quiet_for_;
    std::optional<std::uint64_t> last_;  ///< none before the first call
    clock::time_point changed_{};
    bool pending_ = false;  ///< the activity moved since the last trim
};

/// The server's quiet period before a trim.
inline constexpr std::chrono::seconds idle_trim_after{10};

/// Gives the free memory of every heap back to the kernel (glibc's malloc_trim(0)). Returns
/// whether any was released; false without glibc.
bool trim_heap() noexcept;

}  // namespace stsauth::server
