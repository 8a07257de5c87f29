#include "authn/identity_cache.hpp"

#include <cstring>

namespace stsauth::authn {

std::size_t identity_cache::digest_hash::operator()(const crypto::digest& d) const noexcept {
    std::size_t h;
    std::memcpy(&h, d.data() + 8, sizeof h);  // the key is already a uniform hash
    return h;
}

identity_cache::identity_cache(std::chrono::milliseconds ttl, std::size_t max_entries)
    : ttl_(ttl), max_entries_(max_entries), per_shard_max_(std::max<std::size_t>(1, max_entries / shard_count)) {}

std::shared_ptr<const cached_answer> identity_cache::find(const crypto::digest& key, time_point now) {
    if (!enabled()) return nullptr;
    auto& s = shard_for(key);
    std::lock_guard lock(s.mu);
    const auto it = s.map.find(key);
    if (it == s.map.end()) {
        misses_.fetch_add(1, std::memory_order_relaxed);
        return nullptr;
    }
    if (it->second.lru->expires <= now) {
        s.lru.erase(it->second.lru);
        s.map.erase(it);
        entries_.fetch_sub(1, std::memory_order_relaxed);
        expired_.fetch_add(1, std::memory_order_relaxed);
        misses_.fetch_add(1, std::memory_order_relaxed);
        return nullptr;
    }
    s.lru.splice(s.lru.begin(), s.lru, it->second.lru);
    hits_.fetch_add(1, std::memory_order_relaxed);
    return it->second.answer;
}

void identity_cache::store(const crypto::digest& key, cached_answer answer, time_point token_expires_at,
                           time_point now) {
    if (!enabled()) return;
    const auto expires = std::min(now + ttl_, token_expires_at);
    if (expires <= now) return;
    auto shared = std::make_shared<const cached_answer>(std::move(answer));
    auto& s = shard_for(key);
    std::lock_guard lock(s.mu);
    drop_expired_tail(s, now, expired_per_store);
    // One lookup finds or makes the slot (a store is a miss's sequel: usually a new key).
    const auto [it, inserted] = s.map.try_emplace(key);
    if (!inserted) {
        it->second.answer = std::move(shared);
        it->second.lru->expires = expires;
        s.lru.splice(s.lru.begin(), s.lru, it->second.lru);
        return;
    }
    try {
        s.lru.push_front(lru_node{key, expires});
    } catch (...) {
        s.map.erase(it);
        throw;
    }
    it->second = entry{std::move(shared), s.lru.begin()};
    entries_.fetch_add(1, std::memory_order_relaxed);
    // The bound: the new entry is at the front, so the tail is never it.
    while (s.map.size() > per_shard_max_ && s.lru.size() > 1) {
        s.map.erase(s.lru.back().key);
        s.lru.pop_back();
        entries_.fetch_sub(1, std::memory_order_relaxed);
        evictions_.fetch_add(1, std::memory_order_relaxed);
    }
}

std::size_t identity_cache::drop_expired_tail(shard& s, time_point now, std::size_t limit) {
    std::size_t dropped = 0;
    while (dropped < limit && !s.lru.empty() && s.lru.back().expires <= now) {
        s.map.erase(s.lru.back().key);
        s.lru.pop_back();
        ++dropped;
    }
    if (dropped != 0) {
        entries_.fetch_sub(dropped, std::memory_order_relaxed);
        expired_.fetch_add(dropped, std::memory_order_relaxed);
    }
    return dropped;
}

std::size_t identity_cache::sweep(time_point now) {
    if (!enabled()) return 0;
    // In batches, releasing the lock in between: reviews of that shard wait for one batch at most.
    constexpr std::size_t batch = 256;
    std::size_t total = 0;
    for (auto& s : shards_) {
        for (;;) {
            std::lock_guard lock(s.mu);
            const auto n = drop_expired_tail(s, now, batch);
            total += n;
            if (n < batch) break;
        }
    }
    return total;
}

cache_stats identity_cache::stats() const {
    return {hits_.load(std::memory_order_relaxed), misses_.load(std::memory_order_relaxed),
            evictions_.load(std::memory_order_relaxed), expired_.load(std::memory_order_relaxed),
            entries_.load(std::memory_order_relaxed)};
}

}  // namespace stsauth::authn
