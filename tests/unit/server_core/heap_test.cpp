// The server keeps freed memory at the top of its heaps (server/heap).

#include "heap.hpp"
#include "metrics/process.hpp"

#include <catch2/catch.hpp>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <cstdint>
#include <cstring>
#include <cstdlib>
#include <initializer_list>
#include <vector>

using stsauth::server::heap_tuning;
using stsauth::server::idle_trim_policy;
using stsauth::server::trim_heap;
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

TEST_CASE("heap: a trim is due once the activity has stood still for the quiet period", "[heap][trim]") {
    using namespace std::chrono_literals;
    const idle_trim_policy::clock::time_point t0{};
    idle_trim_policy p(10s);

    SECTION("start-up counts as activity: an idle server trims once, 10 s after its first look") {
        CHECK_FALSE(p.due(7, t0));
        CHECK_FALSE(p.due(7, t0 + 9s));
        CHECK(p.due(7, t0 + 10s));
        for (auto t = 11s; t < 120s; t += 1s) CHECK_FALSE(p.due(7, t0 + t));
    }
    SECTION("under load (a change every second) it never trims") {
        for (std::uint64_t i = 0; i < 60; ++i) CHECK_FALSE(p.due(i, t0 + std::chrono::seconds(i)));
    }
    SECTION("each time the activity moves and then stands still, one more trim") {
        CHECK_FALSE(p.due(1, t0));
        CHECK(p.due(1, t0 + 10s));
        CHECK_FALSE(p.due(1, t0 + 15s));
        CHECK_FALSE(p.due(2, t0 + 20s));  // a request: the clock starts again
        CHECK_FALSE(p.due(2, t0 + 29s));
        CHECK(p.due(2, t0 + 30s));
        CHECK_FALSE(p.due(2, t0 + 31s));
        CHECK_FALSE(p.due(1, t0 + 40s));  // any change counts, a value seen before too
        CHECK(p.due(1, t0 + 50s));
    }
    SECTION("a burst that ends just before the quiet period is waited out") {
        CHECK_FALSE(p.due(1, t0));
        CHECK_FALSE(p.due(2, t0 + 9s));
        CHECK_FALSE(p.due(2, t0 + 10s));
        CHECK(p.due(2, t0 + 19s));
    }
}

TEST_CASE("heap: the activity signature changes when any part does, in any position", "[heap][trim]") {
    const auto sig = [](std::initializer_list<std::uint64_t> parts) {
        std::uint64_t s = 0;
        for (auto v : parts) s = idle_trim_policy::mix(s, v);
        return s;
    };
    const auto base = sig({100, 3, 250, 4, 260, 50, 2});
    CHECK(base == sig({100, 3, 250, 4, 260, 50, 2}));
    CHECK(base != sig({101, 3, 250, 4, 260, 50, 2}));
    CHECK(base != sig({100, 2, 250, 4, 260, 50, 2}));  // a connection closed
    CHECK(base != sig({100, 3, 250, 4, 260, 49, 2}));  // a cache entry expired
    CHECK(base != sig({100, 3, 250, 4, 260, 50, 3}));  // a reload
    CHECK(base != sig({3, 100, 250, 4, 260, 50, 2}));  // order matters
    // One counter up and another down by the same amount still changes it.
    CHECK(base != sig({101, 2, 250, 4, 260, 50, 2}));
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

TEST_CASE("heap: a trim gives back the free memory a burst left in the heap", "[heap][trim]") {
    REQUIRE(tune_heap(nullptr));
    // 4 MiB of touched blocks, then a live one above them: freed, the blocks sit below the top of
    // the heap, where no trim threshold gives them back; malloc_trim does.
    std::vector<void*> blocks;
    for (int i = 0; i < 256; ++i) {
        blocks.push_back(std::malloc(16 * 1024));
        std::memset(blocks.back(), 1, 16 * 1024);
    }
    void* live = std::malloc(16 * 1024);
    std::memset(live, 1, 16 * 1024);
    for (auto* b : blocks) std::free(b);
    REQUIRE(mallinfo2().fordblks >= std::size_t{4} << 20);
    const auto before = stsauth::metrics::read_resident_memory_bytes();
    REQUIRE(before);
    CHECK(trim_heap());
    const auto after = stsauth::metrics::read_resident_memory_bytes();
    REQUIRE(after);
    CHECK(*after + double(std::size_t{3} << 20) <= *before);
    std::free(live);
}
#endif
