// The identity cache against a reference model (std::map + std::list per shard) over long random
// sequences of find/store/sweep on a fake clock: every answer, every counter, every sweep count
// must agree after every step.
#include "authn/identity_cache.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <list>
#include <map>
#include <random>
#include <vector>

using namespace stsauth;
using namespace std::chrono;
using authn::identity_cache;

namespace {

using time_point = identity_cache::time_point;
const auto t0 = system_clock::time_point{} + hours(24 * 365 * 50);

/// What the cache promises (SPEC-decisions A6 and identity_cache.hpp), written the plain way.
class model {
public:
    model(milliseconds ttl, std::size_t max_entries) : ttl_(ttl), per_shard_max_(std::max<std::size_t>(1, max_entries / 16)) {}

    /// The answer's number, or -1 for a miss.
    long find(const crypto::digest& k, time_point now) {
        auto& s = shards_[k[0] % 16];
        const auto it = s.map.find(k);
        if (it == s.map.end()) {
            ++st.misses;
            return -1;
        }
        if (it->second->expires <= now) {
            s.lru.erase(it->second);
            s.map.erase(it);
            ++st.expired;
            ++st.misses;
            return -1;
        }
        s.lru.splice(s.lru.begin(), s.lru, it->second);
        ++st.hits;
        return it->second->answer;
    }

    void store(const crypto::digest& k, long answer, time_point token_expires_at, time_point now) {
        const auto expires = std::min(now + ttl_, token_expires_at);
        if (expires <= now) return;
        auto& s = shards_[k[0] % 16];
        drop_expired_tail(s, now, identity_cache::expired_per_store);
        if (const auto it = s.map.find(k); it != s.map.end()) {
            it->second->answer = answer;
            it->second->expires = expires;
            s.lru.splice(s.lru.begin(), s.lru, it->second);
            return;
        }
        if (s.map.size() >= per_shard_max_) {
            ++st.evictions;
            s.map.erase(s.lru.back().key);
            s.lru.pop_back();
        }
        s.lru.push_front(entry{k, expires, answer});
        s.map.emplace(k, s.lru.begin());
    }

    std::size_t sweep(time_point now) {
        std::size_t n = 0;
        for (auto& s : shards_) n += drop_expired_tail(s, now, SIZE_MAX);
        return n;
    }

    authn::cache_stats stats() const {
        auto r = st;
        for (const auto& s : shards_) r.entries += s.map.size();
        return r;
    }

    std::vector<crypto::digest> keys() const {
        std::vector<crypto::digest> r;
        for (const auto& s : shards_)
            for (const auto& e : s.lru) r.push_back(e.key);
        return r;
    }

private:
    struct entry {
        crypto::digest key;
        time_point expires;
        long answer;
    };
    struct shard {
        std::list<entry> lru;
        std::map<crypto::digest, std::list<entry>::iterator> map;
    };
    std::size_t drop_expired_tail(shard& s, time_point now, std::size_t limit) {
        std::size_t n = 0;
        while (n < limit && !s.lru.empty() && s.lru.back().expires <= now) {
            s.map.erase(s.lru.back().key);
            s.lru.pop_back();
            ++n;
        }
        st.expired += n;
        return n;
    }

