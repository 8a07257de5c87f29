// The server keeps freed memory at the top of its heaps (server/heap).

#include "heap.hpp"

#include <catch2/catch.hpp>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cstdlib>
#include <vector>

using stsauth::server::heap_tuning;
using stsauth::server::tune_heap;
using stsauth::server::tunables_set_malloc;

TEST_CASE("heap: an operator's malloc tunables win", "[heap]") {
    CHECK(tunables_set_malloc("glibc.malloc.trim_threshold=1048576"));
    CHECK(tunables_set_malloc("glibc.pthread.rseq=0:glibc.malloc.arena_max=2"));
    CHECK(tunables_set_malloc("glibc.malloc.mxfast=0:glibc.pthread.rseq=0"));
    CHECK_FALSE(tunables_set_malloc(""));
    CHECK_FALSE(tunables_set_malloc("glibc.pthread.rseq=0"));
    CHECK_FALSE(tunables_set_malloc("glibc.mem.tagging=1:glibc.rtld.nns=2"));
    CHECK_FALSE(tunables_set_malloc("xglibc.malloc.arena_max=1"));
    CHECK_FALSE(tunables_set_malloc(":::"));

    CHECK_FALSE(tune_heap("glibc.malloc.top_pad=0"));
    CHECK_FALSE(tune_heap(nullptr, heap_tuning{std::size_t{1} << 40, 0}));  // beyond mallopt's int
}

// AddressSanitizer replaces malloc (mallopt does nothing there): glibc's allocator only.
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STSAUTH_TEST_OWN_MALLOC 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define STSAUTH_TEST_OWN_MALLOC 1
#endif

#if defined(__GLIBC__) && defined(__GLIBC_MINOR__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33) && \
    !defined(STSAUTH_TEST_OWN_MALLOC)
namespace {

// Frees 2 MiB allocated in 16 KiB blocks (OpenSSL's record buffers are ~17 KiB) and returns
// how much free memory stays at the top of the main heap (mallinfo2's keepcost).
std::size_t kept_after_burst() {
    std::vector<void*> blocks;
    for (int i = 0; i < 128; ++i) blocks.push_back(std::malloc(16 * 1024));
    for (auto it = blocks.rbegin(); it != blocks.rend(); ++it) std::free(*it);
    return mallinfo2().keepcost;
}

}  // namespace

TEST_CASE("heap: freed memory stays at the top of the heap", "[heap]") {
    // glibc's default: whatever exceeds 128 KiB at the top goes back to the kernel.
    REQUIRE(mallopt(M_TRIM_THRESHOLD, 128 * 1024) == 1);
    REQUIRE(mallopt(M_TOP_PAD, 128 * 1024) == 1);
    CHECK(kept_after_burst() < std::size_t{1} << 20);

    REQUIRE(tune_heap(nullptr));
    CHECK(kept_after_burst() >= std::size_t{2} << 20);
}
#endif
