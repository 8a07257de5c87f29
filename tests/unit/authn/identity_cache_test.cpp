#include "authn/identity_cache.hpp"

#include <catch2/catch.hpp>

#include <cstring>

using namespace stsauth;
using namespace std::chrono;
using authn::identity_cache;

namespace {

const auto t0 = system_clock::time_point{} + hours(24 * 365 * 50);
const auto far_expiry = t0 + hours(24);  // token validity never the bound unless a test says so

/// A key in shard `shard` (the cache shards on the first byte), distinct per `n`.
crypto::digest key(std::uint8_t shard, std::uint64_t n) {
    crypto::digest d{};
    d[0] = shard;
    std::memcpy(d.data() + 8, &n, sizeof n);
    std::memcpy(d.data() + 16, &n, sizeof n);
    return d;
}

authn::cached_answer answer(std::uint64_t n) {
    authn::cached_answer a;
    a.identity = {"arn:aws:iam::111122223333:user/u" + std::to_string(n), "111122223333", "AIDA" + std::to_string(n)};
    return a;
}

}  // namespace

TEST_CASE("identity cache: an entry keeps every field in its own block, apart from what was stored", "[authn][cache]") {
    identity_cache cache(seconds(60), 100);
    {
        // Built, stored and destroyed here: the entry owns copies.
        authn::cached_answer a;
        a.identity = {"arn:aws:sts::111122223333:assumed-role/Admin/" + std::string(300, 's'), "111122223333",
                      "AROAEXAMPLE:" + std::string(300, 's')};
        a.host = "sts.us-west-2.amazonaws.com";
        a.sts_region = "us-west-2";
        a.access_key_id = "ASIAEXAMPLEEXAMPLE12";
        cache.store(key(1, 1), a, far_expiry, t0);
        authn::cached_answer no;
        no.positive = false;
        no.reason = "sts_rejected";
        no.sts_error_code = "SignatureDoesNotMatch";
        no.host = "sts.amazonaws.com";
        no.sts_region = "global";
        cache.store(key(1, 2), no, far_expiry, t0);
        a.identity.arn.assign(a.identity.arn.size(), 'x');  // the caller's strings change: not the entry's
    }
    const auto yes = cache.find(key(1, 1), t0);
    REQUIRE(yes);
    CHECK(yes->positive);
    CHECK(yes->identity.arn == "arn:aws:sts::111122223333:assumed-role/Admin/" + std::string(300, 's'));
    CHECK(yes->identity.account == "111122223333");
    CHECK(yes->identity.user_id == "AROAEXAMPLE:" + std::string(300, 's'));
    CHECK(yes->reason.empty());
    CHECK(yes->sts_error_code.empty());
    CHECK(yes->host == "sts.us-west-2.amazonaws.com");
    CHECK(yes->sts_region == "us-west-2");
    CHECK(yes->access_key_id == "ASIAEXAMPLEEXAMPLE12");
    CHECK(yes->mapped.load() == nullptr);
    const auto no = cache.find(key(1, 2), t0);
    REQUIRE(no);
    CHECK_FALSE(no->positive);
    CHECK(no->identity.arn.empty());
    CHECK(no->identity.account.empty());
    CHECK(no->identity.user_id.empty());
    CHECK(no->reason == "sts_rejected");
    CHECK(no->sts_error_code == "SignatureDoesNotMatch");
    CHECK(no->host == "sts.amazonaws.com");
    CHECK(no->sts_region == "global");
    CHECK(no->access_key_id.empty());
    // The fields are laid end to end behind the entry, in one block with it.
    const auto* base = reinterpret_cast<const char*>(yes.get());
    CHECK(yes->identity.arn.data() > base);
    CHECK(yes->identity.arn.data() - base < 256);
    CHECK(yes->identity.account.data() == yes->identity.arn.data() + yes->identity.arn.size());
    CHECK(yes->access_key_id.data() == yes->sts_region.data() + yes->sts_region.size());
    // An entry found stays readable after the cache lets go of it.
    cache.store(key(1, 1), authn::cached_answer{}, far_expiry, t0);  // replaced
    CHECK(yes->identity.account == "111122223333");
}