    milliseconds ttl_;
    std::size_t per_shard_max_;
    std::array<shard, 16> shards_;
    authn::cache_stats st;
};

authn::cached_answer answer(long n) {
    authn::cached_answer a;
    a.identity = {"arn:aws:iam::111122223333:user/u" + std::to_string(n), "111122223333", "AIDA" + std::to_string(n)};
    return a;
}

long number_of(const std::shared_ptr<const authn::stored_answer>& a) {
    if (!a) return -1;
    return std::stol(std::string(a->identity.arn.substr(a->identity.arn.rfind('u') + 1)));
}

/// A key pool: random keys, plus families that share byte 0 (the shard) and bytes 8..15 (the
/// index hash) and differ elsewhere, so they share a home slot and pile up in one probe run
/// (found apart only by the full key; erased with backward shifts across the run, and across the
/// end of the array when the run starts near it).
std::vector<crypto::digest> key_pool(std::mt19937_64& rng, std::size_t random_keys, std::size_t families,
                                     std::size_t family_size, bool one_shard) {
    std::vector<crypto::digest> pool;
    auto random_key = [&] {
        crypto::digest d;
        for (std::size_t i = 0; i < d.size(); i += 8) {
            const auto v = rng();
            std::memcpy(d.data() + i, &v, 8);
        }
        if (one_shard) d[0] = 5;
        return d;
    };
    for (std::size_t i = 0; i < random_keys; ++i) pool.push_back(random_key());
    for (std::size_t f = 0; f < families; ++f) {
        const auto base = random_key();
        for (std::size_t i = 0; i < family_size; ++i) {
            auto d = base;
            d[20] = static_cast<std::uint8_t>(i);
            d[31] = static_cast<std::uint8_t>(i >> 8);
            pool.push_back(d);
        }
    }
    return pool;
}

struct scenario {
    const char* name;
    std::size_t max_entries;
    std::size_t random_keys, families, family_size;
    bool one_shard;
    long steps;
};

void run(const scenario& sc, std::uint64_t seed) {
    INFO(sc.name << " seed " << seed);
    std::mt19937_64 rng(seed);
    const auto ttl = seconds(20);
    identity_cache cache(ttl, sc.max_entries);
    model ref(ttl, sc.max_entries);
    const auto pool = key_pool(rng, sc.random_keys, sc.families, sc.family_size, sc.one_shard);
    auto now = t0;
    long next_answer = 0;
    auto pick = [&] { return pool[rng() % pool.size()]; };
    for (long step = 0; step < sc.steps; ++step) {
        now += milliseconds(rng() % 400);  // an entry lives ~100 steps
        const auto op = rng() % 100;
        if (op < 45) {
            const auto k = pick();
            const long want = ref.find(k, now);
            const long got = number_of(cache.find(k, now));
            REQUIRE(got == want);
        } else if (op < 95) {
            const auto k = pick();
            // Mostly the cache TTL bounds the entry, sometimes the token's own expiry (even a past one).
            const auto token_expiry = now + milliseconds(static_cast<long>(rng() % 30'000) - 2'000);
            const long n = next_answer++;
            ref.store(k, n, token_expiry, now);
            cache.store(k, answer(n), token_expiry, now);
        } else if (op < 97) {
            REQUIRE(cache.sweep(now) == ref.sweep(now));
        } else {
            now += seconds(rng() % 25);  // an idle spell: much of the cache expires at once
        }
        const auto a = cache.stats();
        const auto b = ref.stats();
        REQUIRE(a.hits == b.hits);
        REQUIRE(a.misses == b.misses);
        REQUIRE(a.evictions == b.evictions);
        REQUIRE(a.expired == b.expired);
        REQUIRE(a.entries == b.entries);
    }
    // Every key the model still holds is found, with its answer; then a sweep far ahead empties both.
    for (const auto& k : ref.keys()) REQUIRE(number_of(cache.find(k, now)) == ref.find(k, now));
    REQUIRE(cache.sweep(now + hours(1)) == ref.sweep(now + hours(1)));
    REQUIRE(cache.stats().entries == 0);
}

}  // namespace

TEST_CASE("identity cache: agrees with a reference model over long random sequences", "[authn][cache]") {
    const scenario scenarios[] = {
        // A tight bound (4 per shard): evictions on most stores, tiny index arrays that wrap.
        {"tight bound", 64, 300, 4, 12, false, 40'000},
        // One shard, ~100 live entries, long same-home runs: backward shifts over wrapping runs.
        {"one shard, colliding families", 16 * 200, 150, 10, 30, true, 40'000},
        // A roomy bound: the index grows (and rehashes) as the live set grows, then churns.
        {"growth", 16 * 5000, 3000, 8, 40, false, 40'000},
    };
    for (const auto& sc : scenarios)
        for (std::uint64_t seed : {1u, 2u, 3u}) run(sc, seed);
}

TEST_CASE("identity cache: keys sharing a home slot are all found and survive each other's removal",
          "[authn][cache]") {
    // 200 keys in one shard with the same index hash: one probe run of 200 (in an index of 512).
    identity_cache cache(seconds(60), 16 * 1000);
    std::vector<crypto::digest> keys;
    for (int i = 0; i < 200; ++i) {
        crypto::digest d{};
        d[0] = 7;
        d[20] = static_cast<std::uint8_t>(i);
        keys.push_back(d);
    }
    for (std::size_t i = 0; i < keys.size(); ++i)
        cache.store(keys[i], answer(static_cast<long>(i)), t0 + hours(1), t0 + milliseconds(i));
    for (std::size_t i = 0; i < keys.size(); ++i) REQUIRE(number_of(cache.find(keys[i], t0 + seconds(1))) == static_cast<long>(i));
    // The first 100 stored expire first (finds above kept the LRU order: 0 is again the tail).
    REQUIRE(cache.sweep(t0 + seconds(60) + milliseconds(99)) == 100);
    for (std::size_t i = 0; i < 100; ++i) CHECK(cache.find(keys[i], t0 + seconds(61)) == nullptr);
    for (std::size_t i = 100; i < keys.size(); ++i)
        CHECK(number_of(cache.find(keys[i], t0 + seconds(60) + milliseconds(99))) == static_cast<long>(i));
    const auto st = cache.stats();
    CHECK(st.entries == 100);
    CHECK(st.expired == 100);
    CHECK(st.misses == 100);
}
