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
/// An operator's GLIBC_TUNABLES setting of any `glibc.malloc.*` tunable wins: the server then
/// changes nothing.

#include <cstddef>
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

}  // namespace stsauth::server