TEST_CASE("identity cache: expired entries go on later stores without being looked up", "[authn][cache]") {
    identity_cache cache(seconds(60), 100'000);
    for (std::uint64_t i = 0; i < 50; ++i) cache.store(key(3, i), answer(i), far_expiry, t0);
    REQUIRE(cache.stats().entries == 50);

    // 61 s later the 50 are expired; every new token stored in that shard drops up to two of them.
    const auto later = t0 + seconds(61);
    for (std::uint64_t i = 100; i < 110; ++i) cache.store(key(3, i), answer(i), far_expiry, later);
    auto st = cache.stats();
    CHECK(st.entries == 10 + 50 - 10 * identity_cache::expired_per_store);
    CHECK(st.expired == 10 * identity_cache::expired_per_store);
    CHECK(st.evictions == 0);
    CHECK(st.hits == 0);
    CHECK(st.misses == 0);

    for (std::uint64_t i = 110; i < 150; ++i) cache.store(key(3, i), answer(i), far_expiry, later);
    st = cache.stats();
    CHECK(st.entries == 50);  // only the 50 live ones: the backlog drained at twice the insert rate
    CHECK(st.expired == 50);
    CHECK(st.evictions == 0);
    for (std::uint64_t i = 100; i < 150; ++i) CHECK(cache.find(key(3, i), later) != nullptr);
    for (std::uint64_t i = 0; i < 50; ++i) CHECK(cache.find(key(3, i), later) == nullptr);
}

TEST_CASE("identity cache: sweep drops expired entries of every shard and keeps the live ones", "[authn][cache]") {
    identity_cache cache(seconds(60), 100'000);
    std::uint64_t n = 0;
    for (std::uint8_t shard = 0; shard < 16; ++shard)
        for (int i = 0; i < 300; ++i, ++n) cache.store(key(shard, n), answer(n), far_expiry, t0);  // > one sweep batch
    const auto live_from = n;
    for (std::uint8_t shard = 0; shard < 16; ++shard)
        for (int i = 0; i < 5; ++i, ++n) cache.store(key(shard, n), answer(n), far_expiry, t0 + seconds(30));
    REQUIRE(cache.stats().entries == 16 * 305);

    CHECK(cache.sweep(t0 + seconds(59)) == 0);  // nothing expired yet
    CHECK(cache.stats().entries == 16 * 305);

    CHECK(cache.sweep(t0 + seconds(60)) == 16 * 300);  // expiry is exclusive: at t0+60s the first ones are gone
    auto st = cache.stats();
    CHECK(st.entries == 16 * 5);
    CHECK(st.expired == 16 * 300);
    CHECK(st.evictions == 0);
    CHECK(st.hits == 0);
    CHECK(st.misses == 0);
    for (auto i = live_from; i < n; ++i) CHECK(cache.find(key(static_cast<std::uint8_t>((i - live_from) / 5), i), t0 + seconds(60)) != nullptr);
    CHECK(cache.stats().hits == 16 * 5);

    CHECK(cache.sweep(t0 + seconds(90)) == 16 * 5);
    CHECK(cache.stats().entries == 0);
    CHECK(cache.sweep(t0 + seconds(91)) == 0);
}

TEST_CASE("identity cache: a recently used entry keeps its place, the tail decides", "[authn][cache]") {
    identity_cache cache(seconds(60), 100'000);
    cache.store(key(1, 1), answer(1), far_expiry, t0);
    cache.store(key(1, 2), answer(2), far_expiry, t0 + seconds(10));
    REQUIRE(cache.find(key(1, 1), t0 + seconds(20)) != nullptr);  // 1 moves to the front, 2 is the tail

    // At 65 s entry 1 (stored at 0) is expired but not at the tail; entry 2 (live) is.
    CHECK(cache.sweep(t0 + seconds(65)) == 0);
    CHECK(cache.stats().entries == 2);
    // Once the tail expires too, both go.
    CHECK(cache.sweep(t0 + seconds(70)) == 2);
    CHECK(cache.stats().entries == 0);
    CHECK(cache.stats().expired == 2);
}

TEST_CASE("identity cache: an entry bounded by its token's expiry goes at that expiry", "[authn][cache]") {
    identity_cache cache(seconds(60), 100'000);
    cache.store(key(2, 1), answer(1), t0 + seconds(5), t0);  // token valid 5 s more
    CHECK(cache.sweep(t0 + seconds(4)) == 0);
    CHECK(cache.sweep(t0 + seconds(5)) == 1);
    CHECK(cache.find(key(2, 1), t0 + seconds(5)) == nullptr);
    CHECK(cache.stats().misses == 1);
    CHECK(cache.stats().expired == 1);
}

TEST_CASE("identity cache: evictions count live entries pushed out by the bound, not expired ones", "[authn][cache]") {
    identity_cache cache(seconds(60), 16);  // one entry per shard
    cache.store(key(0, 1), answer(1), far_expiry, t0);
    cache.store(key(0, 2), answer(2), far_expiry, t0 + seconds(61));  // 1 expired: dropped as such
    auto st = cache.stats();
    CHECK(st.entries == 1);
    CHECK(st.expired == 1);
    CHECK(st.evictions == 0);

    cache.store(key(0, 3), answer(3), far_expiry, t0 + seconds(62));  // 2 live: evicted by the bound
    st = cache.stats();
    CHECK(st.entries == 1);
    CHECK(st.expired == 1);
    CHECK(st.evictions == 1);
    CHECK(cache.find(key(0, 2), t0 + seconds(62)) == nullptr);
    CHECK(cache.find(key(0, 3), t0 + seconds(62)) != nullptr);
}

TEST_CASE("identity cache: an expired entry found by its own lookup counts as a miss and as expired", "[authn][cache]") {
    identity_cache cache(seconds(60), 100'000);
    cache.store(key(4, 1), answer(1), far_expiry, t0);
    CHECK(cache.find(key(4, 1), t0 + seconds(60)) == nullptr);
    const auto st = cache.stats();
    CHECK(st.entries == 0);
    CHECK(st.misses == 1);
    CHECK(st.expired == 1);
    CHECK(st.evictions == 0);
}

TEST_CASE("identity cache: disabled cache sweeps nothing", "[authn][cache]") {
    identity_cache cache(milliseconds(0), 100'000);
    cache.store(key(0, 1), answer(1), far_expiry, t0);
    CHECK(cache.sweep(t0 + hours(1)) == 0);
    CHECK(cache.stats().entries == 0);
}
